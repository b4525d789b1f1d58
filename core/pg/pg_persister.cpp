#include "pg/pg_persister.hpp"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "model/serialize.hpp"
#include "pg/pg_schema.hpp"
#include "util/log.hpp"

namespace cdeck::core {

struct PgPersister::Op {
    enum class Kind { kTeam, kChannels, kMessage, kSync, kReview, kAudit } kind;
    uint64_t seq = 0;
    std::string key;     // team id, channel id
    std::string teamId;  // kChannels
    std::string json;    // the row's JSON document (team, message)
    std::vector<std::pair<std::string, std::string>> channels;  // (id, json) in order
    // kMessage: the columns, serialized on the producer's thread.
    std::string id;
    PgParam replyTo, deleted;
    UnixMillis created = 0, modified = 0;
    std::string etag;
    // kSync
    UnixMillis time = 0;
    bool flag = false;
    PgParam deltaLink;  // null: keep the stored one
    PgParam fence;      // with a delta link under a lease: the token it was made under
    // kReview / kAudit
    ReviewItem review;
    std::string pack;
    int packVersion = 0;
    AuditRow audit;
};

// One transaction's worth of ops, deduplicated per row (a multi-row upsert may not touch
// the same row twice).
struct PgPersister::Batch {
    std::map<std::string, const Op*> teams;
    std::vector<const Op*> channelLists;
    std::map<std::pair<std::string, std::string>, const Op*> messages;
    std::map<std::string, Op> sync;
    std::map<std::pair<std::string, std::string>, const Op*> reviews;
    std::vector<const Op*> audits;
    std::set<std::string> channels;  // touched, for the hint

    explicit Batch(const std::vector<Op>& ops) {
        for (const Op& op : ops) Add(op);
    }
    void Add(const Op& op) {
        switch (op.kind) {
            case Op::Kind::kTeam:
                teams[op.key] = &op;
                break;
            case Op::Kind::kChannels:
                channelLists.push_back(&op);
                break;
            case Op::Kind::kMessage: {
                auto& slot = messages[{op.key, op.id}];
                if (!slot || op.modified > slot->modified ||
                    (op.modified == slot->modified && op.etag >= slot->etag))
                    slot = &op;
                channels.insert(op.key);
                break;
            }
            case Op::Kind::kSync: {
                auto [it, fresh] = sync.emplace(op.key, op);
                if (!fresh) {
                    PgParam link = op.deltaLink ? op.deltaLink : it->second.deltaLink;
                    PgParam fence = op.deltaLink ? op.fence : it->second.fence;
                    bool backfilled = op.deltaLink ? op.flag : (op.flag || it->second.flag);
                    it->second = op;
                    it->second.deltaLink = link;
                    it->second.fence = fence;
                    it->second.flag = backfilled;
                }
                channels.insert(op.key);
                break;
            }
            case Op::Kind::kReview:
                reviews[{op.review.messageId, op.review.ruleId}] = &op;
                break;
            case Op::Kind::kAudit:
                audits.push_back(&op);
                break;
        }
    }
};

PgPersister::PgPersister(PgPersistOptions options) : m_options(std::move(options)) {}

PgPersister::~PgPersister() {
    Stop(std::chrono::milliseconds(0));
}

void PgPersister::SetCommitObserver(
    std::function<void(int64_t, const std::vector<std::string>&)> cb) {
    std::lock_guard lock(m_mutex);
    m_commitCb = std::move(cb);
}

void PgPersister::Start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable()) return;
    m_stopping = false;
    m_unblocked = false;
    m_thread = std::thread([this] { Run(); });
}

void PgPersister::Unblock() {
    std::lock_guard lock(m_mutex);
    m_unblocked = true;
    m_cv.notify_all();
}

void PgPersister::Stop(std::chrono::milliseconds drain) {
    {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) return;
        m_stopping = true;
        m_unblocked = true;
        m_drainUntil = std::chrono::steady_clock::now() + drain;
    }
    m_cv.notify_all();
    m_thread.join();
    std::lock_guard lock(m_mutex);
    if (!m_queue.empty())
        Log(LogLevel::kError, "pg",
            std::to_string(m_queue.size()) +
                " writes were not saved at shutdown (the database did not answer in time)");
}

void PgPersister::Enqueue(Op op) {
    std::unique_lock lock(m_mutex);
    if (m_queue.size() >= m_options.maxQueue && !m_unblocked) {
        // Back-pressure: the producer (a sync worker) waits for the database, so the sync
        // slows down instead of memory growing or data being dropped.
        if (!m_stats.backlogged)
            Log(LogLevel::kWarn, "pg",
                "the database is falling behind; " + std::to_string(m_queue.size()) +
                    " writes queued, slowing the sync");
        m_stats.backlogged = true;
        auto began = std::chrono::steady_clock::now();
        m_cv.wait(lock, [&] { return m_queue.size() < m_options.maxQueue || m_unblocked; });
        m_stats.producerWaitMs +=
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::steady_clock::now() - began)
                                      .count());
    }
    op.seq = m_nextSeq++;
    m_queue.push_back(std::move(op));
    m_cv.notify_all();
}

void PgPersister::OnTeams(const std::vector<Team>& teams) {
    for (const auto& t : teams) {
        Op op{Op::Kind::kTeam};
        op.key = t.id;
        op.json = ToJson(t).dump();
        Enqueue(std::move(op));
    }
}

void PgPersister::OnChannels(const std::string& teamId, const std::vector<Channel>& channels) {
    Op op{Op::Kind::kChannels};
    op.teamId = teamId;
    for (const auto& c : channels) op.channels.push_back({c.id, ToJson(c).dump()});
    Enqueue(std::move(op));
}

void PgPersister::OnMessages(const std::string& channelId,
                             const std::vector<StoredMessagePtr>& changed) {
    for (const auto& sm : changed) {
        const CompactMessage& m = sm->message;
        Op op{Op::Kind::kMessage};
        op.key = channelId;
        op.id = m.id;
        if (!m.replyToId.empty()) op.replyTo = m.replyToId;
        if (m.deletedDateTime) op.deleted = std::to_string(*m.deletedDateTime);
        op.created = m.createdDateTime;
        op.modified = m.VersionTime();
        op.etag = m.etag;
        op.json = ToJson(m).dump();
        Enqueue(std::move(op));
    }
}

void PgPersister::OnChannelSync(const std::string& channelId, UnixMillis lastSyncOk,
                                bool backfilled, const std::string* deltaLink) {
    Op op{Op::Kind::kSync};
    op.key = channelId;
    op.time = lastSyncOk;
    op.flag = backfilled;
    if (deltaLink) op.deltaLink = *deltaLink;
    if (deltaLink && m_options.fenceOf)  // the token now, while the work is fresh
        op.fence = std::to_string(m_options.fenceOf(channelId).value_or(-1));
    Enqueue(std::move(op));
}

void PgPersister::SaveReviewItems(const std::vector<ReviewItem>& items, const std::string& pack,
                                  int packVersion) {
    for (const auto& item : items) {
        Op op{Op::Kind::kReview};
        op.review = item;
        op.pack = pack;
        op.packVersion = packVersion;
        Enqueue(std::move(op));
    }
}

void PgPersister::AppendAudit(const AuditRow& row) {
    Op op{Op::Kind::kAudit};
    op.audit = row;
    if (op.audit.at == 0) op.audit.at = NowMillis();
    Enqueue(std::move(op));
}

namespace {

std::string Num(int64_t v) {
    return std::to_string(v);
}

std::string TermsJson(const std::vector<TextMatch>& terms) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& t : terms) a.push_back({{"b", t.begin}, {"e", t.end}, {"t", t.term}});
    return a.dump();
}

}  // namespace

namespace {

// The upsert that keeps only the newer version. The first form also moves the version a row
// replaces into message_versions (the edit history), in the same statement: a
// data-modifying CTE sees the rows as they were before the upsert. Only rows that may be
// edits (modified after they were created, or deleted) take that form, so new messages
// pay nothing for history.
constexpr const char* kUpsertWithHistory =
    "WITH t AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
    "$5::bigint[], $6::bigint[], $7::text[], $8::text[]) AS u(c, i, r, cr, mo, de, e, j)), "
    "hist AS (INSERT INTO message_versions (channel_id, id, modified_ms, etag, content_type, "
    "content) SELECT m.channel_id, m.id, m.modified_ms, m.etag, coalesce(m.json::jsonb #>> "
    "'{body,contentType}', ''), coalesce(m.json::jsonb #>> '{body,content}', '') FROM t JOIN "
    "messages m ON m.channel_id = t.c AND m.id = t.i WHERE t.mo > m.modified_ms OR (t.mo = "
    "m.modified_ms AND (length(t.e), t.e) > (length(m.etag), m.etag)) ON CONFLICT DO NOTHING) "
    "INSERT INTO messages AS m (channel_id, id, reply_to_id, created_ms, modified_ms, "
    "deleted_ms, etag, json, seq) SELECT c, i, r, cr, mo, de, e, j, $9 FROM t "
    "ON CONFLICT (channel_id, id) DO UPDATE SET reply_to_id = excluded.reply_to_id, "
    "created_ms = excluded.created_ms, modified_ms = excluded.modified_ms, "
    "deleted_ms = excluded.deleted_ms, etag = excluded.etag, json = excluded.json, "
    "seq = excluded.seq WHERE excluded.modified_ms > m.modified_ms OR (excluded.modified_ms = "
    "m.modified_ms AND (length(excluded.etag), excluded.etag) > (length(m.etag), m.etag))";
constexpr const char* kUpsert =
    "INSERT INTO messages AS m (channel_id, id, reply_to_id, created_ms, modified_ms, "
    "deleted_ms, etag, json, seq) SELECT c, i, r, cr, mo, de, e, j, $9 FROM unnest($1::text[], "
    "$2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[]) "
    "AS u(c, i, r, cr, mo, de, e, j) "
    "ON CONFLICT (channel_id, id) DO UPDATE SET reply_to_id = excluded.reply_to_id, "
    "created_ms = excluded.created_ms, modified_ms = excluded.modified_ms, "
    "deleted_ms = excluded.deleted_ms, etag = excluded.etag, json = excluded.json, "
    "seq = excluded.seq WHERE excluded.modified_ms > m.modified_ms OR (excluded.modified_ms = "
    "m.modified_ms AND (length(excluded.etag), excluded.etag) > (length(m.etag), m.etag))";

}  // namespace

Status PgPersister::WriteMessages(const Batch& b, const std::string& seq) {
    for (bool edits : {false, true}) {
        size_t bytes = 0, n = 0;
        for (const auto& [key, op] : b.messages)
            if ((op->modified > op->created || op->deleted.has_value()) == edits) {
                bytes += op->json.size() + 16;
                ++n;
            }
        if (n == 0) continue;
        PgArrayBuilder ch(n * 48), id(n * 24), rt(n * 8), cr(n * 16), mo(n * 16), de(n * 8),
            et(n * 24), js(bytes);
        for (const auto& [key, op] : b.messages) {
            if ((op->modified > op->created || op->deleted.has_value()) != edits) continue;
            ch.Add(op->key);
            id.Add(op->id);
            rt.AddOptional(op->replyTo);
            cr.Add(Num(op->created));
            mo.Add(Num(op->modified));
            de.AddOptional(op->deleted);
            et.Add(op->etag);
            js.Add(op->json);
        }
        auto up =
            m_conn->Exec(edits ? kUpsertWithHistory : kUpsert,
                         {std::move(ch).Finish(), std::move(id).Finish(), std::move(rt).Finish(),
                          std::move(cr).Finish(), std::move(mo).Finish(), std::move(de).Finish(),
                          std::move(et).Finish(), std::move(js).Finish(), seq});
        if (!up) return up.error();
    }
    return OkStatus();
}

Status PgPersister::WriteSync(const Batch& b, const std::string& seq) {
    std::vector<PgParam> ch, link, at, bf, fence, fenced;
    for (const auto& [k, op] : b.sync) {
        ch.push_back(k);
        link.push_back(op.deltaLink);
        at.push_back(Num(op.time));
        bf.push_back(op.flag ? "true" : "false");
        fence.push_back(op.fence);
        if (op.fence) fenced.push_back(k);
    }
    if (!fenced.empty()) {
        // Hold the leases' rows until commit: a claim by another node waits for this write
        // instead of slipping in between the check and the commit.
        auto lock = m_conn->Exec(
            "SELECT 1 FROM channel_lease WHERE channel_id = ANY ($1::text[]) AND owner = $2 "
            "ORDER BY channel_id FOR SHARE",
            {PgArray(fenced), m_options.nodeId});
        if (!lock) return lock.error();
    }
    // A null link keeps the stored one (a sync that produced no new link). A fenced row
    // lands only while the lease is still ours under its token.
    auto r = m_conn->Exec(
        "INSERT INTO sync_state AS s (channel_id, delta_link, last_sync_ms, backfilled, seq) "
        "SELECT c, l, t, b, $5 FROM unnest($1::text[], $2::text[], $3::bigint[], "
        "$4::boolean[], $6::bigint[]) AS u(c, l, t, b, f) WHERE f IS NULL OR EXISTS (SELECT 1 "
        "FROM channel_lease cl WHERE cl.channel_id = u.c AND cl.owner = $7 AND cl.fence = u.f) "
        "ON CONFLICT (channel_id) DO UPDATE SET "
        "delta_link = coalesce(excluded.delta_link, s.delta_link), "
        "last_sync_ms = greatest(s.last_sync_ms, excluded.last_sync_ms), "
        "backfilled = CASE WHEN excluded.delta_link IS NULL THEN s.backfilled OR "
        "excluded.backfilled ELSE excluded.backfilled END, seq = excluded.seq "
        "RETURNING channel_id",
        {PgArray(ch), PgArray(link), PgArray(at), PgArray(bf), seq, PgArray(fence),
         m_options.nodeId});
    if (!r) return r.error();
    // Counted when the batch commits (a failed batch is written again).
    m_batchFenced = b.sync.size() - static_cast<size_t>(r->Rows());
    return OkStatus();
}

Status PgPersister::WriteOthers(const Batch& b, const std::string& seq) {
    if (!b.teams.empty()) {
        std::vector<PgParam> id, js;
        for (const auto& [k, op] : b.teams) {
            id.push_back(k);
            js.push_back(op->json);
        }
        auto r = m_conn->Exec(
            "INSERT INTO teams AS t (id, json, seq) SELECT i, j, $3 FROM unnest($1::text[], "
            "$2::text[]) AS u(i, j) ON CONFLICT (id) DO UPDATE SET json = excluded.json, "
            "seq = excluded.seq, updated_at = now() WHERE t.json IS DISTINCT FROM excluded.json",
            {PgArray(id), PgArray(js), seq});
        if (!r) return r.error();
    }
    std::map<std::string, std::tuple<std::string, int, std::string>> chans;
    for (const Op* op : b.channelLists)
        for (size_t i = 0; i < op->channels.size(); ++i)
            chans[op->channels[i].first] = {op->teamId, static_cast<int>(i),
                                            op->channels[i].second};
    if (!chans.empty()) {
        std::vector<PgParam> id, team, pos, js;
        for (const auto& [k, v] : chans) {
            id.push_back(k);
            team.push_back(std::get<0>(v));
            pos.push_back(Num(std::get<1>(v)));
            js.push_back(std::get<2>(v));
        }
        auto r = m_conn->Exec(
            "INSERT INTO channels AS c (id, team_id, position, json, seq) SELECT i, t, p, j, $5 "
            "FROM unnest($1::text[], $2::text[], $3::integer[], $4::text[]) AS u(i, t, p, j) "
            "ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, position = "
            "excluded.position, json = excluded.json, seq = excluded.seq, updated_at = now() "
            "WHERE (c.team_id, c.position, c.json) IS DISTINCT FROM (excluded.team_id, "
            "excluded.position, excluded.json)",
            {PgArray(id), PgArray(team), PgArray(pos), PgArray(js), seq});
        if (!r) return r.error();
    }
    if (!b.sync.empty())
        if (Status st = WriteSync(b, seq); !st) return st;
    for (const auto& [key, op] : b.reviews) {
        const ReviewItem& it = op->review;
        auto r = m_conn->Exec(
            "INSERT INTO review_items (message_id, rule_id, root_id, team_id, channel_id, "
            "rule_name, severity, reason, author_id, author_name, text, terms, group_key, "
            "created_ms, pack, pack_version, seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
            "$10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (message_id, rule_id) DO "
            "UPDATE SET text = excluded.text, terms = excluded.terms, reason = excluded.reason, "
            "seq = excluded.seq WHERE (review_items.text, review_items.reason) IS DISTINCT FROM "
            "(excluded.text, excluded.reason)",
            {it.messageId, it.ruleId, it.rootId, it.teamId, it.channelId, it.ruleName, it.severity,
             it.reason, it.authorId, it.authorName, it.text, TermsJson(it.terms), it.groupKey,
             Num(it.createdAt), op->pack, Num(op->packVersion), seq});
        if (!r) return r.error();
    }
    for (const Op* op : b.audits) {
        const AuditRow& a = op->audit;
        auto r = m_conn->Exec(
            "INSERT INTO audit_log (at, actor, action, team_id, channel_id, message_id, rule, "
            "result, request_id, detail) VALUES (to_timestamp($1::bigint / 1000.0), $2, $3, $4, "
            "$5, $6, $7, $8, $9, $10)",
            {Num(a.at), a.actor, a.action, a.teamId, a.channelId, a.messageId, a.rule, a.result,
             a.requestId, a.detail});
        if (!r) return r.error();
    }
    return OkStatus();
}

Status PgPersister::WriteBatch(const std::vector<Op>& ops, int64_t* seqOut,
                               std::vector<std::string>* chans) {
    Batch b(ops);
    m_batchFenced = 0;
    if (Status st = m_conn->Begin(); !st) return st;
    auto fail = [&](const Error& e) -> Status {
        m_conn->Rollback();
        return e;
    };
    auto next = m_conn->Exec("SELECT nextval('commit_seq')");
    if (!next) return fail(next.error());
    std::string seq = next->Text(0, 0);
    if (Status st = WriteOthers(b, seq); !st) return fail(st.error());
    if (Status st = WriteMessages(b, seq); !st) return fail(st.error());
    auto node = m_conn->Exec(
        "INSERT INTO sync_node (node_id, last_commit_at, last_commit_seq) VALUES ($1, now(), $2) "
        "ON CONFLICT (node_id) DO UPDATE SET last_commit_at = now(), last_commit_seq = "
        "excluded.last_commit_seq",
        {m_options.nodeId, seq});
    if (!node) return fail(node.error());
    // One hint per committed batch, delivered at commit: the sequence number and the
    // channels touched (or "all" when the list would not fit well below 8,000 bytes).
    nlohmann::json hint = {{"seq", std::stoll(seq)}, {"node", m_options.nodeId}};
    hint["channels"] = std::vector<std::string>(b.channels.begin(), b.channels.end());
    if (!b.teams.empty() || !b.channelLists.empty()) hint["directory"] = true;
    if (!b.reviews.empty()) hint["review"] = true;
    std::string payload = hint.dump();
    if (payload.size() > 4000) {
        hint.erase("channels");
        hint["all"] = true;
        payload = hint.dump();
    }
    auto notify = m_conn->Exec("SELECT pg_notify('cdeck_changes', $1)", {payload});
    if (!notify) return fail(notify.error());
    if (Status st = m_conn->Commit(); !st) return fail(st.error());
    *seqOut = std::stoll(seq);
    chans->assign(b.channels.begin(), b.channels.end());
    return OkStatus();
}

bool PgPersister::EnsureConnected(int& backoffMs) {
    if (m_conn && m_conn->Healthy()) return true;
    m_conn.reset();
    auto c = PgConn::Connect(m_options.conninfo, "channeldeck-node writer");
    std::string why = c ? std::string() : c.error().message;
    if (c)
        if (Status schema = PgCheckSchema(*c.value()); !schema) why = schema.error().message;
    std::lock_guard lock(m_mutex);
    if (!why.empty()) {
        if (m_stats.connected || m_stats.lastError != why)
            Log(LogLevel::kWarn, "pg", "database unavailable: " + why + "; retrying with back-off");
        m_stats.connected = false;
        m_stats.failing = true;
        m_stats.lastError = why;
        backoffMs = std::min(m_options.maxBackoffMs, backoffMs == 0 ? 250 : backoffMs * 2);
        return false;
    }
    m_conn = std::move(c.value());
    if (m_stats.failing) Log(LogLevel::kInfo, "pg", "database connection restored");
    if (m_stats.failing || m_stats.reconnects == 0) m_stats.reconnects++;
    m_stats.connected = true;
    return true;
}

void PgPersister::AfterCommit(size_t n, size_t messages, int64_t seq,
                              const std::vector<std::string>& chans) {
    std::function<void(int64_t, const std::vector<std::string>&)> cb;
    {
        std::lock_guard lock(m_mutex);
        // Only now do the ops leave the queue.
        for (size_t i = 0; i < n; ++i) m_queue.pop_front();
        m_stats.committedOps += n;
        m_stats.committedBatches++;
        m_stats.committedMessages += messages;
        if (m_batchFenced > 0 && m_stats.fencedWrites == 0)
            Log(LogLevel::kWarn, "pg",
                "a delta link was refused: another node holds the channel's lease now");
        m_stats.fencedWrites += m_batchFenced;
        m_stats.lastCommitSeq = seq;
        m_stats.lastCommitAt = NowMillis();
        m_stats.failing = false;
        m_stats.lastError.clear();
        if (m_queue.size() < m_options.maxQueue / 2) m_stats.backlogged = false;
        cb = m_commitCb;
        m_cv.notify_all();
    }
    if (cb) cb(seq, chans);
}

void PgPersister::AfterFailure(const Error& e, int& backoffMs) {
    std::lock_guard lock(m_mutex);
    m_stats.failedBatches++;
    if (!m_stats.failing)
        Log(LogLevel::kError, "pg", "database write failed, keeping the batch: " + e.message);
    m_stats.failing = true;
    m_stats.lastError = e.message;
    backoffMs = std::min(m_options.maxBackoffMs, backoffMs == 0 ? 250 : backoffMs * 2);
}

void PgPersister::Run() {
    int backoffMs = 0;
    while (true) {
        std::vector<Op> batch;
        {
            std::unique_lock lock(m_mutex);
            auto pastDrain = [&] {
                return m_stopping && std::chrono::steady_clock::now() >= m_drainUntil;
            };
            if (backoffMs > 0)
                m_cv.wait_for(lock, std::chrono::milliseconds(backoffMs), pastDrain);
            else
                m_cv.wait_for(lock, std::chrono::seconds(1),
                              [&] { return m_stopping || !m_queue.empty(); });
            if (m_queue.empty() ? m_stopping : pastDrain()) break;
            if (m_queue.empty()) continue;
        }
        if (!EnsureConnected(backoffMs)) continue;
        {
            std::lock_guard lock(m_mutex);
            size_t n = std::min(m_queue.size(), m_options.batchSize);
            batch.assign(m_queue.begin(), m_queue.begin() + static_cast<long>(n));
        }
        int64_t seq = 0;
        std::vector<std::string> chans;
        Status st = WriteBatch(batch, &seq, &chans);
        if (!st) {
            AfterFailure(st.error(), backoffMs);
            if (m_conn && !m_conn->Healthy()) m_conn.reset();
            continue;
        }
        backoffMs = 0;
        size_t messages = 0;
        for (const auto& op : batch) messages += op.kind == Op::Kind::kMessage;
        {
            std::lock_guard lock(m_mutex);
            m_committedSeq = batch.back().seq;
        }
        AfterCommit(batch.size(), messages, seq, chans);
    }
}

bool PgPersister::Flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(m_mutex);
    uint64_t target = m_nextSeq - 1;
    return m_cv.wait_for(lock, timeout, [&] { return m_committedSeq >= target; });
}

PgPersistStats PgPersister::Stats() const {
    std::lock_guard lock(m_mutex);
    PgPersistStats s = m_stats;
    s.queued = m_queue.size();
    return s;
}

}  // namespace cdeck::core
