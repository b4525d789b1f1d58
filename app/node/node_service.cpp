#include "node/node_service.hpp"

#include "node/prom_text.hpp"
#include "platform/os.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "moderation/review.hpp"
#include "net/http.hpp"
#include "pg/pg_cluster.hpp"
#include "pg/pg_conn.hpp"
#include "pg/pg_follower.hpp"
#include "pg/pg_persister.hpp"
#include "pg/pg_quota.hpp"
#include "pg/pg_subscriptions.hpp"
#include "pg/pg_schema.hpp"
#include "sync/sync_engine.hpp"
#include "util/log.hpp"

namespace cdeck::node {

using core::ErrorCode;
using core::MakeError;
using core::Result;

namespace {

// Membership: a node's row lives two thirds of a lease (20 s by default), so a dead node
// stops counting before its leases run out and the survivors' shares already cover its
// channels; it beats four times in that (every 5 s by default).
double MemberSeconds(const core::NodeSettings& n) {
    return n.leaseSeconds * 2.0 / 3.0;
}
std::chrono::milliseconds BeatEvery(const core::NodeSettings& n) {
    return std::chrono::milliseconds(static_cast<int64_t>(MemberSeconds(n) * 1000 / 4));
}

Result<std::string> ReadFile(const std::string& path) {
    std::ifstream in(path);
    if (!in) return MakeError(ErrorCode::kConfig, "cannot read rule pack " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A connection for an operator command: credentials and a missing database are the
// operator's to fix (kConfig/kAuth: exit 2).
Result<std::unique_ptr<core::PgConn>> OperatorConnect(const core::Config& config) {
    if (!config.server.Enabled())
        return MakeError(ErrorCode::kConfig,
                         "the config has no server block (server.conninfo names the database)");
    return core::PgConn::Connect(config.server.conninfo, "channeldeck-node");
}

// Stores `text` as version `version` of its pack and enables it, unless an equal or newer
// version is already enabled (force: enable it anyway). Returns the enabled version.
Result<int> Publish(core::PgConn& c, const core::RulePack& pack, const std::string& text,
                    bool force) {
    if (core::Status st = c.Begin(); !st) return st.error();
    auto fail = [&](core::Error e) -> Result<int> {
        c.Rollback();
        return e;
    };
    auto lock = c.Exec("SELECT pg_advisory_xact_lock(7274102)");
    if (!lock) return fail(lock.error());
    std::string version = std::to_string(pack.version);
    auto same = c.Exec("SELECT json FROM rule_packs WHERE pack = $1 AND version = $2",
                       {pack.name, version});
    if (!same) return fail(same.error());
    if (same->Rows() && same->Text(0, 0) != text)
        return fail(MakeError(ErrorCode::kConfig,
                              "rule pack \"" + pack.name + "\" version " + version +
                                  " is already published with different rules; raise its "
                                  "version"));
    auto enabled =
        c.Exec("SELECT coalesce(max(version), 0) FROM rule_packs WHERE pack = $1 AND enabled",
               {pack.name});
    if (!enabled) return fail(enabled.error());
    int current = static_cast<int>(enabled->Int(0, 0));
    if (!force && current >= pack.version) {
        c.Rollback();
        return current;
    }
    auto ins = c.Exec(
        "INSERT INTO rule_packs (pack, version, json) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        {pack.name, version, text});
    auto en = ins ? c.Exec("UPDATE rule_packs SET enabled = (version = $2) WHERE pack = $1",
                           {pack.name, version})
                  : Result<core::PgResult>(ins.error());
    auto hint = en ? c.Exec("SELECT pg_notify('cdeck_changes', '{\"rules\":true}')")
                   : Result<core::PgResult>(en.error());
    if (!hint) return fail(hint.error());
    if (core::Status st = c.Commit(); !st) return st.error();
    return pack.version;
}

}  // namespace

core::Status RunMigrate(const core::Config& config, std::string& out) {
    auto c = OperatorConnect(config);
    if (!c) return c.error();
    auto before = core::PgSchemaVersion(*c.value());
    if (!before) return before.error();
    int applied = 0;
    if (core::Status st = core::PgMigrate(*c.value(), &applied); !st) return st;
    out = applied == 0
              ? "the database is at schema version " + std::to_string(core::kPgSchemaVersion) +
                    "; nothing to do"
              : "migrated the database from schema version " + std::to_string(before.value()) +
                    " to " + std::to_string(core::kPgSchemaVersion);
    return core::OkStatus();
}

core::Status RunPublishRules(const core::Config& config, const std::string& path,
                             std::string& out) {
    auto text = ReadFile(path);
    if (!text) return text.error();
    auto pack = core::ParseRulePack(text.value());
    if (!pack) return MakeError(ErrorCode::kConfig, path + ": " + pack.error().message);
    auto c = OperatorConnect(config);
    if (!c) return c.error();
    if (core::Status st = core::PgCheckSchema(*c.value()); !st) return st;
    auto v = Publish(*c.value(), pack.value(), text.value(), /*force=*/true);
    if (!v) return v.error();
    out = "published rule pack \"" + pack->name + "\" version " + std::to_string(v.value()) +
          "; every node and desk picks it up within seconds";
    return core::OkStatus();
}

NodeService::NodeService() = default;
NodeService::~NodeService() {
    Stop();
}

core::Status NodeService::WaitForDatabase(std::atomic<bool>* cancel) {
    int backoffMs = 500;
    std::string lastWhy;
    while (!(cancel && cancel->load())) {
        core::PgFailure why = core::PgFailure::kNone;
        auto c = core::PgConn::Connect(m_config.server.conninfo, "channeldeck-node", &why);
        if (c) return core::PgCheckSchema(*c.value());  // newer or unmigrated: exit 2
        if (why == core::PgFailure::kAuth || why == core::PgFailure::kNoDatabase) return c.error();
        if (c.error().message != lastWhy)
            core::Log(core::LogLevel::kWarn, "node",
                      "database unreachable: " + c.error().message +
                          "; retrying with back-off (up to 10 s)");
        lastWhy = c.error().message;
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(backoffMs));
        backoffMs = std::min(10000, backoffMs * 2);
    }
    return MakeError(ErrorCode::kCancelled, "stopped while waiting for the database");
}

core::Status NodeService::StartModeration(const std::string& path) {
    auto text = ReadFile(path);
    if (!text) return text.error();
    auto pack = core::ParseRulePack(text.value());
    if (!pack) return MakeError(ErrorCode::kConfig, path + ": " + pack.error().message);
    auto c = core::PgConn::Connect(m_config.server.conninfo, "channeldeck-node");
    if (!c) return c.error();
    auto v = Publish(*c.value(), pack.value(), text.value(), /*force=*/false);
    if (!v) return v.error();
    if (v.value() > pack->version)
        core::Log(core::LogLevel::kInfo, "moderation",
                  "the shared rule pack \"" + pack->name + "\" is at version " +
                      std::to_string(v.value()) + ", newer than " + path + "; using it");
    core::ModerationEngine::Options mo;
    mo.actor = "node " + m_nodeId;
    mo.maxItems = static_cast<size_t>(m_config.sync.memoryMaxReviewItems);
    core::PgPersister* persister = m_persister.get();
    mo.flagged = [persister](const std::vector<core::ReviewItem>& items, const core::RulePack& p) {
        persister->SaveReviewItems(items, p.name, p.version);
    };
    mo.audit = [persister](const core::AuditRow& row) { persister->AppendAudit(row); };
    m_packName = pack->name;
    m_packVersion = pack->version;
    m_moderation = std::make_unique<core::ModerationEngine>(m_store, std::move(pack.value()), mo);
    AdoptSharedPack(*c.value());
    return core::OkStatus();
}

void NodeService::AdoptSharedPack(core::PgConn& conn) {
    auto shared = core::PgEnabledRulePack(conn);
    if (!shared || !shared.value()) return;
    const std::string& name = shared.value()->name;
    int version = shared.value()->version;
    {
        std::lock_guard lock(m_mutex);
        if (name == m_packName && version == m_packVersion) return;
    }
    auto pack = core::ParseRulePack(shared.value()->json);
    if (!pack) {
        core::Log(core::LogLevel::kError, "moderation",
                  "the shared rule pack \"" + name + "\" version " + std::to_string(version) +
                      " does not parse, keeping the current one: " + pack.error().message);
        std::lock_guard lock(m_mutex);
        m_packName = name;  // do not report it again every beat
        m_packVersion = version;
        return;
    }
    core::Log(core::LogLevel::kInfo, "moderation",
              "rule pack \"" + name + "\" version " + std::to_string(version) + " is now in use");
    m_moderation->SetPack(std::move(pack.value()));
    std::lock_guard lock(m_mutex);
    m_packName = name;
    m_packVersion = version;
}

core::Status NodeService::Start(const NodeOptions& options) {
    m_config = options.config;
    if (!m_config.server.Enabled())
        return MakeError(ErrorCode::kConfig,
                         "the config has no server block (server.conninfo names the database)");
    if (m_config.tenant.empty() || m_config.authMode != "client_credentials")
        return MakeError(ErrorCode::kConfig,
                         "channeldeck-node signs in as the application: set tenant, client_id, "
                         "auth_mode \"client_credentials\" and client_secret or certificate_path");
    m_host = core::os::HostName();
    m_nodeId = !m_config.node.id.empty() ? m_config.node.id
                                         : m_host + "-" + std::to_string(core::os::ProcessId());
    core::Log(
        core::LogLevel::kInfo, "node",
        "node " + m_nodeId + " using database " + core::RedactConninfo(m_config.server.conninfo));
    if (core::Status st = WaitForDatabase(options.cancel); !st) return st;

    core::PgPersistOptions po;
    po.conninfo = m_config.server.conninfo;
    po.nodeId = m_nodeId;
    po.maxQueue = static_cast<size_t>(m_config.node.maxQueue);
    po.batchSize = static_cast<size_t>(m_config.node.batchSize);
    MakeCluster();
    po.fenceOf = [cluster = m_cluster](const std::string& channelId) {
        return cluster->FenceOf(channelId);
    };
    m_persister = std::make_unique<core::PgPersister>(po);
    if (core::Status st = StartModeration(options.rulesPath); !st) return st;
    // A restart continues where the nodes left off: the delta links are in the database.
    if (auto c = core::PgConn::Connect(m_config.server.conninfo, "channeldeck-node"); c) {
        size_t restored = 0;
        if (core::Status st = core::PgRestoreSyncState(*c.value(), m_store, &restored); !st)
            core::Log(core::LogLevel::kWarn, "node",
                      "sync state not restored, backfilling: " + st.error().message);
        else if (restored)
            core::Log(
                core::LogLevel::kInfo, "node",
                "continuing " + std::to_string(restored) + " channels from their delta links");
    }
    m_observers = std::make_unique<core::ObserverList>();
    m_observers->Add(m_persister.get());
    m_observers->Add(m_moderation.get());
    m_store.SetObserver(m_observers.get());
    m_persister->Start();

    core::CurlOptions co;
    co.caFile = m_config.caFile;
    auto http = std::make_shared<core::CurlTransport>(co);
    core::ClientCredentialsConfig cc{m_config.authorityUrl, m_config.tenant, m_config.clientId,
                                     m_config.clientSecret};
    cc.certificatePath = m_config.certificatePath;
    cc.privateKeyPath = m_config.privateKeyPath;
    auto tokens = std::make_shared<core::ClientCredentialsProvider>(cc, http);
    m_tokens = tokens;
    core::GraphClientConfig gc;
    gc.graphBaseUrl = m_config.graphUrl;
    auto client = std::make_shared<core::GraphClient>(gc, http, tokens);
    m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.tenant = m_config.tenant;
        s.phase = "signing-in";
        s.account = "app " + m_config.clientId;
    });
    core::SyncSettings sync = m_config.sync;
    if (m_config.push.enabled) {  // push carries the changes; delta only reconciles
        sync.pushLive = true;
        sync.reconcileSeconds = m_config.push.reconcileHours * 3600;
    }
    core::EngineOptions eo;
    eo.ownership = m_cluster;
    eo.budget = m_quota;
    m_engine =
        std::make_unique<core::SyncEngine>(client, m_store, sync, false, m_config.limits, eo);
    if (m_config.push.enabled) {
        m_push = std::make_unique<NodePush>();
        core::SyncEngine* engine = m_engine.get();
        auto reconcile = [engine](const std::string& channelId) {
            core::Command c;
            c.kind = channelId.empty() ? core::Command::Kind::kRefreshAll
                                       : core::Command::Kind::kRefreshChannel;
            c.channelId = channelId;
            engine->Submit(std::move(c));
        };
        m_pushDirectory =
            std::make_unique<core::PgSubscriptions>(m_config.server.conninfo, m_nodeId, m_cluster);
        if (core::Status st = m_push->Start(m_config, core::DefaultStateDir(), client, http,
                                            m_store, reconcile, m_pushDirectory.get());
            !st)
            return st;
    }

    std::string address = m_config.node.listen.substr(0, m_config.node.listen.rfind(':'));
    int port = std::stoi(m_config.node.listen.substr(m_config.node.listen.rfind(':') + 1));
    m_http = std::make_unique<core::MetricsServer>();
    if (core::Status st = m_http->Start(
            address, port, [this] { return MetricsText(); },
            [this](std::string& why) { return Ready(why); });
        !st)
        return st;
    m_heartbeat = std::thread([this] { Heartbeat(); });
    StartCluster();
    m_engine->Start();
    return core::OkStatus();
}

bool NodeService::Beat(core::PgConn& conn) {
    bool signedIn = m_store.Current()->sync.signedIn;
    auto r = conn.Exec(
        "INSERT INTO sync_node (node_id, host, version, signed_in, heartbeat_at, expires_at) "
        "VALUES ($1, $2, $3, $4, now(), now() + make_interval(secs => $5)) ON CONFLICT (node_id) "
        "DO "
        "UPDATE SET host = excluded.host, version = excluded.version, signed_in = "
        "excluded.signed_in, heartbeat_at = now(), expires_at = excluded.expires_at",
        {m_nodeId, m_host, std::string(CDECK_VERSION), signedIn ? "true" : "false",
         std::to_string(MemberSeconds(m_config.node))});
    if (r && !m_joined) {  // the other nodes rebalance at once
        m_joined = conn.Exec("SELECT pg_notify('cdeck_nodes', $1)",
                             {core::PgNodesNotice(m_nodeId, "joined", 0)})
                       .ok();
    }
    std::lock_guard lock(m_mutex);
    bool was = m_dbReachable;
    m_dbReachable = r.ok();
    m_dbError = r.ok() ? std::string() : r.error().message;
    if (was != m_dbReachable)
        core::Log(r.ok() ? core::LogLevel::kInfo : core::LogLevel::kWarn, "node",
                  r.ok() ? "database reachable again" : "database unreachable: " + m_dbError);
    return r.ok();
}

void NodeService::Heartbeat() {
    std::unique_ptr<core::PgConn> conn;
    while (true) {
        if (!conn || !conn->Healthy()) {
            auto c = core::PgConn::Connect(m_config.server.conninfo, "channeldeck-node heartbeat");
            if (c) {
                conn = std::move(c.value());
            } else {
                conn.reset();
                std::lock_guard lock(m_mutex);
                if (m_dbReachable)
                    core::Log(core::LogLevel::kWarn, "node",
                              "database unreachable: " + c.error().message);
                m_dbReachable = false;
                m_dbError = c.error().message;
            }
        }
        if (conn && Beat(*conn)) AdoptSharedPack(*conn);
        CheckSignIn();
        std::unique_lock lock(m_mutex);
        if (m_cv.wait_for(lock, BeatEvery(m_config.node), [&] { return m_stop; })) break;
    }
    // A clean exit: the row stays for the record but no longer counts as a live node.
    if (conn)
        (void)conn->Exec(
            "UPDATE sync_node SET expires_at = now(), signed_in = false WHERE node_id = $1",
            {m_nodeId});
}

void NodeService::Stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_cv.notify_all();
    if (m_push) m_push->Stop();               // no more notifications into the store
    if (m_persister) m_persister->Unblock();  // workers waiting on a full queue may finish
    if (m_engine) m_engine->Stop();
    if (m_persister) m_persister->Stop(std::chrono::seconds(10));
    if (m_heartbeat.joinable()) m_heartbeat.join();
    StopCluster();  // after the last delta links are written under the leases
    if (m_http) m_http->Stop();
    m_store.SetObserver(nullptr);
    m_engine.reset();
}

bool NodeService::Ready(std::string& why) const {
    bool signedIn = m_store.Current()->sync.signedIn;
    if (m_persister) {
        // The writer notices a lost database at its next batch, before the heartbeat does.
        core::PgPersistStats ps = m_persister->Stats();
        if (ps.failing && !ps.connected) {
            why = "database unreachable: " + ps.lastError;
            return false;
        }
    }
    // Without the database there is no shared budget, so nothing is sent: not ready. The
    // budget's connection notices at its next round trip, before the heartbeat does.
    if (m_quota && !m_quota->GetFigures().connected) {
        why = "database unreachable: the shared budget has no connection";
        return false;
    }
    std::lock_guard lock(m_mutex);
    if (!m_dbReachable) {
        why = "database unreachable" + (m_dbError.empty() ? "" : ": " + m_dbError);
        return false;
    }
    if (!signedIn) {
        why = "not signed in to Microsoft Graph";
        return false;
    }
    return true;
}

std::string NodeService::MetricsText() const {
    std::string out = m_engine ? core::MetricsToPrometheus(m_engine->Metrics()) : std::string();
    if (m_push) {
        out += m_push->MetricsText();
        out +=
            "# HELP cdeck_push_reconcile_found_total Messages reconciliation found that push "
            "had not delivered.\n# TYPE cdeck_push_reconcile_found_total counter\n"
            "cdeck_push_reconcile_found_total " +
            std::to_string(m_engine ? m_engine->Metrics().liveFound : 0) + "\n";
    }
    if (!m_persister) return out;
    out += ClusterMetrics();
    core::PgPersistStats s = m_persister->Stats();
    std::string why;
    bool ready = Ready(why);
    PromText prom;
    auto line = [&](auto&&... args) { prom.Add(args...); };
    line("cdeck_node_ready", "gauge", "1 when signed in and the database is reachable.", ready);
    line("cdeck_pg_connected", "gauge", "1 while the writer holds a database connection.",
         s.connected);
    line("cdeck_pg_queue", "gauge", "Writes waiting for the database.", double(s.queued));
    line("cdeck_pg_committed_messages_total", "counter", "Message rows committed.",
         double(s.committedMessages));
    line("cdeck_pg_committed_batches_total", "counter", "Transactions committed.",
         double(s.committedBatches));
    line("cdeck_pg_failed_batches_total", "counter", "Transactions that failed and were retried.",
         double(s.failedBatches));
    line("cdeck_pg_producer_wait_seconds_total", "counter",
         "Time sync workers waited on a full write queue.", s.producerWaitMs / 1000.0);
    line("cdeck_pg_last_commit_seq", "gauge", "The commit sequence number last written.",
         double(s.lastCommitSeq));
    return out + prom.out;
}

}  // namespace cdeck::node
