#pragma once
// Set-up for the push suites: graphsim over HTTPS, channeldeck-node's service with push on
// (its webhook on a loopback certificate issued by graphsim's CA) writing to a real
// PostgreSQL, and helpers that talk to graphsim's control API and read its ground truth.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "net/http.hpp"
#include "node/node_service.hpp"
#include "pg/pg_fixture.hpp"
#include "pg/truth.hpp"
#include "sim/graphsim.hpp"
#include "support/test_util.hpp"

namespace cdeck::test {

using nlohmann::json;

// The webhook's URL must name its port up front.
inline int FreePort() {
    return FreeLoopbackPort();
}

struct PushRig {
    TempDir dir;
    PgDb db = NewPgDb();
    sim::GraphSim sim;
    std::shared_ptr<core::CurlTransport> http;
    node::NodeService node;
    int webhookPort = 0;

    // Starts graphsim (delivery latency median `latencyMs`) and the node in push mode.
    void Start(const std::string& scope = "tenant", double trafficScale = 4, double latencyMs = 30,
               double reconcileHours = 24, const std::function<void(core::Config&)>& tweak = {}) {
        sim::GraphSimOptions so;
        so.scenarioPath = std::string(CDECK_ASSETS_DIR) + "/scenarios/demo.json";
        so.stateDir = (dir.path / "sim").string();
        so.trafficScale = trafficScale;
        so.deliveryLatencyMedianMs = latencyMs;
        REQUIRE(sim.Start(so).empty());
        core::CurlOptions co;
        co.caFile = sim.Info().caFile;
        http = std::make_shared<core::CurlTransport>(co);
        std::string cert = (dir.path / "webhook-cert.pem").string();
        std::string key = (dir.path / "webhook-key.pem").string();
        REQUIRE(sim.IssueLoopbackCertificate(cert, key).empty());
        webhookPort = FreePort();
        node::NodeOptions no;
        core::Config& c = no.config;
        c.graphUrl = sim.Info().graphUrl;
        c.authorityUrl = sim.Info().authorityUrl;
        c.tenant = sim.Info().tenant;
        c.clientId = sim.Info().clientId;
        c.clientSecret = sim.Info().clientSecret;
        c.caFile = sim.Info().caFile;
        c.authMode = "client_credentials";
        c.server.conninfo = db.node;
        c.node.id = "push-node";
        c.node.listen = "127.0.0.1:0";
        c.push.enabled = true;
        c.push.scope = scope;
        c.push.listen = "127.0.0.1:" + std::to_string(webhookPort);
        c.push.notificationUrl = "https://127.0.0.1:" + std::to_string(webhookPort) + "/notify";
        c.push.certFile = cert;
        c.push.keyFile = key;
        c.push.keyDir = (dir.path / "keys").string();
        c.push.reconcileHours = reconcileHours;
        no.rulesPath = std::string(CDECK_ASSETS_DIR) + "/rules/default.json";
        if (tweak) tweak(c);
        auto st = node.Start(no);
        REQUIRE_MESSAGE(st.ok(), ErrText(st));
    }

    // Graph as the application (the node's own identity): status of a call, 2xx or not.
    int GraphCall(const std::string& method, const std::string& path, const json& body,
                  json* answer = nullptr) {
        if (!graph) {
            core::ClientCredentialsConfig cc{sim.Info().authorityUrl, sim.Info().tenant,
                                             sim.Info().clientId, sim.Info().clientSecret};
            auto tokens = std::make_shared<core::ClientCredentialsProvider>(cc, http);
            core::GraphClientConfig gc;
            gc.graphBaseUrl = sim.Info().graphUrl;
            graph = std::make_shared<core::GraphClient>(gc, http, tokens);
        }
        auto r = graph->Send(method, path, body.is_null() ? std::string() : body.dump());
        if (!r) {
            if (answer) *answer = json{{"error", r.error().message}};
            return r.error().httpStatus;
        }
        if (answer) *answer = json::parse(r->http.body.empty() ? "{}" : r->http.body);
        return r->http.status;
    }
    std::shared_ptr<core::GraphClient> graph;

    // POST to graphsim's control API; returns the status.
    int Control(const std::string& path, const json& body) {
        core::HttpRequest r;
        r.method = "POST";
        r.url = sim.Info().authorityUrl + path;
        r.body = body.dump();
        r.headers = {{"Content-Type", "application/json"}};
        auto resp = http->Send(r);
        return resp ? resp->status : 0;
    }
    json Stats() { return json::parse(sim.StatsJson()); }
    json Notifications() { return Stats()["notifications"]; }
    int ActiveSubscriptions() {
        int n = 0;
        json subs = Notifications()["subscriptions"];  // held: items() refers into it
        for (auto& [id, s] : subs.items()) n += s["state"] == "active";
        return n;
    }
    uint64_t Delivered() {
        uint64_t n = 0;
        json subs = Notifications()["subscriptions"];
        for (auto& [id, s] : subs.items()) n += s["delivered"].get<uint64_t>();
        return n;
    }
    // A figure from the node's /metrics text (0 when absent).
    double Metric(const std::string& nameAndLabels) {
        std::string text = node.MetricsText();
        size_t at = text.find("\n" + nameAndLabels + " ");
        if (at == std::string::npos) return 0;
        return std::stod(text.substr(at + nameAndLabels.size() + 2));
    }
    // Waits until PostgreSQL holds every message graphsim created after `since`; `missing`
    // keeps what it still lacks at the end.
    bool WaitNoneMissing(const std::string& since, double seconds,
                         std::vector<std::string>& missing) {
        return WaitFor(
            [&] {
                missing = MissingSince(since);
                return missing.empty();
            },
            seconds);
    }
    // Ids graphsim created after `since` (ISO) that PostgreSQL does not hold.
    std::vector<std::string> MissingSince(const std::string& since) {
        auto admin = Connect(db.admin);
        return MissingInDb(Stats()["messages"], *admin, since);
    }
};

}  // namespace cdeck::test

#include <httplib.h>

#include <atomic>
#include <thread>

namespace cdeck::test {

// A webhook of the test's own (cpp-httplib), to see graphsim's side: it answers validation
// requests (correctly, or wrongly when told), and answers notification batches after
// `delayMs` with `status`, counting them.
struct TestWebhook {
    std::unique_ptr<httplib::SSLServer> server;
    std::thread thread;
    int port = 0;
    std::atomic<int> delayMs{0}, status{202}, batches{0}, notifications{0};
    std::atomic<bool> wrongValidation{false};

    void Start(sim::GraphSim& sim, const TempDir& dir) {
        std::string cert = (dir.path / "test-hook-cert.pem").string();
        std::string key = (dir.path / "test-hook-key.pem").string();
        REQUIRE(sim.IssueLoopbackCertificate(cert, key).empty());
        server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
        REQUIRE(server->is_valid());
        server->Post(".*", [this](const httplib::Request& q, httplib::Response& r) {
            if (q.has_param("validationToken")) {
                r.set_content(
                    wrongValidation ? std::string("nope") : q.get_param_value("validationToken"),
                    "text/plain");
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(delayMs.load()));
            ++batches;
            json b = json::parse(q.body, nullptr, false);
            if (b.is_object() && b.contains("value"))
                notifications += static_cast<int>(b["value"].size());
            r.status = status.load();
        });
        port = server->bind_to_any_port("127.0.0.1");
        REQUIRE(port > 0);
        thread = std::thread([this] { server->listen_after_bind(); });
        REQUIRE(WaitFor([&] { return server->is_running(); }, 5));
    }
    std::string Url() const { return "https://127.0.0.1:" + std::to_string(port) + "/hook"; }
    ~TestWebhook() {
        if (server) server->stop();
        if (thread.joinable()) thread.join();
    }
};

}  // namespace cdeck::test
