// graphsim command-line tool: runs the simulator alone (DESIGN.md section 6).
//   graphsim [--port P] [--scenario FILE] [--seed N] [--state-dir DIR] [--no-traffic]
//            [--traffic-scale X] [--token-lifetime S] [--bind HOST]
//            [--webhook-ca FILE] [--issue-webhook-cert] [--delivery-latency-ms MEDIAN]
// Prints one JSON line with its base URLs, tenant, CA file and demo credentials, then
// serves until SIGINT or SIGTERM.
#include <atomic>
#include <chrono>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "platform/os.hpp"
#include "sim/graphsim.hpp"

namespace {

std::atomic<bool> g_stop{false};

void PrintUsage(std::FILE* to) {
    std::fprintf(
        to,
        "usage: graphsim [--port P] [--scenario FILE] [--seed N] [--state-dir DIR]\n"
        "                [--no-traffic] [--traffic-scale X] [--token-lifetime S] [--bind HOST]\n"
        "                [--auto-approve] [--limits-scale X] [--latency-ms MEDIAN,P99]\n"
        "                [--webhook-ca FILE] [--issue-webhook-cert] [--delivery-latency-ms M]\n"
        "       graphsim --help | --version\n");
}

// A bad command line: one line on stderr naming the problem, exit code 2.
int Usage(const char* msg) {
    std::fprintf(stderr, "graphsim: %s (see graphsim --help)\n", msg);
    return 2;
}

std::string DefaultScenario() {
    return cdeck::core::os::AssetsDir(CDECK_SOURCE_ASSETS) + "/scenarios/demo.json";
}

bool ParseNumber(const char* s, double& out) {
    char* end = nullptr;
    out = std::strtod(s, &end);
    return end && *end == '\0' && end != s;
}

}  // namespace

int main(int argc, char** argv) {
    // SIGTERM/SIGINT (console events on Windows) end the run; before any thread starts.
    cdeck::core::os::StopSignal stopSignal([](const char*) { g_stop = true; });
    cdeck::sim::GraphSimOptions opt;
    opt.scenarioPath = DefaultScenario();
    bool issueCert = false;  // write a loopback webhook certificate from graphsim's CA
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto need = [&](const char* name) -> const char* {
            if (i + 1 >= argc) return nullptr;
            (void)name;
            return argv[++i];
        };
        double num = 0;
        if (a == "--help" || a == "-h") {
            PrintUsage(stdout);
            return 0;
        } else if (a == "--version") {
            std::printf("graphsim %s\n", CDECK_VERSION);
            return 0;
        } else if (a == "--port") {
            const char* v = need("--port");
            if (!v || !ParseNumber(v, num) || num < 0 || num > 65535)
                return Usage("--port needs a port number 0-65535");
            opt.port = static_cast<int>(num);
        } else if (a == "--scenario") {
            const char* v = need("--scenario");
            if (!v) return Usage("--scenario needs a file");
            opt.scenarioPath = v;
        } else if (a == "--seed") {
            const char* v = need("--seed");
            if (!v || !ParseNumber(v, num) || num < 0)
                return Usage("--seed needs a non-negative integer");
            opt.seed = static_cast<uint64_t>(num);
        } else if (a == "--state-dir") {
            const char* v = need("--state-dir");
            if (!v) return Usage("--state-dir needs a directory");
            opt.stateDir = v;
        } else if (a == "--no-traffic") {
            opt.generateTraffic = false;
        } else if (a == "--traffic-scale") {
            const char* v = need("--traffic-scale");
            if (!v || !ParseNumber(v, num) || num < 0)
                return Usage("--traffic-scale needs a non-negative number");
            opt.trafficScale = num;
        } else if (a == "--token-lifetime") {
            const char* v = need("--token-lifetime");
            if (!v || !ParseNumber(v, num) || num <= 0)
                return Usage("--token-lifetime needs seconds > 0");
            opt.tokenLifetimeSeconds = num;
        } else if (a == "--bind") {
            const char* v = need("--bind");
            if (!v) return Usage("--bind needs an address");
            opt.bindHost = v;
        } else if (a == "--auto-approve") {
            opt.autoApprove = true;
        } else if (a == "--limits-scale") {
            const char* v = need("--limits-scale");
            if (!v || !ParseNumber(v, num) || num <= 0)
                return Usage("--limits-scale needs a number > 0");
            opt.limitsScale = num;
        } else if (a == "--latency-ms") {
            const char* v = need("--latency-ms");
            double p99 = 0;
            if (!v || std::sscanf(v, "%lf,%lf", &num, &p99) != 2 || num < 0 || p99 < num)
                return Usage("--latency-ms needs MEDIAN,P99 in milliseconds");
            opt.latencyMedianMs = num;
            opt.latencyP99Ms = p99;
        } else if (a == "--webhook-ca") {
            const char* v = need("--webhook-ca");
            if (!v) return Usage("--webhook-ca needs a PEM file");
            opt.webhookCaFile = v;
        } else if (a == "--issue-webhook-cert") {
            issueCert = true;
        } else if (a == "--delivery-latency-ms") {
            const char* v = need("--delivery-latency-ms");
            if (!v || !ParseNumber(v, num) || num < 0)
                return Usage("--delivery-latency-ms needs a median in milliseconds");
            opt.deliveryLatencyMedianMs = num;
        } else {
            return Usage(("unknown option " + a).c_str());
        }
    }
    if (opt.stateDir.empty()) {
        namespace os = cdeck::core::os;
        opt.stateDir =
            os::PathToUtf8(os::PathFromUtf8(os::UserStateDir()) / "channeldeck" / "graphsim");
    }
    cdeck::sim::GraphSim sim;
    std::string err = sim.Start(opt);
    if (!err.empty()) {
        std::fprintf(stderr, "graphsim: %s\n", err.c_str());
        return 1;
    }
    std::string line = sim.InfoLine();
    if (issueCert) {
        std::string cert = opt.stateDir + "/webhook-cert.pem",
                    key = opt.stateDir + "/webhook-key.pem";
        if (std::string e = sim.IssueLoopbackCertificate(cert, key); !e.empty()) {
            std::fprintf(stderr, "graphsim: %s\n", e.c_str());
            return 1;
        }
        line.pop_back();  // the closing brace
        line += ",\"webhook_cert\":\"" + cert + "\",\"webhook_key\":\"" + key + "\"}";
    }
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sim.Stop();
    return 0;
}
