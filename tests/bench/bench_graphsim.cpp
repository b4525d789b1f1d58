// graphsim capacity: concurrent TLS keep-alive connections, requests per second, latency,
// and memory per stored message. Prints figures; asserts nothing (DESIGN.md section 8).
//   bench_graphsim [--quick] [--connections N] [--seconds S] [--messages N]
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sim/graphsim.hpp"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

long RssKiB() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
}

std::string Read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

size_t Sink(char*, size_t s, size_t n, void* user) {
    *static_cast<size_t*>(user) += s * n;
    return s * n;
}

struct LoadResult {
    double rps = 0;
    double p50 = 0, p99 = 0;
    long ok = 0, failed = 0;
    int connections = 0;
};

// N easy handles on one multi handle: each is one keep-alive TLS connection issuing GETs
// back to back for `seconds`.
LoadResult Load(const cdeck::sim::GraphSimInfo& info, const std::string& token,
                const std::vector<std::string>& paths, int n, double seconds) {
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(n));
    struct Conn {
        CURL* easy;
        curl_slist* headers;
        size_t bytes;
        Clock::time_point started;
    };
    std::vector<Conn> conns(n);
    std::mt19937 rng(42);
    std::string auth = "Authorization: Bearer " + token;
    auto arm = [&](Conn& c) {
        std::string url = info.graphUrl + paths[rng() % paths.size()];
        curl_easy_setopt(c.easy, CURLOPT_URL, url.c_str());
        c.started = Clock::now();
        curl_multi_add_handle(multi, c.easy);
    };
    for (auto& c : conns) {
        c.easy = curl_easy_init();
        c.headers = curl_slist_append(nullptr, auth.c_str());
        curl_easy_setopt(c.easy, CURLOPT_HTTPHEADER, c.headers);
        curl_easy_setopt(c.easy, CURLOPT_CAINFO, info.caFile.c_str());
        curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, Sink);
        curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &c.bytes);
        curl_easy_setopt(c.easy, CURLOPT_PRIVATE, &c);
        curl_easy_setopt(c.easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(c.easy, CURLOPT_MAXAGE_CONN, 600L);
        arm(c);
    }
    LoadResult r;
    r.connections = n;
    std::vector<double> lat;
    auto start = Clock::now();
    auto warm = start + std::chrono::milliseconds(
                            static_cast<long long>(std::min(2.0, seconds / 5) * 1000));
    auto end = warm + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    int running = 0;
    while (Clock::now() < end) {
        curl_multi_perform(multi, &running);
        int queued;
        while (CURLMsg* m = curl_multi_info_read(multi, &queued)) {
            if (m->msg != CURLMSG_DONE) continue;
            Conn* c;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &c);
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            auto now = Clock::now();
            if (now >= warm) {
                if (m->data.result == CURLE_OK && code == 200) {
                    ++r.ok;
                    lat.push_back(
                        std::chrono::duration<double, std::milli>(now - c->started).count());
                } else {
                    ++r.failed;
                }
            }
            curl_multi_remove_handle(multi, m->easy_handle);
            arm(*c);
        }
        curl_multi_poll(multi, nullptr, 0, 10, nullptr);
    }
    r.rps = r.ok / seconds;
    std::sort(lat.begin(), lat.end());
    if (!lat.empty()) {
        r.p50 = lat[lat.size() / 2];
        r.p99 = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)];
    }
    for (auto& c : conns) {
        curl_multi_remove_handle(multi, c.easy);
        curl_easy_cleanup(c.easy);
        curl_slist_free_all(c.headers);
    }
    curl_multi_cleanup(multi);
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    int connections = 200;
    double seconds = 10;
    long messages = 1000000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick")
            quick = true;
        else if (a == "--connections" && i + 1 < argc)
            connections = std::atoi(argv[++i]);
        else if (a == "--seconds" && i + 1 < argc)
            seconds = std::atof(argv[++i]);
        else if (a == "--messages" && i + 1 < argc)
            messages = std::atol(argv[++i]);
    }
    if (quick) {
        seconds = 3;
        messages = 100000;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    std::string assets = CDECK_ASSETS_DIR;
    char tmpl[] = "/tmp/bench-graphsim-XXXXXX";
    std::string state = mkdtemp(tmpl);

    // ---- throughput ----
    {
        cdeck::sim::GraphSim sim;
        cdeck::sim::GraphSimOptions o;
        o.scenarioPath = assets + "/scenarios/steady-500-channels.json";
        o.stateDir = state;
        o.generateTraffic = false;
        o.limitsScale = 1e6;  // measure the server, not the throttling model
        o.latencyMedianMs = 0;
        o.serverThreads = connections + 16;
        if (auto err = sim.Start(o); !err.empty()) {
            std::fprintf(stderr, "bench_graphsim: %s\n", err.c_str());
            return 1;
        }
        auto info = sim.Info();
        // A token, and the list of channel paths, through plain libcurl.
        std::string tokenBody;
        {
            CURL* c = curl_easy_init();
            std::string url = info.authorityUrl + "/" + info.tenant + "/oauth2/v2.0/token";
            std::string form = "grant_type=client_credentials&client_id=" + info.clientId +
                               "&client_secret=" + info.clientSecret +
                               "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
            curl_easy_setopt(c, CURLOPT_URL, url.c_str());
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, form.c_str());
            curl_easy_setopt(c, CURLOPT_CAINFO, info.caFile.c_str());
            curl_easy_setopt(
                c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
                    static_cast<std::string*>(u)->append(p, s * n);
                    return s * n;
                });
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &tokenBody);
            curl_easy_perform(c);
            curl_easy_cleanup(c);
        }
        std::string token = json::parse(tokenBody)["access_token"];
        json stats = json::parse(sim.StatsJson());
        std::vector<std::string> paths;
        for (const auto& ch : stats["channels"]) {
            std::string id = ch["id"];
            std::string enc;
            for (char c : id)
                enc += c == ':'   ? std::string("%3A")
                       : c == '@' ? std::string("%40")
                                  : std::string(1, c);
            paths.push_back("/teams/" + ch["teamId"].get<std::string>() + "/channels/" + enc +
                            "/messages?$top=20");
        }
        std::printf(
            "graphsim throughput (steady-500-channels, GET messages $top=20, TLS keep-alive, %d "
            "s)\n",
            static_cast<int>(seconds));
        std::printf("%-12s %10s %10s %10s %8s\n", "connections", "req/s", "p50 ms", "p99 ms",
                    "failed");
        std::vector<int> levels =
            quick ? std::vector<int>{connections} : std::vector<int>{16, 64, connections};
        for (int n : levels) {
            std::vector<double> rpsRuns;
            LoadResult last;
            for (int run = 0; run < (quick ? 1 : 3); ++run) {
                last = Load(info, token, paths, n, seconds);
                rpsRuns.push_back(last.rps);
            }
            std::sort(rpsRuns.begin(), rpsRuns.end());
            std::printf("%-12d %10.0f %10.1f %10.1f %8ld   (median of %zu runs)\n", n,
                        rpsRuns[rpsRuns.size() / 2], last.p50, last.p99, last.failed,
                        rpsRuns.size());
        }
        sim.Stop();
    }

    // ---- memory per stored message ----
    {
        long before = RssKiB();
        json sc = json::parse(Read(assets + "/scenarios/steady-500-channels.json"));
        int channels = 500;
        int perChannel = static_cast<int>(messages / channels);
        sc["traffic"]["backfill_min"] = perChannel;
        sc["traffic"]["backfill_max"] = perChannel;
        sc["traffic"]["history_hours"] = 24 * 60;
        cdeck::sim::GraphSim sim;
        cdeck::sim::GraphSimOptions o;
        o.scenarioJson = sc.dump();
        o.stateDir = state;
        o.generateTraffic = false;
        auto t0 = Clock::now();
        if (auto err = sim.Start(o); !err.empty()) {
            std::fprintf(stderr, "bench_graphsim: %s\n", err.c_str());
            return 1;
        }
        double secs = std::chrono::duration<double>(Clock::now() - t0).count();
        long after = RssKiB();
        long created = json::parse(sim.StatsJson())["messages_created"];
        std::printf(
            "\ngraphsim memory: %ld messages stored, RSS +%.1f MiB (%.0f bytes/message), generated "
            "in %.1f s\n",
            created, (after - before) / 1024.0, (after - before) * 1024.0 / std::max(1L, created),
            secs);
        sim.Stop();
    }
    std::string cmd = "rm -rf '" + state + "'";
    if (std::system(cmd.c_str()) != 0)
        std::fprintf(stderr, "bench_graphsim: could not remove %s\n", state.c_str());
    curl_global_cleanup();
    return 0;
}
