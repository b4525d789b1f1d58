// channeldeck-node with others on one tenant (SERVER.md "Shared store and coordination"):
// the channel and leader leases (PgCluster), the shared budget (PgQuota) and how they are
// wired to the engine, the persister and the metrics.
#include "auth/token_provider.hpp"
#include "node/node_service.hpp"
#include "node/prom_text.hpp"
#include "pg/pg_cluster.hpp"
#include "pg/pg_persister.hpp"
#include "pg/pg_quota.hpp"
#include "pg/pg_subscriptions.hpp"
#include "sync/sync_engine.hpp"
#include "util/log.hpp"

namespace cdeck::node {

void NodeService::MakeCluster() {
    core::PgClusterOptions co;
    co.conninfo = m_config.server.conninfo;
    co.nodeId = m_nodeId;
    co.leaseSeconds = m_config.node.leaseSeconds;
    co.renewSeconds = m_config.node.renewSeconds;
    co.stopAfterSeconds = m_config.node.stopAfterSeconds;
    m_cluster = std::make_shared<core::PgCluster>(co, m_store);
    if (!m_config.node.sharedQuota) return;
    core::PgQuotaOptions qo;
    qo.conninfo = m_config.server.conninfo;
    qo.nodeId = m_nodeId;
    qo.limits = m_config.limits;
    m_quota = std::make_shared<core::PgQuota>(qo);
}

void NodeService::StartCluster() {
    core::SyncEngine* engine = m_engine.get();
    NodePush* push = m_push.get();
    m_cluster->SetCallbacks(
        [engine, push](const std::vector<core::LeaseClaim>& claims) {
            for (const auto& c : claims)
                engine->AdoptChannel(c.teamId, c.channelId, c.deltaLink, c.lastSync);
            if (push) push->Poke();  // adopt their subscriptions now
        },
        [push](const std::vector<std::string>&) {
            // The engine asks OwnsChannel before each request; the subscriptions go with the
            // leases (the new holder adopts them).
            if (push) push->Poke();
        });
    if (push)
        m_cluster->SetPushNotice([push](const std::string& payload) {
            if (auto ev = core::PgSubscriptions::ParseNotice(payload))
                push->OnForwardedLifecycle(ev->first, ev->second);
        });
    if (m_quota) m_quota->Start();
    m_cluster->Start();
    core::PgCluster::Figures f = m_cluster->GetFigures();
    core::Log(core::LogLevel::kInfo, "cluster",
              "node " + m_nodeId + ": " + std::to_string(f.liveNodes) + " live nodes, " +
                  std::to_string(f.owned) + " of " + std::to_string(f.channels) + " channels here" +
                  (f.leader ? ", leading" : ""));
}

void NodeService::StopCluster() {
    if (m_quota) m_quota->Stop();
    if (m_cluster) m_cluster->Stop(/*release=*/true);
}

void NodeService::CheckSignIn() {
    if (!m_tokens || m_store.Current()->sync.signedIn) return;
    auto t = m_tokens->Token(false);
    if (!t) return;
    m_store.UpdateSyncStatus([](core::SyncStatus& s) { s.signedIn = true; });
}

std::string NodeService::ClusterMetrics() const {
    if (!m_cluster) return {};
    PromText prom;
    auto line = [&](auto&&... args) { prom.Add(args...); };
    core::PgCluster::Figures c = m_cluster->GetFigures();
    line("cdeck_cluster_channels_owned", "gauge", "Channels whose lease this node holds.", c.owned);
    line("cdeck_cluster_channels_target", "gauge", "This node's fair share of the channels.",
         c.target);
    line("cdeck_cluster_channels", "gauge", "Channel leases in the shared store.", c.channels);
    line("cdeck_cluster_live_nodes", "gauge", "Nodes with a live heartbeat.", c.liveNodes);
    line("cdeck_cluster_leader", "gauge", "1 while this node holds the leader lease.", c.leader);
    line("cdeck_cluster_renewing", "gauge", "1 while lease renewal works.", c.renewing);
    line("cdeck_cluster_seconds_since_renewal", "gauge", "Age of the last lease renewal.",
         c.secondsSinceRenewal);
    line("cdeck_cluster_claimed_total", "counter", "Channel leases taken.", double(c.claimed));
    line("cdeck_cluster_released_total", "counter", "Channel leases given up to other nodes.",
         double(c.released));
    line("cdeck_cluster_lost_total", "counter",
         "Channel leases found taken by another node (this node's ran out).", double(c.lost));
    line("cdeck_cluster_steps_total", "counter", "Coordination steps.", double(c.steps));
    line("cdeck_cluster_failures_total", "counter", "Coordination steps that failed.",
         double(c.failures));
    uint64_t fenced = c.fencedWrites + (m_persister ? m_persister->Stats().fencedWrites : 0);
    line("cdeck_cluster_fenced_writes_total", "counter",
         "Progress writes refused because the lease had passed to another node.", double(fenced));
    if (!m_quota) return prom.out;
    core::PgQuota::Figures q = m_quota->GetFigures();
    line("cdeck_quota_round_trips_total", "counter", "quota_take calls.", double(q.roundTrips));
    line("cdeck_quota_tokens_total", "counter", "Tokens the shared budget granted this node.",
         double(q.tokensTaken));
    line("cdeck_quota_tokens_expired_total", "counter", "Granted tokens left unused.",
         double(q.tokensExpired));
    line("cdeck_quota_waits_total", "counter", "Requests told to wait by the shared budget.",
         double(q.refusals));
    line("cdeck_quota_blocks_sent_total", "counter", "429s this node announced.",
         double(q.blocksSent));
    line("cdeck_quota_blocks_heard_total", "counter", "429s other nodes announced.",
         double(q.blocksHeard));
    line("cdeck_quota_connected", "gauge", "1 while the budget's connection is up.", q.connected);
    return prom.out;
}

}  // namespace cdeck::node
