#include "pg/pg_subscriptions.hpp"

#include <nlohmann/json.hpp>

#include "util/log.hpp"

namespace cdeck::core {

namespace {
constexpr UnixMillis kMissMs = 5000;
constexpr size_t kMaxCached = 20000;
// The lease check and the write in one statement: the lease row is locked against a claim
// until the write commits. The tenant subscription is the leader's; a channel's, its lease
// holder's (and the lease row names it).
constexpr const char* kSaveTenant =
    "WITH ok AS (SELECT fence FROM leader_lease WHERE name = 'leader' AND owner = $7 "
    "AND fence = $8 FOR SHARE) INSERT INTO push_subscription (id, resource, "
    "channel_id, client_state, certificate_id, expires_ms, owner, fence) SELECT $1, "
    "$2, NULLIF($3, ''), $4, $5, $6, $7, $8 FROM ok ON CONFLICT (resource) DO UPDATE "
    "SET id = excluded.id, client_state = excluded.client_state, certificate_id = "
    "excluded.certificate_id, expires_ms = excluded.expires_ms, owner = excluded.owner, "
    "fence = excluded.fence, updated_at = now() RETURNING id";
constexpr const char* kSaveChannel =
    "WITH ok AS (SELECT fence FROM channel_lease WHERE channel_id = $3 AND owner = $7 "
    "AND fence = $8 FOR SHARE), lease AS (UPDATE channel_lease SET subscription_id = "
    "$1 WHERE channel_id = $3 AND owner = $7 AND fence = $8) INSERT INTO "
    "push_subscription (id, resource, channel_id, client_state, certificate_id, "
    "expires_ms, owner, fence) SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM ok ON "
    "CONFLICT (resource) DO UPDATE SET id = excluded.id, client_state = "
    "excluded.client_state, certificate_id = excluded.certificate_id, expires_ms = "
    "excluded.expires_ms, owner = excluded.owner, fence = excluded.fence, updated_at = "
    "now() RETURNING id";
}  // namespace

PgSubscriptions::PgSubscriptions(std::string conninfo, std::string nodeId,
                                 std::shared_ptr<PgCluster> cluster)
    : m_conninfo(std::move(conninfo)), m_nodeId(std::move(nodeId)), m_cluster(std::move(cluster)) {}

PgConn* PgSubscriptions::Conn() {
    if (m_conn && m_conn->Healthy()) return m_conn.get();
    m_conn.reset();
    auto c = PgConn::Connect(m_conninfo, "channeldeck-node subscriptions");
    if (!c) return nullptr;
    m_conn = std::move(c.value());
    return m_conn.get();
}

bool PgSubscriptions::Mine(const std::string& channelId) const {
    return channelId.empty() ? m_cluster->Leader() : m_cluster->OwnsChannel(channelId);
}

std::optional<SharedSubscription> PgSubscriptions::Find(const std::string& resource) {
    std::lock_guard lock(m_mutex);
    PgConn* c = Conn();
    if (!c) return std::nullopt;
    auto r = c->Exec(
        "SELECT id, resource, coalesce(channel_id, ''), client_state, certificate_id, "
        "expires_ms FROM push_subscription WHERE resource = $1",
        {resource});
    if (!r || r->Rows() == 0) return std::nullopt;
    return SharedSubscription{r->Text(0, 0), r->Text(0, 1), r->Text(0, 2),
                              r->Text(0, 3), r->Text(0, 4), r->Int(0, 5)};
}

bool PgSubscriptions::Save(const SharedSubscription& s) {
    std::optional<int64_t> fence =
        s.channelId.empty() ? m_cluster->LeaderFence() : m_cluster->FenceOf(s.channelId);
    std::lock_guard lock(m_mutex);
    PgConn* c = Conn();
    if (!c) return true;  // keep it; the next renewal records it
    const bool tenant = s.channelId.empty();
    auto r = c->Exec(tenant ? kSaveTenant : kSaveChannel,
                     {s.id, s.resource, s.channelId, s.clientState, s.certificateId,
                      std::to_string(s.expires), m_nodeId, std::to_string(fence.value_or(-1))});
    if (!r) {
        Log(LogLevel::kWarn, "push",
            "cannot record subscription " + s.id + ": " + r.error().message);
        return true;  // the database is away: keep managing it
    }
    if (r->Rows() == 1) {
        m_states[s.id] = s.clientState;
        return true;
    }
    ++m_refused;
    return false;
}

void PgSubscriptions::Forget(const std::string& id) {
    std::lock_guard lock(m_mutex);
    m_states.erase(id);
    if (PgConn* c = Conn()) (void)c->Exec("DELETE FROM push_subscription WHERE id = $1", {id});
}

std::optional<std::string> PgSubscriptions::ClientStateOf(const std::string& id) {
    std::lock_guard lock(m_mutex);
    if (auto it = m_states.find(id); it != m_states.end()) return it->second;
    UnixMillis now = NowMillis();
    if (auto it = m_misses.find(id); it != m_misses.end() && now - it->second < kMissMs)
        return std::nullopt;
    PgConn* c = Conn();
    auto r = c ? c->Exec("SELECT client_state FROM push_subscription WHERE id = $1", {id})
               : Result<PgResult>(MakeError(ErrorCode::kIo, "no database"));
    if (m_misses.size() > kMaxCached) m_misses.clear();
    if (!r || r->Rows() == 0) {
        m_misses[id] = now;
        return std::nullopt;
    }
    if (m_states.size() > kMaxCached) m_states.clear();
    m_states[id] = r->Text(0, 0);
    return m_states[id];
}

void PgSubscriptions::Forward(const std::string& id, const std::string& event) {
    std::string payload =
        nlohmann::json{{"subscription", id}, {"event", event}, {"from", m_nodeId}}.dump();
    std::lock_guard lock(m_mutex);
    if (PgConn* c = Conn()) (void)c->Exec("SELECT pg_notify('cdeck_push', $1)", {payload});
}

std::optional<std::pair<std::string, std::string>> PgSubscriptions::ParseNotice(
    const std::string& payload) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (!j.is_object() || !j.value("subscription", nlohmann::json()).is_string() ||
        !j.value("event", nlohmann::json()).is_string())
        return std::nullopt;
    return std::make_pair(j["subscription"].get<std::string>(), j["event"].get<std::string>());
}

uint64_t PgSubscriptions::RefusedSaves() const {
    std::lock_guard lock(m_mutex);
    return m_refused;
}

}  // namespace cdeck::core
