#pragma once
// Starts graphsim in the test process on a free loopback port and builds the real client
// stack against it: CurlTransport (TLS, trusting only graphsim's CA) -> sign-in -> Graph
// client. Requests go over HTTPS on 127.0.0.1 like any other peer's.
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/delegated.hpp"
#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "net/http.hpp"
#include "sim/graphsim.hpp"
#include "support/test_util.hpp"

namespace cdeck::test {

struct SimOptions {
    bool traffic = false;
    double trafficScale = 1.0;
    // Most client tests are not about throttling, so they raise graphsim's limits; the
    // sync and throttling tests keep the documented ones (1.0).
    double limitsScale = 100.0;
    bool autoApprove = false;
    double tokenLifetime = 0;
    // Edits the demo scenario before graphsim loads it.
    std::function<void(nlohmann::json&)> scenario;
};

struct SimFixture {
    TempDir state;
    sim::GraphSim sim;
    sim::GraphSimInfo info;
    std::shared_ptr<core::CurlTransport> http;
    std::shared_ptr<core::ClientCredentialsProvider> tokens;
    std::shared_ptr<core::GraphClient> client;

    explicit SimFixture(SimOptions so = {}) {
        sim::GraphSimOptions o;
        nlohmann::json scenario =
            nlohmann::json::parse(ReadFile(AssetsDir() / "scenarios" / "demo.json"));
        scenario["device_code_interval_seconds"] = 1;
        if (so.scenario) so.scenario(scenario);
        o.scenarioJson = scenario.dump();
        o.seed = 7;
        o.stateDir = state.path.string();
        o.generateTraffic = so.traffic;
        o.trafficScale = so.trafficScale;
        o.limitsScale = so.limitsScale;
        o.autoApprove = so.autoApprove;
        o.tokenLifetimeSeconds = so.tokenLifetime;
        std::string err = sim.Start(o);
        REQUIRE_MESSAGE(err.empty(), err);
        info = sim.Info();
        core::CurlOptions co;
        co.caFile = info.caFile;
        http = std::make_shared<core::CurlTransport>(co);
        tokens = std::make_shared<core::ClientCredentialsProvider>(
            core::ClientCredentialsConfig{info.authorityUrl, info.tenant, info.clientId,
                                          info.clientSecret},
            http);
        client = ClientWith(tokens);
    }

    std::shared_ptr<core::GraphClient> ClientWith(
        std::shared_ptr<core::TokenProvider> provider) const {
        core::GraphClientConfig gc;
        gc.graphBaseUrl = info.graphUrl;
        return std::make_shared<core::GraphClient>(gc, http, std::move(provider));
    }

    nlohmann::json Stats() const { return nlohmann::json::parse(sim.StatsJson()); }

    // POSTs to graphsim's loopback control API (/_sim/...), over the same HTTPS path.
    nlohmann::json Control(const std::string& path, const nlohmann::json& body) const {
        core::HttpRequest req;
        req.method = "POST";
        req.url = info.authorityUrl + path;
        req.headers = {{"Content-Type", "application/json"}};
        req.body = body.dump();
        auto r = http->Send(req);
        REQUIRE(r.ok());
        REQUIRE_MESSAGE(r->status == 200, r->body);
        return nlohmann::json::parse(r->body);
    }
};

// graphsim with a signed-in user (device code, approved by the simulator), a Graph client
// acting as that user, and one of their channels.
struct Delegated {
    SimFixture f;
    std::shared_ptr<core::DelegatedTokenProvider> auth;
    std::shared_ptr<core::GraphClient> client;
    std::string teamId, channelId;

    explicit Delegated(SimOptions o = {})
        : f([&] {
              o.autoApprove = true;
              return o;
          }()) {
        core::DelegatedConfig c{f.info.authorityUrl, f.info.tenant, f.info.clientId};
        auth = std::make_shared<core::DelegatedTokenProvider>(c, f.http);
        REQUIRE(auth->SignInWithDeviceCode(
                        nullptr, nullptr,
                        [](auto) { std::this_thread::sleep_for(std::chrono::milliseconds(20)); })
                    .ok());
        client = f.ClientWith(auth);
        auto teams = client->ListJoinedTeams();
        REQUIRE(teams.ok());
        teamId = teams->front().id;
        auto chans = client->ListChannels(teamId);
        REQUIRE(chans.ok());
        channelId = chans->at(1).id;
    }
};

// GETs a Graph URL (absolute, or relative to the base) with the app token; parses the body.
inline nlohmann::json Get(const SimFixture& f, const std::string& url,
                          core::HttpResponse* raw = nullptr,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto tok = f.tokens->Token(false);
    REQUIRE(tok.ok());
    core::HttpRequest req;
    req.url = url.rfind("https://", 0) == 0 ? url : f.info.graphUrl + url;
    req.headers = {{"Authorization", "Bearer " + tok->token}};
    for (auto& h : headers) req.headers.push_back(h);
    auto r = f.http->Send(req);
    REQUIRE(r.ok());
    if (raw) *raw = r.value();
    return nlohmann::json::parse(r->body, nullptr, false);
}

// Two compatibility shorthands used by older tests.
inline SimOptions Documented(bool traffic = false, double trafficScale = 1.0) {
    SimOptions o;
    o.traffic = traffic;
    o.trafficScale = trafficScale;
    o.limitsScale = 1.0;
    return o;
}

}  // namespace cdeck::test
