#pragma once
// channeldeck-node's push half (SERVER.md, "Node behaviour"): the notification keys, the
// HTTPS webhook and its checks, the subscription manager and the ingest thread, wired to
// the node's store and sync engine. The engine then polls only to reconcile.
//
// Threads: Start()/Stop() on the node's main thread; the parts run their own threads (see
// their headers). MetricsText() is thread-safe.
#include <functional>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "net/http.hpp"
#include "store/store.hpp"
#include "util/result.hpp"

namespace cdeck::core {
class GraphClient;
class NotificationKeys;
class ValidationTokenChecker;
class PushQueue;
struct PushCounters;
class WebhookReceiver;
class WebhookServer;
class SubscriptionManager;
class PushIngest;
class SubscriptionDirectory;
}  // namespace cdeck::core

namespace cdeck::node {

class NodePush {
  public:
    using Reconcile = std::function<void(const std::string& channelId)>;  // "" = all
    NodePush();
    ~NodePush();
    // stateDir: where the key pair goes when push.key_dir is not set. directory: several
    // nodes share the subscriptions (null: this node alone); it outlives this object.
    core::Status Start(const core::Config& config, const std::string& stateDir,
                       std::shared_ptr<core::GraphClient> client,
                       std::shared_ptr<core::HttpTransport> http, core::Store& store,
                       Reconcile reconcile, core::SubscriptionDirectory* directory = nullptr);
    // A lifecycle event another node passed on (its subscription may be this node's).
    void OnForwardedLifecycle(const std::string& id, const std::string& event);
    void Poke();  // leases changed: subscribe, adopt or let go now
    void Stop();
    std::string MetricsText() const;
    int WebhookPort() const;
    void RotateKeys();

  private:
    std::unique_ptr<core::NotificationKeys> m_keys;
    std::unique_ptr<core::ValidationTokenChecker> m_tokens;
    std::unique_ptr<core::PushQueue> m_queue;
    std::unique_ptr<core::PushCounters> m_counters;
    std::unique_ptr<core::SubscriptionManager> m_subs;
    std::unique_ptr<core::WebhookReceiver> m_receiver;
    std::unique_ptr<core::WebhookServer> m_server;
    std::unique_ptr<core::PushIngest> m_ingest;
};

}  // namespace cdeck::node
