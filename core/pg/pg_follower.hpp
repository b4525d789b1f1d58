#pragma once
// A desk or wall following the nodes through PostgreSQL (SERVER.md "Wake-ups"): fills the
// same Store the standalone app fills from Graph, so every view works unchanged.
//
// - Start: the directory (teams, channels, sync state), the newest roots of every channel
//   with their replies (the first populated snapshot) and each channel's watermark, in one
//   REPEATABLE READ snapshot so the watermarks are exact. The older history then loads a
//   channel at a time between hints, so a big database does not delay live updates.
// - Then: LISTEN for hints; a hint names channels (or "all"), which are read by watermark
//   (rows whose commit sequence is above the channel's). Hints are never data: a hint
//   that does not parse, or names nothing we know, still only causes a read.
// - A slow backstop reads every channel above its watermark, covering lost hints; after a
//   reconnect the same full catch-up runs before anything else.
// - The status (nodes alive, age of the newest commit, reachability) goes into the
//   store's SyncStatus for the status strip and the STALE banner.
//
// Threading: one thread owns the connection and is the store's only writer in follow
// mode. Start/Stop from the main thread; Stats() from any thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "moderation/review.hpp"
#include "pg/pg_conn.hpp"
#include "store/store.hpp"

namespace cdeck::core {

struct FollowOptions {
    std::string conninfo;  // never logged
    double backstopSeconds = 30;
    double staleAfterSeconds = 30;
    size_t firstRoots = 50;  // per channel in the first populated snapshot
    size_t chunkRows = 5000;
};

struct FollowStats {
    bool connected = false;
    bool loaded = false;         // the first snapshot (newest roots) is published
    bool historyLoaded = false;  // and the older history too
    int nodes = 0;
    UnixMillis lastCommitAt = 0;  // the newest node commit, on our clock
    uint64_t hints = 0, reads = 0, rowsRead = 0, reconnects = 0, backstops = 0;
    int64_t appliedSeq = 0;  // the highest commit sequence merged into the store
    std::string lastError;
};

// Every team and channel the shared store holds, into `store`.
Status PgLoadDirectory(PgConn& conn, Store& store);
// A node's restart: teams, channels and each channel's sync state (delta link included)
// from the shared store into `store`, so the engine continues by delta instead of
// backfilling again. Call before the store has an observer.
Status PgRestoreSyncState(PgConn& conn, Store& store, size_t* channels = nullptr);

class PgFollower {
  public:
    PgFollower(Store& store, FollowOptions options);
    ~PgFollower();
    void Start();
    void Stop();
    FollowStats Stats() const;
    // Review items that changed (new, claimed, resolved...), on the follower's thread.
    void SetReviewCallback(std::function<void(std::vector<ReviewItem>)> cb);
    // The rule pack enabled in the shared store (at start and when one is published):
    // (pack name, version, JSON), on the follower's thread.
    void SetRulesCallback(std::function<void(const std::string&, int, const std::string&)> cb);
    // After each read is merged and published: the highest commit sequence applied.
    void SetAppliedCallback(std::function<void(int64_t)> cb);

  private:
    void Run();
    bool Stopping() const;
    bool Connect();
    Status InitialLoad();
    Status LoadOlderStep();
    Status ReadDirectory(bool all);
    Status ReadMessages(const std::vector<std::string>& channels);
    Status ReadReview();
    Status ReadNodes();
    Status ReadRules();
    void MergeRows(const PgResult& rows, int chCol, int jsonCol, int seqCol, int rootCol);
    void HandleHints(const std::vector<PgNotification>& hints);
    void PublishStatus();
    std::vector<std::string> KnownChannels() const;

    Store& m_store;
    const FollowOptions m_options;
    std::unique_ptr<PgConn> m_conn;  // the follower thread's
    // Follower thread only:
    std::map<std::string, int64_t> m_watermark;  // channel id -> highest seq merged
    int64_t m_directorySeq = 0, m_syncSeq = 0, m_reviewSeq = 0;
    // Channels whose older history is still to load, with their initial watermark.
    std::vector<std::pair<std::string, int64_t>> m_older;

    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    bool m_stop = false;
    FollowStats m_stats;
    std::function<void(std::vector<ReviewItem>)> m_reviewCb;
    std::function<void(int64_t)> m_appliedCb;
    std::function<void(const std::string&, int, const std::string&)> m_rulesCb;
    std::pair<std::string, int> m_rules;  // follower thread: the pack last reported
    std::thread m_thread;
};

}  // namespace cdeck::core
