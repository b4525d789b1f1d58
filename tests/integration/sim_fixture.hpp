#pragma once
// Starts graphsim in the test process on a free loopback port and builds the real client
// stack against it: CurlTransport (TLS, trusting only graphsim's CA) -> client-credentials
// sign-in -> GraphClient. Requests go over HTTPS on 127.0.0.1 like any other peer's.
#include <nlohmann/json.hpp>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "graph/http.hpp"
#include "sim/graphsim.hpp"
#include "support/test_util.hpp"

namespace cdeck::test {

struct SimFixture {
    TempDir state;
    sim::GraphSim sim;
    sim::GraphSimInfo info;
    std::shared_ptr<core::CurlTransport> http;
    std::shared_ptr<core::ClientCredentialsProvider> tokens;
    std::shared_ptr<core::GraphClient> client;

    // limitsScale: most client tests are not about throttling, so they raise graphsim's
    // limits; the sync tests keep the documented ones.
    explicit SimFixture(bool traffic = false, double trafficScale = 1.0,
                        double limitsScale = 100.0) {
        sim::GraphSimOptions o;
        o.scenarioPath = (AssetsDir() / "demo-tenant.json").string();
        o.seed = 7;
        o.stateDir = state.path.string();
        o.generateTraffic = traffic;
        o.trafficScale = trafficScale;
        o.limitsScale = limitsScale;
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
        core::GraphClientConfig gc;
        gc.graphBaseUrl = info.graphUrl;
        client = std::make_shared<core::GraphClient>(gc, http, tokens);
    }

    nlohmann::json Stats() const { return nlohmann::json::parse(sim.StatsJson()); }
};

}  // namespace cdeck::test
