// Push against polling (issue: bench_push). Real processes over the real network paths:
// graphsim (its own process, HTTPS), channeldeck-node (its own process) writing into a
// throw-away PostgreSQL 15 cluster, and this program watching PostgreSQL.
//
// For 50, 500 and 5,000 channels with the same traffic (120 messages a minute) and seed:
//  - the node in adaptive polling mode at the documented quota (the baseline), then
//  - the node in push mode (tenant subscription, graphsim's documented delivery latency),
// each measured over the same window:
//  - ground-truth freshness, createdDateTime to the row in PostgreSQL, p50/p95/p99 (every
//    message created in the window, followed until it arrives);
//  - Graph requests per hour in the steady state;
//  - the node's CPU (its process's user+system time over the window).
// Then push at 500 channels with 5% silent loss and 1% duplicates: after reconciliation,
// messages missing and doubled.
//
// Set-up per size, not measured: a warm-up node with raised limits (graphsim's and its own)
// fills the database; graphsim's limits go back to the documented profile before any
// measurement, and both measured nodes continue from the stored delta links.
// Prints figures, asserts nothing.
//   bench_push [--quick] [--window SECONDS] [--sizes 50,500,5000] [--no-loss]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_node.hpp"
#include "pg/pg_schema.hpp"
#include "support/pg_cluster.hpp"

using namespace cdeck;
using namespace cdeck::core;
using namespace cdeck::bench;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct NodeRun {
    std::string mode;  // warm | poll | push
    double lossRate = 0, duplicateRate = 0, reconcileHours = 24;
};

pid_t StartNode(const std::string& binary, const fs::path& dir, const Sim& sim,
                const std::string& conninfo, const NodeRun& run, int webhookPort) {
    json c = bench::NodeConfig(sim, conninfo, "bench-" + run.mode);
    if (run.mode == "warm")
        c["limits"] = {{"get_message", 1000}, {"per_team", 200}, {"per_channel", 200}};
    if (run.mode == "push") {
        std::string url = "https://127.0.0.1:" + std::to_string(webhookPort) + "/notify";
        c["push"] = {{"enabled", true},
                     {"scope", "tenant"},
                     {"notification_url", url},
                     {"listen", "127.0.0.1:" + std::to_string(webhookPort)},
                     {"cert_file", sim.info["webhook_cert"]},
                     {"key_file", sim.info["webhook_key"]},
                     {"key_dir", (dir / "keys").string()},
                     {"reconcile_hours", run.reconcileHours}};
    }
    return bench::LaunchNode(binary, dir, run.mode, c);
}

struct Paths {
    std::string graphsim, node;
};

void RunSize(const Paths& p, test::PgCluster& cl, int channels, double window, bool loss) {
    fs::path dir = fs::temp_directory_path() / ("bench-push-" + std::to_string(::getpid())) /
                   std::to_string(channels);
    Sim sim = StartSim(p.graphsim, dir, channels);
    std::string name = "push" + std::to_string(channels);
    cl.CreateDatabase(name);
    std::string conninfo = cl.AdminConninfo(name);
    auto db = PgConn::Connect(conninfo, "bench");
    if (!db || !PgMigrate(*db.value())) std::exit(1);
    // Warm-up: fill the database (not measured).
    pid_t warm = StartNode(p.node, dir, sim, conninfo, {"warm"}, 0);
    UnixMillis until = NowMillis() + 900'000;
    while (NowMillis() < until &&
           Scalar(*db.value(), "SELECT count(*) FROM sync_state WHERE delta_link IS NOT NULL") <
               channels)
        Sleep(1);
    Terminate(warm);
    sim.Post("/_sim/limits", {{"profile", "graph-2025"}});  // the documented quota from here
    int port = 20000 + static_cast<int>(::getpid() % 20000);
    for (const char* mode : {"poll", "push"}) {
        NodeRun run{mode};
        pid_t node = StartNode(p.node, dir, sim, conninfo, run, port);
        Sleep(5);
        WaitQuiet(sim, mode == std::string("push") ? 10 : 1'000'000, 900);
        Figures f = Measure(sim, *db.value(), {node}, window, 900);
        Terminate(node);
        std::printf(
            "%6d channels  %-4s  fresh p50 %7.2f s  p95 %7.2f s  p99 %7.2f s  (%zu msgs, "
            "%zu unseen)  requests/h %9.0f  node CPU %5.1f%%",
            channels, mode, f.p50, f.p95, f.p99, f.samples, f.unseen, f.requestsPerHour,
            f.cpuPercent);
        if (run.mode == "push") std::printf("  graphsim delivery p95 %.2f s", f.deliveryP95);
        std::printf("\n");
        std::fflush(stdout);
    }
    if (loss) {
        NodeRun run{"push", 0.05, 0.01, 0.02};  // reconcile every 72 s
        pid_t node = StartNode(p.node, dir, sim, conninfo, run, port + 1);
        Sleep(5);
        WaitQuiet(sim, 10, 900);
        sim.Post("/_sim/notifications",
                 {{"loss_rate", 0.05}, {"duplicate_rate", 0.01}, {"reorder_rate", 0.02}});
        UnixMillis start = NowMillis();
        Sleep(window);
        sim.Post("/_sim/traffic", {{"paused", true}});
        Sleep(run.reconcileHours * 3600 + 30);  // one reconciliation round after the traffic
        json stats = sim.Stats();
        size_t created = 0, missing = 0;
        for (const auto& m : stats["messages"]) {
            auto t = ParseIso8601(m["createdDateTime"].get<std::string>());
            if (!t || *t < start) continue;
            ++created;
            std::string id = m["id"];
            auto r = db.value()->Exec("SELECT count(*) FROM messages WHERE id = $1", {id});
            if (!r || r->Text(0, 0) == "0") ++missing;
        }
        int doubled = Scalar(*db.value(),
                             "SELECT count(*) FROM (SELECT id FROM messages GROUP BY id HAVING "
                             "count(*) > 1) d");
        uint64_t dropped = 0, duplicated = 0;
        for (auto& [id, s] : stats["notifications"]["subscriptions"].items()) {
            dropped += s["dropped"].get<uint64_t>();
            duplicated += s["duplicated"].get<uint64_t>();
        }
        Terminate(node);
        std::printf(
            "%6d channels  push with 5%% loss, 1%% duplicates: %zu created, %llu "
            "notifications lost, %llu duplicated; after reconciliation %zu missing, %d "
            "doubled\n",
            channels, created, static_cast<unsigned long long>(dropped),
            static_cast<unsigned long long>(duplicated), missing, doubled);
    }
    Terminate(sim.pid);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> sizes = {50, 500, 5000};
    double window = 180;
    bool loss = true;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick") {
            sizes = {50, 500};
            window = 60;
        } else if (a == "--window" && i + 1 < argc) {
            window = std::atof(argv[++i]);
        } else if (a == "--sizes" && i + 1 < argc) {
            sizes.clear();
            std::stringstream ss(argv[++i]);
            std::string n;
            while (std::getline(ss, n, ',')) sizes.push_back(std::atoi(n.c_str()));
        } else if (a == "--no-loss") {
            loss = false;
        }
    }
    Paths p{CDECK_GRAPHSIM_BIN, CDECK_NODE_BIN};
    test::PgCluster cl;
    if (!cl.Running()) {
        std::fprintf(stderr, "PostgreSQL did not start: %s\n", cl.Error().c_str());
        return 1;
    }
    std::printf(
        "bench_push: window %.0f s, 120 messages/min, seed 7; baseline = adaptive "
        "polling at the documented quota\n",
        window);
    for (int n : sizes) RunSize(p, cl, n, window, loss && n == 500);
    return 0;
}
