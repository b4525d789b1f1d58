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
//
// The engine takes its own view of the GraphClient (GraphClient::WithObserver): the facts
// of each call (status, request-id, throttling headers, timing) reach this engine only, so
// an engine that replaces another after a re-sign-in never loses them.
//
// Source files: sync_engine.cpp (life cycle, workers, figures), sync_schedule.cpp (what
// runs next, pacing, $batch packing), sync_channel.cpp (discovery, backfill, delta,
// replies), sync_commands.cpp (posts, edits, deletes), sync_gates.cpp (429 gates, back-off,
// the call observer).
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
#include "sync/command.hpp"
#include "sync/pacer.hpp"
#include "sync/planner.hpp"
#include "sync/work_share.hpp"

namespace cdeck::core {

struct EngineOptions {
    std::function<UnixMillis()> clock;  // default: NowMillis
    std::function<double()> random01;   // default: a seeded Mersenne Twister, [0, 1)
    bool startThreads = true;           // false: the caller drives RunOnce()
    RetryBudget retryBudget;            // for 5xx and timeouts
    // Several nodes on one tenant (channeldeck-node): only owned channels are synced, only
    // the leader discovers, and every request also takes from the shared budget.
    std::shared_ptr<const ChannelOwnership> ownership;
    std::shared_ptr<SharedBudget> budget;
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
    // This node has just taken the channel's lease: catch up at once from the last owner's
    // progress, whatever this engine knew. With `lastSync` (the last owner's last good
    // round) it re-reads the changes since a little before then, so work the last owner had
    // derived but not done (replies of changed threads) is found again; otherwise it
    // continues from `deltaLink`, or backfills when there is none.
    void AdoptChannel(const std::string& teamId, const std::string& channelId,
                      const std::string& deltaLink, UnixMillis lastSync = 0);

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
            kBatch,   // `items`: live polls of several channels in one $batch
            kMembers  // a team's member list (for @-mentions), after its channels
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

    // ---- scheduling (sync_schedule.cpp), with m_mutex held ----
    struct Candidate {
        double priority;
        size_t index;  // into m_queue
    };
    struct QueueScan {
        std::vector<Candidate> ready;  // may run now, best first
        std::vector<Candidate> soon;   // $batch riders: due within a second
        UnixMillis earliest = INT64_MAX;
        int busyReady = 0;  // ready backlog (not plain polls)
    };
    void Enqueue(Job job);
    Take TakeReady(Job& out, std::unique_lock<std::mutex>& lock, bool block);
    void RebalanceIfDue(UnixMillis now);
    QueueScan ScanQueue(UnixMillis now) const;
    // The best ready job every scope of which has a token now; -1 if none (tokenWait: the
    // soonest a refused one could go).
    long Choose(const QueueScan& scan, UnixMillis now, UnixMillis& tokenWait);
    std::vector<size_t> PackBatch(size_t chosen, const QueueScan& scan, UnixMillis now);
    void TakeJobs(std::vector<size_t> taken, UnixMillis now, Job& out);  // counts in flight
    std::vector<std::string> ScopesOf(const Job& job) const;
    void EnsureChannelScopes(const Job& job);
    // When a job may run (not-before, poll schedule, pause), and its priority.
    bool Ready(const Job& job, UnixMillis now, UnixMillis& readyAt, double& priority) const;
    // Another node's channel, or discovery while another node leads: not now.
    bool NotOurs(const Job& job) const;
    // The shared budget's tokens for a job the local pacer granted; refunds it if refused.
    bool TakeShared(const std::vector<std::string>& scopes, UnixMillis& tokenWait);
    bool PollReady(const std::string& channelId, const ChannelState& st, double boost,
                   UnixMillis now, UnixMillis& readyAt, double& priority) const;
    bool IsBusyWork(const Job& job) const;
    void ApplyLimits(const GraphLimits& limits);

    // ---- running jobs (sync_engine.cpp) ----
    void WorkerLoop();
    void RunAndRelease(Job& job);  // runs a taken job, then ends its in-flight count
    void Run(Job& job);

    // ---- per-channel sync (sync_channel.cpp) ----
    void RunDiscoverTeams(Job& job);
    void RunDiscoverChannels(Job& job);
    void RunMembers(Job& job);
    void RestoreChannel(const std::string& id, ChannelState& st, const Snapshot& snap);
    void RunSyncChannel(Job& job);
    void RunBatch(Job& batch);
    // What a channel's page (or its error) means: merge, phase changes, re-queue.
    struct PageFacts {
        int received = 0;       // backfill: messages the page brought (before the age cut)
        int recent = 0;         // backfill: of the last 6 hours, to seed the rate estimate
        bool done = false;      // this page ends the backfill or the delta round
        std::string deltaLink;  // set when a delta round ends
        std::vector<std::string> threadsChanged;  // roots whose replies to fetch
    };
    PageFacts ReadPage(const ChannelState& st, Page<ChatMessage>& page, UnixMillis now) const;
    void HandleChannelPage(Job job, ChannelState st, Result<Page<ChatMessage>> page);
    void HandleChannelError(Job job, const Error& e);
    void CountArrivals(const std::string& channelId, const std::vector<UnixMillis>& arrived,
                       size_t changed, UnixMillis now);
    static std::string PollLink(const ChannelState& st);
    void RunReplies(Job& job);

    // ---- the user's commands (sync_commands.cpp) ----
    void RunCommand(Job& job);
    void RunPost(Job& job, Command::Outcome& out);
    bool RunChange(Job& job, Command::Outcome& out);  // true: queued again
    void RequeueChange(Job job, const Error& e, UnixMillis now, Command::Outcome& out);
    void FailCommand(const Job& job, const Error& e, Command::Outcome& out);
    // After a post or reply got no answer: the message, if Graph created it after all.
    std::optional<ChatMessage> FindPosted(const Command& c, UnixMillis sentAt);

    // ---- gates and back-off (sync_gates.cpp) ----
    // sdk policy: retries 429/503/504 in place like the Graph SDK, sleeping in the worker
    // (defined in engine_internal.hpp).
    template <typename F>
    auto WithSdkRetries(F call) -> decltype(call());
    // Re-queues after a failure: a 429 closes the job's scopes until Retry-After (+0-10%)
    // and cuts the adaptive rate; 5xx and timeouts draw on the retry budget.
    void Retry(Job job, const Error& error);
    double RetryDelay(const Job& job, const Error& error);
    // Closes the scopes (all but "app") until `until`, counting the time gated. m_mutex held.
    void CloseScopes(const std::vector<std::string>& scopes, UnixMillis until, UnixMillis now);
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
    const std::shared_ptr<const ChannelOwnership> m_ownership;  // may be null
    const std::shared_ptr<SharedBudget> m_budget;               // may be null

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
    bool m_membersRefused = false;          // the token may not list members: stop asking
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
    std::atomic<double> m_backgroundRefresh{0};  // etiquette: seconds between background polls
    SyncMetrics m_metrics;
    std::mutex m_publishMutex;
    UnixMillis m_lastPublish = 0;
    std::mutex m_randomMutex;
};

}  // namespace cdeck::core
