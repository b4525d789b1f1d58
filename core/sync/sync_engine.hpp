#pragma once
// The sync engine: parallel fetch jobs that keep the store fresh while staying inside
// Graph's throttling limits (DESIGN.md section 5).
//
// Unit of work: "sync channel c". A channel goes through three phases: backfill (its
// newest root messages, newest first, up to sync.backfill_messages and sync.backfill_days),
// the first delta round (filtered to changes since the backfill began), then live delta
// rounds from the stored deltaLink, which the store persists. Pages of a round inherit
// the job's priority. Replies of threads started within sync.reply_window_hours are
// fetched when a delta round shows the thread changed.
//
// Threads: Start() launches sync.workers threads. They take jobs from one queue. A worker
// with nothing it may send waits on a condition variable until the earliest job is due,
// a token comes free, or a command arrives. With the `adaptive` policy it never sleeps
// inside a request: a throttled or failed job goes back into the queue with a not-before
// time. With the `sdk` policy it behaves like Microsoft's Graph SDK on purpose (sleeping
// through Retry-After while holding the worker), as the baseline to measure against.
//
// Public methods are thread-safe. Commands are the only thing the UI sends in (DESIGN.md
// section 3). Stop() joins every worker; the destructor calls it.
//
// Tests inject a clock and random source through EngineOptions and, with
// startThreads=false, drive the engine one job at a time with RunOnce().
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "graph/graph_client.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "sync/pacer.hpp"
#include "sync/planner.hpp"

namespace cdeck::core {

struct Command {
    enum class Kind {
        kRefreshChannel,  // poll this channel now, ahead of everything else
        kRefreshAll,
        kPostMessage,
        kPin,         // flag: pinned channels are polled more often
        kPause,       // flag: a paused channel sends nothing
        kPauseAll,    // flag: nothing is sent except the user's own posts
        kSetVisible,  // channelIds: what the UI shows now (boosted)
        kSetLimits,   // limits: new budgets at run time
        // Moderation and editing; each reports through `finished`:
        kPostReply,    // message, as a reply to messageId
        kEditMessage,  // edit of messageId (replyId: a reply of it)
        kSoftDelete,   // messageId (replyId: a reply of it)
        kUndoDelete,
    };
    Kind kind = Kind::kRefreshAll;
    std::string teamId;
    std::string channelId;
    bool flag = false;
    std::vector<std::string> channelIds;
    GraphLimits limits;
    NewMessage message;  // kPostMessage, kPostReply
    std::string messageId,
        replyId;       // kPostReply (messageId), kEditMessage, kSoftDelete, kUndoDelete
    MessageEdit edit;  // kEditMessage
    // kPostMessage: called on a worker thread with the created message or the error.
    std::function<void(const Result<ChatMessage>&)> done;
    // Every command that talks to Graph: called on a worker thread when it is over.
    struct Outcome {
        Status status = OkStatus();
        std::string requestId;               // Graph's request-id of the (last) call
        std::optional<ChatMessage> message;  // kPostMessage, kPostReply: what Graph created
        bool sentButUnanswered = false;      // no answer after sending, and not found since
        // A post or reply whose answer was lost, found in the channel afterwards: it was
        // created once, and `message` is it. Never sent again.
        bool reconciled = false;
    };
    std::function<void(const Outcome&)> finished;
    // Edits, deletes and undos are idempotent: when Graph is unavailable (5xx, 429, a reset
    // or a timeout) they stay queued and are sent again with back-off, for up to
    // kCommandRetrySeconds; `retrying` hears of each wait (any thread). Posts are not
    // retried behind the user's back (see FindPosted).
    std::function<void(const Error& error, double delaySeconds)> retrying;
    static constexpr double kCommandRetrySeconds = 600;
};

struct EngineOptions {
    std::function<UnixMillis()> clock;  // default: NowMillis
    std::function<double()> random01;   // default: a seeded Mersenne Twister, [0, 1)
    bool startThreads = true;           // false: the caller drives RunOnce()
    RetryBudget retryBudget;            // for 5xx and timeouts
};

class SyncEngine {
  public:
    SyncEngine(std::shared_ptr<GraphClient> client, Store& store, SyncSettings settings,
               bool delegated, GraphLimits limits = {}, EngineOptions options = {});
    ~SyncEngine();
    SyncEngine(const SyncEngine&) = delete;
    SyncEngine& operator=(const SyncEngine&) = delete;

    void Start();
    void Stop();  // idempotent; joins all workers
    void Submit(Command command);
    // After Stop: the moderation and editing commands still queued, taken out of the engine
    // so that a replacement engine can send them (nothing queued is dropped).
    std::vector<Command> TakeCommands();

    // The figures as of now (also published in the store's SyncStatus::metrics).
    MetricsSnapshot Metrics() const;

    // ---- for tests (startThreads=false) ----
    // Runs one job that may be sent now, on the caller's thread. False when none may.
    bool RunOnce();
    double ScopeRate(const std::string& scope) const;
    UnixMillis ScopeClosedUntil(const std::string& scope) const;
    size_t QueueSize() const;

  private:
    enum class Phase { kBackfill, kDeltaStart, kLive };
    struct Job {
        enum class Kind {
            kDiscoverTeams,
            kDiscoverChannels,
            kSyncChannel,
            kReplies,
            kCommand,
            kBatch  // `items`: live polls of several channels in one $batch
        };
        Kind kind = Kind::kSyncChannel;
        std::string teamId;
        std::string channelId;
        std::string messageId;  // kReplies
        UnixMillis notBefore = 0;
        int failures = 0;
        std::shared_ptr<Command> command;
        std::string clientRequestId;  // kept across this job's retries
        UnixMillis firstTry = 0;      // kCommand: when it was first sent
        std::vector<Job> items;       // kBatch
    };
    struct ChannelState {
        std::string teamId;
        Phase phase = Phase::kBackfill;
        bool queued = false;  // a sync job exists (queued or running)
        int backfillFetched = 0;
        UnixMillis backfillStarted = 0;
        std::string nextLink;  // continuation of the current backfill or delta round
        std::string deltaLink;
        UnixMillis deltaSince = 0;  // first delta round: changes after this time
        UnixMillis lastPoll = 0;
        bool pinned = false, paused = false, visible = false, refreshNow = false;
        bool known = false;  // restored from the store once
    };
    enum class Take { kJob, kIdle, kStop };

    // ---- with m_mutex held ----
    void Enqueue(Job job);
    Take TakeReady(Job& out, std::unique_lock<std::mutex>& lock, bool block);
    std::vector<std::string> ScopesOf(const Job& job) const;
    void EnsureChannelScopes(const Job& job);
    // When a job may run (not-before, poll schedule, pause), and its priority.
    bool Ready(const Job& job, UnixMillis now, UnixMillis& readyAt, double& priority) const;
    bool IsBusyWork(const Job& job) const;
    void ApplyLimits(const GraphLimits& limits);

    void WorkerLoop();
    void Run(Job& job);
    void RunDiscoverTeams(Job& job);
    void RunDiscoverChannels(Job& job);
    void RunSyncChannel(Job& job);
    void RunBatch(Job& batch);
    // What a channel's page (or its error) means: merge, phase changes, re-queue.
    void HandleChannelPage(Job job, ChannelState st, Result<Page<ChatMessage>> page);
    static std::string PollLink(const ChannelState& st);
    void RunReplies(Job& job);
    void RunCommand(Job& job);
    // After a post or reply got no answer: the message, if Graph created it after all.
    std::optional<ChatMessage> FindPosted(const Command& c, UnixMillis sentAt);
    // sdk policy: retries 429/503/504 in place like the Graph SDK, sleeping in the worker.
    template <typename F>
    auto WithSdkRetries(F call) -> decltype(call());
    // Re-queues after a failure: a 429 closes the job's scopes until Retry-After (+0-10%)
    // and cuts the adaptive rate; 5xx and timeouts draw on the retry budget.
    void Retry(Job job, const Error& error);
    void OnCall(const std::string& method, const CallInfo& info);
    // Which of a request's scopes a 429 (or a near-limit warning) refers to.
    std::vector<std::string> RefusingScopes(const std::vector<std::string>& scopes,
                                            std::optional<double> headerLimit) const;
    // The scopes cautious mode counts in-flight requests in: request classes and teams.
    static std::vector<std::string> GuardedScopes(const std::vector<std::string>& scopes);
    void MaybePublish(bool force = false);
    UnixMillis Now() const { return m_clock(); }
    // The newest createdDateTime the store holds for the channel (the server's clock), less
    // `margin`; 0 when it holds none.
    UnixMillis NewestHeld(const std::string& channelId, UnixMillis margin) const;
    // Every known channel restored as already backfilled (a cache, or a new engine after
    // signing in again): the phase is live without waiting for a backfill to finish.
    void MaybeLive();  // without m_mutex held
    double Random01();
    bool Adaptive() const { return !m_sdk; }

    const std::shared_ptr<GraphClient> m_client;
    Store& m_store;
    const SyncSettings m_settings;
    const bool m_delegated;
    const bool m_sdk;
    std::function<UnixMillis()> m_clock;
    std::function<double()> m_random;
    const bool m_threads;
    const UnixMillis m_startedAt;

    mutable std::mutex m_mutex;  // guards everything below up to m_workers
    std::condition_variable m_cv;
    GraphLimits m_limits;
    std::vector<Job> m_queue;
    std::unordered_map<std::string, ChannelState> m_channels;
    std::set<std::pair<std::string, std::string>> m_replyJobs;  // (channel, root) queued
    Pacer m_pacer;          // token buckets, gates and adaptive rates per scope
    PollPlanner m_planner;  // sqrt(lambda) poll rates
    RetryBudget m_retryBudget;
    bool m_workWaiting = false;  // a ready job was refused by pacing at the last look
    bool m_pausedAll = false;
    std::set<std::string> m_visible;
    std::set<std::string> m_teamsUnlisted;  // teams whose channel list has not arrived yet
    UnixMillis m_lastRebalance = 0;
    int m_inFlight = 0;
    std::unordered_map<std::string, int> m_inFlightByScope;       // class and team scopes
    std::unordered_map<std::string, UnixMillis> m_cautiousUntil;  // per class or team scope
    bool m_stopping = false;
    bool m_started = false;
    std::vector<std::thread> m_workers;

    // Channels known, for the status line. Written under m_mutex, read when the status is
    // published, so that the last of two racing publishes carries the newest count.
    std::atomic<int> m_channelsKnown{0};
    SyncMetrics m_metrics;
    std::mutex m_publishMutex;
    UnixMillis m_lastPublish = 0;
    std::mutex m_randomMutex;
};

}  // namespace cdeck::core
