// The sync engine's scheduler: which queued job may be sent now (not-before times, the
// poll plan, pacing on every scope it touches, cautious mode), in which order, and which
// live polls ride along in one $batch. Everything here runs with m_mutex held.
#include <algorithm>
#include <cmath>

#include "sync/engine_internal.hpp"

namespace cdeck::core {

using namespace engine_detail;

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
        case Job::Kind::kMembers:
            scopes.push_back("class:other");
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

bool SyncEngine::NotOurs(const Job& job) const {
    if (!m_ownership) return false;
    switch (job.kind) {
        case Job::Kind::kDiscoverTeams:
        case Job::Kind::kDiscoverChannels:
        case Job::Kind::kMembers:
            return !m_ownership->Leader();
        case Job::Kind::kSyncChannel:
        case Job::Kind::kReplies:
            return !m_ownership->OwnsChannel(job.channelId);
        default:
            return false;
    }
}

bool SyncEngine::Ready(const Job& job, UnixMillis now, UnixMillis& readyAt,
                       double& priority) const {
    readyAt = job.notBefore;
    if (NotOurs(job)) {  // the lease may come (or come back): look again in a second
        readyAt = std::max(readyAt, now + 1000);
        priority = 0;
        return false;
    }
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
        case Job::Kind::kMembers:  // worth about as much as a reply fetch
            priority = kPrioReplies;
            return !m_pausedAll && readyAt <= now;
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
    return PollReady(job.channelId, st, boost, now, readyAt, priority);
}

bool SyncEngine::PollReady(const std::string& channelId, const ChannelState& st, double boost,
                           UnixMillis now, UnixMillis& readyAt, double& priority) const {
    if (m_settings.pushLive) {  // reconciliation only: push brings the changes
        readyAt = std::max(readyAt, st.lastPoll + Ms(m_settings.reconcileSeconds));
        priority = -static_cast<double>(readyAt);
        return readyAt <= now;
    }
    // Etiquette: the budget is the budget; being on screen raises priority, not the rate.
    if (m_settings.Etiquette()) boost = 1.0;
    // A live poll: due one poll interval after the last, sooner when boosted (sdk: fixed).
    double interval = m_sdk ? m_settings.pollIntervalSeconds
                            : m_planner.PollInterval(channelId) / std::sqrt(boost);
    if (!m_sdk) interval = std::max(interval, m_settings.minPollIntervalSeconds / boost);
    readyAt = std::max(readyAt, st.lastPoll + Ms(interval));
    // sdk: plain round-robin, oldest due first.
    if (m_sdk) {
        priority = -static_cast<double>(readyAt);
        return readyAt <= now;
    }
    priority = m_planner.Priority(channelId, st.lastPoll, now, boost);
    // The floor is a promise: a channel not polled for 1.25x the maximum interval goes
    // ahead of every ordinary poll (most overdue first), so quiet channels cannot be
    // starved when the budget is oversubscribed. The margin keeps channels that are only
    // just due from crowding out the busy ones.
    double age = static_cast<double>(now - st.lastPoll) / 1000.0;
    if (st.lastPoll > 0 && age > 1.25 * m_settings.maxPollIntervalSeconds)
        priority = kPrioOverdue + age / m_settings.maxPollIntervalSeconds;
    return readyAt <= now;
}

void SyncEngine::RebalanceIfDue(UnixMillis now) {
    if (now - m_lastRebalance < 2000) return;
    PollPlanner::Settings ps = m_planner.GetSettings();
    // Polls are scheduled against at least the paced start rate, not the adaptive rate
    // after a cut: the pacer then holds the polls back and priority picks among them,
    // instead of every channel's next poll moving far into the future. When the rate has
    // grown past the start, use it.
    ps.budget =
        std::max(m_limits.getMessage * m_limits.paceFraction, m_pacer.Rate(kClassGetMessage)) *
        m_settings.pollBudgetFraction;
    if (m_settings.Etiquette()) {  // a small background budget; no floor forcing polls
        ps.budget = m_settings.backgroundRequestsPerMinute / 60.0;
        ps.minInterval = std::max(m_settings.minPollIntervalSeconds, 60.0);
        ps.maxInterval = 7 * 86400.0;
        size_t polled = 0;
        for (const auto& [id, st] : m_channels) polled += !st.paused;
        m_backgroundRefresh = static_cast<double>(polled) / ps.budget;
    }
    m_planner.Configure(ps);
    m_planner.Rebalance(now);
    m_lastRebalance = now;
}

SyncEngine::QueueScan SyncEngine::ScanQueue(UnixMillis now) const {
    QueueScan scan;
    for (size_t i = 0; i < m_queue.size(); ++i) {
        UnixMillis at;
        double prio;
        if (Ready(m_queue[i], now, at, prio)) {
            scan.ready.push_back({prio, i});
            if (IsBusyWork(m_queue[i])) ++scan.busyReady;
        } else {
            scan.earliest = std::min(scan.earliest, at);
            // With $batch packing, polls due within the next second may ride along with one
            // that is due now: one request instead of several.
            if (m_settings.batch && at <= now + 1000) scan.soon.push_back({prio, i});
        }
    }
    std::sort(scan.ready.begin(), scan.ready.end(),
              [](const Candidate& a, const Candidate& b) { return a.priority > b.priority; });
    return scan;
}

long SyncEngine::Choose(const QueueScan& scan, UnixMillis now, UnixMillis& tokenWait) {
    std::set<std::string> refusedShared;  // app/class scopes out of tokens or gated
    bool pacedOut = false;
    long chosen = -1;
    for (const auto& c : scan.ready) {
        Job& j = m_queue[c.index];
        if (m_sdk) {  // no pacing at all: the SDK sends as soon as it can
            chosen = static_cast<long>(c.index);
            break;
        }
        EnsureChannelScopes(j);
        std::vector<std::string> scopes = ScopesOf(j);
        if (refusedShared.count(scopes[1]) || refusedShared.count(scopes[0])) continue;
        // Cautious mode: right after a 429 or a near-limit warning in a class or team scope,
        // one request at a time in that scope, so none is in flight when the next warning
        // comes back (an in-flight request would land in a closed scope).
        if (std::any_of(scopes.begin(), scopes.end(), [&](const std::string& s) {
                auto cu = m_cautiousUntil.find(s);
                return cu != m_cautiousUntil.end() && cu->second > now && m_inFlightByScope[s] > 0;
            }))
            continue;
        Pacer::Grant g = m_pacer.Acquire(scopes, now, 1.0);
        if (g.wait == 0 && !TakeShared(scopes, tokenWait)) {
            pacedOut = true;
            continue;
        }
        if (g.wait == 0) {
            chosen = static_cast<long>(c.index);
            break;
        }
        tokenWait = std::min(tokenWait, g.wait);
        if (!g.gated) pacedOut = true;
        if (g.scope == "app" || g.scope.rfind("class:", 0) == 0) refusedShared.insert(g.scope);
    }
    m_workWaiting = pacedOut;
    return chosen;
}

bool SyncEngine::TakeShared(const std::vector<std::string>& scopes, UnixMillis& tokenWait) {
    if (!m_budget) return true;
    UnixMillis wait = m_budget->Take(scopes, 1.0);
    if (wait == 0) return true;
    m_pacer.Refund(scopes, 1.0);
    tokenWait = std::min(tokenWait, wait);
    return false;
}

std::vector<size_t> SyncEngine::PackBatch(size_t chosen, const QueueScan& scan, UnixMillis now) {
    // $batch packing: more due live polls, one per team, each paced on its own scopes, ride
    // along with the chosen one.
    std::vector<size_t> taken = {chosen};
    const Job& first = m_queue[chosen];
    if (!m_settings.batch || !Adaptive() || first.kind != Job::Kind::kSyncChannel ||
        IsBusyWork(first))
        return taken;
    std::set<std::string> teams = {first.teamId};
    std::vector<Candidate> riders = scan.ready;
    riders.insert(riders.end(), scan.soon.begin(), scan.soon.end());
    for (const auto& c : riders) {
        if (taken.size() >= BatchBuilder::kMaxRequests) break;
        const Job& j = m_queue[c.index];
        if (c.index == chosen || j.kind != Job::Kind::kSyncChannel || IsBusyWork(j) ||
            teams.count(j.teamId))
            continue;
        EnsureChannelScopes(j);
        std::vector<std::string> scopes = ScopesOf(j);
        if (m_pacer.Acquire(scopes, now, 1.0).wait != 0) continue;
        UnixMillis unused = INT64_MAX;
        if (!TakeShared(scopes, unused)) break;  // the shared budget is out: no more riders
        teams.insert(j.teamId);
        taken.push_back(c.index);
    }
    return taken;
}

void SyncEngine::TakeJobs(std::vector<size_t> taken, UnixMillis now, Job& out) {
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
    // In flight until RunAndRelease: counted per guarded scope for cautious mode.
    ++m_inFlight;
    for (const auto& s : GuardedScopes(ScopesOf(jobs.front()))) ++m_inFlightByScope[s];
    if (jobs.size() == 1) {
        out = std::move(jobs.front());
    } else {
        out = Job{Job::Kind::kBatch};
        out.items = std::move(jobs);
    }
}

SyncEngine::Take SyncEngine::TakeReady(Job& out, std::unique_lock<std::mutex>& lock, bool block) {
    while (!m_stopping) {
        UnixMillis now = Now();
        if (Adaptive()) {
            m_pacer.Tick(now, m_workWaiting);
            RebalanceIfDue(now);
        }
        QueueScan scan = ScanQueue(now);
        UnixMillis tokenWait = INT64_MAX;
        long chosen = Choose(scan, now, tokenWait);
        // "Work is queued" when backlog (backfill and continuation pages, replies,
        // refresh-now) is still waiting after this look: the budget, not the work, is what
        // limits progress.
        int busyLeft =
            scan.busyReady - (chosen >= 0 && IsBusyWork(m_queue[static_cast<size_t>(chosen)]));
        int waiting = static_cast<int>(m_queue.size() - scan.ready.size());
        m_metrics.SampleQueues(now, m_inFlight, static_cast<int>(scan.ready.size()), waiting,
                               busyLeft > 0);
        if (chosen >= 0) {
            TakeJobs(PackBatch(static_cast<size_t>(chosen), scan, now), now, out);
            return Take::kJob;
        }
        if (!block) return Take::kIdle;
        UnixMillis wakeAt =
            std::min(scan.earliest, tokenWait == INT64_MAX ? INT64_MAX : now + tokenWait);
        UnixMillis waitMs =
            wakeAt == INT64_MAX ? 250 : std::clamp<UnixMillis>(wakeAt - now, 1, 250);
        m_cv.wait_for(lock, std::chrono::milliseconds(waitMs));
        return Take::kIdle;  // let the caller publish figures, then look again
    }
    return Take::kStop;
}

}  // namespace cdeck::core
