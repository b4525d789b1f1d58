#include "pg/pg_follower.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "model/parse.hpp"
#include "pg/pg_schema.hpp"
#include "util/log.hpp"

namespace cdeck::core {

namespace {

using Clock = std::chrono::steady_clock;

std::optional<ChatMessage> ParseRow(const std::string& json) {
    auto j = ParseJson(json);
    if (!j) return std::nullopt;
    auto m = ParseChatMessage(j.value());
    if (!m) return std::nullopt;
    return std::move(m.value());
}

}  // namespace

// Teams and channels, every one (the lists are small); each team's channels in order.
Status PgLoadDirectory(PgConn& conn, Store& store) {
    auto teams = conn.Exec("SELECT json FROM teams ORDER BY id");
    if (!teams) return teams.error();
    std::vector<Team> list;
    for (int i = 0; i < teams->Rows(); ++i)
        if (auto j = ParseJson(teams->Text(i, 0)))
            if (auto t = ParseTeam(j.value())) list.push_back(std::move(t.value()));
    store.UpsertTeams(list);
    auto chans = conn.Exec("SELECT team_id, json FROM channels ORDER BY team_id, position");
    if (!chans) return chans.error();
    std::map<std::string, std::vector<Channel>> byTeam;
    for (int i = 0; i < chans->Rows(); ++i)
        if (auto j = ParseJson(chans->Text(i, 1)))
            if (auto c = ParseChannel(j.value())) {
                c->teamId = chans->Text(i, 0);
                byTeam[chans->Text(i, 0)].push_back(std::move(c.value()));
            }
    for (const auto& [team, channels] : byTeam) store.UpsertChannels(team, channels);
    return OkStatus();
}

Status PgRestoreSyncState(PgConn& conn, Store& store, size_t* restored) {
    if (Status st = PgLoadDirectory(conn, store); !st) return st;
    auto sync = conn.Exec(
        "SELECT channel_id, last_sync_ms, backfilled, coalesce(delta_link, '') FROM sync_state");
    if (!sync) return sync.error();
    size_t n = 0;
    auto snap = store.Current();
    for (int i = 0; i < sync->Rows(); ++i)
        if (snap->FindChannel(sync->Text(i, 0))) {
            store.RestoreChannelSync(sync->Text(i, 0), sync->Int(i, 1), sync->Bool(i, 2),
                                     sync->Text(i, 3));
            ++n;
        }
    if (restored) *restored = n;
    return OkStatus();
}

PgFollower::PgFollower(Store& store, FollowOptions options)
    : m_store(store), m_options(std::move(options)) {}

PgFollower::~PgFollower() {
    Stop();
}

void PgFollower::SetReviewCallback(std::function<void(std::vector<ReviewItem>)> cb) {
    std::lock_guard lock(m_mutex);
    m_reviewCb = std::move(cb);
}

void PgFollower::SetRulesCallback(
    std::function<void(const std::string&, int, const std::string&)> cb) {
    std::lock_guard lock(m_mutex);
    m_rulesCb = std::move(cb);
}

Status PgFollower::ReadRules() {
    auto pack = PgEnabledRulePack(*m_conn);
    if (!pack) return pack.error();
    if (!pack.value()) return OkStatus();
    std::pair<std::string, int> now{pack.value()->name, pack.value()->version};
    if (now == m_rules) return OkStatus();
    m_rules = now;
    std::function<void(const std::string&, int, const std::string&)> cb;
    {
        std::lock_guard lock(m_mutex);
        cb = m_rulesCb;
    }
    if (cb) cb(now.first, now.second, pack.value()->json);
    return OkStatus();
}

void PgFollower::SetAppliedCallback(std::function<void(int64_t)> cb) {
    std::lock_guard lock(m_mutex);
    m_appliedCb = std::move(cb);
}

void PgFollower::Start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable()) return;
    m_stop = false;
    m_thread = std::thread([this] { Run(); });
}

void PgFollower::Stop() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) return;
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

bool PgFollower::Stopping() const {
    std::lock_guard lock(m_mutex);
    return m_stop;
}

FollowStats PgFollower::Stats() const {
    std::lock_guard lock(m_mutex);
    return m_stats;
}

std::vector<std::string> PgFollower::KnownChannels() const {
    std::vector<std::string> out;
    SnapshotPtr snap = m_store.Current();  // held: another thread may publish meanwhile
    for (const auto& [id, c] : snap->channels) out.push_back(id);
    return out;
}

bool PgFollower::Connect() {
    auto c = PgConn::Connect(m_options.conninfo, "channeldeck desk");
    Status ok = c ? PgCheckSchema(*c.value()) : Status(c.error());
    if (ok) ok = c.value()->Listen(kPgHintChannel);
    std::lock_guard lock(m_mutex);
    if (!ok) {
        if (m_stats.connected || m_stats.lastError != ok.error().message)
            Log(LogLevel::kWarn, "follow",
                "database unreachable: " + ok.error().message + "; retrying with back-off");
        m_stats.connected = false;
        m_stats.lastError = ok.error().message;
        return false;
    }
    m_conn = std::move(c.value());
    m_stats.connected = true;
    m_stats.reconnects++;
    m_stats.lastError.clear();
    return true;
}

Status PgFollower::ReadDirectory(bool all) {
    auto top = m_conn->Exec(
        "SELECT greatest((SELECT coalesce(max(seq), 0) FROM teams), (SELECT coalesce(max(seq), "
        "0) FROM channels))");
    if (!top) return top.error();
    int64_t seq = top->Int(0, 0);
    if (all || seq > m_directorySeq) {
        if (Status st = PgLoadDirectory(*m_conn, m_store); !st) return st;
        m_directorySeq = seq;
    }
    // The nodes' sync facts: each channel's freshness as the node saw it.
    auto sync = m_conn->Exec(
        "SELECT channel_id, last_sync_ms, backfilled, seq FROM sync_state WHERE seq > $1",
        {std::to_string(all ? 0 : m_syncSeq)});
    if (!sync) return sync.error();
    auto snap = m_store.Current();
    for (int i = 0; i < sync->Rows(); ++i) {
        if (snap->FindChannel(sync->Text(i, 0)))
            m_store.RestoreChannelSync(sync->Text(i, 0), sync->Int(i, 1), sync->Bool(i, 2));
        m_syncSeq = std::max(m_syncSeq, sync->Int(i, 3));
    }
    return OkStatus();
}

// Rows ordered by channel: roots with their replies attached, merged channel by channel.
// A reply whose root is not among the rows comes with the root's JSON (rootCol), which
// merges as "not newer" and only adds the reply.
void PgFollower::MergeRows(const PgResult& rows, int chCol, int jsonCol, int seqCol, int rootCol) {
    std::string current;
    std::vector<ChatMessage> roots;
    std::unordered_map<std::string, size_t> index;
    std::vector<std::pair<ChatMessage, std::string>> orphans;  // reply, root JSON
    int64_t top = 0;
    auto flush = [&] {
        if (current.empty()) return;
        for (auto& [reply, rootJson] : orphans) {
            auto it = index.find(reply.replyToId);
            if (it == index.end() && !rootJson.empty())
                if (auto root = ParseRow(rootJson)) {
                    index[root->id] = roots.size();
                    roots.push_back(std::move(*root));
                    it = index.find(reply.replyToId);
                }
            if (it != index.end()) roots[it->second].replies.push_back(std::move(reply));
        }
        m_store.MergeMessages(current, std::move(roots), false);
        m_watermark[current] = std::max(m_watermark[current], top);
        roots.clear();
        index.clear();
        orphans.clear();
        top = 0;
    };
    for (int i = 0; i < rows.Rows(); ++i) {
        std::string ch = rows.Text(i, chCol);
        if (ch != current) {
            flush();
            current = ch;
        }
        top = std::max(top, rows.Int(i, seqCol));
        auto m = ParseRow(rows.Text(i, jsonCol));
        if (!m) continue;  // an unreadable row is skipped, never fatal
        if (m->replyToId.empty()) {
            auto it = index.find(m->id);
            if (it == index.end()) {
                index[m->id] = roots.size();
                roots.push_back(std::move(*m));
            }
        } else {
            orphans.push_back({std::move(*m), rootCol >= 0 ? rows.Text(i, rootCol) : ""});
        }
    }
    flush();
    std::lock_guard lock(m_mutex);
    m_stats.rowsRead += static_cast<uint64_t>(rows.Rows());
    for (const auto& [ch, wm] : m_watermark) m_stats.appliedSeq = std::max(m_stats.appliedSeq, wm);
}

Status PgFollower::ReadMessages(const std::vector<std::string>& channels) {
    if (channels.empty()) return OkStatus();
    while (true) {
        std::vector<std::string> wm;
        for (const auto& ch : channels) wm.push_back(std::to_string(m_watermark[ch]));
        auto rows = m_conn->Exec(
            "SELECT m.channel_id, m.json, m.seq, r.json FROM unnest($1::text[], $2::bigint[]) "
            "AS w(ch, wm) JOIN messages m ON m.channel_id = w.ch AND m.seq > w.wm LEFT JOIN "
            "messages r ON m.reply_to_id IS NOT NULL AND r.channel_id = m.channel_id AND r.id = "
            "m.reply_to_id ORDER BY m.channel_id, m.seq LIMIT $3",
            {PgArray(channels), PgArray(wm), std::to_string(m_options.chunkRows)});
        if (!rows) return rows.error();
        MergeRows(rows.value(), 0, 1, 2, 3);
        {
            std::lock_guard lock(m_mutex);
            m_stats.reads++;
        }
        if (static_cast<size_t>(rows->Rows()) < m_options.chunkRows) return OkStatus();
    }
}

Status PgFollower::ReadReview() {
    std::vector<ReviewItem> changed;
    while (true) {
        auto r = m_conn->Exec(
            "SELECT id, message_id, rule_id, root_id, team_id, channel_id, rule_name, severity, "
            "reason, author_id, author_name, text, group_key, created_ms, (extract(epoch FROM "
            "flagged_at) * 1000)::bigint, resolved, tag, comment, escalated, noticed, "
            "coalesce(claimed_by, ''), coalesce(claimed_account, ''), coalesce((extract(epoch "
            "FROM claim_expires) * 1000)::bigint, 0), seq FROM review_items WHERE seq > $1 ORDER "
            "BY seq LIMIT 5000",
            {std::to_string(m_reviewSeq)});
        if (!r) return r.error();
        for (int i = 0; i < r->Rows(); ++i) {
            ReviewItem it;
            it.id = static_cast<uint64_t>(r->Int(i, 0));
            it.messageId = r->Text(i, 1);
            it.ruleId = r->Text(i, 2);
            it.rootId = r->Text(i, 3);
            it.teamId = r->Text(i, 4);
            it.channelId = r->Text(i, 5);
            it.ruleName = r->Text(i, 6);
            it.severity = r->Text(i, 7);
            it.reason = r->Text(i, 8);
            it.authorId = r->Text(i, 9);
            it.authorName = r->Text(i, 10);
            it.text = r->Text(i, 11);
            it.groupKey = r->Text(i, 12);
            it.createdAt = r->Int(i, 13);
            it.flaggedAt = r->Int(i, 14);
            it.resolved = r->Bool(i, 15);
            it.tag = r->Text(i, 16);
            it.comment = r->Text(i, 17);
            it.escalated = r->Bool(i, 18);
            it.claimedBy = r->Text(i, 20);
            it.claimedAccount = r->Text(i, 21);
            it.claimExpires = r->Int(i, 22);
            m_reviewSeq = std::max(m_reviewSeq, r->Int(i, 23));
            changed.push_back(std::move(it));
        }
        if (r->Rows() < 5000) break;
    }
    std::function<void(std::vector<ReviewItem>)> cb;
    {
        std::lock_guard lock(m_mutex);
        cb = m_reviewCb;
    }
    if (cb && !changed.empty()) cb(std::move(changed));
    return OkStatus();
}

// One channel's history up to the watermark it had at the initial load (merges never go
// back to an older version, so overlapping with newer reads is harmless).
Status PgFollower::LoadOlderStep() {
    if (m_older.empty()) return OkStatus();
    auto [channel, mark] = m_older.back();
    auto rows = m_conn->Exec(
        "SELECT channel_id, json, seq FROM messages WHERE channel_id = $1 AND seq <= $2 ORDER BY "
        "created_ms",
        {channel, std::to_string(mark)});
    if (!rows) return rows.error();
    MergeRows(rows.value(), 0, 1, 2, -1);
    m_older.pop_back();
    if (m_older.empty()) {
        std::lock_guard lock(m_mutex);
        m_stats.historyLoaded = true;
    }
    return OkStatus();
}

Status PgFollower::InitialLoad() {
    if (Status st = m_conn->Begin(); !st) return st;
    auto fail = [&](const Error& e) -> Status {
        m_conn->Rollback();
        return e;
    };
    // One snapshot for the whole load: the watermarks match exactly what was read.
    if (auto iso = m_conn->Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"); !iso)
        return fail(iso.error());
    if (Status st = ReadDirectory(true); !st) return fail(st.error());
    // The newest roots of every channel, with their replies: the first populated snapshot.
    // Roots through the per-channel root index, replies through the reply index (an OR in
    // one join would scan the whole table).
    auto newest = m_conn->Exec(
        "WITH r AS (SELECT x.channel_id, x.id, x.json, x.seq, x.created_ms FROM channels c CROSS "
        "JOIN LATERAL (SELECT channel_id, id, json, seq, created_ms FROM messages m WHERE "
        "m.channel_id = c.id AND m.reply_to_id IS NULL ORDER BY m.created_ms DESC LIMIT $1) x) "
        "SELECT channel_id, json, seq, created_ms FROM r UNION ALL SELECT m.channel_id, m.json, "
        "m.seq, m.created_ms FROM r JOIN messages m ON m.channel_id = r.channel_id AND "
        "m.reply_to_id = r.id ORDER BY 1, 4",
        {std::to_string(m_options.firstRoots)});
    if (!newest) return fail(newest.error());
    MergeRows(newest.value(), 0, 1, 2, -1);
    m_store.UpdateSyncStatus([](SyncStatus& s) { s.fromCache = true; });
    PublishStatus();
    // Each channel's watermark in the same snapshot: everything committed later is above
    // it, so hints are served at once while the older history loads in the background.
    auto marks = m_conn->Exec(
        "SELECT c.id, coalesce((SELECT max(seq) FROM messages m WHERE m.channel_id = c.id), 0) "
        "FROM channels c");
    if (!marks) return fail(marks.error());
    m_older.clear();
    for (int i = 0; i < marks->Rows(); ++i) {
        m_watermark[marks->Text(i, 0)] = std::max(m_watermark[marks->Text(i, 0)], marks->Int(i, 1));
        m_older.push_back({marks->Text(i, 0), marks->Int(i, 1)});
    }
    if (Status st = ReadReview(); !st) return fail(st.error());
    if (Status st = m_conn->Commit(); !st) return st;
    std::lock_guard lock(m_mutex);
    m_stats.loaded = true;
    m_stats.historyLoaded = m_older.empty();
    return OkStatus();
}

void PgFollower::HandleHints(const std::vector<PgNotification>& hints) {
    std::set<std::string> channels;
    bool all = false, directory = false, rules = false;
    for (const auto& h : hints) {
        auto j = nlohmann::json::parse(h.payload, nullptr, false);
        if (!j.is_object()) {
            all = true;  // a hint we cannot read still means "something changed"
            continue;
        }
        if (j.value("all", false)) all = true;
        if (j.value("directory", false)) directory = true;
        if (j.value("rules", false)) rules = true;
        if (auto it = j.find("channels"); it != j.end() && it->is_array())
            for (const auto& c : *it)
                if (c.is_string()) channels.insert(c.get<std::string>());
    }
    {
        std::lock_guard lock(m_mutex);
        m_stats.hints += hints.size();
    }
    Status st = ReadDirectory(all || directory);
    // Only channels we know are read; an unknown id in a hint is not trusted.
    std::vector<std::string> read;
    auto snap = m_store.Current();
    for (const auto& ch :
         all ? KnownChannels() : std::vector<std::string>(channels.begin(), channels.end()))
        if (snap->FindChannel(ch)) read.push_back(ch);
    if (st) st = ReadMessages(read);
    if (st) st = ReadReview();
    if (st && (rules || all)) st = ReadRules();
    if (!st) {
        Log(LogLevel::kWarn, "follow", "read after a hint failed: " + st.error().message);
        return;
    }
    std::function<void(int64_t)> cb;
    int64_t applied = 0;
    {
        std::lock_guard lock(m_mutex);
        cb = m_appliedCb;
        applied = m_stats.appliedSeq;
    }
    if (cb) cb(applied);
}

Status PgFollower::ReadNodes() {
    auto r = m_conn->Exec(
        "SELECT count(*) FILTER (WHERE expires_at > now()), coalesce((extract(epoch FROM now() - "
        "max(last_commit_at)) * 1000)::bigint, -1) FROM sync_node");
    if (!r) return r.error();
    std::lock_guard lock(m_mutex);
    m_stats.nodes = static_cast<int>(r->Int(0, 0));
    int64_t age = r->Int(0, 1);
    m_stats.lastCommitAt = age >= 0 ? NowMillis() - age : 0;
    return OkStatus();
}

void PgFollower::PublishStatus() {
    FollowStats s = Stats();
    size_t channels = m_store.Current()->channels.size();
    m_store.UpdateSyncStatus([&](SyncStatus& st) {
        st.following = true;
        st.followConnected = s.connected;
        st.followNodes = s.nodes;
        st.lastNodeCommit = s.lastCommitAt;
        st.followStaleAfter = m_options.staleAfterSeconds;
        st.lastSyncOk = s.lastCommitAt;
        st.channelsTotal = static_cast<int>(channels);
        st.channelsBackfilled = static_cast<int>(channels);
        if (!s.connected) {
            st.phase = "error";
            st.lastError = "database unreachable: " + s.lastError;
        } else if (s.nodes == 0) {
            st.phase = "error";
            st.lastError = "no channeldeck-node is running";
        } else {
            st.phase = "live";
            st.lastError.clear();
        }
    });
}

void PgFollower::Run() {
    int backoffMs = 250;
    while (true) {
        if (Stopping()) break;
        if (!Connect()) {
            PublishStatus();
            std::unique_lock lock(m_mutex);
            if (m_cv.wait_for(lock, std::chrono::milliseconds(backoffMs), [&] { return m_stop; }))
                break;
            backoffMs = std::min(5000, backoffMs * 2);
            continue;
        }
        backoffMs = 250;
        // LISTEN is in place before the first read, so nothing committed after it is missed.
        Status st = Stats().loaded ? ReadDirectory(true) : InitialLoad();
        if (st && Stats().loaded) st = ReadMessages(KnownChannels());
        if (st) st = ReadReview();
        if (st) st = ReadRules();
        if (st) st = ReadNodes();
        PublishStatus();
        auto lastBackstop = Clock::now(), lastNodes = Clock::now();
        while (st) {
            if (Stopping()) break;
            // While older history remains, only peek for hints between channels.
            auto hints =
                m_conn->WaitForNotifications(std::chrono::milliseconds(m_older.empty() ? 250 : 0));
            if (!hints) {
                st = hints.error();
                break;
            }
            if (!hints->empty()) HandleHints(hints.value());
            if (!m_older.empty()) st = LoadOlderStep();
            auto now = Clock::now();
            if (now - lastBackstop > std::chrono::duration<double>(m_options.backstopSeconds)) {
                st = ReadDirectory(false);
                if (st) st = ReadMessages(KnownChannels());
                if (st) st = ReadReview();
                if (st) st = ReadRules();
                lastBackstop = now;
                std::lock_guard lock(m_mutex);
                m_stats.backstops++;
            }
            if (st && now - lastNodes > std::chrono::seconds(1)) {
                st = ReadNodes();
                PublishStatus();
                lastNodes = now;
            }
        }
        m_conn.reset();
        {
            std::lock_guard lock(m_mutex);
            m_stats.connected = false;
            if (!st) m_stats.lastError = st.error().message;
        }
        PublishStatus();
        if (!st) Log(LogLevel::kWarn, "follow", "lost the database: " + st.error().message);
    }
}

}  // namespace cdeck::core
