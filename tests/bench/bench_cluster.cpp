// Several nodes on one tenant (issue: horizontal scale). Real processes over the real
// network paths: graphsim (its own process, HTTPS, the documented limits), channeldeck-node
// processes, a throw-away PostgreSQL 15 cluster with pg_stat_statements, and HAProxy.
//
//  1. Polling (quota-bound), the same window each: 1, 2 and 3 coordinated nodes on one
//     database, and naive scale-out: 3 uncoordinated nodes (a database each, so neither
//     leases nor the budget are shared). Per run, every node together: 429 share,
//     penalties (requests into a closed scope), useful throughput (requests not refused per
//     second; ratio against 1 node), freshness p95, node CPU, and the coordination's own
//     database cost (statements per second and backend CPU of the coordination sessions).
//  2. Failover, push in channel scope, default leases (30 s): kill -9 of one node of three;
//     seconds until every channel is owned and subscribed again, and messages lost after
//     reconciliation. Then rebalance: the node starts again; seconds until the split is fair.
//  3. Push in tenant scope behind HAProxy: freshness p95 of 3 nodes against 1, same run.
//
// Set-up (not measured): a warm-up node with raised limits fills a template database; every
// run starts from a copy, so all continue from the same delta links.
// Prints figures, asserts nothing.
//   bench_cluster [--quick] [--window SECONDS] [--channels N] [--only polling|failover|push]
#include <signal.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "bench_node.hpp"
#include "pg/pg_schema.hpp"
#include "support/haproxy.hpp"
#include "support/pg_cluster.hpp"

using namespace cdeck;
using namespace cdeck::core;
using namespace cdeck::bench;

namespace {

struct Rig {
    std::string graphsim = CDECK_GRAPHSIM_BIN, node = CDECK_NODE_BIN;
    test::PgCluster pg{test::PgCluster::Options{false, 200, true}};
    Sim sim;
    fs::path dir;
    int channels = 200;
    double window = 120;
    int dbCount = 0;
    std::string only;  // one part of the benchmark; empty: all
    bool Runs(const std::string& part) const { return only.empty() || only == part; }
};

std::unique_ptr<PgConn> Open(const std::string& conninfo) {
    auto c = PgConn::Connect(conninfo, "bench");
    if (!c) {
        std::fprintf(stderr, "cannot connect: %s\n", c.error().message.c_str());
        std::exit(1);
    }
    return std::move(c.value());
}

// A copy of the warmed-up template database.
std::string CopyDb(Rig& r) {
    std::string name = "run" + std::to_string(++r.dbCount);
    auto admin = Open(r.pg.AdminConninfo("postgres"));
    if (!admin->Exec("CREATE DATABASE " + name + " TEMPLATE warm")) std::exit(1);
    return r.pg.AdminConninfo(name);
}

struct NodeProc {
    std::string id;
    pid_t pid = 0;
    int port = 0, webhook = 0;
};

NodeProc Start(Rig& r, const std::string& id, const std::string& conninfo, const json& push = {}) {
    NodeProc n{id, 0, test::FreeLoopbackPort(), test::FreeLoopbackPort()};
    json c = NodeConfig(r.sim, conninfo, id);
    c["node"]["listen"] = "127.0.0.1:" + std::to_string(n.port);
    if (!push.is_null()) {
        c["push"] = push;
        c["push"]["listen"] = "127.0.0.1:" + std::to_string(n.webhook);
        if (push["scope"] == "channel")
            c["push"]["notification_url"] =
                "https://127.0.0.1:" + std::to_string(n.webhook) + "/notify";
    }
    n.pid = LaunchNode(r.node, r.dir, id, c);
    return n;
}

void StopAll(std::vector<NodeProc>& nodes) {
    for (auto& n : nodes) Terminate(n.pid);
    nodes.clear();
}

// Each live node's lease count, by the database clock.
std::map<std::string, int> Owners(PgConn& db) {
    std::map<std::string, int> out;
    auto q = db.Exec(
        "SELECT owner, count(*) FROM channel_lease WHERE owner IS NOT NULL AND expires_at > now() "
        "GROUP BY owner");
    for (int i = 0; q && i < q->Rows(); ++i) out[q->Text(i, 0)] = static_cast<int>(q->Int(i, 1));
    return out;
}

bool Fair(PgConn& db, const std::vector<NodeProc>& nodes, int channels) {
    auto owners = Owners(db);
    int sum = 0, lo = channels, hi = 0;
    for (const auto& n : nodes) {
        int k = owners.count(n.id) ? owners[n.id] : 0;
        sum += k;
        lo = std::min(lo, k);
        hi = std::max(hi, k);
    }
    return owners.size() == nodes.size() && sum == channels && hi - lo <= 1;
}

// Seconds until `pred` holds (checked every 250 ms), or -1 after `limit`.
template <typename F>
double SecondsUntil(F pred, double limit) {
    UnixMillis t0 = NowMillis();
    while (NowMillis() - t0 < limit * 1000) {
        if (pred()) return (NowMillis() - t0) / 1000.0;
        Sleep(0.25);
    }
    return -1;
}

// The coordination's cost in the database: statements and backend CPU of the sessions that
// only coordinate (leases, heartbeat, budget, subscriptions).
struct DbCost {
    double calls = 0, cpu = 0;
    UnixMillis at = 0;
};
DbCost Coordination(Rig& r) {
    auto admin = Open(r.pg.AdminConninfo("postgres"));
    DbCost c;
    c.at = NowMillis();
    auto s = admin->Exec(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query ~ "
        "'quota_take|quota_block|channel_lease|leader_lease|heartbeat_at|cdeck_nodes|"
        "push_subscription'");
    if (s && s->Rows()) c.calls = std::stod(s->Text(0, 0));
    auto p = admin->Exec(
        "SELECT pid FROM pg_stat_activity WHERE application_name IN ('channeldeck-node quota', "
        "'channeldeck-node cluster', 'channeldeck-node heartbeat', 'channeldeck-node cluster "
        "writer', 'channeldeck-node subscriptions')");
    for (int i = 0; p && i < p->Rows(); ++i) c.cpu += CpuSeconds(static_cast<pid_t>(p->Int(i, 0)));
    return c;
}

void PrintPolling(const std::string& label, const Figures& f, double base, const DbCost& a,
                  const DbCost& b) {
    double secs = std::max(1.0, (b.at - a.at) / 1000.0);
    std::printf(
        "%-22s 429 share %6.2f%%  penalties %5llu  useful %6.2f req/s (%.2fx of 1 node)  "
        "fresh p95 %6.1f s  node CPU %5.1f%%  coordination %6.1f statements/s, DB CPU %5.2f%%\n",
        label.c_str(), f.throttledShare * 100, static_cast<unsigned long long>(f.penalties),
        f.okPerSecond, base > 0 ? f.okPerSecond / base : 1.0, f.p95, f.cpuPercent,
        (b.calls - a.calls) / secs, std::max(0.0, b.cpu - a.cpu) / secs * 100);
    std::fflush(stdout);
}

// N nodes polling; coordinated: one database (leases and budget shared); otherwise one
// database each (naive scale-out). Returns the useful throughput.
double RunPolling(Rig& r, int n, bool coordinated, double base) {
    std::vector<NodeProc> nodes;
    std::vector<std::string> dbs;
    for (int i = 0; i < n; ++i)
        if (i == 0 || !coordinated) dbs.push_back(CopyDb(r));
    for (int i = 0; i < n; ++i)
        nodes.push_back(Start(r, "n" + std::to_string(i + 1), dbs[coordinated ? 0 : i]));
    auto db = Open(dbs[0]);
    if (coordinated && SecondsUntil([&] { return Fair(*db, nodes, r.channels); }, 120) < 0)
        std::fprintf(stderr, "the split did not become fair\n");
    Sleep(15);  // past start-up's catch-up rounds
    DbCost c0 = Coordination(r);
    std::vector<pid_t> pids;
    for (const auto& p : nodes) pids.push_back(p.pid);
    Figures f = Measure(r.sim, *db, pids, r.window, 120);
    DbCost c1 = Coordination(r);
    StopAll(nodes);
    std::string label = coordinated ? std::to_string(n) + (n == 1 ? " node" : " nodes")
                                    : std::to_string(n) + " naive (uncoordinated)";
    PrintPolling(label, f, base > 0 ? base : f.okPerSecond, c0, c1);
    return f.okPerSecond;
}

// Messages graphsim created since `since` that the database lacks.
size_t Missing(Rig& r, PgConn& db, UnixMillis since) {
    json all = r.sim.Stats()["messages"];
    std::vector<PgParam> ids;
    for (const auto& m : all) {
        auto t = ParseIso8601(m["createdDateTime"].get<std::string>());
        if (t && *t >= since) ids.push_back(m["id"].get<std::string>());
    }
    auto q = db.Exec(
        "SELECT count(*) FROM unnest($1::text[]) u(i) WHERE NOT EXISTS (SELECT 1 FROM messages "
        "m WHERE m.id = u.i)",
        {PgArray(ids)});
    return q ? static_cast<size_t>(q->Int(0, 0)) : ids.size();
}

json PushSettings(Rig& r, const std::string& scope, const std::string& url) {
    return {{"enabled", true},
            {"scope", scope},
            {"notification_url", url},
            {"cert_file", r.sim.info["webhook_cert"]},
            {"key_file", r.sim.info["webhook_key"]},
            {"key_dir", (r.dir / "keys").string()}};
}

// Active subscriptions pointing at each URL.
std::map<std::string, int> Subscribed(Rig& r) {
    std::map<std::string, int> out;
    json subs = r.sim.Stats()["notifications"]["subscriptions"];
    for (auto& [id, s] : subs.items())
        if (s["state"] == "active") out[s.value("notificationUrl", "")]++;
    return out;
}

std::string Hook(const NodeProc& n) {
    return "https://127.0.0.1:" + std::to_string(n.webhook) + "/notify";
}

void RunFailover(Rig& r) {
    std::string conninfo = CopyDb(r);
    auto db = Open(conninfo);
    std::vector<NodeProc> nodes;
    for (int i = 1; i <= 3; ++i)
        nodes.push_back(
            Start(r, "f" + std::to_string(i), conninfo, PushSettings(r, "channel", "")));
    auto allSubscribed = [&] {
        auto by = Subscribed(r);
        int sum = 0;
        for (const auto& n : nodes) sum += by.count(Hook(n)) ? by[Hook(n)] : 0;
        return sum == r.channels;
    };
    if (SecondsUntil([&] { return Fair(*db, nodes, r.channels) && allSubscribed(); }, 300) < 0)
        std::fprintf(stderr, "failover: the three nodes did not settle\n");
    // Three rounds (medians reported): kill -9 of one node, the survivors take over, then it
    // starts again and the split is rebalanced.
    std::vector<double> owned, subscribed, fair, moved;
    size_t lostTotal = 0;
    for (int round = 0; round < 3; ++round) {
        Sleep(10);
        UnixMillis since = NowMillis();
        Sleep(5 + round * 3);  // the kill lands at a different point of the renewal cycle
        NodeProc dead = nodes[1];
        ::kill(dead.pid, SIGKILL);
        Terminate(dead.pid);
        nodes.erase(nodes.begin() + 1);
        UnixMillis t0 = NowMillis();
        owned.push_back(SecondsUntil([&] { return Fair(*db, nodes, r.channels); }, 120));
        if (SecondsUntil(allSubscribed, 120) >= 0)
            subscribed.push_back((NowMillis() - t0) / 1000.0);
        Sleep(r.window / 4);
        r.sim.Post("/_sim/traffic", {{"paused", true}});
        size_t lost = 0;
        SecondsUntil([&] { return (lost = Missing(r, *db, since)) == 0; }, 180);
        r.sim.Post("/_sim/traffic", {{"paused", false}});
        lostTotal += lost;
        nodes.insert(nodes.begin() + 1,
                     Start(r, dead.id, conninfo, PushSettings(r, "channel", "")));
        t0 = NowMillis();
        fair.push_back(SecondsUntil([&] { return Fair(*db, nodes, r.channels); }, 120));
        SecondsUntil(allSubscribed, 120);
        moved.push_back((NowMillis() - t0) / 1000.0);
    }
    std::printf(
        "failover (push, channel scope, lease 30 s), 3 rounds: kill -9 of 1 of 3; every channel "
        "owned again after %.1f s (median; max %.1f), subscribed again after %.1f s (max %.1f); "
        "%zu messages lost\n",
        Median(owned), *std::max_element(owned.begin(), owned.end()), Median(subscribed),
        subscribed.empty() ? -1.0 : *std::max_element(subscribed.begin(), subscribed.end()),
        lostTotal);
    std::printf(
        "rebalance: the node joins the other two again; split fair after %.1f s (median), "
        "every subscription moved after %.1f s\n",
        Median(fair), Median(moved));
    std::fflush(stdout);
    StopAll(nodes);
}

// Push in tenant scope behind HAProxy with `n` nodes; freshness over the window.
Figures RunPush(Rig& r, int n) {
    std::string conninfo = CopyDb(r);
    auto db = Open(conninfo);
    int lb = test::FreeLoopbackPort();
    std::string url = "https://127.0.0.1:" + std::to_string(lb) + "/notify";
    std::vector<NodeProc> nodes;
    std::vector<test::HaproxyServer> servers;
    for (int i = 1; i <= n; ++i) {
        NodeProc p{"p" + std::to_string(i), 0, test::FreeLoopbackPort(), test::FreeLoopbackPort()};
        nodes.push_back(p);
        servers.push_back({p.id, p.webhook, p.port});
    }
    pid_t lbPid = test::StartHaproxy((r.dir / ("haproxy" + std::to_string(n) + ".cfg")).string(),
                                     lb, servers);
    for (auto& p : nodes) {
        json c = NodeConfig(r.sim, conninfo, p.id);
        c["node"]["listen"] = "127.0.0.1:" + std::to_string(p.port);
        c["push"] = PushSettings(r, "tenant", url);
        c["push"]["listen"] = "127.0.0.1:" + std::to_string(p.webhook);
        p.pid = LaunchNode(r.node, r.dir, p.id, c);
    }
    if (SecondsUntil([&] { return Fair(*db, nodes, r.channels) && Subscribed(r)[url] == 1; }, 180) <
        0)
        std::fprintf(stderr, "push: the nodes did not settle\n");
    WaitQuiet(r.sim, 10, 300);
    std::vector<pid_t> pids;
    for (const auto& p : nodes) pids.push_back(p.pid);
    Figures f = Measure(r.sim, *db, pids, r.window, 300);
    StopAll(nodes);
    Terminate(lbPid);
    return f;
}

void WarmUp(Rig& r) {
    auto admin = Open(r.pg.AdminConninfo("postgres"));
    if (!admin->Exec("CREATE DATABASE warm") || !admin->Exec("CREATE EXTENSION pg_stat_statements"))
        std::exit(1);
    std::string conninfo = r.pg.AdminConninfo("warm");
    auto db = Open(conninfo);
    if (!PgMigrate(*db)) std::exit(1);
    json c = NodeConfig(r.sim, conninfo, "warm");
    c["limits"] = {{"get_message", 1000}, {"per_team", 200}, {"per_channel", 200}};
    pid_t warm = LaunchNode(r.node, r.dir, "warm", c);
    UnixMillis until = NowMillis() + 900'000;
    while (NowMillis() < until &&
           Scalar(*db, "SELECT count(*) FROM sync_state WHERE delta_link IS NOT NULL") < r.channels)
        Sleep(1);
    Terminate(warm);  // a clean exit: its leases are free in the copies
    db.reset();
    r.sim.Post("/_sim/limits", {{"profile", "graph-2025"}});  // the documented quota from here
}

}  // namespace

int main(int argc, char** argv) {
    Rig r;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick") {
            r.channels = 100;
            r.window = 45;
        } else if (a == "--window" && i + 1 < argc) {
            r.window = std::atof(argv[++i]);
        } else if (a == "--channels" && i + 1 < argc) {
            r.channels = std::atoi(argv[++i]);
        } else if (a == "--only" && i + 1 < argc) {
            r.only = argv[++i];
        }
    }
    if (!r.pg.Running()) {
        std::fprintf(stderr, "PostgreSQL did not start: %s\n", r.pg.Error().c_str());
        return 1;
    }
    r.dir = fs::temp_directory_path() / ("bench-cluster-" + std::to_string(::getpid()));
    r.sim = StartSim(r.graphsim, r.dir, r.channels);
    std::printf(
        "bench_cluster: %d channels, 120 messages/min, seed 7, graphsim at the documented "
        "limits; window %.0f s; baseline = 1 node\n",
        r.channels, r.window);
    WarmUp(r);
    if (r.Runs("polling")) {
        double base = RunPolling(r, 1, true, 0);
        RunPolling(r, 2, true, base);
        RunPolling(r, 3, true, base);
        RunPolling(r, 3, false, base);
    }
    if (r.Runs("failover")) RunFailover(r);
    if (!r.Runs("push")) {
        Terminate(r.sim.pid);
        return 0;
    }
    Figures one = RunPush(r, 1), three = RunPush(r, 3);
    std::printf(
        "push, tenant scope behind HAProxy: 1 node fresh p95 %.2f s (p50 %.2f, %zu msgs), 3 "
        "nodes p95 %.2f s (p50 %.2f, %zu msgs): %.2fx; unseen %zu / %zu; graphsim's own "
        "delivery p95 so far %.2f s\n",
        one.p95, one.p50, one.samples, three.p95, three.p50, three.samples,
        one.p95 > 0 ? three.p95 / one.p95 : 0, one.unseen, three.unseen, three.deliveryP95);
    Terminate(r.sim.pid);
    return 0;
}
