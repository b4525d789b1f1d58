#pragma once
// The node's persistence thread: writes behind the store into PostgreSQL, the shared store
// (SERVER.md). It plays the SQLite Persister's role for channeldeck-node.
//
// Threading:
//  - Producers (store writers through StoreObserver, the moderation engine through
//    SaveReviewItems, anyone through AppendAudit) enqueue and return. The queue is
//    bounded: when it is full the producer waits until the database catches up, which
//    slows the sync instead of dropping data. Unblock() (shutdown) lets waiting producers
//    through.
//  - One thread owns the connection. It takes batches off the queue and writes each in one
//    transaction with multi-row upserts (one statement per table, arrays bound as
//    parameters), then one pg_notify carrying the batch's commit sequence number and
//    channel ids. A failed batch stays at the head of the queue and is retried after
//    reconnecting with back-off; nothing leaves the queue before its commit.
//  - Stats() and Flush() may be called from any thread.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/records.hpp"
#include "moderation/review.hpp"
#include "pg/pg_conn.hpp"
#include "store/store.hpp"

namespace cdeck::core {

struct PgPersistOptions {
    std::string conninfo;  // never logged
    std::string nodeId;    // the sync_node row this writer stamps its commits on
    size_t maxQueue = 50000;
    size_t batchSize = 2000;
    int maxBackoffMs = 5000;
    // Several nodes (pg_cluster.hpp): the fencing token this node holds for a channel,
    // none when it holds no lease there. With it, a delta link is written only while the
    // lease is still this node's under that token (checked in the same transaction), so a
    // node paused past its lease cannot overwrite its successor's progress.
    std::function<std::optional<int64_t>(const std::string& channelId)> fenceOf;
};

struct PgPersistStats {
    size_t queued = 0;
    uint64_t committedOps = 0;
    uint64_t committedBatches = 0;
    uint64_t committedMessages = 0;
    uint64_t failedBatches = 0;
    uint64_t reconnects = 0;
    uint64_t producerWaitMs = 0;  // total time producers waited on a full queue
    uint64_t fencedWrites = 0;    // delta links refused: the lease was no longer ours
    int64_t lastCommitSeq = 0;
    UnixMillis lastCommitAt = 0;
    bool connected = false;
    bool failing = false;
    bool backlogged = false;
    std::string lastError;
};

class PgPersister final : public StoreObserver {
  public:
    explicit PgPersister(PgPersistOptions options);
    ~PgPersister() override;

    void Start();
    // Finishes the batch in flight and writes what is queued while the database answers,
    // for at most `drain`; then joins.
    void Stop(std::chrono::milliseconds drain = std::chrono::seconds(10));
    void Unblock();  // producers stop waiting on a full queue (shutdown)

    // StoreObserver:
    void OnTeams(const std::vector<Team>& teams) override;
    void OnChannels(const std::string& teamId, const std::vector<Channel>& channels) override;
    void OnMessages(const std::string& channelId,
                    const std::vector<StoredMessagePtr>& changed) override;
    void OnChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                       const std::string* deltaLink) override;

    void SaveReviewItems(const std::vector<ReviewItem>& items, const std::string& pack,
                         int packVersion);
    void AppendAudit(const AuditRow& row);

    // Waits until everything enqueued so far is committed, or the timeout passes.
    bool Flush(std::chrono::milliseconds timeout);
    PgPersistStats Stats() const;
    // Called on the persistence thread after each commit: (sequence number, channel ids).
    void SetCommitObserver(std::function<void(int64_t, const std::vector<std::string>&)> cb);

  private:
    struct Op;
    struct Batch;
    void Enqueue(Op op);
    void Run();
    bool EnsureConnected(int& backoffMs);
    Status WriteBatch(const std::vector<Op>& ops, int64_t* seq, std::vector<std::string>* chans);
    Status WriteMessages(const Batch& b, const std::string& seq);
    Status WriteOthers(const Batch& b, const std::string& seq);
    Status WriteSync(const Batch& b, const std::string& seq);
    void AfterCommit(size_t n, size_t messages, int64_t seq, const std::vector<std::string>& ch);
    void AfterFailure(const Error& e, int& backoffMs);

    const PgPersistOptions m_options;
    std::unique_ptr<PgConn> m_conn;  // the persistence thread's
    size_t m_batchFenced = 0;        // the persistence thread's: refused in the batch in hand

    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    std::deque<Op> m_queue;
    uint64_t m_nextSeq = 1;
    uint64_t m_committedSeq = 0;
    bool m_stopping = false;
    bool m_unblocked = false;
    std::chrono::steady_clock::time_point m_drainUntil{};
    PgPersistStats m_stats;
    std::function<void(int64_t, const std::vector<std::string>&)> m_commitCb;
    std::thread m_thread;
};

}  // namespace cdeck::core
