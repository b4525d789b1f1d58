#pragma once
// What the node benchmarks share (bench_push, bench_cluster): graphsim and channeldeck-node
// as real processes, graphsim's ground truth, and freshness measured in PostgreSQL.
// Threads: the benchmark's main thread only.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.hpp"
#include "net/http.hpp"
#include "pg/pg_conn.hpp"
#include "support/process.hpp"
#include "util/time.hpp"

namespace cdeck::bench {

using namespace cdeck::core;
using nlohmann::json;
namespace fs = std::filesystem;

inline void Sleep(double s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(s * 1000)));
}

inline pid_t Spawn(const std::vector<std::string>& args, const std::string& out,
                   const std::string& err) {
    return cdeck::test::SpawnProcess(args, out, err);
}

inline void Terminate(pid_t pid) {
    cdeck::test::StopProcess(pid);
}

inline double CpuSeconds(pid_t pid) {
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

// graphsim as its own process: `channels` channels (ten a team), 120 messages a minute,
// seed 7, limits raised 50x for the warm-up (set the documented profile before measuring).
inline Sim StartSim(const std::string& graphsim, const fs::path& dir, int channels) {
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

inline int Scalar(PgConn& c, const std::string& sql) {
    auto r = c.Exec(sql, {});
    return r && r->Rows() ? std::atoi(r->Text(0, 0).c_str()) : -1;
}

struct Figures {
    double p50 = 0, p95 = 0, p99 = 0, requestsPerHour = 0, cpuPercent = 0, deliveryP95 = 0;
    size_t samples = 0, unseen = 0;
    // graphsim's view of the window, every node together: the share of requests answered
    // 429, requests sent into a closed scope, and requests answered with data per second.
    double throttledShare = 0, okPerSecond = 0;
    uint64_t penalties = 0;
};

// Watches PostgreSQL for the window's messages (graphsim's ground truth) until each
// arrives or `tail` seconds pass after the window. CPU is the nodes' together.
inline Figures Measure(Sim& sim, PgConn& db, const std::vector<pid_t>& nodes, double window,
                       double tail) {
    Figures f;
    json stats0 = sim.Stats();
    uint64_t req0 = stats0.value("requests_total", uint64_t{0});
    uint64_t thr0 = stats0.value("throttled_total", uint64_t{0});
    uint64_t pen0 = stats0.value("penalties_total", uint64_t{0});
    double cpu0 = 0;
    for (pid_t n : nodes) cpu0 += CpuSeconds(n);
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
    double requests = static_cast<double>(stats.value("requests_total", uint64_t{0}) - req0);
    double throttled = static_cast<double>(stats.value("throttled_total", uint64_t{0}) - thr0);
    f.requestsPerHour = requests / window * 3600;
    f.throttledShare = requests > 0 ? throttled / requests : 0;
    f.okPerSecond = (requests - throttled) / window;
    f.penalties = stats.value("penalties_total", uint64_t{0}) - pen0;
    double cpu1 = 0;
    for (pid_t n : nodes) cpu1 += CpuSeconds(n);
    f.cpuPercent = (cpu1 - cpu0) / window * 100;
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
inline void WaitQuiet(Sim& sim, int quiet, double limit) {
    UnixMillis until = NowMillis() + static_cast<UnixMillis>(limit * 1000);
    uint64_t last = sim.Stats().value("requests_total", uint64_t{0});
    while (NowMillis() < until) {
        Sleep(5);
        uint64_t now = sim.Stats().value("requests_total", uint64_t{0});
        if (now - last < static_cast<uint64_t>(quiet)) return;
        last = now;
    }
}

// A node's configuration for `sim` and the database, polling at the documented quota.
inline json NodeConfig(const Sim& sim, const std::string& conninfo, const std::string& id) {
    return {{"graph_url", sim.info["graph"]},
            {"authority_url", sim.info["authority"]},
            {"tenant", sim.info["tenant"]},
            {"client_id", sim.info["client_id"]},
            {"client_secret", sim.info["client_secret"]},
            {"ca_file", sim.info["ca"]},
            {"auth_mode", "client_credentials"},
            {"server", {{"conninfo", conninfo}}},
            {"node", {{"id", id}, {"listen", "127.0.0.1:0"}}},
            {"sync", {{"schedule", "quota"}}}};
}

// Writes the configuration (owner-only: it holds a secret) and starts the node.
inline pid_t LaunchNode(const std::string& binary, const fs::path& dir, const std::string& name,
                        const json& config) {
    fs::create_directories(dir);
    std::string cfg = (dir / ("node-" + name + ".json")).string();
    { std::ofstream(cfg) << config.dump(2); }
    fs::permissions(cfg, fs::perms::owner_read | fs::perms::owner_write);
    return Spawn({binary, "--config", cfg, "run"}, (dir / ("node-" + name + ".out")).string(),
                 (dir / ("node-" + name + ".err")).string());
}

}  // namespace cdeck::bench
