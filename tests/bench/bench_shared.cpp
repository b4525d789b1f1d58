// The server tier's figures (issue: bench_shared), against a throw-away PostgreSQL 15
// cluster with fsync on, started here:
//  1. Ingest: the node's PgPersister in messages/s, next to the SQLite Persister (the
//     baseline) on the same rows in the same run. Median of 3 rounds each.
//  2. Wake-up latency from a node's commit to a follower's published snapshot, p50/p95/p99,
//     with 1, 10 and 30 followers connected (each its own connection and thread).
//  3. A desk's cold start from a database of 1M messages to the first populated snapshot.
//  4. Database connections and CPU per follower at idle.
// Prints figures, asserts nothing.
//   bench_shared [--quick] [ingest] [wake] [cold]   (all three parts when none is named)
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <mutex>
#include <thread>

#include "bench_util.hpp"
#include "persist/persister.hpp"
#include "pg/pg_follower.hpp"
#include "pg/pg_persister.hpp"
#include "pg/pg_schema.hpp"
#include "store/store.hpp"
#include "support/pg_cluster.hpp"

using namespace cdeck;
using namespace cdeck::core;
using bench::Median;
using bench::Percentile;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

std::string NewDb(test::PgCluster& cl, const std::string& name) {
    cl.CreateDatabase(name);
    auto c = PgConn::Connect(cl.AdminConninfo(name), "bench");
    if (!c || !PgMigrate(*c.value())) {
        std::fprintf(stderr, "cannot prepare database %s\n", name.c_str());
        std::exit(1);
    }
    return cl.AdminConninfo(name);
}

// The rows both persisters write: `channels` channels of `per` messages each.
std::vector<std::pair<std::string, std::vector<StoredMessagePtr>>> Rows(int channels, long per) {
    std::vector<std::pair<std::string, std::vector<StoredMessagePtr>>> out;
    UnixMillis base = NowMillis() - 86400000;
    for (int c = 0; c < channels; ++c) {
        std::vector<StoredMessagePtr> v;
        for (long i = 0; i < per; ++i)
            v.push_back(Store::MakeStored(bench::MakeMessage(c, c * per + i, base + i * 1000)));
        out.push_back({"19:channel" + std::to_string(c), std::move(v)});
    }
    return out;
}

template <typename P>
double Feed(P& p, const std::vector<std::pair<std::string, std::vector<StoredMessagePtr>>>& rows,
            size_t total) {
    auto t0 = Clock::now();
    for (const auto& [ch, msgs] : rows)
        for (size_t i = 0; i < msgs.size(); i += 500)
            p.OnMessages(ch, std::vector<StoredMessagePtr>(
                                 msgs.begin() + static_cast<long>(i),
                                 msgs.begin() + static_cast<long>(std::min(msgs.size(), i + 500))));
    p.Flush(std::chrono::minutes(10));
    return static_cast<double>(total) / Seconds(t0, Clock::now());
}

void BenchIngest(test::PgCluster& cl, bool quick) {
    int channels = 20;
    long per = quick ? 2000 : 10000;
    auto rows = Rows(channels, per);
    size_t total = static_cast<size_t>(channels * per);
    std::vector<double> pg, lite;
    for (int round = 0; round < 3; ++round) {
        std::string conninfo = NewDb(cl, "ingest" + std::to_string(round));
        {
            PgPersistOptions o;
            o.conninfo = conninfo;
            o.nodeId = "bench";
            PgPersister p(o);
            p.Start();
            pg.push_back(Feed(p, rows, total));
            p.Stop();
        }
        char tmpl[] = "/tmp/bench-shared-XXXXXX";
        std::string dir = mkdtemp(tmpl);
        {
            auto db = Database::Open(dir + "/bench.db");
            Persister p(std::move(db.value()), PersistOptions{100000, 2000});
            p.Start();
            lite.push_back(Feed(p, rows, total));
            p.Stop();
        }
        std::filesystem::remove_all(dir);
    }
    std::printf("1. ingest, %zu messages (fsync on for both), median of 3:\n", total);
    std::printf("   PostgreSQL (PgPersister, multi-row upserts): %9.0f msgs/s\n", Median(pg));
    std::printf("   SQLite (Persister, the baseline):             %9.0f msgs/s\n", Median(lite));
    std::printf(
        "   ratio PostgreSQL / SQLite:                    %9.2f   (goal: >= 20000 msgs/s)\n",
        Median(pg) / Median(lite));
}

void BenchWakeups(test::PgCluster& cl, bool quick) {
    std::printf("2. wake-up latency, node commit -> follower's published snapshot:\n");
    for (int followers : {1, 10, 30}) {
        std::string conninfo = NewDb(cl, "wake" + std::to_string(followers));
        Store nodeStore;
        PgPersistOptions o;
        o.conninfo = conninfo;
        o.nodeId = "bench-node";
        PgPersister p(o);
        nodeStore.SetObserver(&p);
        p.Start();
        Team t;
        t.id = "t";
        nodeStore.UpsertTeams({t});
        std::vector<Channel> chans;
        for (int c = 0; c < 10; ++c) {
            Channel ch;
            ch.id = "19:channel" + std::to_string(c);
            ch.teamId = "t";
            chans.push_back(ch);
        }
        nodeStore.UpsertChannels("t", chans);
        p.Flush(std::chrono::seconds(30));
        std::mutex mu;
        std::map<int64_t, Clock::time_point> committed;
        std::vector<std::map<int64_t, Clock::time_point>> applied(static_cast<size_t>(followers));
        p.SetCommitObserver([&](int64_t seq, const std::vector<std::string>&) {
            std::lock_guard lock(mu);
            committed[seq] = Clock::now();
        });
        std::vector<std::unique_ptr<Store>> stores;
        std::vector<std::unique_ptr<PgFollower>> fs;
        for (int f = 0; f < followers; ++f) {
            stores.push_back(std::make_unique<Store>());
            FollowOptions fo;
            fo.conninfo = conninfo;
            fs.push_back(std::make_unique<PgFollower>(*stores.back(), fo));
            fs.back()->SetAppliedCallback([&, f](int64_t seq) {
                std::lock_guard lock(mu);
                applied[static_cast<size_t>(f)].emplace(seq, Clock::now());
            });
            fs.back()->Start();
        }
        for (auto& f : fs)
            while (!f->Stats().loaded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        int commits = quick ? 30 : 100;
        UnixMillis base = NowMillis();
        for (int i = 0; i < commits; ++i) {
            nodeStore.MergeMessages("19:channel" + std::to_string(i % 10),
                                    {bench::MakeMessage(i % 10, i, base + i)}, false);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        p.Flush(std::chrono::seconds(30));
        std::this_thread::sleep_for(std::chrono::seconds(1));
        std::vector<double> ms;
        {
            std::lock_guard lock(mu);
            for (const auto& [seq, at] : committed)
                for (const auto& a : applied) {
                    auto it = a.lower_bound(seq);  // the first publish that covers this commit
                    if (it != a.end())
                        ms.push_back(
                            std::chrono::duration<double, std::milli>(it->second - at).count());
                }
        }
        std::printf(
            "   %2d follower%s: p50 %6.1f ms  p95 %6.1f ms  p99 %6.1f ms  (%zu samples)%s\n",
            followers, followers == 1 ? " " : "s", Percentile(ms, 0.5), Percentile(ms, 0.95),
            Percentile(ms, 0.99), ms.size(), followers == 30 ? "  (goal: p95 < 100 ms)" : "");
        for (auto& f : fs) f->Stop();
        p.Stop();
        nodeStore.SetObserver(nullptr);
    }
}

double CpuSeconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds used so far by the server processes behind `pids` (utime + stime).
double BackendCpu(const std::vector<std::string>& pids) {
    double total = 0;
    long tick = sysconf(_SC_CLK_TCK);
    for (const auto& pid : pids) {
        std::ifstream in("/proc/" + pid + "/stat");
        std::string s((std::istreambuf_iterator<char>(in)), {});
        size_t close = s.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(s.substr(close + 2));
        std::string f;
        for (int i = 3; i <= 15; ++i) {
            rest >> f;
            if (i == 14 || i == 15) total += std::stod(f) / static_cast<double>(tick);
        }
    }
    return total;
}

void BenchColdStartAndIdle(test::PgCluster& cl, bool quick) {
    long total = quick ? 100000 : 1000000;
    int channels = 100;
    std::string conninfo = NewDb(cl, "cold");
    auto c = PgConn::Connect(conninfo, "bench");
    auto t0 = Clock::now();
    // Filled with SQL for speed; the rows are the JSON the node writes.
    auto fill = c.value()->Exec(
        "WITH s AS (SELECT g, g % $2 AS ch FROM generate_series(1, $1::bigint) g) "
        "INSERT INTO messages (channel_id, id, created_ms, modified_ms, etag, json, seq) "
        "SELECT '19:channel' || ch, 'm' || g, 1700000000000 + g * 1000, 1700000000000 + g * "
        "1000, g::text, json_build_object('id', 'm' || g, 'etag', g::text, 'messageType', "
        "'message', 'createdDateTime', to_char(to_timestamp(1700000000 + g) AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'from', json_build_object('user', "
        "json_build_object('id', 'u' || (g % 300), 'displayName', 'User ' || (g % 300))), "
        "'body', json_build_object('contentType', 'html', 'content', '<p>Deploy <b>' || g || "
        "'</b> finished on all regions. Error rate is flat.</p>'))::text, 1 FROM s",
        {std::to_string(total), std::to_string(channels)});
    auto team = c.value()->Exec(
        "INSERT INTO teams (id, json, seq) VALUES ('t', '{\"id\":\"t\",\"displayName\":\"T\"}', "
        "1)");
    auto dir = c.value()->Exec(
        "INSERT INTO channels (id, team_id, position, json, seq) SELECT '19:channel' || g, "
        "'t', g, json_build_object('id', '19:channel' || g, 'displayName', 'C' || g)::text, 1 "
        "FROM generate_series(0, $1::int - 1) g",
        {std::to_string(channels)});
    if (!fill || !team || !dir) {
        std::fprintf(stderr, "fill failed: %s\n",
                     (!fill   ? fill.error()
                      : !team ? team.error()
                              : dir.error())
                         .message.c_str());
        std::exit(1);
    }
    (void)c.value()->Exec("ANALYZE");
    std::printf("3. cold start (%ld messages in %d channels, filled in %.1f s):\n", total, channels,
                Seconds(t0, Clock::now()));
    std::vector<double> first, whole;
    for (int round = 0; round < 3; ++round) {
        Store store;
        std::atomic<bool> populated{false};
        Clock::time_point firstAt{};
        store.SetWakeCallback([&] {
            if (!populated && store.Current()->sync.fromCache && store.Current()->totalMessages) {
                firstAt = Clock::now();
                populated = true;
            }
        });
        FollowOptions fo;
        fo.conninfo = conninfo;
        PgFollower f(store, fo);
        auto start = Clock::now();
        f.Start();
        while (!f.Stats().historyLoaded) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        whole.push_back(Seconds(start, Clock::now()));
        first.push_back(Seconds(start, firstAt));
        f.Stop();
        store.SetWakeCallback(nullptr);
    }
    std::printf("   first populated snapshot: %.2f s (median of 3; goal < 1.5 s)\n", Median(first));
    std::printf("   whole history loaded:     %.2f s (median of 3)\n", Median(whole));

    // 4. idle followers: connections and CPU (ours and the server's) per follower.
    int n = 30;
    std::vector<std::unique_ptr<Store>> stores;
    std::vector<std::unique_ptr<PgFollower>> fs;
    std::string small = NewDb(cl, "idle");
    for (int i = 0; i < n; ++i) {
        stores.push_back(std::make_unique<Store>());
        FollowOptions fo;
        fo.conninfo = small;
        fs.push_back(std::make_unique<PgFollower>(*stores.back(), fo));
        fs.back()->Start();
    }
    for (auto& f : fs)
        while (!f->Stats().loaded) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto admin = PgConn::Connect(cl.AdminConninfo("postgres"), "bench");
    auto pids = admin.value()->Exec(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'channeldeck desk'");
    std::vector<std::string> backend;
    for (int i = 0; pids && i < pids->Rows(); ++i) backend.push_back(pids->Text(i, 0));
    double window = quick ? 5 : 20;
    double cpu0 = CpuSeconds(), srv0 = BackendCpu(backend);
    std::this_thread::sleep_for(std::chrono::duration<double>(window));
    double cpu = CpuSeconds() - cpu0, srv = BackendCpu(backend) - srv0;
    std::printf("4. %d idle followers over %.0f s: %zu database connections (%.1f per follower)\n",
                n, window, backend.size(), static_cast<double>(backend.size()) / n);
    std::printf("   CPU per follower: %.3f%% of a core in the desk, %.3f%% in its server backend\n",
                100.0 * cpu / window / n, 100.0 * srv / window / n);
    for (auto& f : fs) f->Stop();
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::set<std::string> parts;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick")
            quick = true;
        else if (a == "ingest" || a == "wake" || a == "cold")
            parts.insert(a);
        else {
            std::fprintf(stderr, "bench_shared: unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    auto want = [&](const char* p) { return parts.empty() || parts.count(p) > 0; };
    test::PgCluster::Options po;
    po.fsync = true;  // real commits: the figures are what a deployment would see
    test::PgCluster cl(po);
    if (!cl.Running()) {
        std::fprintf(stderr, "PostgreSQL did not start: %s\n", cl.Error().c_str());
        return 1;
    }
    std::printf("bench_shared: PostgreSQL 15 (throw-away cluster, fsync on), %s\n",
                quick ? "quick" : "full");
    if (want("ingest")) BenchIngest(cl, quick);
    if (want("wake")) BenchWakeups(cl, quick);
    if (want("cold")) BenchColdStartAndIdle(cl, quick);
    return 0;
}
