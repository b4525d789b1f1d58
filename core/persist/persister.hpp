#pragma once
// The persistence thread: writes behind the store into SQLite, and loads the database into
// the store at start-up (offline first).
//
// Threading:
//  - Producers (store writers through StoreObserver, the UI through SaveDraft/AppendAudit)
//    call the Save* methods from any thread. They enqueue and return; when the queue is
//    full they wait briefly (back-pressure), then enqueue anyway and flag the backlog, so
//    nothing is ever dropped.
//  - One persistence thread takes batches off the queue and writes each batch in one
//    transaction. A failing transaction (disk full, read-only file) is rolled back, its
//    operations stay at the head of the queue, the failure is reported through the status
//    callback, and it is retried with back-off.
//  - LoadInto() runs on the main thread before Start(). Reads for the UI (drafts, audit)
//    take m_dbMutex, which the persistence thread holds only while it writes a batch.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/records.hpp"
#include "persist/database.hpp"
#include "store/store.hpp"

namespace cdeck::core {

struct PersistStats {
    size_t queued = 0;
    uint64_t committedOps = 0;
    uint64_t failedTransactions = 0;
    bool failing = false;
    bool backlogged = false;  // the queue passed its bound; producers are outrunning the disk
    std::string lastError;
};

struct PersistOptions {
    size_t maxQueue = 20000;
    size_t batchSize = 500;
    int retentionDays = 0;         // 0: keep everything
    int retentionMaxMessages = 0;  // per channel, roots and replies; 0: no limit
    int maxVersionsPerMessage = 20;
};

class Persister final : public StoreObserver {
  public:
    Persister(std::unique_ptr<Database> db, PersistOptions options = {});
    ~Persister() override;

    // Loads teams, channels, messages and sync state into `store` (main thread, before
    // Start). newestRootsPerChannel > 0 loads only each channel's newest roots (with their
    // replies), so the first populated snapshot comes quickly; LoadOlderInto() then adds
    // the rest, typically from a background thread (merges are idempotent and never go
    // back to an older version, so it may overlap with live sync).
    Status LoadInto(Store& store, size_t newestRootsPerChannel = 0);
    Status LoadOlderInto(Store& store, size_t newestRootsPerChannel);
    // Any thread: makes a running load stop early (shutdown).
    void CancelLoad() { m_cancelLoad = true; }
    void Start();
    void Stop();  // writes what it can, then joins

    void SetStatusCallback(std::function<void(const PersistStats&)> cb);
    // Called on the persistence thread after each commit with the highest op sequence
    // number committed so far (tests and the crash test use it).
    void SetCommitObserver(std::function<void(uint64_t)> cb);

    // ---- producers (any thread) ----
    uint64_t SaveDraft(const Draft& d);
    uint64_t DeleteDraft(const std::string& key);
    uint64_t AppendAudit(const AuditRow& row);
    // A moderator's decision on a flagged message ("<message id>|<rule id>" -> JSON).
    uint64_t SaveReviewState(const std::string& key, const std::string& json);
    std::vector<std::pair<std::string, std::string>> LoadReviewStates();
    uint64_t SaveSyncState(const std::string& channelId, const std::string& deltaLink,
                           UnixMillis lastSync, bool backfilled);
    // StoreObserver:
    void OnTeams(const std::vector<Team>& teams) override;
    void OnChannels(const std::string& teamId, const std::vector<Channel>& channels) override;
    void OnMessages(const std::string& channelId,
                    const std::vector<StoredMessagePtr>& changed) override;
    void OnChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                       const std::string* deltaLink) override;

    // Waits until every op enqueued so far is committed, or the timeout passes.
    bool Flush(std::chrono::milliseconds timeout);
    PersistStats Stats() const;

    // ---- reads (any thread) ----
    std::vector<Draft> LoadDrafts();
    std::vector<AuditRow> LoadAudit(size_t limit = 1000);
    // Records a rule pack version (kept: every version ever loaded) and marks it the one
    // enabled for its pack. Synchronous; call before Start() or from any thread.
    Status SaveRulePack(const std::string& pack, int version, const std::string& json);
    // The versions stored for a pack, newest first: (version, enabled).
    std::vector<std::pair<int, bool>> RulePackVersions(const std::string& pack);
    // Applies retention now (the thread also runs it periodically).
    Status ApplyRetention();
    // Fault injection (tests, the fault matrix): makes the connection refuse writes, as a
    // read-only database file would, until turned off again.
    Status SetWriteFault(bool on);

  private:
    struct Op;
    uint64_t Enqueue(Op op);
    Status LoadMessages(Store& store, size_t newest, bool newestPart, size_t* loaded,
                        size_t* unreadable);
    void Run();
    Status WriteBatch(const std::vector<Op>& ops);
    void Report();

    std::unique_ptr<Database> m_db;
    std::atomic<bool> m_cancelLoad{false};
    const PersistOptions m_options;
    std::mutex m_dbMutex;  // guards m_db

    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    std::deque<Op> m_queue;
    uint64_t m_nextSeq = 1;
    uint64_t m_committedSeq = 0;
    bool m_stopping = false;
    PersistStats m_stats;
    std::function<void(const PersistStats&)> m_statusCb;
    std::function<void(uint64_t)> m_commitCb;
    std::thread m_thread;
};

// $XDG_STATE_HOME/channeldeck/channeldeck.db unless configured.
std::string DefaultDatabasePath();

}  // namespace cdeck::core
