#include "sync/sync_engine.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "model/parse.hpp"
#include "util/log.hpp"

namespace cdeck::core {
namespace {

UnixMillis Ms(double seconds) {
    return static_cast<UnixMillis>(std::llround(seconds * 1000.0));
}

// Priority is the expected number of unseen messages a request will bring. Polls use the
// planner's lambda x elapsed; a backfill or continuation page is worth up to a page of
// messages, a reply fetch a handful. The user's own commands, discovery and "refresh now"
// come before all of them.
constexpr double kPrioCommand = 1e12;
constexpr double kPrioDiscover = 1e11;
constexpr double kPrioRefreshNow = 1e10;
constexpr double kPrioPage = 50;
constexpr double kPrioReplies = 2;         // a changed thread has a new reply about half the time
constexpr double kPrioOverdue = 5;         // plus how many maximum intervals overdue
constexpr UnixMillis kCautiousMs = 10000;  // one at a time in a class after a warning
constexpr double kHotLambda = 1.0 / 60.0;  // a hot channel: at least one message a minute

const std::string kClassGetMessage = "class:get_message";

// The scopes of the job whose request this worker is sending (for OnCall).
thread_local const std::vector<std::string>* t_scopes = nullptr;
// RateLimit-Limit of the last response this worker received, when the service sent one.
thread_local std::optional<double> t_rateLimit;
// The request-id of the last Graph call made on this worker (for the audit log).
thread_local std::string t_requestId;

}  // namespace

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
      m_limits(limits),
      m_retryBudget(options.retryBudget),
      m_metrics(settings.policy, limits.getMessage, m_startedAt) {
    ApplyLimits(limits);
}

SyncEngine::~SyncEngine() {
    Stop();
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

void SyncEngine::ApplyLimits(const GraphLimits& l) {
    m_limits = l;
    const double f = l.paceFraction;
    m_pacer.SetRate("app", l.app * f);
    m_pacer.SetAdaptive(kClassGetMessage, l.getMessage, f);
    m_pacer.SetAdaptive("class:post_message", l.postMessage, f);
    m_pacer.SetAdaptive("class:get_channels", l.getChannels, f);
    m_pacer.SetAdaptive("class:get_teams", l.getTeams, f);
    m_pacer.SetAdaptive("class:other", l.other, f);
    for (const auto& v : m_pacer.View(true)) {
        if (v.scope.rfind("team:", 0) == 0) m_pacer.SetAdaptive(v.scope, l.perTeam, f, "teams");
        if (v.scope.rfind("channel:", 0) == 0) m_pacer.SetRate(v.scope, l.perChannel * f);
    }
    PollPlanner::Settings ps;
    ps.budget = l.getMessage * f * m_settings.pollBudgetFraction;
    ps.minInterval = m_settings.minPollIntervalSeconds;
    ps.maxInterval = m_settings.maxPollIntervalSeconds;
    m_planner.Configure(ps);
}

void SyncEngine::Start() {
    std::lock_guard lock(m_mutex);
    if (m_started) return;
    m_started = true;
    m_stopping = false;
    Job discover{Job::Kind::kDiscoverTeams};
    Enqueue(std::move(discover));
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.phase = "discovering";
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
            for (auto& [id, st] : m_channels) st.visible = m_visible.count(id) != 0;
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

void SyncEngine::Enqueue(Job job) {
    if (job.kind == Job::Kind::kSyncChannel) m_channels[job.channelId].queued = true;
    m_queue.push_back(std::move(job));
}

std::vector<std::string> SyncEngine::ScopesOf(const Job& job) const {
    std::vector<std::string> scopes = {"app"};
    switch (job.kind) {
        case Job::Kind::kDiscoverTeams:
            scopes.push_back("class:get_teams");
            break;
        case Job::Kind::kDiscoverChannels:
            scopes.push_back("class:get_channels");
            break;
        case Job::Kind::kSyncChannel:
        case Job::Kind::kReplies:
        case Job::Kind::kBatch:  // its items were paced one by one
            scopes.push_back(kClassGetMessage);
            break;
        case Job::Kind::kCommand: {
            // Posts and replies are Graph's "post message" class; edits and deletes are not.
            Command::Kind k = job.command ? job.command->kind : Command::Kind::kPostMessage;
            scopes.push_back(k == Command::Kind::kPostMessage || k == Command::Kind::kPostReply
                                 ? "class:post_message"
                                 : "class:other");
            break;
        }
    }
    if (!job.teamId.empty()) scopes.push_back("team:" + job.teamId);
    if (!job.channelId.empty()) scopes.push_back("channel:" + job.channelId);
    return scopes;
}

void SyncEngine::EnsureChannelScopes(const Job& job) {
    const double f = m_limits.paceFraction;
    if (!job.teamId.empty() && !m_pacer.Has("team:" + job.teamId))
        m_pacer.SetAdaptive("team:" + job.teamId, m_limits.perTeam, f, "teams");
    if (!job.channelId.empty() && !m_pacer.Has("channel:" + job.channelId))
        m_pacer.SetRate("channel:" + job.channelId, m_limits.perChannel * f);
}

bool SyncEngine::IsBusyWork(const Job& job) const {
    if (job.kind != Job::Kind::kSyncChannel) return true;
    auto it = m_channels.find(job.channelId);
    if (it == m_channels.end()) return true;
    const ChannelState& st = it->second;
    // The first delta round after a backfill is the channel's first poll, not backlog.
    return st.phase == Phase::kBackfill || !st.nextLink.empty() || st.refreshNow;
}

bool SyncEngine::Ready(const Job& job, UnixMillis now, UnixMillis& readyAt,
                       double& priority) const {
    readyAt = job.notBefore;
    switch (job.kind) {
        case Job::Kind::kCommand:
            priority = kPrioCommand;
            return readyAt <= now;
        case Job::Kind::kDiscoverTeams:
        case Job::Kind::kDiscoverChannels:
            priority = kPrioDiscover;
            return !m_pausedAll && readyAt <= now;
        case Job::Kind::kBatch:  // formed when taken; never waits in the queue
            priority = 0;
            return false;
        case Job::Kind::kReplies:
        case Job::Kind::kSyncChannel:
            break;
    }
    auto it = m_channels.find(job.channelId);
    if (it == m_channels.end()) return false;
    const ChannelState& st = it->second;
    if (m_pausedAll || st.paused) {
        readyAt = INT64_MAX;
        return false;
    }
    double boost = 1.0;
    if (st.visible) boost *= PollPlanner::kVisibleBoost;
    if (st.pinned) boost *= PollPlanner::kPinnedBoost;
    if (job.kind == Job::Kind::kReplies) {
        priority = kPrioReplies * boost;
        return readyAt <= now;
    }
    if (st.refreshNow) {
        priority = kPrioRefreshNow + boost;
        return readyAt <= now;
    }
    if (IsBusyWork(job)) {
        // Visible and pinned channels' backlog first.
        priority = kPrioPage * boost;
        return readyAt <= now;
    }
    // A live poll: due one poll interval after the last, sooner when boosted (sdk: fixed).
    double interval = m_sdk ? m_settings.pollIntervalSeconds
                            : m_planner.PollInterval(job.channelId) / std::sqrt(boost);
    if (!m_sdk) interval = std::max(interval, m_settings.minPollIntervalSeconds / boost);
    readyAt = std::max(readyAt, st.lastPoll + Ms(interval));
    // sdk: plain round-robin, oldest due first.
    if (m_sdk) {
        priority = -static_cast<double>(readyAt);
        return readyAt <= now;
    }
    priority = m_planner.Priority(job.channelId, st.lastPoll, now, boost);
    // The floor is a promise: a channel not polled for 1.25x the maximum interval goes
    // ahead of every ordinary poll (most overdue first), so quiet channels cannot be
    // starved when the budget is oversubscribed. The margin keeps channels that are only
    // just due from crowding out the busy ones.
    double age = static_cast<double>(now - st.lastPoll) / 1000.0;
    if (st.lastPoll > 0 && age > 1.25 * m_settings.maxPollIntervalSeconds)
        priority = kPrioOverdue + age / m_settings.maxPollIntervalSeconds;
    return readyAt <= now;
}

SyncEngine::Take SyncEngine::TakeReady(Job& out, std::unique_lock<std::mutex>& lock, bool block) {
    while (!m_stopping) {
        UnixMillis now = Now();
        if (Adaptive()) {
            m_pacer.Tick(now, m_workWaiting);
            if (now - m_lastRebalance >= 2000) {
                PollPlanner::Settings ps = m_planner.GetSettings();
                // Polls are scheduled against at least the paced start rate, not the
                // adaptive rate after a cut: the pacer then holds the polls back and
                // priority picks among them, instead of every channel's next poll moving
                // far into the future. When the rate has grown past the start, use it.
                ps.budget = std::max(m_limits.getMessage * m_limits.paceFraction,
                                     m_pacer.Rate(kClassGetMessage)) *
                            m_settings.pollBudgetFraction;
                m_planner.Configure(ps);
                m_planner.Rebalance(now);
                m_lastRebalance = now;
            }
        }
        struct Candidate {
            double priority;
            size_t index;
        };
        std::vector<Candidate> ready, soon;
        UnixMillis earliest = INT64_MAX;
        int busyReady = 0;
        for (size_t i = 0; i < m_queue.size(); ++i) {
            UnixMillis at;
            double prio;
            if (Ready(m_queue[i], now, at, prio)) {
                ready.push_back({prio, i});
                if (IsBusyWork(m_queue[i])) ++busyReady;
            } else {
                earliest = std::min(earliest, at);
                // With $batch packing, polls due within the next second may ride along
                // with one that is due now: one request instead of several.
                if (m_settings.batch && at <= now + 1000) soon.push_back({prio, i});
            }
        }
        std::sort(ready.begin(), ready.end(),
                  [](const Candidate& a, const Candidate& b) { return a.priority > b.priority; });
        int waiting = static_cast<int>(m_queue.size() - ready.size());
        long chosen = -1;
        UnixMillis tokenWait = INT64_MAX;
        std::set<std::string> refusedShared;  // app/class scopes out of tokens or gated
        bool pacedOut = false;
        for (const auto& c : ready) {
            Job& j = m_queue[c.index];
            if (m_sdk) {  // no pacing at all: the SDK sends as soon as it can
                chosen = static_cast<long>(c.index);
                break;
            }
            EnsureChannelScopes(j);
            std::vector<std::string> scopes = ScopesOf(j);
            if (refusedShared.count(scopes[1]) || refusedShared.count(scopes[0])) continue;
            // Cautious mode: right after a 429 or a near-limit warning in a class or team
            // scope, one request at a time in that scope, so none is in flight when the
            // next warning comes back (an in-flight request would land in a closed scope).
            if (std::any_of(scopes.begin(), scopes.end(), [&](const std::string& s) {
                    auto cu = m_cautiousUntil.find(s);
                    return cu != m_cautiousUntil.end() && cu->second > now &&
                           m_inFlightByScope[s] > 0;
                }))
                continue;
            Pacer::Grant g = m_pacer.Acquire(scopes, now, 1.0);
            if (g.wait == 0) {
                chosen = static_cast<long>(c.index);
                break;
            }
            tokenWait = std::min(tokenWait, g.wait);
            if (!g.gated) pacedOut = true;
            if (g.scope == "app" || g.scope.rfind("class:", 0) == 0) refusedShared.insert(g.scope);
        }
        m_workWaiting = pacedOut;
        // "Work is queued" when backlog (backfill and continuation pages, replies,
        // refresh-now) is still waiting after this look: the budget, not the work, is what
        // limits progress.
        int busyLeft =
            busyReady - (chosen >= 0 && IsBusyWork(m_queue[static_cast<size_t>(chosen)]));
        m_metrics.SampleQueues(now, m_inFlight, static_cast<int>(ready.size()), waiting,
                               busyLeft > 0);
        if (chosen >= 0) {
            // $batch packing: more due live polls, one per team, each paced on its own
            // scopes, ride along with the chosen one.
            std::vector<size_t> taken = {static_cast<size_t>(chosen)};
            const Job& first = m_queue[taken[0]];
            if (m_settings.batch && Adaptive() && first.kind == Job::Kind::kSyncChannel &&
                !IsBusyWork(first)) {
                std::set<std::string> teams = {first.teamId};
                std::vector<Candidate> riders = ready;
                riders.insert(riders.end(), soon.begin(), soon.end());
                for (const auto& c : riders) {
                    if (taken.size() >= BatchBuilder::kMaxRequests) break;
                    const Job& j = m_queue[c.index];
                    if (c.index == taken[0] || j.kind != Job::Kind::kSyncChannel || IsBusyWork(j) ||
                        teams.count(j.teamId))
                        continue;
                    EnsureChannelScopes(j);
                    if (m_pacer.Acquire(ScopesOf(j), now, 1.0).wait != 0) continue;
                    teams.insert(j.teamId);
                    taken.push_back(c.index);
                }
            }
            std::vector<Job> jobs;
            for (size_t i : taken) jobs.push_back(std::move(m_queue[i]));
            std::sort(taken.rbegin(), taken.rend());  // remove from the back first
            for (size_t i : taken) {
                m_queue[i] = std::move(m_queue.back());
                m_queue.pop_back();
            }
            for (const Job& j : jobs)
                if (j.kind == Job::Kind::kSyncChannel) {
                    auto& st = m_channels[j.channelId];
                    st.lastPoll = now;
                    st.refreshNow = false;
                }
            ++m_inFlight;
            for (const auto& s : GuardedScopes(ScopesOf(jobs.front()))) ++m_inFlightByScope[s];
            if (jobs.size() == 1) {
                out = std::move(jobs.front());
            } else {
                out = Job{Job::Kind::kBatch};
                out.items = std::move(jobs);
            }
            return Take::kJob;
        }
        if (!block) return Take::kIdle;
        UnixMillis wakeAt =
            std::min(earliest, tokenWait == INT64_MAX ? INT64_MAX : now + tokenWait);
        UnixMillis waitMs =
            wakeAt == INT64_MAX ? 250 : std::clamp<UnixMillis>(wakeAt - now, 1, 250);
        m_cv.wait_for(lock, std::chrono::milliseconds(waitMs));
        return Take::kIdle;  // let the caller publish figures, then look again
    }
    return Take::kStop;
}

void SyncEngine::WorkerLoop() {
    std::unique_lock lock(m_mutex);
    Job job;
    while (true) {
        Take t = TakeReady(job, lock, true);
        if (t == Take::kStop) break;
        lock.unlock();
        if (t == Take::kJob) {
            std::vector<std::string> guarded = GuardedScopes(ScopesOf(job));
            Run(job);
            lock.lock();
            --m_inFlight;
            for (const auto& s : guarded) --m_inFlightByScope[s];
            lock.unlock();
        }
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
    std::vector<std::string> guarded = GuardedScopes(ScopesOf(job));
    Run(job);
    {
        std::lock_guard lock(m_mutex);
        --m_inFlight;
        for (const auto& s : guarded) --m_inFlightByScope[s];
    }
    MaybePublish(true);
    return true;
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
    std::vector<std::string> scopes;
    {
        std::lock_guard lock(m_mutex);
        scopes = ScopesOf(job);
    }
    t_scopes = &scopes;
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
    }
    t_scopes = nullptr;
}

template <typename F>
auto SyncEngine::WithSdkRetries(F call) -> decltype(call()) {
    auto result = call();
    if (!m_sdk) return result;
    for (int attempt = 1; attempt <= SdkRetry::kMaxRetries && !result; ++attempt) {
        const Error& e = result.error();
        if (!SdkRetry::Retriable(e.httpStatus)) break;
        double ra = e.retryAfterSeconds.value_or(-1);
        double delay = SdkRetry::DelaySeconds(attempt, ra >= 0 ? &ra : nullptr, Random01());
        m_metrics.OnRetry();
        {
            // The SDK holds its worker for the whole wait; only Stop() cuts it short.
            std::unique_lock lock(m_mutex);
            if (m_cv.wait_for(lock, std::chrono::milliseconds(Ms(delay)),
                              [&] { return m_stopping; }))
                return result;
        }
        result = call();
    }
    return result;
}

void SyncEngine::Retry(Job job, const Error& error) {
    job.failures++;
    UnixMillis now = Now();
    std::unique_lock lock(m_mutex);
    if (m_stopping) return;
    if (m_sdk) {
        // The SDK gave up on this request after its own retries: try again next round.
        job.notBefore = now + Ms(job.kind == Job::Kind::kSyncChannel ? 0 : 5.0);
        Enqueue(std::move(job));
        m_cv.notify_one();
        return;
    }
    double delay = 0;
    bool throttled = error.code == ErrorCode::kThrottled || error.httpStatus == 429;
    bool transient = error.code == ErrorCode::kTransient;
    std::vector<std::string> scopes = ScopesOf(job);
    if (error.retryAfterSeconds) {
        // Release a little after the server's time so workers do not stampede at once.
        delay = *error.retryAfterSeconds * (1.0 + 0.1 * Random01());
    } else if (throttled) {
        delay = 0.25 + FullJitterBackoff(job.failures, 1.0, 60.0, Random01());
    } else if (error.code == ErrorCode::kAuth || error.code == ErrorCode::kPermission ||
               error.code == ErrorCode::kConfig || error.code == ErrorCode::kTls) {
        delay = 30.0;  // needs a person; poll slowly until then
    }
    if (throttled || (transient && error.retryAfterSeconds)) {
        // Close every scope the request touched except the app-wide one (2000 rps is
        // never what Teams throttles first): Graph does not say which refused, and the
        // service counts a request into any scope still in deficit as a penalty. The
        // adaptive cut goes only to the scope that most likely refused.
        UnixMillis until = now + Ms(std::max(delay, 0.001));
        for (const auto& s : scopes) {
            if (s == "app") continue;
            if (m_pacer.BlockedUntil(s) < until) {
                double extra = static_cast<double>(until - std::max(now, m_pacer.BlockedUntil(s)));
                m_metrics.OnGated(s, extra / 1000.0);
            }
            m_pacer.Block(s, until);
        }
        if (throttled) {
            std::vector<std::string> refusing = RefusingScopes(scopes, t_rateLimit);
            m_pacer.OnThrottle(refusing, now);
            for (const auto& s : GuardedScopes(refusing)) m_cautiousUntil[s] = now + kCautiousMs;
        }
    }
    if (transient && !error.retryAfterSeconds) {
        if (m_retryBudget.TryRetry(now)) {
            delay = 0.2 + FullJitterBackoff(job.failures, 1.0, 60.0, Random01());
            m_metrics.OnRetry();
        } else {
            // No budget: wait for the job's normal turn (a poll) or a slow retry.
            m_metrics.OnRetryDenied();
            delay = job.kind == Job::Kind::kSyncChannel &&
                            m_channels[job.channelId].phase == Phase::kLive
                        ? 0
                        : 30.0;
        }
    } else if (throttled || error.retryAfterSeconds) {
        m_metrics.OnRetry();
    }
    job.notBefore = now + Ms(delay);
    Enqueue(std::move(job));
    m_cv.notify_all();
}

void SyncEngine::RunDiscoverTeams(Job& job) {
    m_store.UpdateSyncStatus([](SyncStatus& s) {
        if (s.phase == "starting" || s.phase == "signing-in") s.phase = "discovering";
    });
    auto teams = WithSdkRetries(
        [&] { return m_delegated ? m_client->ListJoinedTeams() : m_client->ListAllTeams(); });
    if (!teams) {
        Log(LogLevel::kWarn, "sync", "team discovery failed: " + teams.error().Describe());
        m_store.UpdateSyncStatus([&](SyncStatus& s) {
            s.phase = "error";
            s.lastError = teams.error().Describe();
            if (teams.error().code == ErrorCode::kAuth) s.signedIn = false;
        });
        Retry(std::move(job), teams.error());
        return;
    }
    m_metrics.OnUseful(Now(), 0);
    m_store.UpsertTeams(teams.value());
    std::vector<std::string> granted = m_client->GrantedScopes();
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.signedIn = true;
        if (!granted.empty()) s.grantedScopes = granted;
        s.lastError.clear();
        if (s.phase == "discovering" || s.phase == "error") s.phase = "backfilling";
    });
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    for (const auto& t : teams.value()) {
        // Not live until each team's channels are known (cached channels of one team are
        // not the whole wall).
        m_teamsUnlisted.insert(t.id);
        Enqueue(Job{Job::Kind::kDiscoverChannels, t.id});
    }
    job.notBefore = Now() + Ms(m_settings.rediscoverSeconds);
    job.failures = 0;
    Enqueue(std::move(job));
    m_cv.notify_all();
}

void SyncEngine::MaybeLive() {
    bool allBackfilled = true;
    {
        std::lock_guard lock(m_mutex);
        allBackfilled = !m_channels.empty() && m_teamsUnlisted.empty() &&
                        std::all_of(m_channels.begin(), m_channels.end(),
                                    [](auto& kv) { return kv.second.phase != Phase::kBackfill; });
    }
    if (allBackfilled)
        m_store.UpdateSyncStatus([](SyncStatus& s) {
            if (s.phase == "backfilling") s.phase = "live";
        });
}

void SyncEngine::RunDiscoverChannels(Job& job) {
    auto channels = WithSdkRetries([&] { return m_client->ListChannels(job.teamId); });
    if (!channels) {
        Log(LogLevel::kWarn, "sync", "channel discovery failed: " + channels.error().Describe());
        ErrorCode code = channels.error().code;
        if (code == ErrorCode::kNotFound || code == ErrorCode::kPermission) {
            // A team gone, or refused rather than failing: the rest of the wall need not
            // wait for it. A refused team is still asked again slowly, in case access comes.
            {
                std::lock_guard lock(m_mutex);
                m_teamsUnlisted.erase(job.teamId);
            }
            MaybeLive();
            if (code == ErrorCode::kNotFound) return;
        }
        Retry(std::move(job), channels.error());
        return;
    }
    m_store.UpsertChannels(job.teamId, channels.value());
    SnapshotPtr snap = m_store.Current();
    std::unique_lock lock(m_mutex);
    if (m_stopping) return;
    UnixMillis now = Now();
    for (const auto& c : channels.value()) {
        auto& st = m_channels[c.id];
        st.teamId = job.teamId;
        if (!st.known) {
            // Offline first: a channel the database already holds continues where it was.
            st.known = true;
            st.visible = m_visible.count(c.id) != 0;
            if (const ChannelData* cd = snap->FindChannel(c.id)) {
                st.pinned = cd->pinned;
                st.paused = cd->paused;
                if (cd->backfilled) {
                    st.deltaLink = cd->deltaLink;
                    st.phase = cd->deltaLink.empty() ? Phase::kDeltaStart : Phase::kLive;
                    st.deltaSince = std::max<UnixMillis>(0, cd->lastSyncOk - 60000);
                    // Seed the poll rate from the cached activity of the last 24 hours.
                    int day =
                        cd->activity
                            ? cd->activity->Sum(ActivityRing::kMessages, now - 86400000, now + 1) +
                                  cd->activity->Sum(ActivityRing::kReplies, now - 86400000, now + 1)
                            : 0;
                    m_planner.Seed(c.id, day, 86400.0, now);
                }
            }
        }
        if (!st.queued) Enqueue(Job{Job::Kind::kSyncChannel, job.teamId, c.id});
    }
    m_teamsUnlisted.erase(job.teamId);
    m_channelsKnown = static_cast<int>(m_channels.size());
    job.failures = 0;
    m_cv.notify_all();
    lock.unlock();
    // Two teams' lists can finish at once: the count is read inside the publish, so the
    // last publish shows the newest count whatever order the two threads publish in.
    m_store.UpdateSyncStatus([&](SyncStatus& s) { s.channelsTotal = m_channelsKnown.load(); });
    MaybeLive();
}

std::string SyncEngine::PollLink(const ChannelState& st) {
    return !st.nextLink.empty()       ? st.nextLink
           : st.phase == Phase::kLive ? st.deltaLink
                                      : std::string();
}

void SyncEngine::RunSyncChannel(Job& job) {
    ChannelState st;
    {
        std::lock_guard lock(m_mutex);
        st = m_channels[job.channelId];
    }
    const UnixMillis started = Now();
    Result<Page<ChatMessage>> page = MakeError(ErrorCode::kInternal, "no request");
    if (st.phase == Phase::kBackfill) {
        if (st.backfillStarted == 0) st.backfillStarted = started;
        page = WithSdkRetries([&] {
            return st.nextLink.empty() ? m_client->ListMessagesPage(job.teamId, job.channelId, 50,
                                                                    m_settings.expandReplies)
                                       : m_client->NextMessagesPage(st.nextLink);
        });
    } else {
        std::string link = PollLink(st);
        std::optional<UnixMillis> since;
        if (link.empty() && st.deltaSince > 0) since = st.deltaSince;
        page = WithSdkRetries(
            [&] { return m_client->DeltaPage(job.teamId, job.channelId, link, 50, since); });
    }
    HandleChannelPage(std::move(job), std::move(st), std::move(page));
}

void SyncEngine::RunBatch(Job& batch) {
    // Up to 20 polls in one $batch (DESIGN.md section 5, point 7). Each item was paced on
    // its own scopes when the batch was formed; each result is handled like a single
    // request, so only failed items are retried, each with its own Retry-After.
    BatchBuilder builder;
    std::vector<ChannelState> states;
    std::vector<Job> items;
    const std::string& base = m_client->BaseUrl();
    for (auto& item : batch.items) {
        ChannelState st;
        {
            std::lock_guard lock(m_mutex);
            st = m_channels[item.channelId];
        }
        std::string link = PollLink(st), url;
        if (link.empty()) {
            url = GraphClient::ChannelPath(item.teamId, item.channelId) + "/messages/delta?$top=50";
            if (st.deltaSince > 0)
                url += "&$filter=lastModifiedDateTime%20gt%20" + FormatIso8601(st.deltaSince);
        } else if (link.rfind(base + "/", 0) == 0) {
            url = link.substr(base.size());  // $batch takes URLs relative to the version root
        } else {
            Job single = std::move(item);  // a link elsewhere cannot ride in this batch
            RunSyncChannel(single);
            continue;
        }
        BatchRequest r;
        r.id = std::to_string(items.size() + 1);
        r.url = url;
        if (!builder.Add(std::move(r))) continue;
        states.push_back(std::move(st));
        items.push_back(std::move(item));
    }
    if (items.empty()) return;
    auto results = m_client->Batch(builder);
    for (size_t i = 0; i < items.size(); ++i) {
        Result<Page<ChatMessage>> page = MakeError(ErrorCode::kInternal, "no batch response");
        if (!results) {
            page = results.error();
        } else if (const BatchItemResult& r = results.value()[i]; r.ok()) {
            page = ParseMessagePage(r.body);
        } else {
            page = r.AsError();
        }
        HandleChannelPage(std::move(items[i]), std::move(states[i]), std::move(page));
    }
}

void SyncEngine::HandleChannelPage(Job job, ChannelState st, Result<Page<ChatMessage>> page) {
    UnixMillis now = Now();
    if (!page) {
        const Error& e = page.error();
        if (e.code == ErrorCode::kResync) {
            // The delta token expired or the service lost it: start a new round from
            // shortly before the last good sync (DESIGN.md section 4).
            Log(LogLevel::kInfo, "sync", "delta resync for a channel: " + e.graphCode);
            m_metrics.OnResync();
            static const std::string kForget;
            m_store.RecordChannelSync(job.channelId, true, {}, &kForget);
            std::lock_guard lock(m_mutex);
            auto& live = m_channels[job.channelId];
            live.phase = Phase::kDeltaStart;
            live.nextLink.clear();
            live.deltaLink.clear();
            // Since shortly before the newest message held, in the server's own timestamps
            // (our clock may be off, or have jumped).
            live.deltaSince = NewestHeld(job.channelId, Ms(15 * 60.0));
            if (live.deltaSince == 0 && live.lastPoll)
                live.deltaSince = std::max<UnixMillis>(0, live.lastPoll - Ms(15 * 60.0));
            live.refreshNow = true;
            job.failures = 0;
            job.notBefore = 0;
            Enqueue(std::move(job));
            m_cv.notify_one();
            return;
        }
        m_store.RecordChannelSync(job.channelId, false, e.Describe());
        if (e.code == ErrorCode::kNotFound) {  // channel deleted: stop polling it
            std::lock_guard lock(m_mutex);
            m_channels[job.channelId].queued = false;
            m_planner.Remove(job.channelId);
            return;
        }
        Retry(std::move(job), e);
        return;
    }

    // Decide what this page means before merging (merging moves the items).
    const UnixMillis backfillCutoff =
        m_settings.backfillDays > 0 ? now - Ms(m_settings.backfillDays * 86400.0) : 0;
    size_t received = page->items.size();
    std::vector<std::pair<std::string, UnixMillis>> threadsChanged;  // (root id, created)
    int recent = 0;  // messages created in the last 6 hours, to seed the rate estimate
    bool reachedCutoff = false;
    const UnixMillis replyCutoff = now - Ms(m_settings.replyWindowHours * 3600.0);
    for (const auto& m : page->items) {
        if (st.phase == Phase::kBackfill) {
            if (m.createdDateTime < backfillCutoff) reachedCutoff = true;
            if (now - m.createdDateTime < 6 * 3600000) ++recent;
            for (const auto& r : m.replies)
                if (now - r.createdDateTime < 6 * 3600000) ++recent;
        } else if (m.replies.empty() && m.VersionTime() > m.createdDateTime &&
                   m.createdDateTime >= replyCutoff) {
            // The thread changed after it was posted: a reply, an edit or a delete.
            threadsChanged.push_back({m.id, m.createdDateTime});
        }
    }
    bool done = false;      // this phase ends with this page
    std::string deltaLink;  // set when a delta round ends
    if (st.phase == Phase::kBackfill) {
        if (backfillCutoff > 0)
            page->items.erase(std::remove_if(page->items.begin(), page->items.end(),
                                             [&](const ChatMessage& m) {
                                                 return m.createdDateTime < backfillCutoff;
                                             }),
                              page->items.end());
        st.backfillFetched += static_cast<int>(received);
        done = page->nextLink.empty() || reachedCutoff ||
               st.backfillFetched >= m_settings.backfillMessages;
    } else {
        done = page->nextLink.empty();
        deltaLink = page->deltaLink;
    }
    std::vector<UnixMillis> arrived;
    size_t changed = m_store.MergeMessages(job.channelId, std::move(page->items),
                                           st.phase == Phase::kBackfill && done, true, &arrived);
    bool hot;
    {
        std::lock_guard lock(m_mutex);
        hot = m_planner.Lambda(job.channelId, now) >= kHotLambda;
    }
    for (UnixMillis created : arrived)
        if (created >= m_startedAt) m_metrics.OnFresh(now, created, hot);
    m_metrics.OnUseful(now, changed);
    if (st.phase != Phase::kBackfill && done) {
        if (deltaLink.empty()) {
            m_store.RecordChannelSync(job.channelId, true, {});
        } else {
            m_store.RecordChannelSync(job.channelId, true, {}, &deltaLink);
        }
    } else {
        m_store.RecordChannelSync(job.channelId, true, {});
    }

    std::unique_lock lock(m_mutex);
    m_retryBudget.OnSuccess();
    if (m_stopping) return;
    auto& live = m_channels[job.channelId];
    live.backfillFetched = st.backfillFetched;
    live.backfillStarted = st.backfillStarted;
    job.failures = 0;
    job.notBefore = 0;
    if (st.phase == Phase::kBackfill) {
        live.nextLink = done ? std::string() : page->nextLink;
        if (done) {
            live.phase = Phase::kDeltaStart;
            // The first delta round covers what changed since the backfill began.
            live.deltaSince = NewestHeld(job.channelId, 60000);
            m_planner.Seed(job.channelId, recent, 6 * 3600.0, now);
            m_lastRebalance = 0;  // give the new channel its share at the next look
        }
    } else {
        if (st.phase == Phase::kLive && live.nextLink.empty())
            m_planner.Observe(job.channelId, static_cast<int>(arrived.size()), now);
        live.nextLink = done ? std::string() : page->nextLink;
        if (done) {
            if (!deltaLink.empty()) live.deltaLink = deltaLink;
            live.phase = Phase::kLive;
        }
    }
    // Replies of recently started threads that changed, one job per thread.
    for (const auto& [rootId, created] : threadsChanged) {
        if (!m_replyJobs.insert({job.channelId, rootId}).second) continue;
        Job r{Job::Kind::kReplies, job.teamId, job.channelId, rootId};
        m_queue.push_back(std::move(r));
    }
    Enqueue(std::move(job));
    m_cv.notify_all();
    lock.unlock();
    if (st.phase == Phase::kBackfill && done) MaybeLive();
}

void SyncEngine::RunReplies(Job& job) {
    auto replies = WithSdkRetries(
        [&] { return m_client->ListRepliesPage(job.teamId, job.channelId, job.messageId, 50); });
    UnixMillis now = Now();
    if (!replies) {
        if (replies.error().code == ErrorCode::kNotFound) {
            std::lock_guard lock(m_mutex);
            m_replyJobs.erase({job.channelId, job.messageId});
            return;
        }
        Retry(std::move(job), replies.error());
        return;
    }
    // Merge as the root with these replies inlined; the root itself is not newer, so only
    // the replies can change anything.
    SnapshotPtr snap = m_store.Current();
    std::vector<ChatMessage> batch;
    if (const ChannelData* cd = snap->FindChannel(job.channelId)) {
        for (auto it = cd->messages.rbegin(); it != cd->messages.rend(); ++it) {
            if ((*it)->message.id != job.messageId) continue;
            ChatMessage root = (*it)->message;
            root.replies = std::move(replies->items);
            batch.push_back(std::move(root));
            break;
        }
    }
    std::vector<UnixMillis> arrived;
    size_t changed = batch.empty() ? 0
                                   : m_store.MergeMessages(job.channelId, std::move(batch), false,
                                                           true, &arrived);
    bool hot;
    {
        std::lock_guard lock(m_mutex);
        m_replyJobs.erase({job.channelId, job.messageId});
        m_retryBudget.OnSuccess();
        hot = m_planner.Lambda(job.channelId, now) >= kHotLambda;
        if (!arrived.empty())
            m_planner.Observe(job.channelId, static_cast<int>(arrived.size()), now);
    }
    for (UnixMillis created : arrived)
        if (created >= m_startedAt) m_metrics.OnFresh(now, created, hot);
    m_metrics.OnUseful(now, changed);
}

void SyncEngine::RunCommand(Job& job) {
    Command& c = *job.command;
    t_requestId.clear();
    Command::Outcome out;
    auto fail = [&](const Error& e) {
        out.status = e;
        if (out.requestId.empty()) out.requestId = e.requestId;
        // A request that went out and got no answer may still have taken effect
        // (no answer at all, or a gateway timing out on the way back).
        out.sentButUnanswered = e.timedOut || (e.code == ErrorCode::kTransient &&
                                               (e.httpStatus == 0 || e.httpStatus == 504));
        if (e.code == ErrorCode::kThrottled && Adaptive()) {
            // Close the scopes like any 429, but report the failure to the caller rather
            // than acting later behind the user's back.
            std::lock_guard lock(m_mutex);
            UnixMillis until = Now() + Ms(e.retryAfterSeconds.value_or(1.0));
            for (const auto& s : ScopesOf(job))
                if (s != "app") m_pacer.Block(s, until);
        }
    };
    const char* what = "command";
    switch (c.kind) {
        case Command::Kind::kPostMessage:
        case Command::Kind::kPostReply: {
            bool reply = c.kind == Command::Kind::kPostReply;
            what = reply ? "reply" : "post";
            UnixMillis sentAt = NowMillis();
            auto posted = reply ? m_client->PostReply(c.teamId, c.channelId, c.messageId, c.message)
                                : m_client->PostMessage(c.teamId, c.channelId, c.message);
            out.requestId = t_requestId;
            // No double post: when the request went out and no answer came back, look for
            // the message before anyone offers to send it again.
            if (!posted &&
                (posted.error().timedOut ||
                 (posted.error().code == ErrorCode::kTransient &&
                  (posted.error().httpStatus == 0 || posted.error().httpStatus == 504)))) {
                Log(LogLevel::kInfo, "sync", std::string(what) + " got no answer; looking for it");
                if (auto found = FindPosted(c, sentAt)) {
                    Log(LogLevel::kInfo, "sync",
                        std::string(what) + " had been created: " + found->id);
                    posted = *found;
                    out.reconciled = true;
                }
            }
            if (posted) {
                Log(LogLevel::kInfo, "sync", std::string(what) + " created message " + posted->id);
                if (!reply) m_store.MergeMessages(c.channelId, {posted.value()}, false);
                out.message = posted.value();
            } else {
                fail(posted.error());
            }
            if (c.done) c.done(posted);
            break;
        }
        case Command::Kind::kEditMessage:
        case Command::Kind::kSoftDelete:
        case Command::Kind::kUndoDelete: {
            Status st =
                c.kind == Command::Kind::kEditMessage
                    ? m_client->EditMessage(c.teamId, c.channelId, c.messageId, c.replyId, c.edit)
                : c.kind == Command::Kind::kSoftDelete
                    ? m_client->SoftDelete(c.teamId, c.channelId, c.messageId, c.replyId)
                    : m_client->UndoSoftDelete(c.teamId, c.channelId, c.messageId, c.replyId);
            what = c.kind == Command::Kind::kEditMessage  ? "edit"
                   : c.kind == Command::Kind::kSoftDelete ? "soft delete"
                                                          : "undo delete";
            out.requestId = t_requestId;
            UnixMillis now = Now();
            if (job.firstTry == 0) job.firstTry = now;
            if (!st &&
                (st.error().code == ErrorCode::kTransient ||
                 st.error().code == ErrorCode::kThrottled || st.error().code == ErrorCode::kAuth) &&
                now - job.firstTry < Ms(Command::kCommandRetrySeconds)) {
                // Still queued: sent again once Graph answers, nothing lost meanwhile.
                const Error& e = st.error();
                job.failures++;
                double delay = e.retryAfterSeconds
                                   ? *e.retryAfterSeconds * (1.0 + 0.1 * Random01())
                                   : 0.5 + FullJitterBackoff(job.failures, 1.0, 30.0, Random01());
                Log(LogLevel::kInfo, "sync",
                    std::string(what) + " will be sent again in " +
                        std::to_string(static_cast<int>(delay + 0.5)) + " s: " + e.Describe());
                if (c.retrying) c.retrying(e, delay);
                if (e.code == ErrorCode::kThrottled && Adaptive()) fail(e);  // closes the scopes
                // Kept even while stopping (a revoked sign-in replaces the engine): the next
                // engine takes it over through TakeCommands.
                std::lock_guard lock(m_mutex);
                if (!m_stopping) m_metrics.OnRetry();
                job.notBefore = now + Ms(delay);
                Enqueue(std::move(job));
                m_cv.notify_all();
                return;
            }
            if (!st) fail(st.error());
            if (st) {
                // Show the change at once: the next delta round would bring it anyway.
                std::lock_guard lock(m_mutex);
                auto it = m_channels.find(c.channelId);
                if (it != m_channels.end()) it->second.refreshNow = true;
            }
            break;
        }
        default:
            return;
    }
    if (!out.status)
        Log(LogLevel::kWarn, "sync",
            std::string(what) + " failed: " + out.status.error().Describe());
    if (c.finished) c.finished(out);
}

std::optional<ChatMessage> SyncEngine::FindPosted(const Command& c, UnixMillis sentAt) {
    bool reply = c.kind == Command::Kind::kPostReply;
    auto page = reply ? m_client->ListRepliesPage(c.teamId, c.channelId, c.messageId, 50)
                      : m_client->ListMessagesPage(c.teamId, c.channelId, 50);
    if (!page) return std::nullopt;  // cannot tell: the caller reports the failure
    auto trim = [](std::string s) {
        size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
        return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    const std::string want = trim(c.message.content);
    // Same body and subject, created no earlier than a minute before the send (clocks
    // differ), newest first.
    for (const auto& m : page->items)
        if (trim(m.body.content) == want && m.subject == c.message.subject &&
            m.createdDateTime >= sentAt - 60000)
            return m;
    return std::nullopt;
}

void SyncEngine::OnCall(const std::string&, const CallInfo& info) {
    UnixMillis now = Now();
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& scopes = t_scopes ? *t_scopes : kNone;
    double ra = info.retryAfterSeconds.value_or(0);
    m_metrics.OnResponse(now, scopes, info.status, info.timedOut, info.rttMs,
                         info.retryAfterSeconds ? &ra : nullptr);
    t_rateLimit = info.rateLimitLimit;
    t_requestId = info.requestId;
    if (!Adaptive() || scopes.empty() || !info.rateLimitLimit || !info.rateLimitRemaining ||
        info.status == 429)
        return;
    // The service says a limit is nearly used up (RateLimit-* headers, sent near a limit).
    // Treat 20% or less remaining like a 429 for the adaptive rate, without closing the
    // gate: slowing down before the 429 is what keeps requests out of closed scopes.
    if (*info.rateLimitRemaining > 0.2 * *info.rateLimitLimit) return;
    std::lock_guard lock(m_mutex);
    std::vector<std::string> refusing = RefusingScopes(scopes, info.rateLimitLimit);
    m_pacer.OnThrottle(refusing, now);
    for (const auto& s : GuardedScopes(refusing)) m_cautiousUntil[s] = now + kCautiousMs;
}

std::vector<std::string> SyncEngine::GuardedScopes(const std::vector<std::string>& scopes) {
    std::vector<std::string> out;
    for (const auto& s : scopes)
        if (s.rfind("class:", 0) == 0 || s.rfind("team:", 0) == 0) out.push_back(s);
    return out;
}

std::vector<std::string> SyncEngine::RefusingScopes(const std::vector<std::string>& scopes,
                                                    std::optional<double> headerLimit) const {
    // Graph does not say which scope refused. Without a hint, assume every scope the
    // request touched except the app-wide one (2000 rps is never what Teams throttles
    // first). With a RateLimit-Limit header, the scope whose limit is nearest to it; a
    // team and a channel share the same limit, so a match on either names both.
    std::vector<std::string> out;
    if (!headerLimit || *headerLimit <= 0) {
        for (const auto& s : scopes)
            if (s != "app") out.push_back(s);
        return out;
    }
    std::string best;
    double bestDist = 1e18;
    for (const auto& s : scopes) {
        double lim = m_pacer.Limit(s);
        if (s == "app" || lim <= 0) continue;
        double d = std::fabs(std::log(lim / *headerLimit));
        if (d < bestDist - 1e-9) {
            bestDist = d;
            best = s;
        }
    }
    if (best.empty()) return RefusingScopes(scopes, std::nullopt);
    out.push_back(best);
    if (best.rfind("team:", 0) == 0 || best.rfind("channel:", 0) == 0)
        for (const auto& s : scopes)
            if (s != best && (s.rfind("team:", 0) == 0 || s.rfind("channel:", 0) == 0))
                out.push_back(s);
    return out;
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
    });
}

}  // namespace cdeck::core
