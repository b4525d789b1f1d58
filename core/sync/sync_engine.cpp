// The sync engine's life cycle and worker loop: construction, Start/Stop, commands in,
// one job at a time out, and the published figures. Scheduling is in sync_schedule.cpp,
// per-channel sync in sync_channel.cpp, the user's commands in sync_commands.cpp, and
// gates, back-off and the call observer in sync_gates.cpp.
#include "sync/sync_engine.hpp"

#include <algorithm>
#include <random>

#include "sync/engine_internal.hpp"
#include "util/log.hpp"

namespace cdeck::core {

using namespace engine_detail;

namespace engine_detail {
thread_local JobCalls* t_job = nullptr;
}

SyncEngine::SyncEngine(std::shared_ptr<GraphClient> client, Store& store, SyncSettings settings,
                       bool delegated, GraphLimits limits, EngineOptions options)
    // This engine's own view of the client: its calls report here and nowhere else.
    : m_client(client->WithObserver(
          [this](const std::string& m, const CallInfo& i) { OnCall(m, i); })),
      m_store(store),
      m_settings(settings),
      m_delegated(delegated),
      m_sdk(settings.policy == "sdk"),
      // Scheduling must not follow the system clock when it jumps (a jump back would stall
      // every channel until the clock caught up): the default clock is the wall time at
      // start plus the monotonic time since.
      m_clock(options.clock ? options.clock
                            : [wall = NowMillis(), mono = std::chrono::steady_clock::now()] {
                                  return wall + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::chrono::steady_clock::now() - mono)
                                                    .count();
                              }),
      m_random(options.random01),
      m_threads(options.startThreads),
      m_startedAt(m_clock()),
      m_ownership(options.ownership),
      m_budget(options.budget),
      m_limits(limits),
      m_retryBudget(options.retryBudget),
      m_metrics(settings.policy, limits.getMessage, m_startedAt) {
    ApplyLimits(limits);
    // Tokens that arrive after a refusal wake a waiting worker (it also looks every 250 ms).
    if (m_budget) m_budget->SetWake([this] { m_cv.notify_all(); });
}

SyncEngine::~SyncEngine() {
    Stop();
    if (m_budget) m_budget->SetWake(nullptr);
}

UnixMillis SyncEngine::NewestHeld(const std::string& channelId, UnixMillis margin) const {
    auto snap = m_store.Current();
    const ChannelData* cd = snap->FindChannel(channelId);
    return cd && cd->lastActivity > margin ? cd->lastActivity - margin : 0;
}

double SyncEngine::Random01() {
    if (m_random) return m_random();
    std::lock_guard lock(m_randomMutex);
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

void SyncEngine::Start() {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_stopping = false;
    if (!m_settings.commandsOnly) Enqueue(Job{Job::Kind::kDiscoverTeams});
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        if (m_settings.commandsOnly) {
            s.signedIn = true;  // the sign-in finished; reading is the follower's business
        } else {
            s.phase = "discovering";
        }
        s.delegated = m_delegated;
        s.policy = m_settings.policy;
        s.limits = m_limits;
    });
    if (m_threads)
        for (int i = 0; i < m_settings.workers; ++i)
            m_workers.emplace_back([this] { WorkerLoop(); });
}

void SyncEngine::Stop() {
    std::vector<std::thread> workers;
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        workers.swap(m_workers);
    }
    m_cv.notify_all();
    for (auto& t : workers) t.join();
}

std::vector<Command> SyncEngine::TakeCommands() {
    std::lock_guard lock(m_mutex);
    std::vector<Command> out;
    auto keep = m_queue.begin();
    for (auto& job : m_queue) {
        if (job.kind == Job::Kind::kCommand && job.command)
            out.push_back(std::move(*job.command));
        else if (&*keep++ != &job)
            *std::prev(keep) = std::move(job);
    }
    m_queue.erase(keep, m_queue.end());
    return out;
}

void SyncEngine::Submit(Command command) {
    std::unique_lock lock(m_mutex);
    auto flagChannel = [&](bool ChannelState::*field) {
        auto it = m_channels.find(command.channelId);
        if (it != m_channels.end()) it->second.*field = command.flag;
    };
    switch (command.kind) {
        case Command::Kind::kRefreshChannel:
            if (auto it = m_channels.find(command.channelId); it != m_channels.end())
                it->second.refreshNow = true;
            break;
        case Command::Kind::kRefreshAll:
            for (auto& [id, st] : m_channels) st.refreshNow = true;
            break;
        case Command::Kind::kPin:
        case Command::Kind::kPause: {
            bool pin = command.kind == Command::Kind::kPin;
            flagChannel(pin ? &ChannelState::pinned : &ChannelState::paused);
            lock.unlock();
            m_store.SetChannelFlags(command.channelId, pin ? &command.flag : nullptr,
                                    pin ? nullptr : &command.flag);
            lock.lock();
            break;
        }
        case Command::Kind::kPauseAll:
            m_pausedAll = command.flag;
            lock.unlock();
            m_store.UpdateSyncStatus([&](SyncStatus& s) { s.pausedAll = command.flag; });
            lock.lock();
            break;
        case Command::Kind::kSetVisible:
            m_visible = std::set<std::string>(command.channelIds.begin(), command.channelIds.end());
            for (auto& [id, st] : m_channels) {
                bool now = m_visible.count(id) != 0;
                // Etiquette: a channel coming on screen is fetched once, on demand.
                if (m_settings.Etiquette() && now && !st.visible) st.refreshNow = true;
                st.visible = now;
            }
            break;
        case Command::Kind::kSetLimits: {
            GraphLimits l = command.limits;
            l.paceFraction = std::clamp(l.paceFraction, 0.05, 1.0);
            ApplyLimits(l);
            Log(LogLevel::kInfo, "sync",
                "budgets changed: pacing at " + std::to_string(l.paceFraction) + " of the limits");
            lock.unlock();
            m_store.UpdateSyncStatus([&](SyncStatus& s) { s.limits = l; });
            lock.lock();
            break;
        }
        case Command::Kind::kPostReply:
        case Command::Kind::kEditMessage:
        case Command::Kind::kSoftDelete:
        case Command::Kind::kUndoDelete:
        case Command::Kind::kPostMessage: {
            Job j{Job::Kind::kCommand, command.teamId, command.channelId};
            j.command = std::make_shared<Command>(std::move(command));
            Enqueue(std::move(j));
            break;
        }
    }
    m_cv.notify_all();
}

void SyncEngine::WorkerLoop() {
    std::unique_lock lock(m_mutex);
    Job job;
    while (true) {
        Take t = TakeReady(job, lock, true);
        if (t == Take::kStop) break;
        lock.unlock();
        if (t == Take::kJob) RunAndRelease(job);
        MaybePublish();
        lock.lock();
    }
}

bool SyncEngine::RunOnce() {
    Job job;
    {
        std::unique_lock lock(m_mutex);
        if (TakeReady(job, lock, false) != Take::kJob) return false;
    }
    RunAndRelease(job);
    MaybePublish(true);
    return true;
}

void SyncEngine::RunAndRelease(Job& job) {
    // TakeReady counted the job in flight in its guarded scopes; the same scopes are
    // released here, whatever the job does to itself while it runs.
    std::vector<std::string> guarded = GuardedScopes(ScopesOf(job));
    Run(job);
    std::lock_guard lock(m_mutex);
    --m_inFlight;
    for (const auto& s : guarded) --m_inFlightByScope[s];
}

double SyncEngine::ScopeRate(const std::string& scope) const {
    std::lock_guard lock(m_mutex);
    return m_pacer.Rate(scope);
}

UnixMillis SyncEngine::ScopeClosedUntil(const std::string& scope) const {
    std::lock_guard lock(m_mutex);
    return m_pacer.BlockedUntil(scope);
}

size_t SyncEngine::QueueSize() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

void SyncEngine::Run(Job& job) {
    // A fresh attempt gets a new client-request-id; a retry keeps the one it failed with.
    if (job.failures == 0 || job.clientRequestId.empty()) job.clientRequestId = NewUuid();
    ScopedClientRequestId scoped(job.clientRequestId);
    JobCalls calls;
    {
        std::lock_guard lock(m_mutex);
        calls.scopes = ScopesOf(job);
    }
    t_job = &calls;
    switch (job.kind) {
        case Job::Kind::kDiscoverTeams:
            RunDiscoverTeams(job);
            break;
        case Job::Kind::kDiscoverChannels:
            RunDiscoverChannels(job);
            break;
        case Job::Kind::kSyncChannel:
            RunSyncChannel(job);
            break;
        case Job::Kind::kReplies:
            RunReplies(job);
            break;
        case Job::Kind::kCommand:
            RunCommand(job);
            break;
        case Job::Kind::kBatch:
            RunBatch(job);
            break;
        case Job::Kind::kMembers:
            RunMembers(job);
            break;
    }
    t_job = nullptr;
}

MetricsSnapshot SyncEngine::Metrics() const {
    UnixMillis now = Now();
    std::vector<SyncMetrics::ScopeState> scopes;
    std::vector<std::string> gated;
    {
        std::lock_guard lock(m_mutex);
        std::vector<std::pair<double, SyncMetrics::ScopeState>> teams;
        for (const auto& v : m_pacer.View(true)) {
            SyncMetrics::ScopeState s{v.scope, v.limit, v.rate, v.blockedUntil > now};
            if (s.closed) gated.push_back(v.scope);
            if (!v.adaptive) continue;  // fixed-rate channel scopes are not listed
            if (v.scope.rfind("class:", 0) == 0)
                scopes.push_back(s);
            else
                teams.push_back({v.rate / std::max(1e-9, v.limit), s});
        }
        // The most constrained teams (rate furthest below their limit) are the interesting
        // ones; 500 team lines would drown the rest.
        std::sort(teams.begin(), teams.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (size_t i = 0; i < teams.size() && i < 5; ++i) scopes.push_back(teams[i].second);
        if (m_sdk) {
            scopes.clear();
            scopes.push_back({kClassGetMessage, m_limits.getMessage, 0, false});
        }
    }
    std::vector<double> staleness;
    SnapshotPtr snap = m_store.Current();
    for (const auto& [id, c] : snap->channels)
        if (c->lastSyncOk > 0)
            staleness.push_back(std::max<double>(0, (now - c->lastSyncOk) / 1000.0));
    return m_metrics.Snapshot(now, staleness, scopes, std::move(gated));
}

void SyncEngine::MaybePublish(bool force) {
    {
        std::lock_guard lock(m_publishMutex);
        UnixMillis now = Now();
        if (!force && now - m_lastPublish < 250) return;  // at most 4 publishes a second
        m_lastPublish = now;
    }
    auto m = std::make_shared<const MetricsSnapshot>(Metrics());
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.metrics = m;
        s.requests = m->requests;
        s.responses2xx = m->ok2xx;
        s.throttled = m->throttled429;
        s.failures = m->server5xx + m->timeouts + m->otherErrors;
        s.requestsPerSecond = m->sendsPerSecond;
        s.rttP50Ms = m->rttMs.p50;
        s.rttP95Ms = m->rttMs.p95;
        s.etiquette = m_settings.Etiquette();
        s.backgroundRefreshSeconds = m_backgroundRefresh.load();
    });
}

}  // namespace cdeck::core
