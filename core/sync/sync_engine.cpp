#include "sync/sync_engine.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "util/log.hpp"

namespace cdeck::core {
namespace {

double Jitter01() {
    thread_local std::mt19937 rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

UnixMillis Seconds(double s) {
    return static_cast<UnixMillis>(s * 1000.0);
}

}  // namespace

SyncEngine::SyncEngine(std::shared_ptr<GraphClient> client, Store& store, SyncSettings settings,
                       bool delegated, GraphLimits limits)
    : m_client(std::move(client)),
      m_store(store),
      m_settings(settings),
      m_delegated(delegated),
      m_limits(limits) {
    m_rtts.reserve(512);
    const double f = m_limits.paceFraction;
    m_pacer.SetRate("app", m_limits.app * f);
    m_pacer.SetRate("class:get_message", m_limits.getMessage * f);
    m_pacer.SetRate("class:post_message", m_limits.postMessage * f);
    m_pacer.SetRate("class:get_channels", m_limits.getChannels * f);
    m_pacer.SetRate("class:get_teams", m_limits.getTeams * f);
    m_client->SetObserver([this](const std::string& m, const CallInfo& i) { OnCall(m, i); });
}

SyncEngine::~SyncEngine() {
    Stop();
}

void SyncEngine::Start() {
    std::lock_guard lock(m_mutex);
    if (!m_workers.empty()) return;
    m_stopping = false;
    Enqueue(Job{Job::Kind::kDiscoverTeams, {}, {}, 0, 100, 0, nullptr});
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.phase = "discovering";
        s.delegated = m_delegated;
    });
    for (int i = 0; i < m_settings.workers; ++i) m_workers.emplace_back([this] { WorkerLoop(); });
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
    m_client->SetObserver(nullptr);
}

void SyncEngine::Submit(Command command) {
    std::lock_guard lock(m_mutex);
    if (command.kind == Command::Kind::kRefreshChannel ||
        command.kind == Command::Kind::kRefreshAll) {
        // Pull the matching queued sync jobs forward and boost them.
        for (auto& j : m_queue) {
            if (j.kind != Job::Kind::kSyncChannel) continue;
            if (command.kind == Command::Kind::kRefreshAll || j.channelId == command.channelId) {
                j.notBefore = 0;
                j.priority = std::max(j.priority, 50);
            }
        }
    } else {
        Job j{Job::Kind::kCommand,
              command.teamId,
              command.channelId,
              0,
              200,
              0,
              std::make_shared<Command>(std::move(command))};
        Enqueue(std::move(j));
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
            scopes.push_back("class:get_message");
            break;
        case Job::Kind::kCommand:
            scopes.push_back("class:post_message");
            break;
    }
    if (!job.teamId.empty()) scopes.push_back("team:" + job.teamId);
    if (!job.channelId.empty()) scopes.push_back("channel:" + job.channelId);
    return scopes;
}

bool SyncEngine::TakeReady(Job& out, std::unique_lock<std::mutex>& lock) {
    while (!m_stopping) {
        UnixMillis now = NowMillis();
        int best = -1;
        UnixMillis earliest = INT64_MAX;
        for (size_t i = 0; i < m_queue.size(); ++i) {
            const Job& j = m_queue[i];
            if (j.notBefore <= now) {
                if (best < 0 || j.priority > m_queue[best].priority ||
                    (j.priority == m_queue[best].priority && j.notBefore < m_queue[best].notBefore))
                    best = static_cast<int>(i);
            } else {
                earliest = std::min(earliest, j.notBefore);
            }
        }
        if (best >= 0) {
            // Pacing: a job whose scopes have no tokens (or are gated by a Retry-After)
            // waits in the queue; nothing is sent into a closed scope.
            std::vector<std::string> scopes = ScopesOf(m_queue[best]);
            for (const auto& s : scopes) {
                if (s.rfind("team:", 0) == 0 && m_pacer.Rate(s) == 0)
                    m_pacer.SetRate(s, m_limits.perTeam * m_limits.paceFraction);
                if (s.rfind("channel:", 0) == 0 && m_pacer.Rate(s) == 0)
                    m_pacer.SetRate(s, m_limits.perChannel * m_limits.paceFraction);
            }
            if (UnixMillis wait = m_pacer.Acquire(scopes, now); wait > 0) {
                m_queue[best].notBefore = now + wait;
                continue;
            }
            out = std::move(m_queue[best]);
            m_queue[best] = std::move(m_queue.back());
            m_queue.pop_back();
            if (out.kind == Job::Kind::kSyncChannel) m_channels[out.channelId].queued = false;
            return true;
        }
        if (earliest == INT64_MAX) {
            m_cv.wait(lock);
        } else {
            m_cv.wait_for(lock,
                          std::chrono::milliseconds(std::min<UnixMillis>(earliest - now, 1000)));
        }
    }
    return false;
}

void SyncEngine::WorkerLoop() {
    std::unique_lock lock(m_mutex);
    Job job;
    while (TakeReady(job, lock)) {
        lock.unlock();
        Run(job);
        PublishStats();
        lock.lock();
    }
}

void SyncEngine::Run(Job& job) {
    // A fresh attempt gets a new client-request-id; a retry keeps the one it failed with.
    if (job.failures == 0 || job.clientRequestId.empty()) job.clientRequestId = NewUuid();
    ScopedClientRequestId scoped(job.clientRequestId);
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
        case Job::Kind::kCommand:
            RunCommand(job);
            break;
    }
}

void SyncEngine::Retry(Job job, const Error& error) {
    job.failures++;
    UnixMillis now = NowMillis();
    double delay;
    if (error.retryAfterSeconds) {
        // Release a little after the server's time so workers do not stampede at once.
        delay = *error.retryAfterSeconds * (1.0 + 0.1 * Jitter01());
    } else if (error.code == ErrorCode::kAuth || error.code == ErrorCode::kPermission ||
               error.code == ErrorCode::kConfig || error.code == ErrorCode::kTls) {
        delay = 30.0;  // needs a person; poll slowly until then
    } else {
        // Full-jitter exponential back-off, capped.
        double cap = std::min(60.0, 1.0 * std::pow(2.0, std::min(job.failures, 6)));
        delay = Jitter01() * cap + 0.2;
    }
    job.notBefore = now + Seconds(delay);
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    if (error.code == ErrorCode::kThrottled) {
        // A 429 closes the request class and the job's own channel for everyone.
        for (const auto& s : ScopesOf(job))
            if (s != "app" && s.rfind("team:", 0) != 0) m_pacer.Block(s, job.notBefore);
    }
    Enqueue(std::move(job));
    m_cv.notify_one();
}

void SyncEngine::RunDiscoverTeams(Job& job) {
    m_store.UpdateSyncStatus([](SyncStatus& s) { s.phase = "discovering"; });
    auto teams = m_delegated ? m_client->ListJoinedTeams() : m_client->ListAllTeams();
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
    m_store.UpsertTeams(teams.value());
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.signedIn = true;
        s.lastError.clear();
        if (s.phase == "discovering" || s.phase == "error") s.phase = "backfilling";
    });
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    for (const auto& t : teams.value())
        Enqueue(Job{Job::Kind::kDiscoverChannels, t.id, {}, 0, 90, 0, nullptr});
    Enqueue(Job{Job::Kind::kDiscoverTeams,
                {},
                {},
                NowMillis() + Seconds(m_settings.rediscoverSeconds),
                10,
                0,
                nullptr});
    m_cv.notify_all();
}

void SyncEngine::RunDiscoverChannels(Job& job) {
    auto channels = m_client->ListChannels(job.teamId);
    if (!channels) {
        Log(LogLevel::kWarn, "sync", "channel discovery failed: " + channels.error().Describe());
        if (channels.error().code == ErrorCode::kNotFound) return;  // team gone
        Retry(std::move(job), channels.error());
        return;
    }
    m_store.UpsertChannels(job.teamId, channels.value());
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    for (const auto& c : channels.value()) {
        auto& st = m_channels[c.id];
        st.teamId = job.teamId;
        if (!st.queued) Enqueue(Job{Job::Kind::kSyncChannel, job.teamId, c.id, 0, 60, 0, nullptr});
    }
    int total = static_cast<int>(m_channels.size());
    m_cv.notify_all();
    m_store.UpdateSyncStatus([&](SyncStatus& s) { s.channelsTotal = total; });
}

void SyncEngine::RunSyncChannel(Job& job) {
    ChannelState st;
    {
        std::lock_guard lock(m_mutex);
        st = m_channels[job.channelId];
    }
    const bool backfilling = !st.backfilled;
    Result<Page<ChatMessage>> page =
        backfilling && !st.backfillNext.empty()
            ? m_client->NextMessagesPage(st.backfillNext)
            : m_client->ListMessagesPage(job.teamId, job.channelId, backfilling ? 50 : 20,
                                         m_settings.expandReplies);
    if (!page) {
        const Error& e = page.error();
        m_store.RecordChannelSync(job.channelId, false, e.Describe());
        if (e.code == ErrorCode::kNotFound) return;  // channel deleted: stop polling it
        Retry(std::move(job), e);
        return;
    }
    size_t received = page->items.size();
    std::string next = page->nextLink;
    bool done = !backfilling;
    if (backfilling) {
        st.backfillFetched += static_cast<int>(received);
        done = next.empty() || st.backfillFetched >= m_settings.backfillMessages;
    }
    size_t changed = m_store.MergeMessages(job.channelId, std::move(page->items), done);
    m_store.RecordChannelSync(job.channelId, true, {});

    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    auto& live = m_channels[job.channelId];
    live.backfillFetched = st.backfillFetched;
    live.backfillNext = done ? std::string() : next;
    live.backfilled = live.backfilled || done;
    job.failures = 0;
    if (!done) {
        job.notBefore = 0;  // next backfill page: right away, same priority
    } else {
        // A page that was entirely new may have left a gap behind it; poll again soon.
        bool maybeGap = !backfilling && changed == received && received > 0 && !next.empty();
        job.notBefore = NowMillis() + Seconds(maybeGap ? 0.5 : m_settings.pollIntervalSeconds);
        job.priority = 30;
    }
    Enqueue(std::move(job));
    m_cv.notify_one();
    bool allDone = std::all_of(m_channels.begin(), m_channels.end(),
                               [](auto& kv) { return kv.second.backfilled; });
    if (allDone && done && backfilling)
        m_store.UpdateSyncStatus([](SyncStatus& s) { s.phase = "live"; });
}

void SyncEngine::RunCommand(Job& job) {
    Command& c = *job.command;
    if (c.kind != Command::Kind::kPostMessage) return;
    auto posted = m_client->PostMessage(c.teamId, c.channelId, c.message);
    if (posted) {
        Log(LogLevel::kInfo, "sync", "posted message " + posted->id);
        m_store.MergeMessages(c.channelId, {posted.value()}, false);
    } else {
        Log(LogLevel::kWarn, "sync", "post failed: " + posted.error().Describe());
    }
    if (c.done) c.done(posted);
}

void SyncEngine::OnCall(const std::string&, const CallInfo& info) {
    std::lock_guard lock(m_statsMutex);
    UnixMillis now = NowMillis();
    m_requests++;
    if (info.status >= 200 && info.status < 300)
        m_ok++;
    else if (info.status == 429)
        m_throttled++;
    else
        m_failures++;
    m_recentSends.push_back(now);
    while (!m_recentSends.empty() && m_recentSends.front() < now - 10000) m_recentSends.pop_front();
    if (info.status != 0) {
        if (m_rtts.size() < 512)
            m_rtts.push_back(info.rttMs);
        else
            m_rtts[m_rttNext++ % 512] = info.rttMs;
    }
}

void SyncEngine::PublishStats() {
    SyncStatus copy;
    std::vector<double> rtts;
    {
        std::lock_guard lock(m_statsMutex);
        UnixMillis now = NowMillis();
        if (now - m_lastStatsPublish < 250) return;  // at most 4 status publishes a second
        m_lastStatsPublish = now;
        while (!m_recentSends.empty() && m_recentSends.front() < now - 10000)
            m_recentSends.pop_front();
        copy.requests = m_requests;
        copy.responses2xx = m_ok;
        copy.throttled = m_throttled;
        copy.failures = m_failures;
        copy.requestsPerSecond = m_recentSends.size() / 10.0;
        rtts = m_rtts;
    }
    std::sort(rtts.begin(), rtts.end());
    auto pct = [&](double p) {
        return rtts.empty() ? 0.0 : rtts[static_cast<size_t>(p * (rtts.size() - 1))];
    };
    m_store.UpdateSyncStatus([&](SyncStatus& s) {
        s.requests = copy.requests;
        s.responses2xx = copy.responses2xx;
        s.throttled = copy.throttled;
        s.failures = copy.failures;
        s.requestsPerSecond = copy.requestsPerSecond;
        s.rttP50Ms = pct(0.5);
        s.rttP95Ms = pct(0.95);
    });
}

}  // namespace cdeck::core
