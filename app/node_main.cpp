// channeldeck-node: the server tier's headless service (SERVER.md).
//   channeldeck-node [--config FILE] migrate
//   channeldeck-node [--config FILE] [--rules FILE] run
//   channeldeck-node [--config FILE] publish-rules FILE
//   channeldeck-node --help | --version
// Exit codes: 0 done (run: after SIGTERM or SIGINT); 2 a bad command line, configuration,
// credentials, a missing database or a schema from a newer version; 1 any other failure.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "node/node_service.hpp"
#include "platform/os.hpp"
#include "util/log.hpp"

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_rotate{false};

void PrintUsage(std::FILE* to) {
    std::fprintf(to,
                 "usage: channeldeck-node [--config FILE] migrate\n"
                 "       channeldeck-node [--config FILE] [--rules FILE] run\n"
                 "       channeldeck-node [--config FILE] publish-rules FILE\n"
                 "       channeldeck-node --help | --version\n"
                 "\n"
                 "  migrate        apply the PostgreSQL schema (refuses a newer database)\n"
                 "  run            sign in as the application, sync, write into PostgreSQL;\n"
                 "                 serves /healthz and /metrics on node.listen; with push on,\n"
                 "                 also the webhook on push.listen (SIGHUP rotates its key)\n"
                 "  publish-rules  store a rule pack version and enable it everywhere\n"
                 "\n"
                 "The config's server.conninfo names the database (a libpq connection string\n"
                 "or service=NAME); keep passwords in ~/.pgpass or a 0600 config file.\n");
}

int Usage(const std::string& msg) {
    std::fprintf(stderr, "channeldeck-node: %s (see channeldeck-node --help)\n", msg.c_str());
    return 2;
}

// Operator-fixable failures exit 2 with one line; the rest exit 1.
int Fail(const cdeck::core::Error& e) {
    std::fprintf(stderr, "channeldeck-node: %s\n", e.message.c_str());
    bool operatorFix =
        e.code == cdeck::core::ErrorCode::kConfig || e.code == cdeck::core::ErrorCode::kAuth;
    return operatorFix ? 2 : 1;
}

std::string DefaultRules() {
    return cdeck::core::os::AssetsDir(CDECK_SOURCE_ASSETS) + "/rules/default.json";
}

int Run(const cdeck::core::Config& config, const std::string& rules) {
    // SIGTERM/SIGINT stop; SIGHUP rotates the notification key. Taken on the platform
    // layer's own thread, before the node starts any.
    cdeck::core::os::StopSignal stopSignal([](const char*) { g_stop = true; },
                                           [](const char*) { g_rotate = true; });
    cdeck::node::NodeService node;
    cdeck::node::NodeOptions o;
    o.config = config;
    o.rulesPath = rules;
    o.cancel = &g_stop;
    if (auto st = node.Start(o); !st) {
        node.Stop();
        if (st.error().code == cdeck::core::ErrorCode::kCancelled) return 0;
        return Fail(st.error());
    }
    cdeck::core::Log(cdeck::core::LogLevel::kInfo, "node",
                     "running; /healthz and /metrics on " + config.node.listen);
    while (!g_stop) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (g_rotate.exchange(false)) {  // SIGHUP: a new key, the old one kept until unused
            node.RotatePushKeys();
        }
    }
    cdeck::core::Log(cdeck::core::LogLevel::kInfo, "node",
                     "stopping: finishing the batch in flight");
    node.Stop();
    cdeck::core::Log(cdeck::core::LogLevel::kInfo, "node", "stopped");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string configPath, rules = DefaultRules(), command, argument;
    bool explicitConfig = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            PrintUsage(stdout);
            return 0;
        }
        if (a == "--version") {
            std::printf("channeldeck-node %s\n", CDECK_VERSION);
            return 0;
        }
        if (a == "--config" || a == "--rules") {
            if (i + 1 >= argc) return Usage(a + " needs a file");
            (a == "--config" ? configPath : rules) = argv[++i];
            explicitConfig = explicitConfig || a == "--config";
        } else if (!a.empty() && a[0] == '-') {
            return Usage("unknown option " + a);
        } else if (command.empty()) {
            command = a;
        } else if (argument.empty() && command == "publish-rules") {
            argument = a;
        } else {
            return Usage("unexpected argument " + a);
        }
    }
    if (command.empty()) return Usage("no command given (migrate, run or publish-rules)");
    if (command != "migrate" && command != "run" && command != "publish-rules")
        return Usage("unknown command " + command);
    if (command == "publish-rules" && argument.empty()) return Usage("publish-rules needs a FILE");
    auto config = cdeck::core::LoadConfig(
        explicitConfig ? configPath : cdeck::core::DefaultConfigPath(), explicitConfig);
    if (!config) return Fail(config.error());
    for (const auto& w : config->warnings)
        cdeck::core::Log(cdeck::core::LogLevel::kWarn, "config", w);
    std::string out;
    if (command == "migrate" || command == "publish-rules") {
        auto st = command == "migrate"
                      ? cdeck::node::RunMigrate(config.value(), out)
                      : cdeck::node::RunPublishRules(config.value(), argument, out);
        if (!st) return Fail(st.error());
        std::printf("%s\n", out.c_str());
        return 0;
    }
    return Run(config.value(), rules);
}
