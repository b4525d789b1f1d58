#include "pg/pg_desk.hpp"

namespace cdeck::core {

PgDesk::PgDesk(std::string conninfo, int claimSeconds)
    : m_conninfo(std::move(conninfo)), m_claimSeconds(claimSeconds) {}

Status PgDesk::Ensure() {
    if (m_conn && m_conn->Healthy()) return OkStatus();
    m_conn.reset();
    auto c = PgConn::Connect(m_conninfo, "channeldeck desk actions");
    if (!c) return c.error();
    m_conn = std::move(c.value());
    return OkStatus();
}

Result<std::string> PgDesk::SessionUser() {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st.error();
    auto r = m_conn->Exec("SELECT session_user");
    if (!r) return r.error();
    return r->Text(0, 0);
}

Status PgDesk::ClaimFirst(uint64_t id) {
    auto r = m_conn->Exec("SELECT desk_claim_item($1, $2, $3)",
                          {std::to_string(id), std::to_string(m_claimSeconds), m_account});
    if (!r) return r.error();
    if (r->Bool(0, 0)) return OkStatus();
    auto who = m_conn->Exec(
        "SELECT coalesce(claimed_account, claimed_by, 'someone') FROM review_items WHERE id = $1",
        {std::to_string(id)});
    std::string holder = who && who->Rows() ? who->Text(0, 0) : "someone";
    return MakeError(ErrorCode::kPermission,
                     "item " + std::to_string(id) + " is claimed by " + holder);
}

Status PgDesk::Run(const SharedReviewAction& a) {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st;
    using K = SharedReviewAction::Kind;
    std::string id = std::to_string(a.id);
    std::string ttl = std::to_string(m_claimSeconds);
    Result<PgResult> r = MakeError(ErrorCode::kInternal, "unknown review action");
    switch (a.kind) {
        case K::kClaim:
            if (Status st = ClaimFirst(a.id); !st) return st;
            return OkStatus();
        case K::kClaimNext:
            r = m_conn->Exec("SELECT * FROM desk_claim($1, $2, $3)",
                             {std::to_string(a.count), ttl, m_account});
            break;
        case K::kRelease:
            r = m_conn->Exec("SELECT desk_release($1)", {id});
            break;
        case K::kResolve:
        case K::kTag:
        case K::kEscalate:
        case K::kNotice: {
            if (Status st = ClaimFirst(a.id); !st) return st;
            if (a.kind == K::kResolve)
                r = m_conn->Exec("SELECT desk_resolve($1, $2, $3, $4)",
                                 {id, a.tag, a.comment, m_account});
            else if (a.kind == K::kTag)
                r = m_conn->Exec("SELECT desk_tag($1, $2, $3, $4)",
                                 {id, a.tag, a.comment, m_account});
            else if (a.kind == K::kEscalate)
                r = m_conn->Exec("SELECT desk_escalate($1, $2)", {id, m_account});
            else
                r = m_conn->Exec("SELECT desk_record_notice($1, $2, $3, $4)",
                                 {id, m_account, a.result, a.requestId});
            break;
        }
    }
    if (!r) {
        if (!m_conn->Healthy()) m_conn.reset();
        return r.error();
    }
    return OkStatus();
}

Status PgDesk::AppendAudit(const AuditRow& a) {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st;
    auto r = m_conn->Exec("SELECT desk_append_audit($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                          {a.actor, a.action, a.teamId, a.channelId, a.messageId, a.rule, a.result,
                           a.requestId, a.detail});
    if (!r) {
        if (!m_conn->Healthy()) m_conn.reset();
        return r.error();
    }
    return OkStatus();
}

}  // namespace cdeck::core

namespace cdeck::core {

Result<std::vector<AuditRow>> PgDesk::RecentAudit(size_t limit) {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st.error();
    auto r = m_conn->Exec(
        "SELECT seq, (extract(epoch FROM at) * 1000)::bigint, actor || ' (' || db_user || ')', "
        "action, team_id, channel_id, message_id, rule, result, request_id, detail FROM "
        "audit_log ORDER BY seq DESC LIMIT $1",
        {std::to_string(limit)});
    if (!r) return r.error();
    std::vector<AuditRow> out;
    for (int i = 0; i < r->Rows(); ++i)
        out.push_back({r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3), r->Text(i, 4),
                       r->Text(i, 5), r->Text(i, 6), r->Text(i, 7), r->Text(i, 8), r->Text(i, 9),
                       r->Text(i, 10)});
    return out;
}

}  // namespace cdeck::core

namespace cdeck::core {

Result<std::vector<Draft>> PgDesk::LoadDrafts() {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st.error();
    auto r = m_conn->Exec(
        "SELECT key, team_id, channel_id, reply_to_id, subject, body, updated_ms FROM drafts "
        "ORDER BY updated_ms");
    if (!r) return r.error();
    std::vector<Draft> out;
    for (int i = 0; i < r->Rows(); ++i)
        out.push_back({r->Text(i, 0), r->Text(i, 1), r->Text(i, 2), r->Text(i, 3), r->Text(i, 4),
                       r->Text(i, 5), r->Int(i, 6)});
    return out;
}

Status PgDesk::SaveDraft(const Draft& d) {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st;
    auto r = m_conn->Exec(
        "INSERT INTO drafts (key, team_id, channel_id, reply_to_id, subject, body, updated_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (owner, key) DO UPDATE SET team_id = "
        "excluded.team_id, channel_id = excluded.channel_id, reply_to_id = excluded.reply_to_id, "
        "subject = excluded.subject, body = excluded.body, updated_ms = excluded.updated_ms",
        {d.key, d.teamId, d.channelId, d.replyToId, d.subject, d.body,
         std::to_string(d.updatedAt ? d.updatedAt : NowMillis())});
    if (!r) return r.error();
    return OkStatus();
}

Status PgDesk::DeleteDraft(const std::string& key) {
    std::lock_guard lock(m_mutex);
    if (Status st = Ensure(); !st) return st;
    auto r = m_conn->Exec("DELETE FROM drafts WHERE key = $1", {key});
    if (!r) return r.error();
    return OkStatus();
}

}  // namespace cdeck::core
