// The sync engine against graphsim, policy against policy (issue: sync engine).
// Each run starts a fresh graphsim on loopback with the same scenario and seed, points the
// real client stack at it over HTTPS, runs the engine for a fixed wall time and reads
// both sides' figures: the engine's metrics and graphsim's throttling counters.
//
//   bench_sync [--quick] [--seconds S] [--drop-seconds S] [--json FILE]
//
// Runs steady-500-channels with `adaptive` and with `sdk`, then limit-drop (every limit
// halves for a while) with both. Prints a table per scenario and adaptive/sdk ratios.
// Asserts nothing (DESIGN.md section 8): these machines are shared and noisy.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "net/http.hpp"
#include "sim/graphsim.hpp"
#include "store/store.hpp"
#include "sync/sync_engine.hpp"
#include "util/log.hpp"

namespace {

using nlohmann::json;
using namespace cdeck;

std::string Read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Second {  // one sample a second
    double t = 0;
    uint64_t requests = 0, throttled = 0, useful = 0;
    uint64_t simThrottled = 0, simPenalties = 0;
};

struct RunResult {
    std::string scenario, policy;
    double seconds = 0;
    core::MetricsSnapshot m;
    uint64_t penalties = 0, simThrottled = 0;
    double steady429Share = 0;  // 429s / requests after every channel was backfilled
    double backfillSeconds = -1;
    double settleSeconds = -1;   // limit drop: from the drop to the last 429 of the drop
    double adaptedSeconds = -1;  // limit drop: until the first 15 s without a 429
    double regainSeconds = -1;   // limit restored: until sends reach 90% of the pre-drop rate
    double preDropSends = 0;
    std::vector<Second> timeline;
    std::map<std::string, uint64_t> throttledByKind;  // graphsim's view: app, class, team, channel
    core::Quantiles truth;  // freshness from ground truth, undelivered messages censored
    size_t liveCreated = 0, liveDelivered = 0;
};

RunResult Run(const std::string& scenarioName, const std::string& policy, double seconds,
              double dropAt, double dropFor, uint64_t seed) {
    RunResult r;
    r.scenario = scenarioName;
    r.policy = policy;
    r.seconds = seconds;
    json scenario =
        json::parse(Read(std::string(CDECK_ASSETS_DIR) + "/scenarios/" + scenarioName + ".json"));
    if (dropFor > 0)
        scenario["limit_schedule"] =
            json::array({{{"at_seconds", dropAt}, {"scale", 0.5}},
                         {{"at_seconds", dropAt + dropFor}, {"scale", 1.0}}});
    std::filesystem::path state =
        std::filesystem::temp_directory_path() / ("bench_sync." + std::to_string(getpid()));
    std::filesystem::create_directories(state);

    sim::GraphSim sim;
    sim::GraphSimOptions o;
    o.scenarioJson = scenario.dump();
    o.seed = seed;
    o.stateDir = state.string();
    o.generateTraffic = true;
    if (std::string err = sim.Start(o); !err.empty()) {
        std::fprintf(stderr, "graphsim: %s\n", err.c_str());
        std::exit(1);
    }
    sim::GraphSimInfo info = sim.Info();
    core::CurlOptions co;
    co.caFile = info.caFile;
    auto http = std::make_shared<core::CurlTransport>(co);
    auto tokens = std::make_shared<core::ClientCredentialsProvider>(
        core::ClientCredentialsConfig{info.authorityUrl, info.tenant, info.clientId,
                                      info.clientSecret},
        http);
    core::GraphClientConfig gc;
    gc.graphBaseUrl = info.graphUrl;
    auto client = std::make_shared<core::GraphClient>(gc, http, tokens);

    core::Store store;
    core::SyncSettings settings;
    settings.policy = policy;
    settings.workers = 4;
    settings.backfillMessages = 200;
    // The SDK baseline polls every channel round-robin at the interval that spends exactly
    // the GET-message quota (500 channels / 20 rps = 25 s): the same budget, unpaced.
    core::GraphLimits limits;
    int channels =
        scenario["generate"].value("teams", 1) * scenario["generate"].value("channels_per_team", 1);
    settings.pollIntervalSeconds = channels / limits.getMessage;
    core::SyncEngine engine(client, store, settings, false, limits);

    auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    const core::UnixMillis startedAt = core::NowMillis();
    engine.Start();
    // Ground truth for freshness: when each message first appeared in the store (sampled
    // every 250 ms), against graphsim's createdDateTime. Messages never delivered count
    // with their age at the end (censored), so a policy cannot look fresh by dropping work.
    std::unordered_map<std::string, core::UnixMillis> seenAt;
    auto sampleStore = [&] {
        core::UnixMillis now = core::NowMillis();
        auto snap = store.Current();
        for (const auto& [id, c] : snap->channels)
            for (const auto& m : c->messages) {
                seenAt.try_emplace(m->message.id, now);
                for (const auto& rep : m->replies) seenAt.try_emplace(rep->message.id, now);
            }
    };
    core::MetricsSnapshot atBackfill;
    uint64_t penaltiesAtBackfill = 0;
    while (elapsed() < seconds) {
        for (int q = 0; q < 4; ++q) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            sampleStore();
        }
        core::MetricsSnapshot m = engine.Metrics();
        json st = json::parse(sim.StatsJson());
        Second s;
        s.t = elapsed();
        s.requests = m.requests;
        s.throttled = m.throttled429;
        s.useful = m.useful;
        s.simThrottled = st["throttled_total"].get<uint64_t>();
        s.simPenalties = st["penalties_total"].get<uint64_t>();
        r.timeline.push_back(s);
        auto snap = store.Current();
        if (r.backfillSeconds < 0 && snap->sync.channelsTotal >= channels &&
            snap->sync.channelsBackfilled >= snap->sync.channelsTotal) {
            r.backfillSeconds = s.t;
            atBackfill = m;
            penaltiesAtBackfill = s.simPenalties;
        }
        if (r.timeline.size() % 15 == 0)
            std::fprintf(stderr, "  %-20s %-8s %5.0f s  %6llu req  %4llu 429  %4llu penalties\n",
                         scenarioName.c_str(), policy.c_str(), s.t,
                         static_cast<unsigned long long>(s.requests),
                         static_cast<unsigned long long>(s.throttled),
                         static_cast<unsigned long long>(s.simPenalties));
    }
    r.m = engine.Metrics();
    engine.Stop();
    json st = json::parse(sim.StatsJson());
    {
        const core::UnixMillis end = core::NowMillis();
        std::vector<double> fresh;
        for (const auto& m : st["messages"]) {
            auto created = core::ParseIso8601(m["createdDateTime"].get<std::string>());
            if (!created || *created < startedAt || *created > end) continue;
            auto it = seenAt.find(m["id"].get<std::string>());
            bool delivered = it != seenAt.end();
            r.liveCreated++;
            r.liveDelivered += delivered;
            fresh.push_back(
                std::max<double>(0, ((delivered ? it->second : end) - *created) / 1000.0));
        }
        std::sort(fresh.begin(), fresh.end());
        auto q = [&](double p) {
            return fresh.empty()
                       ? 0.0
                       : fresh[std::min(fresh.size() - 1, static_cast<size_t>(p * fresh.size()))];
        };
        r.truth = {fresh.size(), q(0.5), q(0.95), q(0.99), fresh.empty() ? 0.0 : fresh.back()};
    }
    r.penalties = st["penalties_total"].get<uint64_t>();
    r.simThrottled = st["throttled_total"].get<uint64_t>();
    for (auto& [k, v] : st["scopes"].items()) {
        std::string kind = k.substr(0, k.find(':'));
        r.throttledByKind[kind] += v["throttled"].get<uint64_t>();
    }
    (void)penaltiesAtBackfill;
    if (r.backfillSeconds >= 0 && r.m.requests > atBackfill.requests)
        r.steady429Share = static_cast<double>(r.m.throttled429 - atBackfill.throttled429) /
                           static_cast<double>(r.m.requests - atBackfill.requests);
    if (dropFor > 0) {
        // Pre-drop send rate: the 10 s before the drop.
        auto rateBetween = [&](double a, double b) {
            const Second* first = nullptr;
            const Second* last = nullptr;
            for (const auto& s : r.timeline) {
                if (s.t >= a && !first) first = &s;
                if (s.t <= b) last = &s;
            }
            if (!first || !last || last->t <= first->t) return 0.0;
            return (last->requests - first->requests) / (last->t - first->t);
        };
        r.preDropSends = rateBetween(dropAt - 10, dropAt);
        double lastThrottle = -1;
        for (size_t i = 1; i < r.timeline.size(); ++i) {
            const auto& s = r.timeline[i];
            if (s.t < dropAt || s.t > dropAt + dropFor) continue;
            if (s.throttled > r.timeline[i - 1].throttled) lastThrottle = s.t;
        }
        r.settleSeconds = lastThrottle < 0 ? 0 : lastThrottle - dropAt;
        for (size_t i = 0; i < r.timeline.size(); ++i) {
            const auto& s = r.timeline[i];
            if (s.t < dropAt || s.t + 15 > dropAt + dropFor) continue;
            size_t j = i;
            while (j + 1 < r.timeline.size() && r.timeline[j + 1].t <= s.t + 15) ++j;
            if (r.timeline[j].throttled == s.throttled) {
                r.adaptedSeconds = s.t - dropAt;
                break;
            }
        }
        for (size_t i = 0; i + 3 < r.timeline.size(); ++i) {
            const auto& s = r.timeline[i];
            if (s.t < dropAt + dropFor) continue;
            double rate = (r.timeline[i + 3].requests - s.requests) / (r.timeline[i + 3].t - s.t);
            if (rate >= 0.9 * r.preDropSends) {
                r.regainSeconds = s.t - (dropAt + dropFor);
                break;
            }
        }
    }
    sim.Stop();
    std::filesystem::remove_all(state);
    return r;
}

void PrintTable(const std::vector<RunResult>& runs) {
    std::printf("\n%-34s", "");
    for (const auto& r : runs) std::printf(" %14s", r.policy.c_str());
    std::printf("\n");
    auto row = [&](const char* name, auto f, const char* fmt) {
        std::printf("%-34s", name);
        for (const auto& r : runs) std::printf(fmt, f(r));
        std::printf("\n");
    };
    row(
        "useful/s (new data) / quota",
        [](const RunResult& r) { return r.m.UsefulFractionOfQuota(); }, " %14.3f");
    row(
        "2xx/s as a fraction of quota", [](const RunResult& r) { return r.m.OkFractionOfQuota(); },
        " %14.3f");
    row(
        "  (seconds with work queued)", [](const RunResult& r) { return r.m.busySeconds; },
        " %14.0f");
    row(
        "429 share, all", [](const RunResult& r) { return 100.0 * r.m.ThrottledShare(); },
        " %13.2f%%");
    row(
        "429 share, after backfill", [](const RunResult& r) { return 100.0 * r.steady429Share; },
        " %13.2f%%");
    row(
        "sent into a closed scope",
        [](const RunResult& r) { return static_cast<double>(r.penalties); }, " %14.0f");
    row(
        "live messages created (graphsim)",
        [](const RunResult& r) { return static_cast<double>(r.liveCreated); }, " %14.0f");
    row(
        "  delivered by the end of the run",
        [](const RunResult& r) { return static_cast<double>(r.liveDelivered); }, " %14.0f");
    row(
        "TRUE freshness p50 s (censored)", [](const RunResult& r) { return r.truth.p50; },
        " %14.2f");
    row(
        "TRUE freshness p95 s", [](const RunResult& r) { return r.truth.p95; }, " %14.2f");
    row(
        "TRUE freshness p99 s", [](const RunResult& r) { return r.truth.p99; }, " %14.2f");
    row(
        "TRUE freshness max s", [](const RunResult& r) { return r.truth.max; }, " %14.2f");
    std::printf("engine-measured, delivered messages only:\n");
    row(
        "freshness p50 s (all)", [](const RunResult& r) { return r.m.freshnessAll.p50; },
        " %14.2f");
    row(
        "freshness p95 s (all)", [](const RunResult& r) { return r.m.freshnessAll.p95; },
        " %14.2f");
    row(
        "freshness p99 s (all)", [](const RunResult& r) { return r.m.freshnessAll.p99; },
        " %14.2f");
    row(
        "freshness max s (all)", [](const RunResult& r) { return r.m.freshnessAll.max; },
        " %14.2f");
    row(
        "freshness p50/p95 s, hot", [](const RunResult& r) { return r.m.freshnessHot.p50; },
        " %14.2f");
    row(
        "", [](const RunResult& r) { return r.m.freshnessHot.p95; }, " %14.2f");
    row(
        "freshness p99/max s, hot", [](const RunResult& r) { return r.m.freshnessHot.p99; },
        " %14.2f");
    row(
        "", [](const RunResult& r) { return r.m.freshnessHot.max; }, " %14.2f");
    row(
        "freshness p50/p95 s, cold", [](const RunResult& r) { return r.m.freshnessCold.p50; },
        " %14.2f");
    row(
        "", [](const RunResult& r) { return r.m.freshnessCold.p95; }, " %14.2f");
    row(
        "freshness p99/max s, cold", [](const RunResult& r) { return r.m.freshnessCold.p99; },
        " %14.2f");
    row(
        "", [](const RunResult& r) { return r.m.freshnessCold.max; }, " %14.2f");
    row(
        "live messages measured",
        [](const RunResult& r) { return static_cast<double>(r.m.freshnessAll.count); }, " %14.0f");
    row(
        "requests per delivered message",
        [](const RunResult& r) { return r.m.RequestsPerMessage(); }, " %14.2f");
    row(
        "requests sent", [](const RunResult& r) { return static_cast<double>(r.m.requests); },
        " %14.0f");
    row(
        "backfill done after s", [](const RunResult& r) { return r.backfillSeconds; }, " %14.1f");
    row(
        "429s at class scope (graphsim)",
        [](const RunResult& r) {
            return static_cast<double>(
                r.throttledByKind.count("class") ? r.throttledByKind.at("class") : 0);
        },
        " %14.0f");
    row(
        "429s at team scope (graphsim)",
        [](const RunResult& r) {
            return static_cast<double>(
                r.throttledByKind.count("team") ? r.throttledByKind.at("team") : 0);
        },
        " %14.0f");
    row(
        "429s at channel scope (graphsim)",
        [](const RunResult& r) {
            return static_cast<double>(
                r.throttledByKind.count("channel") ? r.throttledByKind.at("channel") : 0);
        },
        " %14.0f");
    row(
        "RTT p50 ms", [](const RunResult& r) { return r.m.rttMs.p50; }, " %14.1f");
    if (runs.front().settleSeconds >= 0) {
        row(
            "drop: s to the last 429", [](const RunResult& r) { return r.settleSeconds; },
            " %14.1f");
        row(
            "drop: s until 15 s free of 429s", [](const RunResult& r) { return r.adaptedSeconds; },
            " %14.1f");
        row(
            "restore: s back to 90% rate", [](const RunResult& r) { return r.regainSeconds; },
            " %14.1f");
    }
}

double Ratio(double a, double b) {
    return b > 0 ? a / b : 0;
}

json ToJson(const RunResult& r) {
    json j = core::MetricsToJson(r.m);
    j["scenario"] = r.scenario;
    j["seconds"] = r.seconds;
    j["penalties"] = r.penalties;
    j["sim_throttled"] = r.simThrottled;
    j["steady_429_share"] = r.steady429Share;
    j["backfill_seconds"] = r.backfillSeconds;
    j["settle_seconds"] = r.settleSeconds;
    j["regain_seconds"] = r.regainSeconds;
    j["adapted_seconds"] = r.adaptedSeconds;
    j["true_freshness_seconds"] = {{"count", r.truth.count},
                                   {"p50", r.truth.p50},
                                   {"p95", r.truth.p95},
                                   {"p99", r.truth.p99},
                                   {"max", r.truth.max}};
    j["live_created"] = r.liveCreated;
    j["live_delivered"] = r.liveDelivered;
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    double seconds = 120, dropSeconds = 60;
    std::string jsonOut;
    uint64_t seed = 11;
    std::string only;  // "steady" or "drop": run one scenario
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick") {
            quick = true;
        } else if (a == "--seconds" && i + 1 < argc) {
            seconds = std::atof(argv[++i]);
        } else if (a == "--drop-seconds" && i + 1 < argc) {
            dropSeconds = std::atof(argv[++i]);
        } else if (a == "--json" && i + 1 < argc) {
            jsonOut = argv[++i];
        } else if (a == "--only" && i + 1 < argc) {
            only = argv[++i];
        } else if (a == "--seed" && i + 1 < argc) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr,
                         "usage: bench_sync [--quick] [--seconds S] [--drop-seconds S] "
                         "[--json FILE] [--seed N]\n");
            return 2;
        }
    }
    if (quick) {
        seconds = 60;
        dropSeconds = 20;
    }
    core::SetLogLevel(core::LogLevel::kError);
    std::printf("bench_sync: %s, %.0f s per steady run, seed %llu\n", quick ? "quick" : "full",
                seconds, static_cast<unsigned long long>(seed));

    std::vector<RunResult> steady, drop;
    if (only != "drop")
        for (const char* p : {"adaptive", "sdk"})
            steady.push_back(Run("steady-500-channels", p, seconds, 0, 0, seed));
    // The drop starts once the backfill is over, so the drop is measured on live polling.
    double dropAt = quick ? 30 : 60;
    if (only != "steady")
        for (const char* p : {"adaptive", "sdk"})
            drop.push_back(Run("limit-drop", p, dropAt + dropSeconds + (quick ? 20 : 40), dropAt,
                               dropSeconds, seed));

    if (!steady.empty()) {
        std::printf("\n== steady-500-channels (%.0f s each)", seconds);
        PrintTable(steady);
    }
    if (!drop.empty()) {
        std::printf("\n== limit-drop (limits halve at %.0f s for %.0f s)", dropAt, dropSeconds);
        PrintTable(drop);
    }
    if (!steady.empty()) {
        const auto& a = steady[0].m;
        const auto& s = steady[1].m;
        std::printf("\n== adaptive / sdk ratios (steady-500-channels)\n");
        std::printf("useful fraction of quota        %.2f\n",
                    Ratio(a.UsefulFractionOfQuota(), s.UsefulFractionOfQuota()));
        std::printf("2xx fraction of quota           %.2f\n",
                    Ratio(a.OkFractionOfQuota(), s.OkFractionOfQuota()));
        std::printf("429 share                       %.3f\n",
                    Ratio(a.ThrottledShare(), s.ThrottledShare()));
        std::printf("TRUE freshness p50 (censored)   %.3f\n",
                    Ratio(steady[0].truth.p50, steady[1].truth.p50));
        std::printf("TRUE freshness p95 (censored)   %.3f   (goal <= 0.5)\n",
                    Ratio(steady[0].truth.p95, steady[1].truth.p95));
        std::printf("TRUE freshness p99 (censored)   %.3f\n",
                    Ratio(steady[0].truth.p99, steady[1].truth.p99));
        std::printf("freshness p50 (all)             %.3f\n",
                    Ratio(a.freshnessAll.p50, s.freshnessAll.p50));
        std::printf("freshness p95 (delivered only) %.3f\n",
                    Ratio(a.freshnessAll.p95, s.freshnessAll.p95));
        std::printf("freshness p99 (all)             %.3f\n",
                    Ratio(a.freshnessAll.p99, s.freshnessAll.p99));
        std::printf("freshness p95 (hot)             %.3f\n",
                    Ratio(a.freshnessHot.p95, s.freshnessHot.p95));
        std::printf("freshness p95 (cold)            %.3f\n",
                    Ratio(a.freshnessCold.p95, s.freshnessCold.p95));
        std::printf("requests per delivered message  %.3f\n",
                    Ratio(a.RequestsPerMessage(), s.RequestsPerMessage()));
        std::printf("penalties (sent into closed)    %llu vs %llu\n",
                    static_cast<unsigned long long>(steady[0].penalties),
                    static_cast<unsigned long long>(steady[1].penalties));
    }
    if (!drop.empty()) {
        std::printf(
            "limit-drop: 15 s free of 429s after %.1f s vs %.1f s; back to 90%% rate %.1f s vs "
            "%.1f "
            "s after the restore\n",
            drop[0].adaptedSeconds, drop[1].adaptedSeconds, drop[0].regainSeconds,
            drop[1].regainSeconds);
        std::printf(
            "limit-drop: 429s %llu vs %llu; penalties %llu vs %llu; to last 429 %.1f s vs %.1f s\n",
            static_cast<unsigned long long>(drop[0].m.throttled429),
            static_cast<unsigned long long>(drop[1].m.throttled429),
            static_cast<unsigned long long>(drop[0].penalties),
            static_cast<unsigned long long>(drop[1].penalties), drop[0].settleSeconds,
            drop[1].settleSeconds);
    }
    if (!jsonOut.empty()) {
        json j = {{"steady", json::array()}, {"limit_drop", json::array()}};
        for (const auto& r : steady) j["steady"].push_back(ToJson(r));
        for (const auto& r : drop) j["limit_drop"].push_back(ToJson(r));
        std::ofstream(jsonOut) << j.dump(2) << "\n";
    }
    return 0;
}
