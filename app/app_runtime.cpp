#include "app_runtime.hpp"

#include <cstdlib>
#include <filesystem>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "graph/http.hpp"
#include "sim/graphsim.hpp"
#include "util/log.hpp"

namespace cdeck::app {

std::string AssetsDir() {
    if (const char* env = std::getenv("CDECK_ASSETS"); env && *env) return env;
    return CDECK_SOURCE_ASSETS;
}

AppRuntime::AppRuntime() = default;
AppRuntime::~AppRuntime() {
    Stop();
}

core::Status AppRuntime::Start(const RuntimeOptions& options) {
    using core::ErrorCode;
    m_config = options.config;
    m_demo = m_config.IsDemo();
    if (m_demo) {
        m_sim = std::make_unique<sim::GraphSim>();
        sim::GraphSimOptions so;
        so.scenarioPath =
            options.scenarioPath.empty() ? AssetsDir() + "/demo-tenant.json" : options.scenarioPath;
        so.seed = options.seed;
        so.stateDir = core::DefaultStateDir() + "/demo-tenant";
        std::string err = m_sim->Start(so);
        if (!err.empty())
            return core::MakeError(ErrorCode::kInternal,
                                   "demo tenant (graphsim) failed to start: " + err);
        sim::GraphSimInfo info = m_sim->Info();
        m_config.graphUrl = info.graphUrl;
        m_config.authorityUrl = info.authorityUrl;
        m_config.tenant = info.tenant;
        m_config.clientId = info.clientId;
        m_config.clientSecret = info.clientSecret;
        m_config.caFile = info.caFile;
        m_config.authMode = "client_credentials";
        core::Log(core::LogLevel::kInfo, "app", "demo tenant running at " + info.graphUrl);
    }
    if (m_config.authMode != "client_credentials")
        return core::MakeError(
            ErrorCode::kConfig,
            "auth_mode \"" + m_config.authMode +
                "\" is not available in this build yet; set auth_mode to client_credentials");

    core::CurlOptions co;
    co.caFile = m_config.caFile;
    auto http = std::make_shared<core::CurlTransport>(co);
    core::ClientCredentialsConfig cc{m_config.authorityUrl, m_config.tenant, m_config.clientId,
                                     m_config.clientSecret};
    auto tokens = std::make_shared<core::ClientCredentialsProvider>(cc, http);
    core::GraphClientConfig gc;
    gc.graphBaseUrl = m_config.graphUrl;
    auto client = std::make_shared<core::GraphClient>(gc, http, tokens);
    m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.phase = "signing-in";
        s.account = "app " + m_config.clientId;
    });
    m_engine = std::make_unique<core::SyncEngine>(client, m_store, m_config.sync,
                                                  tokens->IsDelegated(), m_config.limits);
    m_engine->Start();
    return core::OkStatus();
}

void AppRuntime::Stop() {
    if (m_engine) m_engine->Stop();
    m_engine.reset();
    if (m_sim) m_sim->Stop();
    m_sim.reset();
}

void AppRuntime::Submit(core::Command c) {
    if (m_engine) m_engine->Submit(std::move(c));
}

}  // namespace cdeck::app
