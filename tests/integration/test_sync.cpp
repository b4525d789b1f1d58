#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "integration/sim_fixture.hpp"
#include <map>
#include <set>

#include "metrics/metrics_server.hpp"
#include "store/store.hpp"
#include "sync/sync_engine.hpp"
#include "util/log.hpp"

using namespace cdeck::core;
using cdeck::test::SimFixture;

using cdeck::test::WaitFor;

TEST_CASE("the sync engine fills the store with the whole demo tenant") {
    SimFixture f(cdeck::test::Documented());
    auto stats = f.Stats();
    Store store;
    SyncSettings settings;
    settings.backfillMessages = 10000;
    settings.pollIntervalSeconds = 1.0;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    bool done = WaitFor(
        [&] {
            auto s = store.Current();
            return s->sync.channelsTotal > 0 && s->sync.channelsBackfilled == s->sync.channelsTotal;
        },
        60);
    engine.Stop();
    REQUIRE(done);
    auto snap = store.Current();
    CHECK(snap->teams.size() == 7);
    CHECK(snap->channels.size() == stats["channels"].size());
    CHECK(snap->totalMessages == stats["messages_created"].get<uint64_t>());
    CHECK(snap->sync.signedIn);
    CHECK(snap->sync.requests > 0);
    for (const auto& [id, c] : snap->channels) {
        CHECK(c->backfilled);
        CHECK(c->lastSyncOk > 0);
        CHECK(c->lastError.empty());
    }
}

TEST_CASE("new messages appear while the engine polls, and a post round-trips through a command") {
    SimFixture f(cdeck::test::Documented(true, 20.0));  // ~8 messages a second
    Store store;
    SyncSettings settings;
    settings.pollIntervalSeconds = 0.5;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    uint64_t before = store.Current()->totalMessages;
    REQUIRE(WaitFor([&] { return store.Current()->totalMessages >= before + 5; }, 30));

    auto snap = store.Current();
    const auto& team = snap->teams.front();
    std::string channelId = team->channelIds.front();
    std::atomic<bool> done{false};
    std::string postedId;
    Command c;
    c.kind = Command::Kind::kPostMessage;
    c.teamId = team->team.id;
    c.channelId = channelId;
    c.message.content = "posted through the engine";
    c.message.contentType = "text";
    c.done = [&](const Result<ChatMessage>& r) {
        if (r.ok()) postedId = r->id;
        done = true;
    };
    engine.Submit(std::move(c));
    REQUIRE(WaitFor([&] { return done.load(); }, 20));
    REQUIRE_FALSE(postedId.empty());
    CHECK(WaitFor(
        [&] {
            const ChannelData* cd = store.Current()->FindChannel(channelId);
            for (const auto& m : cd->messages)
                if (m->message.id == postedId) return m->text.text == "posted through the engine";
            return false;
        },
        10));
    engine.Stop();
}

TEST_CASE("no token, secret or Authorization header reaches the log during sign-in and sync") {
    std::vector<std::string> lines;
    std::mutex m;
    LogLevel prev = GetLogLevel();
    SetLogLevel(LogLevel::kDebug);
    auto old = SetLogSink([&](LogLevel, std::string_view l) {
        std::lock_guard lock(m);
        lines.emplace_back(l);
    });
    {
        SimFixture f(cdeck::test::Documented());
        Store store;
        SyncSettings settings;
        SyncEngine engine(f.client, store, settings, false);
        engine.Start();
        WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60);
        engine.Stop();
        auto token = f.tokens->Token(false);
        REQUIRE(token.ok());
        SetLogSink(std::move(old));
        SetLogLevel(prev);
        REQUIRE_FALSE(lines.empty());
        for (const auto& l : lines) {
            CAPTURE(l);
            CHECK(l.find(token->token) == std::string::npos);
            CHECK(l.find(token->token.substr(0, 24)) == std::string::npos);
            CHECK(l.find(f.info.clientSecret) == std::string::npos);
            CHECK(l.find("Bearer ey") == std::string::npos);
        }
    }
}

namespace {

// Every message graphsim has created in `channelId` is in the store (roots and replies).
bool StoreHasAll(const Store& store, const nlohmann::json& stats, const std::string& channelId,
                 size_t* missing = nullptr) {
    auto snap = store.Current();
    const ChannelData* cd = snap->FindChannel(channelId);
    std::set<std::string> ids;
    if (cd)
        for (const auto& m : cd->messages) {
            ids.insert(m->message.id);
            for (const auto& r : m->replies) ids.insert(r->message.id);
        }
    size_t miss = 0;
    for (const auto& m : stats["messages"])
        if (m["channelId"] == channelId && !ids.count(m["id"].get<std::string>())) ++miss;
    if (missing) *missing = miss;
    return miss == 0;
}

// How many of the messages graphsim created in [from, to) are not in the store.
size_t MissingCreatedBetween(const SimFixture& f, const Store& store, UnixMillis from,
                             UnixMillis to) {
    nlohmann::json stats = f.Stats();
    nlohmann::json picked = nlohmann::json::array();
    std::set<std::string> channels;
    for (const auto& m : stats["messages"]) {
        auto at = ParseIso8601(m["createdDateTime"].get<std::string>());
        if (!at || *at < from || *at >= to) continue;
        picked.push_back(m);
        channels.insert(m["channelId"]);
    }
    stats["messages"] = std::move(picked);
    size_t missing = 0;
    for (const auto& c : channels) {
        size_t miss = 0;
        StoreHasAll(store, stats, c, &miss);
        missing += miss;
    }
    return missing;
}

}  // namespace

TEST_CASE("a burst in one channel is picked up within seconds, with nothing missing") {
    cdeck::test::SimOptions o = cdeck::test::Documented(true, 0.2);
    o.scenario = [](nlohmann::json& s) {
        s["bursts"] = nlohmann::json::array(
            {{{"channel_rank", 2}, {"at_seconds", 6}, {"messages", 30}, {"over_seconds", 3}}});
    };
    SimFixture f(o);
    Store store;
    SyncSettings settings;
    settings.maxPollIntervalSeconds = 10;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    const UnixMillis started = NowMillis();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 30));
    // The burst channel: the one with the most messages created since the engine started
    // (graphsim's ground truth also lists the history it generated at start).
    std::string burst;
    REQUIRE(WaitFor(
        [&] {
            std::map<std::string, int> live;
            nlohmann::json stats = f.Stats();  // keep it alive for the loop
            for (const auto& m : stats["messages"]) {
                auto at = ParseIso8601(m["createdDateTime"].get<std::string>());
                if (at && *at >= started && ++live[m["channelId"]] >= 30) burst = m["channelId"];
            }
            return !burst.empty();
        },
        30));
    // The engine sees the channel heat up and catches every message.
    size_t missing = 0;
    CHECK(WaitFor([&] { return StoreHasAll(store, f.Stats(), burst, &missing); }, 20));
    CAPTURE(missing);
    MetricsSnapshot m = engine.Metrics();
    engine.Stop();
    CHECK(m.freshnessAll.count >= 25);
    CHECK(m.freshnessAll.p50 < 10.0);  // seconds from createdDateTime to the store
    CHECK(m.throttled429 == 0);
}

TEST_CASE("a limit drop is survived without a request into a closed scope") {
    cdeck::test::SimOptions o = cdeck::test::Documented(true, 1.0);
    o.scenario = [](nlohmann::json& s) {
        // Every limit falls to a fifth for 8 s once the backfill is under way.
        s["limit_schedule"] = nlohmann::json::array(
            {{{"at_seconds", 3}, {"scale", 0.2}}, {{"at_seconds", 11}, {"scale", 1.0}}});
    };
    SimFixture f(o);
    Store store;
    SyncSettings settings;
    // One worker: no request is ever in flight when a 429 arrives, so graphsim's penalty
    // count measures exactly what the engine chose to send into a closed scope.
    settings.workers = 1;
    settings.minPollIntervalSeconds = 0.25;
    // Every channel is polled at least every 5 s, so "new messages keep arriving" below is
    // decided by the recovery, not by when a quiet channel's turn comes (up to 35 s).
    settings.maxPollIntervalSeconds = 5;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor([&] { return f.Stats()["throttled_total"].get<int>() > 0; }, 20));
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    std::this_thread::sleep_for(std::chrono::seconds(2));
    auto stats = f.Stats();
    CHECK(stats["penalties_total"].get<int>() == 0);
    // And it recovered: new messages keep arriving after the limits came back.
    uint64_t before = store.Current()->totalMessages;
    CHECK(WaitFor([&] { return store.Current()->totalMessages >= before + 3; }, 30));
    MetricsSnapshot m = engine.Metrics();
    engine.Stop();
    CHECK(m.throttled429 >= 1);
    CHECK(m.retries >= 1);
}

TEST_CASE("an expired delta token is answered with a resync, and syncing carries on") {
    cdeck::test::SimOptions o = cdeck::test::Documented(true, 2.0);
    o.scenario = [](nlohmann::json& s) { s["delta_token_lifetime_seconds"] = 8; };
    SimFixture f(o);
    Store store;
    SyncSettings settings;
    settings.maxPollIntervalSeconds = 3;
    settings.minPollIntervalSeconds = 0.5;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor(
        [&] {
            auto s = store.Current();
            if (s->sync.phase != "live") return false;
            for (const auto& [id, c] : s->channels)
                if (c->deltaLink.empty()) return false;
            return true;
        },
        60));
    // Pause everything for longer than a token lives, then resume.
    Command pause;
    pause.kind = Command::Kind::kPauseAll;
    pause.flag = true;
    engine.Submit(pause);
    std::this_thread::sleep_for(std::chrono::milliseconds(9000));
    uint64_t before = store.Current()->totalMessages;
    pause.flag = false;
    engine.Submit(pause);
    CHECK(WaitFor([&] { return engine.Metrics().resyncs >= 1; }, 20));
    // The resync found what arrived while paused, and later rounds keep going: every
    // message created before the resume reaches the store.
    CHECK(WaitFor([&] { return store.Current()->totalMessages > before; }, 20));
    const UnixMillis resumed = NowMillis();
    size_t missing = 0;
    CHECK(
        WaitFor([&] { return (missing = MissingCreatedBetween(f, store, 0, resumed)) == 0; }, 20));
    CAPTURE(missing);
    engine.Stop();
}

TEST_CASE("the engine serves Prometheus metrics on loopback when asked") {
    SimFixture f(cdeck::test::Documented());
    Store store;
    SyncEngine engine(f.client, store, SyncSettings{}, false);
    MetricsServer server;
    REQUIRE(server.Start(0, [&] { return MetricsToPrometheus(engine.Metrics()); }).ok());
    engine.Start();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    cdeck::core::CurlTransport plain(cdeck::core::CurlOptions{});
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server.Port()) + "/metrics";
    auto r = plain.Send(req);
    engine.Stop();
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->Header("content-type").find("text/plain") == 0);
    CHECK(r->body.find("channeldeck_requests_total{outcome=\"2xx\"}") != std::string::npos);
    CHECK(r->body.find("channeldeck_requests_total{outcome=\"2xx\"} 0\n") == std::string::npos);
    req.url = "http://127.0.0.1:" + std::to_string(server.Port()) + "/other";
    auto nf = plain.Send(req);
    REQUIRE(nf.ok());
    CHECK(nf->status == 404);
}

TEST_CASE("with $batch packing, polls of many teams share one request and nothing is missed") {
    SimFixture f(cdeck::test::Documented(true, 2.0));
    Store store;
    SyncSettings settings;
    settings.batch = true;
    settings.maxPollIntervalSeconds = 3;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    const UnixMillis live = NowMillis();
    std::this_thread::sleep_for(std::chrono::seconds(6));
    auto stats = f.Stats();
    CAPTURE(stats["requests"].dump());
    // graphsim counts every item against its class; the engine counts HTTP exchanges.
    uint64_t items = stats["requests"].value("get_message", 0) +
                     stats["requests"].value("get_channels", 0) +
                     stats["requests"].value("get_teams", 0);
    MetricsSnapshot m = engine.Metrics();
    CHECK(stats["requests"].value("batch", 0) >= 1);
    CHECK(m.requests < items);
    // Everything created up to a moment ago arrived through the batched polls.
    const UnixMillis cut = NowMillis() - 4000;
    size_t missing = 0;
    CHECK(WaitFor([&] { return (missing = MissingCreatedBetween(f, store, live, cut)) == 0; }, 15));
    CAPTURE(missing);
    engine.Stop();
}

// Standalone against a real tenant (SERVER.md, "Polling etiquette"): no poll loop. Channels
// off screen share a small request budget; a channel coming on screen is fetched once.
TEST_CASE(
    "etiquette: background polls stay within the budget, a channel on screen is fetched "
    "on demand") {
    SimFixture f(cdeck::test::Documented(true, 5.0));
    Store store;
    SyncSettings settings;
    settings.schedule = "etiquette";
    settings.backgroundRequestsPerMinute = 30;  // half a request a second for all channels
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    std::this_thread::sleep_for(std::chrono::seconds(3));  // replies of the backfill settle
    auto reads = [&] { return f.Stats()["requests"].value("get_message", uint64_t{0}); };
    uint64_t before = reads();
    std::this_thread::sleep_for(std::chrono::seconds(20));
    uint64_t background = reads() - before;
    CHECK(background <= 15);  // 30 a minute for 20 s is 10, plus a few reply fetches
    auto snap = store.Current();
    CHECK(snap->sync.etiquette);
    double expected = static_cast<double>(snap->channels.size()) / 0.5;
    CHECK(snap->sync.backgroundRefreshSeconds == doctest::Approx(expected).epsilon(0.2));
    // A channel coming on screen is fetched at once, not at its background turn.
    std::string channelId = snap->teams.front()->channelIds.front();
    UnixMillis lastOk = snap->FindChannel(channelId)->lastSyncOk;
    Command show;
    show.kind = Command::Kind::kSetVisible;
    show.channelIds = {channelId};
    engine.Submit(show);
    CHECK(WaitFor(
        [&] {
            SnapshotPtr s = store.Current();
            return s->FindChannel(channelId)->lastSyncOk > lastOk;
        },
        10));
    engine.Stop();
}

TEST_CASE("etiquette is the default against a real Graph endpoint, quota against graphsim") {
    auto real = ParseConfig(R"({"tenant": "contoso.onmicrosoft.com", "client_id": "x"})");
    REQUIRE(real.ok());
    CHECK(real->sync.schedule == "etiquette");
    auto sim = ParseConfig(R"({"graph_url": "https://127.0.0.1:8443/v1.0",
                               "authority_url": "https://127.0.0.1:8443"})");
    REQUIRE(sim.ok());
    CHECK(sim->sync.schedule == "quota");
    auto explicitQuota = ParseConfig(
        R"({"tenant": "contoso.onmicrosoft.com", "client_id": "x", "sync": {"schedule": "quota"}})");
    REQUIRE(explicitQuota.ok());
    CHECK(explicitQuota->sync.schedule == "quota");
    CHECK_FALSE(ParseConfig(R"({"sync": {"schedule": "sometimes"}})").ok());
}

namespace {

// Half the channels are this node's (as if another node held the rest's leases).
struct HalfOwnership final : ChannelOwnership {
    std::set<std::string> mine;
    bool OwnsChannel(const std::string& id) const override { return mine.count(id) != 0; }
    bool Leader() const override { return true; }
};

// Counts what the engine takes; refuses everything until `open`.
struct CountingBudget final : SharedBudget {
    std::atomic<int> granted{0}, refused{0};
    std::atomic<bool> open{false};
    UnixMillis Take(const std::vector<std::string>&, double) override {
        if (!open) {
            ++refused;
            return 50;
        }
        ++granted;
        return 0;
    }
    void Block(const std::vector<std::string>&, UnixMillis) override {}
    void SetWake(std::function<void()>) override {}
};

}  // namespace

TEST_CASE(
    "several nodes: the engine syncs only the channels it holds, and sends nothing the "
    "shared budget refuses") {
    SimFixture f(cdeck::test::Documented());
    auto stats = f.Stats();
    auto owned = std::make_shared<HalfOwnership>();
    int i = 0;
    for (const auto& c : stats["channels"])
        if (i++ % 2 == 0) owned->mine.insert(c["id"].get<std::string>());
    auto budget = std::make_shared<CountingBudget>();
    Store store;
    SyncSettings settings;
    settings.backfillMessages = 10000;
    EngineOptions eo;
    eo.ownership = owned;
    eo.budget = budget;
    SyncEngine engine(f.client, store, settings, false, GraphLimits{}, eo);
    engine.Start();
    // Closed budget: not one request goes out (the sign-in is not a Graph request).
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(f.Stats()["requests_total"].get<uint64_t>() == stats["requests_total"].get<uint64_t>());
    CHECK(budget->refused.load() > 0);
    CHECK(budget->granted.load() == 0);
    budget->open = true;
    bool done = WaitFor(
        [&] {
            auto s = store.Current();
            for (const auto& id : owned->mine) {
                const ChannelData* c = s->FindChannel(id);
                if (!c || !c->backfilled) return false;
            }
            return true;
        },
        60);
    std::this_thread::sleep_for(std::chrono::seconds(2));
    engine.Stop();
    REQUIRE(done);
    auto snap = store.Current();
    CHECK(snap->channels.size() == stats["channels"].size());  // the leader discovered them all
    for (const auto& [id, c] : snap->channels) {
        if (owned->mine.count(id)) continue;
        CHECK(c->messages.empty());  // another node's: never fetched
        CHECK_FALSE(c->backfilled);
    }
    // Every Graph request after the opening took its token.
    uint64_t sent =
        f.Stats()["requests_total"].get<uint64_t>() - stats["requests_total"].get<uint64_t>();
    CHECK(sent > 0);
    CHECK(static_cast<uint64_t>(budget->granted.load()) >= sent - 1);
}
