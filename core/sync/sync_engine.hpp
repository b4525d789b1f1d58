#pragma once
// The sync engine: parallel fetch jobs that keep the store fresh.
//
// Threads: Start() launches `workers` threads. They take jobs from one queue ordered by
// not-before time and priority. A worker that has nothing ready waits on a condition
// variable until the earliest job is due (or a command arrives); it never sleeps inside a
// request. A throttled or failed job goes back into the queue with a later not-before time.
//
// Public methods are thread-safe. Submit() is how the UI asks for work (DESIGN.md
// section 3: commands are the only thing that crosses from UI to core). Stop() joins every
// worker; the destructor calls it. Callbacks in commands run on a worker thread.
//
// This is the foundation's engine: discovery, backfill, polling and posting, with
// Retry-After and back-off handled by re-queueing. Pacing and adaptive rate build on it.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "graph/graph_client.hpp"
#include "store/store.hpp"
#include "sync/pacer.hpp"

namespace cdeck::core {

struct Command {
    enum class Kind { kRefreshChannel, kRefreshAll, kPostMessage };
    Kind kind = Kind::kRefreshAll;
    std::string teamId;
    std::string channelId;
    NewMessage message;  // kPostMessage
    // kPostMessage: called on a worker thread with the created message or the error.
    std::function<void(const Result<ChatMessage>&)> done;
};

class SyncEngine {
  public:
    SyncEngine(std::shared_ptr<GraphClient> client, Store& store, SyncSettings settings,
               bool delegated, GraphLimits limits = {});
    ~SyncEngine();
    SyncEngine(const SyncEngine&) = delete;
    SyncEngine& operator=(const SyncEngine&) = delete;

    void Start();
    void Stop();  // idempotent; joins all workers
    void Submit(Command command);

  private:
    struct Job {
        enum class Kind { kDiscoverTeams, kDiscoverChannels, kSyncChannel, kCommand } kind;
        std::string teamId;
        std::string channelId;
        UnixMillis notBefore = 0;
        int priority = 0;  // higher runs first among ready jobs
        int failures = 0;
        std::shared_ptr<Command> command;
        std::string clientRequestId;  // kept across this job's retries
    };
    struct ChannelState {
        std::string teamId;
        bool queued = false;
        bool backfilled = false;
        int backfillFetched = 0;
        std::string backfillNext;
    };

    void WorkerLoop();
    void Enqueue(Job job);  // requires m_mutex
    bool TakeReady(Job& out, std::unique_lock<std::mutex>& lock);
    std::vector<std::string> ScopesOf(const Job& job) const;
    void Run(Job& job);
    void RunDiscoverTeams(Job& job);
    void RunDiscoverChannels(Job& job);
    void RunSyncChannel(Job& job);
    void RunCommand(Job& job);
    // Re-queues after a failure: Retry-After when given, else exponential back-off.
    void Retry(Job job, const Error& error);
    void OnCall(const std::string& method, const CallInfo& info);
    void PublishStats();

    const std::shared_ptr<GraphClient> m_client;
    Store& m_store;
    const SyncSettings m_settings;
    const bool m_delegated;
    const GraphLimits m_limits;

    std::mutex m_mutex;  // guards everything below up to m_workers
    std::condition_variable m_cv;
    std::vector<Job> m_queue;
    std::unordered_map<std::string, ChannelState> m_channels;
    Pacer m_pacer;  // token buckets and Retry-After gates per scope
    bool m_stopping = false;
    std::vector<std::thread> m_workers;

    std::mutex m_statsMutex;               // guards the call statistics
    std::deque<UnixMillis> m_recentSends;  // last 10 s of send times
    std::vector<double> m_rtts;            // ring of recent RTTs
    size_t m_rttNext = 0;
    uint64_t m_requests = 0, m_ok = 0, m_throttled = 0, m_failures = 0;
    UnixMillis m_lastStatsPublish = 0;
};

}  // namespace cdeck::core
