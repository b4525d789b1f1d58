// Per-channel sync: team and channel discovery, a channel's backfill, its delta rounds
// (one request, or a $batch of many channels' polls), and the replies of changed threads.
// Each page (or its error) goes through HandleChannelPage, whatever way it came.
#include <algorithm>

#include "model/parse.hpp"
#include "sync/engine_internal.hpp"
#include "util/log.hpp"

namespace cdeck::core {

using namespace engine_detail;

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
    for (const auto& c : channels.value()) {
        auto& st = m_channels[c.id];
        st.teamId = job.teamId;
        if (!st.known) RestoreChannel(c.id, st, *snap);
        if (!st.queued) Enqueue(Job{Job::Kind::kSyncChannel, job.teamId, c.id});
    }
    m_teamsUnlisted.erase(job.teamId);
    if (!m_membersRefused) Enqueue(Job{Job::Kind::kMembers, job.teamId});
    m_channelsKnown = static_cast<int>(m_channels.size());
    job.failures = 0;
    m_cv.notify_all();
    lock.unlock();
    // Two teams' lists can finish at once: the count is read inside the publish, so the
    // last publish shows the newest count whatever order the two threads publish in.
    m_store.UpdateSyncStatus([&](SyncStatus& s) { s.channelsTotal = m_channelsKnown.load(); });
    MaybeLive();
}

void SyncEngine::RunMembers(Job& job) {
    // For the @-mention picker; paced and budgeted like every request ("class:other").
    // Optional: a token without TeamMember.Read.All keeps the picker on the people seen
    // writing (and the engine stops asking), and a failure keeps the last list until the
    // next discovery.
    auto members = m_client->ListTeamMembers(job.teamId);
    if (members) {
        m_store.SetTeamMembers(job.teamId, std::move(members.value()));
        return;
    }
    const bool refused = members.error().code == ErrorCode::kPermission;
    {
        std::lock_guard lock(m_mutex);
        if (refused && m_membersRefused) return;
        m_membersRefused = m_membersRefused || refused;
    }
    Log(refused ? LogLevel::kInfo : LogLevel::kWarn, "sync",
        std::string(refused ? "team members are not listed (grant TeamMember.Read.All for the "
                              "@-mention picker): "
                            : "team member list failed: ") +
            members.error().Describe());
}

void SyncEngine::AdoptChannel(const std::string& teamId, const std::string& channelId,
                              const std::string& deltaLink, UnixMillis lastSync) {
    SnapshotPtr snap = m_store.Current();
    std::lock_guard lock(m_mutex);
    auto& st = m_channels[channelId];
    st.teamId = teamId;
    if (!st.known) RestoreChannel(channelId, st, *snap);
    st.nextLink.clear();
    st.deltaLink = deltaLink;
    if (deltaLink.empty()) {  // its last owner had not finished the backfill
        st.phase = Phase::kBackfill;
        st.backfillFetched = 0;
        st.backfillStarted = 0;
    } else if (lastSync > 0) {
        // Two minutes before its last round: what it saw then but had not finished.
        st.phase = Phase::kDeltaStart;
        st.deltaSince = std::max<UnixMillis>(0, lastSync - Ms(120.0));
    } else {
        st.phase = Phase::kLive;
    }
    st.refreshNow = true;  // close the gap since the last owner's last round now
    if (!st.queued) Enqueue(Job{Job::Kind::kSyncChannel, teamId, channelId});
    m_channelsKnown = static_cast<int>(m_channels.size());
    m_cv.notify_all();
}

void SyncEngine::RestoreChannel(const std::string& id, ChannelState& st, const Snapshot& snap) {
    // Offline first: a channel the database already holds continues where it was.
    st.known = true;
    st.visible = m_visible.count(id) != 0;
    const ChannelData* cd = snap.FindChannel(id);
    if (!cd) return;
    st.pinned = cd->pinned;
    st.paused = cd->paused;
    if (!cd->backfilled) return;
    st.deltaLink = cd->deltaLink;
    st.phase = cd->deltaLink.empty() ? Phase::kDeltaStart : Phase::kLive;
    st.deltaSince = std::max<UnixMillis>(0, cd->lastSyncOk - 60000);
    // Seed the poll rate from the cached activity of the last 24 hours.
    const UnixMillis now = Now();
    int day = cd->activity ? cd->activity->Sum(ActivityRing::kMessages, now - 86400000, now + 1) +
                                 cd->activity->Sum(ActivityRing::kReplies, now - 86400000, now + 1)
                           : 0;
    m_planner.Seed(id, day, 86400.0, now);
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
    Result<Page<ChatMessage>> page = MakeError(ErrorCode::kInternal, "no request");
    if (st.phase == Phase::kBackfill) {
        if (st.backfillStarted == 0) st.backfillStarted = Now();
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
    for (auto& item : batch.items) {
        ChannelState st;
        {
            std::lock_guard lock(m_mutex);
            st = m_channels[item.channelId];
        }
        std::string link = PollLink(st);
        std::optional<UnixMillis> since;
        if (st.deltaSince > 0) since = st.deltaSince;
        BatchRequest r;
        r.id = std::to_string(items.size() + 1);
        r.url = link.empty() ? GraphClient::DeltaStartPath(item.teamId, item.channelId, 50, since)
                             : m_client->RelativePath(link);
        if (r.url.empty()) {
            Job single = std::move(item);  // a link elsewhere cannot ride in this batch
            RunSyncChannel(single);
            continue;
        }
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

void SyncEngine::HandleChannelError(Job job, const Error& e) {
    if (e.code == ErrorCode::kResync) {
        // The delta token expired or the service lost it: start a new round from shortly
        // before the last good sync (DESIGN.md section 4).
        Log(LogLevel::kInfo, "sync", "delta resync for a channel: " + e.graphCode);
        m_metrics.OnResync();
        static const std::string kForget;
        m_store.RecordChannelSync(job.channelId, true, {}, &kForget);
        std::lock_guard lock(m_mutex);
        auto& live = m_channels[job.channelId];
        live.phase = Phase::kDeltaStart;
        live.nextLink.clear();
        live.deltaLink.clear();
        // Since shortly before the newest message held, in the server's own timestamps (our
        // clock may be off, or have jumped).
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
}

SyncEngine::PageFacts SyncEngine::ReadPage(const ChannelState& st, Page<ChatMessage>& page,
                                           UnixMillis now) const {
    // What the page means, decided before merging (merging moves the items).
    PageFacts f;
    const UnixMillis backfillCutoff =
        m_settings.backfillDays > 0 ? now - Ms(m_settings.backfillDays * 86400.0) : 0;
    // 0 means no limit (as the config documents): every changed thread's replies.
    const UnixMillis replyCutoff =
        m_settings.replyWindowHours > 0 ? now - Ms(m_settings.replyWindowHours * 3600.0) : 0;
    bool reachedCutoff = false;
    for (const auto& m : page.items) {
        if (st.phase == Phase::kBackfill) {
            if (m.createdDateTime < backfillCutoff) reachedCutoff = true;
            if (now - m.createdDateTime < 6 * 3600000) ++f.recent;
            for (const auto& r : m.replies)
                if (now - r.createdDateTime < 6 * 3600000) ++f.recent;
        } else if (m.replies.empty() && m.VersionTime() > m.createdDateTime &&
                   m.createdDateTime >= replyCutoff) {
            // The thread changed after it was posted: a reply, an edit or a delete.
            f.threadsChanged.push_back(m.id);
        }
    }
    if (st.phase == Phase::kBackfill) {
        f.received = static_cast<int>(page.items.size());
        if (backfillCutoff > 0)
            page.items.erase(std::remove_if(page.items.begin(), page.items.end(),
                                            [&](const ChatMessage& m) {
                                                return m.createdDateTime < backfillCutoff;
                                            }),
                             page.items.end());
        f.done = page.nextLink.empty() || reachedCutoff ||
                 st.backfillFetched + f.received >= m_settings.backfillMessages;
    } else {
        f.done = page.nextLink.empty();
        f.deltaLink = page.deltaLink;
    }
    return f;
}

void SyncEngine::HandleChannelPage(Job job, ChannelState st, Result<Page<ChatMessage>> page) {
    if (!page) return HandleChannelError(std::move(job), page.error());
    UnixMillis now = Now();
    PageFacts f = ReadPage(st, page.value(), now);
    st.backfillFetched += f.received;
    std::vector<UnixMillis> arrived;
    size_t changed = m_store.MergeMessages(job.channelId, std::move(page->items),
                                           st.phase == Phase::kBackfill && f.done, true, &arrived);
    CountArrivals(job.channelId, arrived, changed, now);
    // A finished delta round stores its deltaLink with the sync time.
    bool roundEnds = st.phase != Phase::kBackfill && f.done && !f.deltaLink.empty();
    m_store.RecordChannelSync(job.channelId, true, {}, roundEnds ? &f.deltaLink : nullptr);

    std::unique_lock lock(m_mutex);
    m_retryBudget.OnSuccess();
    if (m_stopping) return;
    auto& live = m_channels[job.channelId];
    live.backfillFetched = st.backfillFetched;
    live.backfillStarted = st.backfillStarted;
    // A live round's first page is a poll: what it brought feeds the rate estimate.
    if (st.phase == Phase::kLive && live.nextLink.empty())
        m_planner.Observe(job.channelId, static_cast<int>(arrived.size()), now);
    live.nextLink = f.done ? std::string() : page->nextLink;
    if (st.phase == Phase::kBackfill && f.done) {
        live.phase = Phase::kDeltaStart;
        // The first delta round covers what changed since the backfill began.
        live.deltaSince = NewestHeld(job.channelId, 60000);
        m_planner.Seed(job.channelId, f.recent, 6 * 3600.0, now);
        m_lastRebalance = 0;  // give the new channel its share at the next look
    } else if (st.phase != Phase::kBackfill) {
        if (f.done) {
            if (!f.deltaLink.empty()) live.deltaLink = f.deltaLink;
            live.phase = Phase::kLive;
        }
    }
    // Replies of recently started threads that changed, one job per thread.
    for (const auto& rootId : f.threadsChanged)
        if (m_replyJobs.insert({job.channelId, rootId}).second)
            m_queue.push_back(Job{Job::Kind::kReplies, job.teamId, job.channelId, rootId});
    job.failures = 0;
    job.notBefore = 0;
    Enqueue(std::move(job));
    m_cv.notify_all();
    lock.unlock();
    if (st.phase == Phase::kBackfill && f.done) MaybeLive();
}

void SyncEngine::CountArrivals(const std::string& channelId, const std::vector<UnixMillis>& arrived,
                               size_t changed, UnixMillis now) {
    bool hot;
    {
        std::lock_guard lock(m_mutex);
        hot = m_planner.Lambda(channelId, now) >= kHotLambda;
    }
    for (UnixMillis created : arrived)
        if (created >= m_startedAt) m_metrics.OnFresh(now, created, hot);
    m_metrics.OnUseful(now, changed);
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
    std::vector<StoredMessagePtr> batch;
    if (const ChannelData* cd = snap->FindChannel(job.channelId)) {
        for (auto it = cd->messages.rbegin(); it != cd->messages.rend(); ++it) {
            if ((*it)->message.id != job.messageId) continue;
            batch.push_back(Store::WithReplies(**it, std::move(replies->items)));
            break;
        }
    }
    std::vector<UnixMillis> arrived;
    size_t changed = batch.empty() ? 0
                                   : m_store.MergePrepared(job.channelId, std::move(batch), false,
                                                           true, &arrived);
    CountArrivals(job.channelId, arrived, changed, now);  // hot or not before they count
    std::lock_guard lock(m_mutex);
    m_replyJobs.erase({job.channelId, job.messageId});
    m_retryBudget.OnSuccess();
    if (!arrived.empty()) m_planner.Observe(job.channelId, static_cast<int>(arrived.size()), now);
}

}  // namespace cdeck::core
