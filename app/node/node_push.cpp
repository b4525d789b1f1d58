#include "node/node_push.hpp"
#include "node/prom_text.hpp"

#include <nlohmann/json.hpp>

#include "graph/graph_client.hpp"
#include "push/push_ingest.hpp"
#include "push/push_keys.hpp"
#include "push/subscriptions.hpp"
#include "push/validation_token.hpp"
#include "push/webhook.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace cdeck::node {
namespace {

using core::ErrorCode;
using core::MakeError;

// GET {authority}/{tenant}/v2.0/.well-known/openid-configuration, then its jwks_uri.
core::Result<std::string> FetchJwks(core::HttpTransport& http, const core::Config& c) {
    core::HttpRequest req;
    req.url = c.authorityUrl + "/" + c.tenant + "/v2.0/.well-known/openid-configuration";
    req.timeout = std::chrono::milliseconds(10000);
    auto oidc = http.Send(req);
    if (!oidc || oidc->status != 200)
        return MakeError(ErrorCode::kTransient, "cannot read the OpenID configuration");
    auto j = nlohmann::json::parse(oidc->body, nullptr, false);
    if (!j.is_object() || !j.contains("jwks_uri") || !j["jwks_uri"].is_string())
        return MakeError(ErrorCode::kParse, "the OpenID configuration has no jwks_uri");
    req.url = j["jwks_uri"].get<std::string>();
    auto keys = http.Send(req);
    if (!keys || keys->status != 200)
        return MakeError(ErrorCode::kTransient, "cannot read the signing keys");
    return keys->body;
}

bool SplitListen(const std::string& s, std::string& address, int& port) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    address = s.substr(0, colon);
    port = std::atoi(s.c_str() + colon + 1);
    return !address.empty() && port > 0 && port <= 65535;
}

}  // namespace

NodePush::NodePush() = default;
NodePush::~NodePush() {
    Stop();
}

core::Status NodePush::Start(const core::Config& config, const std::string& stateDir,
                             std::shared_ptr<core::GraphClient> client,
                             std::shared_ptr<core::HttpTransport> http, core::Store& store,
                             Reconcile reconcile, core::SubscriptionDirectory* directory) {
    const core::PushSettings& p = config.push;
    auto keys =
        core::NotificationKeys::LoadOrCreate(p.keyDir.empty() ? stateDir + "/node-keys" : p.keyDir);
    if (!keys) return keys.error();
    m_keys = std::move(keys.value());
    m_tokens = std::make_unique<core::ValidationTokenChecker>(
        config.clientId, config.authorityUrl, [http, config] { return FetchJwks(*http, config); });
    m_queue = std::make_unique<core::PushQueue>(static_cast<size_t>(p.maxQueue));
    m_counters = std::make_unique<core::PushCounters>();
    m_subs = std::make_unique<core::SubscriptionManager>(client, p, *m_keys, store, reconcile);
    m_subs->SetDirectory(directory);
    core::SubscriptionManager* subs = m_subs.get();
    m_receiver = std::make_unique<core::WebhookReceiver>(
        [subs](const std::string& id, const std::string& state) {
            return subs->ClientStateMatches(id, state);
        },
        *m_tokens, *m_keys, *m_queue, *m_counters, [] { return core::NowMillis(); });
    core::WebhookOptions wo;
    if (!SplitListen(p.listen, wo.address, wo.port))
        return MakeError(ErrorCode::kConfig, "push.listen must be ADDRESS:PORT");
    wo.certFile = p.certFile;
    wo.keyFile = p.keyFile;
    m_server = std::make_unique<core::WebhookServer>();
    if (auto st = m_server->Start(wo, *m_receiver, *m_counters); !st) return st;
    m_ingest = std::make_unique<core::PushIngest>(
        *m_queue, store, client,
        [subs](const std::string& id, const std::string& event) { subs->OnLifecycle(id, event); });
    m_ingest->Start();
    m_subs->Start();
    core::Log(core::LogLevel::kInfo, "push",
              "webhook listening on " + p.listen + "; subscribing (" + p.scope + " scope) for " +
                  p.notificationUrl);
    return core::OkStatus();
}

void NodePush::Stop() {
    if (m_subs) m_subs->Stop();
    if (m_server) m_server->Stop();
    if (m_queue) m_queue->Close();
    if (m_ingest) m_ingest->Stop();
}

void NodePush::OnForwardedLifecycle(const std::string& id, const std::string& event) {
    if (m_subs) m_subs->OnLifecycle(id, event, /*forwarded=*/true);
}

void NodePush::Poke() {
    if (m_subs) m_subs->Poke();
}

void NodePush::RotateKeys() {
    if (m_subs) m_subs->RotateKeys();
}

int NodePush::WebhookPort() const {
    return m_server ? m_server->Port() : 0;
}

std::string NodePush::MetricsText() const {
    if (!m_counters || !m_subs || !m_ingest) return {};
    PromText prom;
    auto line = [&](auto&&... args) { prom.Add(args...); };
    const auto& c = *m_counters;
    line("cdeck_push_batches_total", "counter", "Notification batches received.", c.batches);
    line("cdeck_push_notifications_total", "counter", "Notifications received.", c.received);
    line("cdeck_push_decrypted_total", "counter", "Rich notifications decrypted.", c.decrypted);
    line("cdeck_push_duplicates_total", "counter", "Notifications seen before.", c.duplicates);
    line("cdeck_push_queue_full_total", "counter", "Batches answered 503.", c.queueFull);
    line("cdeck_push_validations_total", "counter", "Validation requests answered.", c.validations);
    for (const auto& [reason, n] : c.Rejected())
        line("cdeck_push_rejected_total", "counter", "Notifications rejected, by reason.",
             static_cast<double>(n), "{reason=\"" + reason + "\"}");
    auto s = m_subs->GetFigures();
    line("cdeck_push_subscriptions", "gauge", "Subscriptions by state.", s.active,
         "{state=\"active\"}");
    line("cdeck_push_subscriptions", "gauge", "Subscriptions by state.", s.failing,
         "{state=\"failing\"}");
    line("cdeck_push_subscriptions_created_total", "counter", "Subscriptions created.", s.created);
    line("cdeck_push_renewals_total", "counter", "Subscriptions renewed.", s.renewed);
    line("cdeck_push_recreated_total", "counter", "Subscriptions created again.", s.recreated);
    line("cdeck_push_lifecycle_total", "counter", "Lifecycle events.", s.lifecycleEvents);
    line("cdeck_push_reconciliations_total", "counter", "Reconciliations asked for.",
         s.reconciliations);
    line("cdeck_push_adopted_total", "counter",
         "Subscriptions taken over from another node with a channel's lease.", s.adopted);
    auto f = m_ingest->GetFigures();
    line("cdeck_push_merged_total", "counter", "Notified messages merged.", f.merged);
    line("cdeck_push_roots_fetched_total", "counter", "Roots fetched for replies.", f.rootsFetched);
    line("cdeck_push_unknown_channel_total", "counter",
         "Notifications for channels not discovered yet (their backfill brings them).",
         f.unknownChannels);
    line("cdeck_push_freshness_seconds", "gauge", "createdDateTime to merge, recent p50/p95.",
         f.freshnessP50, "{quantile=\"0.5\"}");
    line("cdeck_push_freshness_seconds", "gauge", "createdDateTime to merge, recent p50/p95.",
         f.freshnessP95, "{quantile=\"0.95\"}");
    line("cdeck_push_queue", "gauge", "Notifications waiting for ingest.",
         static_cast<double>(m_queue->Size()));
    return prom.out;
}

}  // namespace cdeck::node
