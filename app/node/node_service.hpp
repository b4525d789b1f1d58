#pragma once
// channeldeck-node's service: signs in with application permissions, syncs with the
// existing engine and policies, evaluates the moderation rules once on ingest, and writes
// everything into PostgreSQL through the PgPersister (SERVER.md "Node behaviour").
//
// Threads: Start() and Stop() run on the main thread. The sync engine's workers feed the
// store; the persister's thread writes; a heartbeat thread keeps the sync_node row alive,
// watches the database and picks up newly published rule packs; the metrics server's
// thread answers /metrics and /healthz. Stop() order: heartbeat, engine (no new data),
// persister (finishes the batch in flight and drains), then the node row is released.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "metrics/metrics_server.hpp"
#include "node/node_push.hpp"
#include "store/store.hpp"

namespace cdeck::core {
class PgPersister;
class PgConn;
class SyncEngine;
class ModerationEngine;
class ObserverList;
class GraphClient;
class TokenProvider;
class PgCluster;
class PgQuota;
class PgSubscriptions;
}  // namespace cdeck::core

namespace cdeck::node {

struct NodeOptions {
    core::Config config;
    std::string rulesPath;  // the pack this node publishes if it is newer than the shared one
    std::atomic<bool>* cancel = nullptr;  // set by SIGTERM while Start() waits for the database
};

class NodeService {
  public:
    NodeService();
    ~NodeService();

    // Returns an error whose code says how to exit: kConfig and kAuth are the operator's
    // to fix (exit 2); anything else is a runtime failure.
    core::Status Start(const NodeOptions& options);
    void Stop();

    // /healthz: signed in to Graph and the database reachable.
    bool Ready(std::string& why) const;
    std::string MetricsText() const;
    const std::string& NodeId() const { return m_nodeId; }
    int HttpPort() const { return m_http ? m_http->Port() : 0; }
    int WebhookPort() const { return m_push ? m_push->WebhookPort() : 0; }
    // SIGHUP: a new rich-notification key pair; subscriptions are PATCHed to it and the old
    // key decrypts until none uses it. No-op without push.
    void RotatePushKeys() {
        if (m_push) m_push->RotateKeys();
    }
    core::Store& Store() { return m_store; }

  private:
    core::Status WaitForDatabase(std::atomic<bool>* cancel);
    // Publishes the node's rule pack if it is newer than the shared one, then runs the
    // moderation engine on whichever pack is enabled.
    core::Status StartModeration(const std::string& path);
    void Heartbeat();
    bool Beat(core::PgConn& conn);
    void AdoptSharedPack(core::PgConn& conn);
    // ---- several nodes on one tenant (node_cluster.cpp) ----
    // The leases and the shared budget, before the engine exists (the persister fences
    // with the leases).
    void MakeCluster();
    // Wires the leases to the engine and takes this node's share (before the engine starts).
    void StartCluster();
    void StopCluster();  // a clean exit gives every lease up
    // A node that does not lead makes no discovery request: it checks its sign-in itself.
    void CheckSignIn();
    std::string ClusterMetrics() const;

    core::Config m_config;
    std::string m_nodeId;
    std::string m_host;  // the host name, read once
    core::Store m_store;
    std::unique_ptr<core::PgPersister> m_persister;
    std::unique_ptr<core::ModerationEngine> m_moderation;
    std::unique_ptr<core::ObserverList> m_observers;
    std::unique_ptr<core::SyncEngine> m_engine;
    std::unique_ptr<core::MetricsServer> m_http;
    std::unique_ptr<NodePush> m_push;  // with push.enabled
    std::shared_ptr<core::PgCluster> m_cluster;
    std::shared_ptr<core::PgQuota> m_quota;                  // with node.shared_quota
    std::unique_ptr<core::PgSubscriptions> m_pushDirectory;  // with push.enabled
    std::shared_ptr<core::TokenProvider> m_tokens;
    bool m_joined = false;  // the heartbeat thread's: the join was announced
    std::thread m_heartbeat;
    mutable std::mutex m_mutex;  // guards the fields below
    std::condition_variable m_cv;
    bool m_stop = false;
    bool m_dbReachable = false;
    std::string m_dbError;
    std::string m_packName;
    int m_packVersion = 0;
};

// ---- the command line's operations (node_main.cpp) ----
// migrate: applies the schema; `out` gets a one-line report.
core::Status RunMigrate(const core::Config& config, std::string& out);
// publish-rules FILE: stores a new rule-pack version and enables it for every node and desk.
core::Status RunPublishRules(const core::Config& config, const std::string& path, std::string& out);

}  // namespace cdeck::node
