#pragma once
// Set-up for the multi-node suite: graphsim over HTTPS (in this process, for its ground
// truth), a real PostgreSQL, and several channeldeck-node processes with short leases, so
// that SIGKILL, SIGSTOP, a restarted database and a skewed clock (libfaketime) hit real
// processes. Helpers read the leases from the database and the nodes' /metrics.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "net/http.hpp"
#include "pg/pg_fixture.hpp"
#include "pg/truth.hpp"
#include "sim/graphsim.hpp"
#include "support/haproxy.hpp"
#include "support/process.hpp"
#include "support/test_util.hpp"
#include "util/time.hpp"

namespace cdeck::test {

using nlohmann::json;

struct ClusterRig {
    struct Node {
        pid_t pid = -1;
        int port = 0;     // /healthz and /metrics
        int webhook = 0;  // push: its HTTPS webhook
        std::string log;
    };
    TempDir dir;
    PgDb db = NewPgDb();
    sim::GraphSim sim;
    std::shared_ptr<core::CurlTransport> http;
    std::map<std::string, Node> nodes;
    // Short leases keep the suite quick; the ratios are the documented ones (30/10/25 s).
    double lease = 6, renew = 2, stopAfter = 5;
    // Push: "" (polling), "channel" (each node's own webhook) or "tenant" (one subscription,
    // its notifications through HAProxy to any node).
    std::string pushScope;
    std::map<std::string, Node> planned;  // ports chosen before the processes start
    pid_t haproxy = -1;
    int lbPort = 0;

    explicit ClusterRig(double trafficScale = 4, double deliveryLatencyMs = -1) {
        sim::GraphSimOptions so;
        so.scenarioPath = std::string(CDECK_ASSETS_DIR) + "/scenarios/demo.json";
        so.stateDir = (dir.path / "sim").string();
        so.trafficScale = trafficScale;
        so.deliveryLatencyMedianMs = deliveryLatencyMs;
        REQUIRE(sim.Start(so).empty());
        core::CurlOptions co;
        co.caFile = sim.Info().caFile;
        http = std::make_shared<core::CurlTransport>(co);
    }
    ~ClusterRig() {
        for (auto& [id, n] : nodes) {
            ::kill(n.pid, SIGCONT);
            StopProcess(n.pid, SIGKILL);
        }
        if (haproxy > 0) StopProcess(haproxy, SIGTERM);
    }

    // The ports a node will use (chosen once, so HAProxy can name them before it starts).
    Node& Plan(const std::string& id) {
        auto it = planned.find(id);
        if (it != planned.end()) return it->second;
        Node n;
        n.port = FreeLoopbackPort();
        n.webhook = FreeLoopbackPort();
        return planned[id] = n;
    }

    // HAProxy (Debian's) in front of the nodes' webhooks: TCP passthrough, so TLS ends at
    // the node; health checks on each node's /healthz.
    void StartHaproxy(const std::vector<std::string>& ids) {
        lbPort = FreeLoopbackPort();
        std::vector<HaproxyServer> servers;
        for (const auto& id : ids) servers.push_back({id, Plan(id).webhook, Plan(id).port});
        std::string cfg = (dir.path / "haproxy.cfg").string();
        haproxy = cdeck::test::StartHaproxy(cfg, lbPort, servers);
        REQUIRE(haproxy > 0);
        REQUIRE_MESSAGE(WaitFor([&] { return ProcessAlive(haproxy) && Listening(lbPort); }, 10),
                        ReadFile(cfg + ".log"));
    }
    static bool Listening(int port) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }

    json PushConfig(const Node& n) {
        std::string url = pushScope == "tenant"
                              ? "https://127.0.0.1:" + std::to_string(lbPort) + "/notify"
                              : "https://127.0.0.1:" + std::to_string(n.webhook) + "/notify";
        std::string cert = (dir.path / "webhook-cert.pem").string();
        std::string key = (dir.path / "webhook-key.pem").string();
        if (!std::filesystem::exists(cert))
            REQUIRE(sim.IssueLoopbackCertificate(cert, key).empty());
        return {{"enabled", true},
                {"scope", pushScope},
                {"notification_url", url},
                {"listen", "127.0.0.1:" + std::to_string(n.webhook)},
                {"cert_file", cert},
                {"key_file", key},
                {"key_dir", (dir.path / "keys").string()}};  // one key pair for the cluster
    }

    // Starts a node process; `env` adds to its environment (libfaketime's, for one).
    void Spawn(const std::string& id, const std::vector<std::string>& env = {}) {
        Node n = Plan(id);
        json c = {{"graph_url", sim.Info().graphUrl},
                  {"authority_url", sim.Info().authorityUrl},
                  {"tenant", sim.Info().tenant},
                  {"client_id", sim.Info().clientId},
                  {"client_secret", sim.Info().clientSecret},
                  {"ca_file", sim.Info().caFile},
                  {"auth_mode", "client_credentials"},
                  {"server", {{"conninfo", db.node}}},
                  {"node",
                   {{"id", id},
                    {"listen", "127.0.0.1:" + std::to_string(n.port)},
                    {"lease_seconds", lease},
                    {"renew_seconds", renew},
                    {"stop_after_seconds", stopAfter}}},
                  {"sync", {{"schedule", "quota"}, {"rediscover_seconds", 30}}}};
        if (!pushScope.empty()) c["push"] = PushConfig(n);
        std::string cfg = (dir.path / (id + ".json")).string();
        { std::ofstream(cfg) << c.dump(2); }
        std::filesystem::permissions(
            cfg, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
        n.log = (dir.path / (id + ".log")).string();
        n.pid = SpawnProcess({CDECK_NODE_BIN, "--config", cfg, "run"},
                             (dir.path / (id + ".out")).string(), n.log, env);
        REQUIRE(n.pid > 0);
        nodes[id] = n;
    }
    void Kill(const std::string& id, int sig) {
        ::kill(nodes.at(id).pid, sig);
        if (sig == SIGKILL || sig == SIGTERM) {
            int status = 0;
            ::waitpid(nodes.at(id).pid, &status, 0);
            nodes.erase(id);
        }
    }
    std::string LogTail(const std::string& id) {
        std::string text = ReadFile(nodes.at(id).log);
        return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
    }

    // A figure from a node's /metrics (-1 when the node does not answer).
    double Metric(const std::string& id, const std::string& name) {
        core::HttpRequest r;
        r.url = "http://127.0.0.1:" + std::to_string(nodes.at(id).port) + "/metrics";
        r.timeout = std::chrono::milliseconds(3000);
        auto resp = http->Send(r);
        if (!resp || resp->status != 200) return -1;
        size_t at = resp->body.find("\n" + name + " ");
        if (at == std::string::npos) return -1;
        return std::stod(resp->body.substr(at + name.size() + 2));
    }
    int Healthz(const std::string& id) {
        core::HttpRequest r;
        r.url = "http://127.0.0.1:" + std::to_string(nodes.at(id).port) + "/healthz";
        r.timeout = std::chrono::milliseconds(3000);
        auto resp = http->Send(r);
        return resp ? resp->status : 0;
    }

    // Live leases per owner, by the database's clock.
    std::map<std::string, int> Owners() {
        auto c = Connect(db.admin);
        auto r = c->Exec(
            "SELECT owner, count(*) FROM channel_lease WHERE owner IS NOT NULL AND expires_at > "
            "now() GROUP BY owner");
        REQUIRE(r.ok());
        std::map<std::string, int> out;
        for (int i = 0; i < r->Rows(); ++i) out[r->Text(i, 0)] = static_cast<int>(r->Int(i, 1));
        return out;
    }
    int Channels() {
        auto c = Connect(db.admin);
        return std::stoi(Scalar(*c, "SELECT count(*) FROM channel_lease"));
    }
    // Every channel leased, to exactly the nodes in `ids`, each within one of the others.
    bool FairSplit(const std::vector<std::string>& ids) {
        int total = Channels();
        if (total == 0) return false;
        auto owners = Owners();
        if (owners.size() != ids.size()) return false;
        int sum = 0, lo = total, hi = 0;
        for (const auto& id : ids) {
            auto it = owners.find(id);
            if (it == owners.end()) return false;
            sum += it->second;
            lo = std::min(lo, it->second);
            hi = std::max(hi, it->second);
        }
        return sum == total && hi - lo <= 1;
    }

    json Stats() { return json::parse(sim.StatsJson()); }
    // graphsim's subscriptions that are active, by id.
    std::map<std::string, json> ActiveSubscriptions() {
        std::map<std::string, json> out;
        json subs = Stats()["notifications"]["subscriptions"];  // held: items() refers into it
        for (auto& [id, sub] : subs.items())
            if (sub["state"] == "active") out[id] = sub;
        return out;
    }
    std::string NowIso() { return core::FormatIso8601(core::NowMillis()); }
    // Waits until PostgreSQL holds every message graphsim created since `since`; then
    // checks that it holds each exactly once (no extra rows for them).
    void ExpectNoneMissing(const std::string& since, double seconds) {
        std::vector<std::string> missing;
        size_t created = 0;
        json all;  // the ground truth of the last look
        // The tenant stands still first: under steady traffic the newest messages are always
        // a poll away, so "none missing" would depend on when the look happens.
        REQUIRE(sim.SetTrafficPaused(true).empty());
        bool done = WaitFor(
            [&] {
                auto admin = Connect(db.admin);
                all = Stats()["messages"];
                missing = MissingInDb(all, *admin, since, &created);
                return missing.empty();
            },
            seconds);
        CHECK_MESSAGE(done, missing.size() << " of " << created << " messages missing, e.g. "
                                           << (missing.empty() ? "" : missing.front()));
        CHECK(created > 0);
        auto admin = Connect(db.admin);
        std::vector<core::PgParam> ids;
        for (const auto& m : all)
            if (m["createdDateTime"].get<std::string>() >= since) ids.push_back(m["id"]);
        CHECK(Scalar(*admin, "SELECT count(*) FROM messages WHERE id = ANY ($1::text[])",
                     {core::PgArray(ids)}) == std::to_string(ids.size()));
    }
};

}  // namespace cdeck::test
