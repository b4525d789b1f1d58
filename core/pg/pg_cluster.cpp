#include "pg/pg_cluster.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "pg/pg_follower.hpp"
#include "util/log.hpp"

namespace cdeck::core {

namespace {

std::string Secs(double s) {
    return std::to_string(s);
}

}  // namespace

std::string PgNodesNotice(const std::string& node, const std::string& event, size_t channels) {
    return nlohmann::json{{"node", node}, {"event", event}, {"channels", channels}}.dump();
}

PgCluster::PgCluster(PgClusterOptions options, Store& store)
    : m_options(std::move(options)), m_store(store) {}

PgCluster::~PgCluster() {
    Stop(false);
}

void PgCluster::SetCallbacks(Claimed claimed, Released released) {
    m_claimed = std::move(claimed);
    m_released = std::move(released);
}

void PgCluster::SetPushNotice(std::function<void(const std::string&)> notice) {
    m_pushNotice = std::move(notice);
}

std::optional<int64_t> PgCluster::LeaderFence() const {
    std::lock_guard lock(m_mutex);
    if (!m_leader || !Fresh(m_leaderAt)) return std::nullopt;
    return m_leaderFence;
}

void PgCluster::Start() {
    std::unique_lock lock(m_mutex);
    if (m_thread.joinable()) return;
    m_stop = false;
    m_thread = std::thread([this] { Loop(); });
    // The first step, so the node syncs its share from the start (bounded: a database
    // that does not answer is the heartbeat's to report).
    m_cv.wait_for(lock, std::chrono::seconds(10), [&] { return m_firstStepDone || m_stop; });
}

void PgCluster::Stop(bool release) {
    {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) return;
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
    if (!release) return;
    auto c = PgConn::Connect(m_options.conninfo, "channeldeck-node cluster");
    if (c) ReleaseAll(*c.value());
}

void PgCluster::Wake() {
    {
        std::lock_guard lock(m_mutex);
        m_wake = true;
    }
    m_cv.notify_all();
}

bool PgCluster::Fresh(Clock::time_point at) const {
    return Clock::now() - at < std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(m_options.stopAfterSeconds));
}

bool PgCluster::OwnsChannel(const std::string& channelId) const {
    std::lock_guard lock(m_mutex);
    return m_owned.count(channelId) != 0 && Fresh(m_renewedAt);
}

bool PgCluster::Leader() const {
    std::lock_guard lock(m_mutex);
    return m_leader && Fresh(m_leaderAt);
}

std::optional<int64_t> PgCluster::FenceOf(const std::string& channelId) const {
    std::lock_guard lock(m_mutex);
    auto it = m_owned.find(channelId);
    if (it == m_owned.end()) return std::nullopt;
    return it->second;
}

PgCluster::Figures PgCluster::GetFigures() const {
    std::lock_guard lock(m_mutex);
    Figures f = m_figures;
    f.owned = static_cast<int>(m_owned.size());
    f.leader = m_leader && Fresh(m_leaderAt);
    f.secondsSinceRenewal = m_renewedAt == Clock::time_point{}
                                ? 0
                                : std::chrono::duration<double>(Clock::now() - m_renewedAt).count();
    return f;
}

bool PgCluster::SaveSubscription(const std::string& channelId, const std::string& subscriptionId) {
    std::optional<int64_t> fence = FenceOf(channelId);
    std::lock_guard wl(m_writeMutex);
    if (!m_writeConn || !m_writeConn->Healthy()) {
        auto c = PgConn::Connect(m_options.conninfo, "channeldeck-node cluster writer");
        if (!c) return false;
        m_writeConn = std::move(c.value());
    }
    // The owner and the fencing token are checked in the same statement: a node that was
    // paused past its lease cannot overwrite its successor's subscription.
    auto r = m_writeConn->Exec(
        "UPDATE channel_lease SET subscription_id = $4 WHERE channel_id = $1 AND owner = $2 AND "
        "fence = $3 RETURNING channel_id",
        {channelId, m_options.nodeId, std::to_string(fence.value_or(-1)),
         subscriptionId.empty() ? PgParam() : PgParam(subscriptionId)});
    bool landed = r && r->Rows() == 1;
    if (r && !landed) {
        std::lock_guard lock(m_mutex);
        m_figures.fencedWrites++;
    }
    return landed;
}

void PgCluster::Loop() {
    std::unique_ptr<PgConn> conn;
    bool reported = false;
    auto interval = std::chrono::milliseconds(static_cast<int64_t>(m_options.renewSeconds * 1000));
    auto nextStep = Clock::now();
    while (true) {
        if (!conn || !conn->Healthy()) {
            conn.reset();
            auto c = PgConn::Connect(m_options.conninfo, "channeldeck-node cluster");
            if (c && c.value()->Listen(kPgNodesChannel) && c.value()->Listen(kPgPushChannel))
                conn = std::move(c.value());
        }
        bool ok = false;
        if (conn && Clock::now() >= nextStep) {
            ok = Step(*conn);
            nextStep = Clock::now() + (ok ? interval : std::chrono::milliseconds(1000));
            {
                std::lock_guard lock(m_mutex);
                if (ok && m_orphanLapseMs >= 0)  // a dead node's leases run out before then
                    nextStep = std::min(
                        nextStep, Clock::now() + std::chrono::milliseconds(m_orphanLapseMs + 50));
            }
            if (!ok && !reported)
                Log(LogLevel::kWarn, "cluster",
                    "lease renewal failed; work stops on this node's channels after " +
                        Secs(m_options.stopAfterSeconds) + " s without one");
            reported = !ok;
        }
        {
            std::lock_guard lock(m_mutex);
            m_firstStepDone = true;
        }
        m_cv.notify_all();
        // Wait for the next step, a notice from another node, a Wake() or Stop().
        while (true) {
            {
                std::unique_lock lock(m_mutex);
                if (m_stop) return;
                if (m_wake) {
                    m_wake = false;
                    nextStep = Clock::now();
                }
            }
            if (Clock::now() >= nextStep || !conn) break;
            auto got = conn->WaitForNotifications(std::chrono::milliseconds(200));
            if (!got) {
                conn.reset();
                break;
            }
            for (const auto& n : got.value()) {
                if (n.channel == kPgPushChannel) {
                    if (m_pushNotice) m_pushNotice(n.payload);
                } else if (n.payload.find("\"" + m_options.nodeId + "\"") == std::string::npos) {
                    nextStep = Clock::now();  // another node joined, left or gave leases up
                }
            }
        }
        if (!conn) {
            std::unique_lock lock(m_mutex);
            m_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return m_stop; });
        }
    }
}

bool PgCluster::Step(PgConn& conn) {
    bool ok = Renew(conn) && KeepLeader(conn) && Balance(conn);
    std::lock_guard lock(m_mutex);
    m_figures.steps++;
    m_figures.renewing = ok;
    if (!ok) m_figures.failures++;
    return ok;
}

bool PgCluster::Renew(PgConn& conn) {
    auto r = conn.Exec(
        "UPDATE channel_lease SET expires_at = now() + make_interval(secs => $2) WHERE owner = "
        "$1 RETURNING channel_id, fence",
        {m_options.nodeId, Secs(m_options.leaseSeconds)});
    if (!r) return false;
    std::map<std::string, int64_t> held;
    for (int i = 0; i < r->Rows(); ++i) held[r->Text(i, 0)] = r->Int(i, 1);
    std::vector<std::string> lost;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, fence] : m_owned) {
            auto it = held.find(id);
            if (it == held.end() || it->second != fence) lost.push_back(id);
        }
        for (const auto& id : lost) m_owned.erase(id);
        m_renewedAt = Clock::now();
        m_figures.lost += lost.size();
    }
    if (!lost.empty()) {
        Log(LogLevel::kWarn, "cluster",
            "another node holds " + std::to_string(lost.size()) +
                " of this node's channels now (its leases ran out); stopped work on them");
        if (m_released) m_released(lost);
    }
    return true;
}

bool PgCluster::KeepLeader(PgConn& conn) {
    // Keeps the lease while this node holds it; takes it when it has run out. A change of
    // holder raises the fencing token.
    auto r = conn.Exec(
        "INSERT INTO leader_lease AS l (name, owner, expires_at, fence) VALUES ('leader', $1, "
        "now() + make_interval(secs => $2), 1) ON CONFLICT (name) DO UPDATE SET owner = $1, "
        "expires_at = excluded.expires_at, fence = CASE WHEN l.owner = $1 THEN l.fence ELSE "
        "l.fence + 1 END WHERE l.owner = $1 OR l.owner IS NULL OR l.expires_at < now() "
        "RETURNING fence",
        {m_options.nodeId, Secs(m_options.leaseSeconds)});
    if (!r) return false;
    bool leader = r->Rows() == 1;
    bool was;
    {
        std::lock_guard lock(m_mutex);
        was = m_leader;
        m_leader = leader;
        if (leader) {
            m_leaderAt = Clock::now();
            m_leaderFence = r->Int(0, 0);
        }
    }
    if (leader != was)
        Log(LogLevel::kInfo, "cluster",
            leader ? "this node leads now (discovery and the tenant subscription)"
                   : "another node leads now");
    if (!leader) return true;
    // New channels get a lease row (the leader's discovery wrote them to `channels`), and
    // the other nodes hear of them at once to claim their share.
    auto add = conn.Exec(
        "WITH added AS (INSERT INTO channel_lease (channel_id, team_id) SELECT id, team_id FROM "
        "channels ON CONFLICT (channel_id) DO NOTHING RETURNING 1) SELECT count(*) FROM added");
    if (!add) return false;
    if (add->Int(0, 0) > 0)
        (void)conn.Exec(
            "SELECT pg_notify('cdeck_nodes', $1)",
            {PgNodesNotice(m_options.nodeId, "channels", static_cast<size_t>(add->Int(0, 0)))});
    return true;
}

bool PgCluster::Balance(PgConn& conn) {
    // Also: when the next lease of a node no longer alive runs out, so that this node looks
    // again right then instead of at its next renewal.
    auto r = conn.Exec(
        "WITH live AS (SELECT node_id FROM sync_node WHERE expires_at > now() OR node_id = $1) "
        "SELECT (SELECT count(*) FROM channel_lease), array_position(array(SELECT node_id FROM "
        "live ORDER BY node_id), $1), (SELECT count(*) FROM live), (SELECT extract(epoch FROM "
        "min(expires_at) - now()) * 1000 FROM channel_lease WHERE owner IS NOT NULL AND "
        "expires_at > now() AND owner NOT IN (SELECT node_id FROM live))",
        {m_options.nodeId});
    if (!r) return false;
    int channels = static_cast<int>(r->Int(0, 0));
    int rank = static_cast<int>(r->Int(0, 1)) - 1;
    int nodes = std::max<int>(1, static_cast<int>(r->Int(0, 2)));
    {
        std::lock_guard lock(m_mutex);
        m_orphanLapseMs = r->IsNull(0, 3) ? -1 : static_cast<int64_t>(std::stod(r->Text(0, 3)));
    }
    int target = channels / nodes + (rank < channels % nodes ? 1 : 0);
    int owned;
    bool grew;
    {
        std::lock_guard lock(m_mutex);
        owned = static_cast<int>(m_owned.size());
        grew = m_figures.channels != 0 && channels > m_figures.channels;
        m_figures.channels = channels;
        m_figures.liveNodes = nodes;
        m_figures.target = target;
    }
    // The leader discovered channels: every node's store learns them (in tenant scope any
    // node may receive their notifications).
    if (grew)
        if (Status st = PgLoadDirectory(conn, m_store); !st)
            Log(LogLevel::kWarn, "cluster",
                "could not read the channel list: " + st.error().message);
    if (owned < target) return Claim(conn, target - owned);
    if (owned > target) return GiveUp(conn, owned - target);
    return true;
}

bool PgCluster::Claim(PgConn& conn, int n) {
    auto r = conn.Exec(
        "WITH free AS (SELECT channel_id FROM channel_lease WHERE owner IS NULL OR expires_at < "
        "now() ORDER BY channel_id FOR UPDATE SKIP LOCKED LIMIT $3) UPDATE channel_lease l SET "
        "owner = $1, expires_at = now() + make_interval(secs => $2), fence = l.fence + 1, "
        "claimed_at = now() FROM free WHERE l.channel_id = free.channel_id RETURNING "
        "l.channel_id, l.team_id, l.fence, coalesce(l.subscription_id, ''), coalesce((SELECT "
        "s.delta_link FROM sync_state s WHERE s.channel_id = l.channel_id), ''), coalesce((SELECT "
        "s.last_sync_ms FROM sync_state s WHERE s.channel_id = l.channel_id), 0)",
        {m_options.nodeId, Secs(m_options.leaseSeconds), std::to_string(n)});
    if (!r) return false;
    if (r->Rows() == 0) return true;  // nothing free yet: the others give theirs up soon
    std::vector<LeaseClaim> claims;
    for (int i = 0; i < r->Rows(); ++i)
        claims.push_back({r->Text(i, 0), r->Text(i, 1), r->Text(i, 4), r->Text(i, 3), r->Int(i, 2),
                          r->Int(i, 5)});
    {
        std::lock_guard lock(m_mutex);
        for (const auto& c : claims) m_owned[c.channelId] = c.fence;
        m_figures.claimed += claims.size();
    }
    Log(LogLevel::kInfo, "cluster",
        "took the leases of " + std::to_string(claims.size()) + " channels");
    EnsureDirectory(conn, claims);
    if (m_claimed) m_claimed(claims);
    return true;
}

bool PgCluster::GiveUp(PgConn& conn, int n) {
    std::vector<std::string> give;
    {
        // Stop local work first, so nothing is sent for them after the others may claim.
        std::lock_guard lock(m_mutex);
        for (auto it = m_owned.rbegin(); it != m_owned.rend() && static_cast<int>(give.size()) < n;
             ++it)
            give.push_back(it->first);
        for (const auto& id : give) m_owned.erase(id);
        m_figures.released += give.size();
    }
    if (m_released) m_released(give);
    std::vector<PgParam> ids(give.begin(), give.end());
    auto r = conn.Exec(
        "UPDATE channel_lease SET owner = NULL, expires_at = '-infinity' WHERE owner = $1 AND "
        "channel_id = ANY ($2::text[])",
        {m_options.nodeId, PgArray(ids)});
    if (!r) return false;  // they run out on their own within the lease time
    Log(LogLevel::kInfo, "cluster",
        "gave up " + std::to_string(give.size()) + " channels to the other nodes");
    auto note = conn.Exec("SELECT pg_notify('cdeck_nodes', $1)",
                          {PgNodesNotice(m_options.nodeId, "released", give.size())});
    return note.ok();
}

void PgCluster::EnsureDirectory(PgConn& conn, const std::vector<LeaseClaim>& claims) {
    // A channel the leader discovered after this node started is not in its store yet.
    SnapshotPtr snap = m_store.Current();
    bool missing = std::any_of(claims.begin(), claims.end(), [&](const LeaseClaim& c) {
        return snap->FindChannel(c.channelId) == nullptr;
    });
    if (!missing) return;
    if (Status st = PgLoadDirectory(conn, m_store); !st)
        Log(LogLevel::kWarn, "cluster", "could not read the channel list: " + st.error().message);
}

void PgCluster::ReleaseAll(PgConn& conn) {
    size_t n;
    {
        std::lock_guard lock(m_mutex);
        n = m_owned.size();
        m_owned.clear();
        m_leader = false;
    }
    auto r = conn.Exec(
        "UPDATE channel_lease SET owner = NULL, expires_at = '-infinity' WHERE owner = $1",
        {m_options.nodeId});
    auto l =
        conn.Exec("UPDATE leader_lease SET owner = NULL, expires_at = '-infinity' WHERE owner = $1",
                  {m_options.nodeId});
    if (r && l)
        (void)conn.Exec("SELECT pg_notify('cdeck_nodes', $1)",
                        {PgNodesNotice(m_options.nodeId, "left", n)});
}

}  // namespace cdeck::core
