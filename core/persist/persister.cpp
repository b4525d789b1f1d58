#include "persist/persister.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "model/parse.hpp"
#include "model/packed.hpp"
#include "model/serialize.hpp"
#include "util/log.hpp"

namespace cdeck::core {

struct Persister::Op {
    enum class Kind {
        kTeam,
        kChannels,
        kMessage,
        kSyncState,
        kDraft,
        kDeleteDraft,
        kAudit,
        kReviewState
    } kind;
    uint64_t seq = 0;
    std::string key;  // team id, channel id, draft key
    std::string teamId;
    std::string json;                                           // the row's JSON document
    std::vector<std::pair<std::string, std::string>> channels;  // (id, json) in order
    StoredMessagePtr message;                                   // kMessage (shared, not copied)
    UnixMillis time = 0;
    bool flag = false;
    bool keepDeltaLink = false;  // kSyncState: a sync without a new delta link keeps the stored one
    Draft draft;
    AuditRow audit;
};

std::string DefaultDatabasePath() {
    return DefaultStateDir() + "/channeldeck.db";
}

Persister::Persister(std::unique_ptr<Database> db, PersistOptions options)
    : m_db(std::move(db)), m_options(options) {}

Persister::~Persister() {
    Stop();
}

void Persister::SetStatusCallback(std::function<void(const PersistStats&)> cb) {
    std::lock_guard lock(m_mutex);
    m_statusCb = std::move(cb);
}

void Persister::SetCommitObserver(std::function<void(uint64_t)> cb) {
    std::lock_guard lock(m_mutex);
    m_commitCb = std::move(cb);
}

Status Persister::LoadInto(Store& store, size_t newestRootsPerChannel) {
    std::lock_guard dbLock(m_dbMutex);
    std::vector<Team> teams;
    {
        auto st = m_db->Prepare("SELECT json FROM teams ORDER BY rowid");
        if (!st) return st.error();
        while (st->Step()) {
            auto j = ParseJson(st->Text(0));
            if (!j) continue;
            auto t = ParseTeam(j.value());
            if (t) teams.push_back(std::move(t.value()));
        }
    }
    store.UpsertTeams(teams);
    std::map<std::string, std::vector<Channel>> byTeam;
    {
        auto st = m_db->Prepare("SELECT team_id, json FROM channels ORDER BY team_id, position");
        if (!st) return st.error();
        while (st->Step()) {
            auto j = ParseJson(st->Text(1));
            if (!j) continue;
            auto c = ParseChannel(j.value());
            if (c) byTeam[st->Text(0)].push_back(std::move(c.value()));
        }
    }
    for (const auto& [team, chans] : byTeam) store.UpsertChannels(team, chans);
    std::map<std::string, std::pair<UnixMillis, bool>> sync;
    std::map<std::string, std::string> links;
    {
        auto st = m_db->Prepare(
            "SELECT channel_id, last_sync_ms, backfilled, coalesce(delta_link, '') FROM "
            "sync_state");
        if (!st) return st.error();
        while (st->Step()) {
            sync[st->Text(0)] = {st->Int(1), st->Int(2) != 0};
            links[st->Text(0)] = st->Text(3);
        }
    }
    size_t loaded = 0, unreadable = 0;
    if (Status st = LoadMessages(store, newestRootsPerChannel, true, &loaded, &unreadable); !st)
        return st;
    // Sync facts once, for every known channel, whether or not it has messages cached.
    for (const auto& [channel, s] : sync)
        if (store.Current()->FindChannel(channel))
            store.RestoreChannelSync(channel, s.first, s.second, links[channel]);
    size_t channels = store.Current()->channels.size();
    if (loaded > 0 || !teams.empty())
        store.UpdateSyncStatus([&](SyncStatus& s) {
            s.fromCache = true;
            s.channelsTotal = static_cast<int>(channels);
        });
    Log(LogLevel::kInfo, "persist",
        "loaded " + std::to_string(teams.size()) + " teams and " + std::to_string(loaded) +
            (newestRootsPerChannel ? " recent" : "") + " messages from " + m_db->Path() +
            (unreadable ? " (" + std::to_string(unreadable) + " unreadable rows skipped)" : ""));
    return OkStatus();
}

// Reads messages channel by channel and merges them into the store. newest > 0 limits the
// read to each channel's newest `newest` roots (newestPart) or to the rest (!newestPart);
// a root's replies always come with it.
namespace {

// A message row: its packed form, or (rows from before schema 3, or a damaged packing) its
// JSON. Null when neither reads.
std::optional<CompactMessage> ReadMessageRow(const Statement& st, int packedCol, int jsonCol) {
    if (!st.IsNull(packedCol))
        if (auto m = UnpackMessage(st.View(packedCol))) return std::move(m.value());
    auto j = ParseJson(st.View(jsonCol));
    if (!j) return std::nullopt;
    auto m = ParseChatMessage(j.value());
    if (!m) return std::nullopt;
    m->replies.clear();
    return CompactMessage(std::move(m.value()));
}

}  // namespace

Status Persister::LoadMessages(Store& store, size_t newest, bool newestPart, size_t* loadedOut,
                               size_t* unreadableOut) {
    size_t loaded = 0, unreadable = 0;
    // Reads one statement's rows (channel, reply_to_id, packed, json; ordered by channel,
    // then time) into roots with their replies, merging each channel into the store when
    // its rows end.
    auto consume = [&](Statement& st) {
        std::string current;
        std::vector<std::pair<CompactMessage, std::vector<CompactMessage>>> threads;
        std::unordered_map<std::string, size_t> rootIndex;
        std::vector<CompactMessage> orphans;
        auto flush = [&] {
            if (current.empty()) return;
            for (auto& o : orphans) {
                auto it = rootIndex.find(o.replyToId);
                if (it != rootIndex.end()) threads[it->second].second.push_back(std::move(o));
            }
            std::vector<StoredMessagePtr> stored;
            stored.reserve(threads.size());
            for (auto& [root, replies] : threads)
                stored.push_back(Store::MakeThread(std::move(root), std::move(replies)));
            store.MergePrepared(current, std::move(stored), false, /*notifyObserver=*/false);
            threads.clear();
            rootIndex.clear();
            orphans.clear();
        };
        while (st.Step()) {
            if (m_cancelLoad.load(std::memory_order_relaxed)) break;  // shutting down mid-load
            std::string_view channel = st.View(0);
            if (channel != current) {
                flush();
                current = channel;
            }
            auto m = ReadMessageRow(st, 2, 3);
            if (!m) {
                ++unreadable;  // a row we cannot read is skipped, never fatal
                continue;
            }
            ++loaded;
            if (m->replyToId.empty()) {
                rootIndex[m->id] = threads.size();
                threads.emplace_back(std::move(*m), std::vector<CompactMessage>{});
            } else if (auto it = rootIndex.find(m->replyToId); it != rootIndex.end()) {
                threads[it->second].second.push_back(std::move(*m));
            } else {
                orphans.push_back(std::move(*m));
            }
        }
        flush();
    };
    if (newest == 0) {
        auto st = m_db->Prepare(
            "SELECT channel_id, reply_to_id, packed, json FROM messages ORDER BY channel_id, "
            "created_ms");
        if (!st) return st.error();
        consume(st.value());
    } else {
        // The creation time of each channel's newest-th root; channels with fewer roots
        // have no cut-off and load whole in the first part. One short indexed walk per
        // channel (newest first), not a scan of the whole table.
        std::vector<std::string> channels;
        {
            auto st = m_db->Prepare("SELECT id FROM channels ORDER BY team_id, position");
            if (!st) return st.error();
            while (st->Step()) channels.push_back(st->Text(0));
        }
        std::map<std::string, int64_t> cutoff;
        {
            auto st = m_db->Prepare(
                "SELECT created_ms FROM messages WHERE channel_id = ?1 AND reply_to_id IS NULL "
                "ORDER BY created_ms DESC LIMIT 1 OFFSET ?2");
            if (!st) return st.error();
            for (const auto& ch : channels) {
                st->Reset();
                st->Bind(1, ch).Bind(2, static_cast<int64_t>(newest - 1));
                if (st->Step()) cutoff[ch] = st->Int(0);
            }
        }
        // A reply belongs to the part of its root. Everything created before the cut-off is
        // older (a reply is never older than its root), so the older part is a plain range
        // read plus the few newer replies to older roots; only those need the join.
        constexpr const char* kNewer =
            "SELECT m.channel_id, m.reply_to_id, m.packed, m.json, m.created_ms FROM messages m "
            "LEFT JOIN messages r ON r.channel_id = m.channel_id AND r.id = m.reply_to_id WHERE "
            "m.channel_id = ?1 AND m.created_ms >= ?2 AND coalesce(r.created_ms, m.created_ms) "
            ">= ?2 ORDER BY m.created_ms";
        constexpr const char* kOlder =
            "SELECT channel_id, reply_to_id, packed, json, created_ms FROM messages WHERE "
            "channel_id = ?1 AND created_ms < ?2 UNION ALL SELECT m.channel_id, m.reply_to_id, "
            "m.packed, m.json, m.created_ms FROM messages m JOIN messages r ON r.channel_id = "
            "m.channel_id AND r.id = m.reply_to_id WHERE m.channel_id = ?1 AND m.created_ms >= ?2 "
            "AND r.created_ms < ?2 ORDER BY 5";
        auto part = m_db->Prepare(newestPart ? kNewer : kOlder);
        if (!part) return part.error();
        for (const auto& ch : channels) {
            auto it = cutoff.find(ch);
            if (!newestPart && it == cutoff.end()) continue;
            part->Reset();
            part->Bind(1, ch).Bind(2, it == cutoff.end() ? int64_t{0} : it->second);
            consume(part.value());
            if (m_cancelLoad.load(std::memory_order_relaxed)) break;
        }
    }
    if (loadedOut) *loadedOut = loaded;
    if (unreadableOut) *unreadableOut = unreadable;
    return OkStatus();
}

Status Persister::LoadOlderInto(Store& store, size_t newestRootsPerChannel) {
    if (newestRootsPerChannel == 0) return OkStatus();
    std::lock_guard dbLock(m_dbMutex);
    size_t loaded = 0, unreadable = 0;
    Status st = LoadMessages(store, newestRootsPerChannel, false, &loaded, &unreadable);
    if (st)
        Log(LogLevel::kInfo, "persist",
            "loaded " + std::to_string(loaded) + " older messages from the cache");
    return st;
}

void Persister::Start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable()) return;
    m_stopping = false;
    m_thread = std::thread([this] { Run(); });
}

void Persister::Stop() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) return;
        m_stopping = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

uint64_t Persister::Enqueue(Op op) {
    std::unique_lock lock(m_mutex);
    if (m_queue.size() >= m_options.maxQueue) {
        // Back-pressure: the producer waits a little for the disk to catch up; after that
        // the op is queued anyway (memory grows) and the backlog is reported, never dropped.
        m_cv.wait_for(lock, std::chrono::milliseconds(200),
                      [&] { return m_queue.size() < m_options.maxQueue || m_stopping; });
        if (m_queue.size() >= m_options.maxQueue && !m_stats.backlogged) {
            m_stats.backlogged = true;
            Log(LogLevel::kWarn, "persist",
                "the database is falling behind; " + std::to_string(m_queue.size()) +
                    " writes queued");
        }
    }
    op.seq = m_nextSeq++;
    uint64_t seq = op.seq;
    m_queue.push_back(std::move(op));
    m_cv.notify_all();
    return seq;
}

uint64_t Persister::SaveDraft(const Draft& d) {
    Op op{Op::Kind::kDraft};
    op.draft = d;
    if (op.draft.updatedAt == 0) op.draft.updatedAt = NowMillis();
    return Enqueue(std::move(op));
}

uint64_t Persister::DeleteDraft(const std::string& key) {
    Op op{Op::Kind::kDeleteDraft};
    op.key = key;
    return Enqueue(std::move(op));
}

uint64_t Persister::SaveReviewState(const std::string& key, const std::string& json) {
    Op op{Op::Kind::kReviewState};
    op.key = key;
    op.json = json;
    return Enqueue(std::move(op));
}

std::vector<std::pair<std::string, std::string>> Persister::LoadReviewStates() {
    std::lock_guard dbLock(m_dbMutex);
    std::vector<std::pair<std::string, std::string>> out;
    auto st = m_db->Prepare("SELECT key, json FROM review_state");
    if (!st) return out;
    while (st->Step()) out.push_back({st->Text(0), st->Text(1)});
    return out;
}

uint64_t Persister::AppendAudit(const AuditRow& row) {
    Op op{Op::Kind::kAudit};
    op.audit = row;
    if (op.audit.at == 0) op.audit.at = NowMillis();
    return Enqueue(std::move(op));
}

uint64_t Persister::SaveSyncState(const std::string& channelId, const std::string& deltaLink,
                                  UnixMillis lastSync, bool backfilled) {
    Op op{Op::Kind::kSyncState};
    op.key = channelId;
    op.json = deltaLink;
    op.time = lastSync;
    op.flag = backfilled;
    return Enqueue(std::move(op));
}

void Persister::OnTeams(const std::vector<Team>& teams) {
    for (const auto& t : teams) {
        Op op{Op::Kind::kTeam};
        op.key = t.id;
        op.json = ToJson(t).dump();
        Enqueue(std::move(op));
    }
}

void Persister::OnChannels(const std::string& teamId, const std::vector<Channel>& channels) {
    Op op{Op::Kind::kChannels};
    op.teamId = teamId;
    for (const auto& c : channels) op.channels.push_back({c.id, ToJson(c).dump()});
    Enqueue(std::move(op));
}

void Persister::OnMessages(const std::string& channelId,
                           const std::vector<StoredMessagePtr>& changed) {
    for (const auto& m : changed) {
        Op op{Op::Kind::kMessage};
        op.key = channelId;
        op.message = m;
        Enqueue(std::move(op));
    }
}

void Persister::OnChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                              const std::string* deltaLink) {
    Op op{Op::Kind::kSyncState};
    op.key = channelId;
    op.time = lastSyncOk;
    op.flag = backfilled;
    op.keepDeltaLink = deltaLink == nullptr;
    if (deltaLink) op.json = *deltaLink;
    Enqueue(std::move(op));
}

Status Persister::WriteBatch(const std::vector<Op>& ops) {
    std::lock_guard dbLock(m_dbMutex);
    if (Status st = m_db->Exec("BEGIN IMMEDIATE"); !st) return st;
    auto fail = [&](const Error& e) -> Status {
        (void)m_db->Exec("ROLLBACK");
        return e;
    };
    auto team = m_db->Prepare(
        "INSERT INTO teams(id, json, updated_ms) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(id) DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms");
    auto chan = m_db->Prepare(
        "INSERT INTO channels(id, team_id, position, json, updated_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
        "ON CONFLICT(id) DO UPDATE SET team_id=excluded.team_id, position=excluded.position, "
        "json=excluded.json, updated_ms=excluded.updated_ms");
    // Never go back to an older version: the upsert only replaces a row with a newer one.
    auto msg = m_db->Prepare(
        "INSERT INTO messages(channel_id, id, reply_to_id, created_ms, modified_ms, deleted_ms, "
        "etag, json, packed) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8) ON CONFLICT(channel_id, id) DO UPDATE SET "
        "reply_to_id=excluded.reply_to_id, created_ms=excluded.created_ms, "
        "modified_ms=excluded.modified_ms, "
        "deleted_ms=excluded.deleted_ms, etag=excluded.etag, json=excluded.json, "
        "packed=excluded.packed "
        "WHERE excluded.modified_ms > messages.modified_ms OR (excluded.modified_ms = "
        "messages.modified_ms AND "
        "(length(excluded.etag) > length(messages.etag) OR (length(excluded.etag) = "
        "length(messages.etag) AND "
        "excluded.etag >= messages.etag)))");
    auto ver = m_db->Prepare(
        "INSERT OR IGNORE INTO message_versions(channel_id, id, modified_ms, etag, content_type, "
        "content) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
    auto syncKeep = m_db->Prepare(
        "INSERT INTO sync_state(channel_id, last_sync_ms, backfilled) VALUES(?1, ?2, ?3) ON "
        "CONFLICT(channel_id) DO "
        "UPDATE SET last_sync_ms=excluded.last_sync_ms, backfilled=max(sync_state.backfilled, "
        "excluded.backfilled)");
    auto syncSet = m_db->Prepare(
        "INSERT INTO sync_state(channel_id, delta_link, last_sync_ms, backfilled) VALUES(?1, ?2, "
        "?3, ?4) "
        "ON CONFLICT(channel_id) DO UPDATE SET delta_link=excluded.delta_link, "
        "last_sync_ms=excluded.last_sync_ms, "
        "backfilled=excluded.backfilled");
    auto draft = m_db->Prepare(
        "INSERT INTO drafts(key, team_id, channel_id, reply_to_id, subject, body, updated_ms) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(key) DO UPDATE SET "
        "team_id=excluded.team_id, "
        "channel_id=excluded.channel_id, reply_to_id=excluded.reply_to_id, "
        "subject=excluded.subject, "
        "body=excluded.body, updated_ms=excluded.updated_ms");
    auto undraft = m_db->Prepare("DELETE FROM drafts WHERE key=?1");
    auto audit = m_db->Prepare(
        "INSERT INTO audit_log(at_ms, actor, action, team_id, channel_id, message_id, rule, "
        "result, request_id, "
        "detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    auto review = m_db->Prepare(
        "INSERT INTO review_state(key, json, updated_ms) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET json=excluded.json, updated_ms=excluded.updated_ms");
    for (auto* p :
         {&team, &chan, &msg, &ver, &syncKeep, &syncSet, &draft, &undraft, &audit, &review})
        if (!*p) return fail(p->error());
    UnixMillis now = NowMillis();
    for (const auto& op : ops) {
        Status st = OkStatus();
        switch (op.kind) {
            case Op::Kind::kTeam:
                st = team->Bind(1, op.key).Bind(2, op.json).Bind(3, now).Run();
                break;
            case Op::Kind::kChannels:
                for (size_t i = 0; i < op.channels.size() && st; ++i)
                    st = chan->Bind(1, op.channels[i].first)
                             .Bind(2, op.teamId)
                             .Bind(3, static_cast<int64_t>(i))
                             .Bind(4, op.channels[i].second)
                             .Bind(5, now)
                             .Run();
                break;
            case Op::Kind::kMessage: {
                const CompactMessage& m = op.message->message;
                msg->Bind(1, op.key)
                    .Bind(2, m.id)
                    .Bind(4, m.createdDateTime)
                    .Bind(5, m.VersionTime())
                    .Bind(7, m.etag);
                if (m.replyToId.empty())
                    msg->BindNull(3);
                else
                    msg->Bind(3, m.replyToId);
                if (m.deletedDateTime)
                    msg->Bind(6, *m.deletedDateTime);
                else
                    msg->BindNull(6);
                msg->BindBlob(8, PackMessage(m));
                st = msg->Run();
                if (st)
                    st = ver->Bind(1, op.key)
                             .Bind(2, m.id)
                             .Bind(3, m.VersionTime())
                             .Bind(4, m.etag)
                             .Bind(5, m.ContentType())
                             .Bind(6, m.body.content)
                             .Run();
                break;
            }
            case Op::Kind::kSyncState:
                if (op.keepDeltaLink)
                    st = syncKeep->Bind(1, op.key)
                             .Bind(2, op.time)
                             .Bind(3, static_cast<int64_t>(op.flag))
                             .Run();
                else
                    st = syncSet->Bind(1, op.key)
                             .Bind(2, op.json)
                             .Bind(3, op.time)
                             .Bind(4, static_cast<int64_t>(op.flag))
                             .Run();
                break;
            case Op::Kind::kDraft:
                st = draft->Bind(1, op.draft.key)
                         .Bind(2, op.draft.teamId)
                         .Bind(3, op.draft.channelId)
                         .Bind(4, op.draft.replyToId)
                         .Bind(5, op.draft.subject)
                         .Bind(6, op.draft.body)
                         .Bind(7, op.draft.updatedAt)
                         .Run();
                break;
            case Op::Kind::kDeleteDraft:
                st = undraft->Bind(1, op.key).Run();
                break;
            case Op::Kind::kReviewState:
                st = review->Bind(1, op.key).Bind(2, op.json).Bind(3, now).Run();
                break;
            case Op::Kind::kAudit: {
                const AuditRow& a = op.audit;
                st = audit->Bind(1, a.at)
                         .Bind(2, a.actor)
                         .Bind(3, a.action)
                         .Bind(4, a.teamId)
                         .Bind(5, a.channelId)
                         .Bind(6, a.messageId)
                         .Bind(7, a.rule)
                         .Bind(8, a.result)
                         .Bind(9, a.requestId)
                         .Bind(10, a.detail)
                         .Run();
                break;
            }
        }
        if (!st) return fail(st.error());
    }
    if (Status st = m_db->Exec("COMMIT"); !st) return fail(st.error());
    return OkStatus();
}

void Persister::Report() {
    PersistStats copy;
    std::function<void(const PersistStats&)> cb;
    {
        std::lock_guard lock(m_mutex);
        m_stats.queued = m_queue.size();
        copy = m_stats;
        cb = m_statusCb;
    }
    if (cb) cb(copy);
}

void Persister::Run() {
    int backoffMs = 0;
    auto lastRetention = std::chrono::steady_clock::now();
    while (true) {
        std::vector<Op> batch;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, std::chrono::milliseconds(backoffMs > 0 ? backoffMs : 1000),
                          [&] { return m_stopping || (!m_queue.empty() && backoffMs == 0); });
            if (m_queue.empty()) {
                if (m_stopping) break;
                if (backoffMs == 0 &&
                    std::chrono::steady_clock::now() - lastRetention > std::chrono::minutes(10)) {
                    lock.unlock();
                    (void)ApplyRetention();
                    lastRetention = std::chrono::steady_clock::now();
                }
                continue;
            }
            size_t n = std::min(m_queue.size(), m_options.batchSize);
            batch.reserve(n);
            for (size_t i = 0; i < n; ++i) batch.push_back(m_queue[i]);
        }
        Status st = WriteBatch(batch);
        std::function<void(uint64_t)> commitCb;
        uint64_t committed = 0;
        {
            std::lock_guard lock(m_mutex);
            if (st) {
                // Only now do the ops leave the queue: a crash before this point loses nothing
                // that the database had not already committed.
                for (size_t i = 0; i < batch.size(); ++i) m_queue.pop_front();
                m_committedSeq = batch.back().seq;
                m_stats.committedOps += batch.size();
                bool wasFailing = m_stats.failing;
                m_stats.failing = false;
                m_stats.lastError.clear();
                if (m_queue.size() < m_options.maxQueue / 2) m_stats.backlogged = false;
                if (wasFailing) Log(LogLevel::kInfo, "persist", "database writes recovered");
                backoffMs = 0;
                committed = m_committedSeq;
                commitCb = m_commitCb;
            } else {
                m_stats.failedTransactions++;
                if (!m_stats.failing)
                    Log(LogLevel::kError, "persist",
                        "database write failed, keeping the data in memory: " + st.error().message);
                m_stats.failing = true;
                m_stats.lastError = st.error().message;
                backoffMs = std::min(30000, backoffMs == 0 ? 500 : backoffMs * 2);
                if (m_stopping) {
                    // Shutting down with a failing disk: nothing more can be done; say so.
                    Log(LogLevel::kError, "persist",
                        std::to_string(m_queue.size()) + " writes could not be saved at shutdown");
                    break;
                }
            }
            m_cv.notify_all();
        }
        if (commitCb) commitCb(committed);
        Report();
    }
    Report();
}

bool Persister::Flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    uint64_t target = m_nextSeq - 1;
    return m_cv.wait_for(lock, timeout, [&] { return m_committedSeq >= target; });
}

PersistStats Persister::Stats() const {
    std::lock_guard lock(m_mutex);
    PersistStats s = m_stats;
    s.queued = m_queue.size();
    return s;
}

std::vector<Draft> Persister::LoadDrafts() {
    std::lock_guard dbLock(m_dbMutex);
    std::vector<Draft> out;
    auto st = m_db->Prepare(
        "SELECT key, team_id, channel_id, reply_to_id, subject, body, updated_ms FROM drafts ORDER "
        "BY updated_ms");
    if (!st) return out;
    while (st->Step())
        out.push_back({st->Text(0), st->Text(1), st->Text(2), st->Text(3), st->Text(4), st->Text(5),
                       st->Int(6)});
    return out;
}

Status Persister::SaveRulePack(const std::string& pack, int version, const std::string& json) {
    std::lock_guard dbLock(m_dbMutex);
    if (Status st = m_db->Exec("BEGIN IMMEDIATE"); !st) return st;
    auto fail = [&](const Error& e) -> Status {
        (void)m_db->Exec("ROLLBACK");
        return e;
    };
    // A version is immutable once stored: the same number with other content is refused.
    auto existing = m_db->Prepare("SELECT json FROM rules WHERE pack = ?1 AND version = ?2");
    if (!existing) return fail(existing.error());
    existing->Bind(1, pack).Bind(2, static_cast<int64_t>(version));
    if (existing->Step() && existing->Text(0) != json)
        return fail(MakeError(ErrorCode::kConfig,
                              "rule pack \"" + pack + "\" version " + std::to_string(version) +
                                  " is already stored with different rules; raise its version"));
    auto ins = m_db->Prepare(
        "INSERT OR IGNORE INTO rules(pack, version, json, enabled, updated_ms) VALUES(?1, ?2, ?3, "
        "0, ?4)");
    if (!ins) return fail(ins.error());
    if (Status st = ins->Bind(1, pack)
                        .Bind(2, static_cast<int64_t>(version))
                        .Bind(3, json)
                        .Bind(4, NowMillis())
                        .Run();
        !st)
        return fail(st.error());
    auto en = m_db->Prepare("UPDATE rules SET enabled = (version = ?2) WHERE pack = ?1");
    if (!en) return fail(en.error());
    if (Status st = en->Bind(1, pack).Bind(2, static_cast<int64_t>(version)).Run(); !st)
        return fail(st.error());
    return m_db->Exec("COMMIT");
}

std::vector<std::pair<int, bool>> Persister::RulePackVersions(const std::string& pack) {
    std::lock_guard dbLock(m_dbMutex);
    std::vector<std::pair<int, bool>> out;
    auto st =
        m_db->Prepare("SELECT version, enabled FROM rules WHERE pack = ?1 ORDER BY version DESC");
    if (!st) return out;
    st->Bind(1, pack);
    while (st->Step()) out.push_back({static_cast<int>(st->Int(0)), st->Int(1) != 0});
    return out;
}

std::vector<AuditRow> Persister::LoadAudit(size_t limit) {
    std::lock_guard dbLock(m_dbMutex);
    std::vector<AuditRow> out;
    auto st = m_db->Prepare(
        "SELECT seq, at_ms, actor, action, team_id, channel_id, message_id, rule, result, "
        "request_id, detail "
        "FROM audit_log ORDER BY seq DESC LIMIT ?1");
    if (!st) return out;
    st->Bind(1, static_cast<int64_t>(limit));
    while (st->Step())
        out.push_back({st->Int(0), st->Int(1), st->Text(2), st->Text(3), st->Text(4), st->Text(5),
                       st->Text(6), st->Text(7), st->Text(8), st->Text(9), st->Text(10)});
    return out;
}

Status Persister::ApplyRetention() {
    std::lock_guard dbLock(m_dbMutex);
    if (Status st = m_db->Exec("BEGIN IMMEDIATE"); !st) return st;
    Status st = OkStatus();
    if (m_options.retentionDays > 0) {
        auto del = m_db->Prepare("DELETE FROM messages WHERE created_ms < ?1");
        st = del ? del->Bind(1, NowMillis() - int64_t{m_options.retentionDays} * 86400000).Run()
                 : Status(del.error());
    }
    if (st && m_options.retentionMaxMessages > 0) {
        // Keep the newest N per channel (messages is WITHOUT ROWID, so delete by key).
        auto del = m_db->Prepare(
            "DELETE FROM messages WHERE (channel_id, id) IN (SELECT channel_id, id FROM (SELECT "
            "channel_id, id, "
            "row_number() OVER (PARTITION BY channel_id ORDER BY created_ms DESC) AS rn FROM "
            "messages) WHERE rn > ?1)");
        st = del ? del->Bind(1, static_cast<int64_t>(m_options.retentionMaxMessages)).Run()
                 : Status(del.error());
    }
    if (st && m_options.maxVersionsPerMessage > 0) {
        auto del = m_db->Prepare(
            "DELETE FROM message_versions WHERE (channel_id, id, modified_ms, etag) IN (SELECT "
            "channel_id, id, "
            "modified_ms, etag FROM (SELECT channel_id, id, modified_ms, etag, row_number() OVER "
            "(PARTITION BY "
            "channel_id, id ORDER BY modified_ms DESC) AS rn FROM message_versions) WHERE rn > "
            "?1)");
        st = del ? del->Bind(1, static_cast<int64_t>(m_options.maxVersionsPerMessage)).Run()
                 : Status(del.error());
    }
    if (!st) {
        (void)m_db->Exec("ROLLBACK");
        return st;
    }
    return m_db->Exec("COMMIT");
}

}  // namespace cdeck::core

namespace cdeck::core {

Status Persister::SetWriteFault(bool on) {
    std::lock_guard dbLock(m_dbMutex);
    return m_db->Exec(on ? "PRAGMA query_only=1" : "PRAGMA query_only=0");
}

}  // namespace cdeck::core
