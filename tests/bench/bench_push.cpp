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

#include "bench_util.hpp"
#include "net/http.hpp"
#include "pg/pg_conn.hpp"
#include "pg/pg_schema.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "util/time.hpp"

using namespace cdeck;
using namespace cdeck::core;
using bench::Percentile;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

void Sleep(double s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(s * 1000)));
}

pid_t Spawn(const std::vector<std::string>& args, const std::string& out, const std::string& err) {
    return cdeck::test::SpawnProcess(args, out, err);
}

void Terminate(pid_t pid) {
    cdeck::test::StopProcess(pid);
}

double CpuSeconds(pid_t pid) {
    return cdeck::test::ProcessCpuSeconds(pid);
}

struct Sim {
    pid_t pid = 0;
    json info;
    std::shared_ptr<CurlTransport> http;
    // The ground truth; a large tenant's document takes a while under load, so it is
    // retried rather than taken as empty.
    json Stats() {
        HttpRequest r;
        r.url = info["authority"].get<std::string>() + "/_sim/stats";
        r.timeout = std::chrono::milliseconds(120000);
        std::string why;
        for (int attempt = 0; attempt < 10; ++attempt) {
            auto resp = http->Send(r);
            if (resp && resp->status == 200) {
                json j = json::parse(resp->body, nullptr, false);
                if (j.is_object()) return j;
                why = "not JSON (" + std::to_string(resp->body.size()) + " bytes)";
            } else {
                why = resp ? "status " + std::to_string(resp->status) : resp.error().Describe();
            }
            Sleep(2);
        }
        std::fprintf(stderr, "graphsim's /_sim/stats does not answer: %s\n", why.c_str());
        std::exit(1);
    }
    int Post(const std::string& path, const json& body) {
        HttpRequest r;
        r.method = "POST";
        r.url = info["authority"].get<std::string>() + path;
        r.body = body.dump();
        r.headers = {{"Content-Type", "application/json"}};
        auto resp = http->Send(r);
        return resp ? resp->status : 0;
    }
};

Sim StartSim(const std::string& graphsim, const fs::path& dir, int channels) {
    json sc = json::parse(
        std::ifstream(std::string(CDECK_ASSETS_DIR) + "/scenarios/steady-500-channels.json"));
    int teams = std::max(1, channels / 10);
    sc["generate"] = {{"users", 400}, {"teams", teams}, {"channels_per_team", channels / teams}};
    sc["traffic"]["messages_per_minute"] = 120;
    sc["traffic"]["backfill_min"] = 1;
    sc["traffic"]["backfill_max"] = 4;
    sc.erase("bursts");
    fs::create_directories(dir);
    std::ofstream(dir / "scenario.json") << sc.dump();
    Sim s;
    s.pid = Spawn(
        {graphsim, "--scenario", (dir / "scenario.json").string(), "--seed", "7", "--state-dir",
         (dir / "state").string(), "--issue-webhook-cert", "--limits-scale", "50"},
        (dir / "sim.out").string(), (dir / "sim.err").string());
    for (int i = 0; i < 600 && s.info.is_null(); ++i) {
        Sleep(0.1);
        std::ifstream in(dir / "sim.out");
        std::string line;
        if (std::getline(in, line) && !line.empty()) s.info = json::parse(line, nullptr, false);
    }
    if (s.info.is_null() || s.info.is_discarded()) {
        std::fprintf(stderr, "graphsim did not start; see %s\n", (dir / "sim.err").c_str());
        std::exit(1);
    }
    CurlOptions co;
    co.caFile = s.info["ca"];
    co.lowSpeedSeconds = 120;  // a large tenant's ground truth takes a while to produce
    s.http = std::make_shared<CurlTransport>(co);
    return s;
}

struct NodeRun {
    std::string mode;  // warm | poll | push
    double lossRate = 0, duplicateRate = 0, reconcileHours = 24;
};

pid_t StartNode(const std::string& binary, const fs::path& dir, const Sim& sim,
                const std::string& conninfo, const NodeRun& run, int webhookPort) {
    json c = {{"graph_url", sim.info["graph"]},
              {"authority_url", sim.info["authority"]},
              {"tenant", sim.info["tenant"]},
              {"client_id", sim.info["client_id"]},
              {"client_secret", sim.info["client_secret"]},
              {"ca_file", sim.info["ca"]},
              {"auth_mode", "client_credentials"},
              {"server", {{"conninfo", conninfo}}},
              {"node", {{"id", "bench-" + run.mode}, {"listen", "127.0.0.1:0"}}},
              {"sync", {{"schedule", "quota"}}}};
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
    fs::create_directories(dir);
    std::string cfg = (dir / ("node-" + run.mode + ".json")).string();
    { std::ofstream(cfg) << c.dump(2); }
    fs::permissions(cfg, fs::perms::owner_read | fs::perms::owner_write);
    return Spawn({binary, "--config", cfg, "run"}, (dir / ("node-" + run.mode + ".out")).string(),
                 (dir / ("node-" + run.mode + ".err")).string());
}

int Scalar(PgConn& c, const std::string& sql) {
    auto r = c.Exec(sql, {});
    return r && r->Rows() ? std::atoi(r->Text(0, 0).c_str()) : -1;
}

struct Figures {
    double p50 = 0, p95 = 0, p99 = 0, requestsPerHour = 0, cpuPercent = 0, deliveryP95 = 0;
    size_t samples = 0, unseen = 0;
};

// Watches PostgreSQL for the window's messages (graphsim's ground truth) until each
// arrives or `tail` seconds pass after the window.
Figures Measure(Sim& sim, PgConn& db, pid_t node, double window, double tail) {
    Figures f;
    uint64_t req0 = sim.Stats().value("requests_total", uint64_t{0});
    double cpu0 = CpuSeconds(node);
    UnixMillis start = NowMillis();
    std::map<std::string, UnixMillis> seen;  // id -> first seen
    auto poll = [&] {
        auto r = db.Exec("SELECT id FROM messages WHERE created_ms >= $1", {std::to_string(start)});
        if (!r) return;
        UnixMillis now = NowMillis();
        for (int i = 0; i < r->Rows(); ++i) seen.emplace(r->Text(i, 0), now);
    };
    while (NowMillis() - start < window * 1000) {
        poll();
        Sleep(0.1);
    }
    json stats = sim.Stats();
    f.requestsPerHour =
        static_cast<double>(stats.value("requests_total", uint64_t{0}) - req0) / window * 3600;
    f.cpuPercent = (CpuSeconds(node) - cpu0) / window * 100;
    sim.Post("/_sim/traffic", {{"paused", true}});
    std::map<std::string, UnixMillis> truth;
    json all = sim.Stats()["messages"];  // held: the loop refers into it
    for (const auto& m : all) {
        auto t = ParseIso8601(m["createdDateTime"].get<std::string>());
        if (t && *t >= start) truth[m["id"]] = *t;
    }
    UnixMillis until = NowMillis() + static_cast<UnixMillis>(tail * 1000);
    auto allSeen = [&] {
        for (const auto& [id, t] : truth)
            if (!seen.count(id)) return false;
        return true;
    };
    while (!allSeen() && NowMillis() < until) {
        poll();
        Sleep(0.1);
    }
    std::vector<double> fresh;
    for (const auto& [id, t] : truth) {
        auto it = seen.find(id);
        if (it == seen.end())
            ++f.unseen;
        else
            fresh.push_back(static_cast<double>(it->second - t) / 1000.0);
    }
    f.samples = fresh.size();
    if (!fresh.empty()) {
        f.p50 = Percentile(fresh, 0.5);
        f.p95 = Percentile(fresh, 0.95);
        f.p99 = Percentile(fresh, 0.99);
    }
    json lat = sim.Stats()["notifications"]["delivery_latency_ms"];
    f.deliveryP95 = lat.is_object() ? lat.value("p95", 0.0) / 1000 : 0;
    sim.Post("/_sim/traffic", {{"paused", false}});
    return f;
}

// Waits until graphsim sees fewer than `quiet` requests in 5 s (start-up work is done).
void WaitQuiet(Sim& sim, int quiet, double limit) {
    UnixMillis until = NowMillis() + static_cast<UnixMillis>(limit * 1000);
    uint64_t last = sim.Stats().value("requests_total", uint64_t{0});
    while (NowMillis() < until) {
        Sleep(5);
        uint64_t now = sim.Stats().value("requests_total", uint64_t{0});
        if (now - last < static_cast<uint64_t>(quiet)) return;
        last = now;
    }
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
        Figures f = Measure(sim, *db.value(), node, window, 900);
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
