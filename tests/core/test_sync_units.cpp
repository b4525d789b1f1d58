// Sync engine parts on an injected clock: bucket arithmetic, Retry-After gates, the
// adaptive rate, sqrt(lambda) allocation, priorities, the retry budget, the SDK baseline's
// retry timing, and the engine itself driven one job at a time over a scripted transport.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include "graph/graph_client.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "sync/pacer.hpp"
#include "sync/planner.hpp"
#include "sync/sync_engine.hpp"

using namespace cdeck::core;

TEST_CASE("pacer: a bucket grants one second of tokens, then one per 1/rate") {
    Pacer p;
    p.SetRate("s", 10);
    UnixMillis t = 1'000'000;
    for (int i = 0; i < 10; ++i) CHECK(p.Acquire({"s"}, t).wait == 0);
    Pacer::Grant g = p.Acquire({"s"}, t);
    CHECK(g.wait == 100);
    CHECK(g.scope == "s");
    CHECK_FALSE(g.gated);
    CHECK(p.Acquire({"s"}, t + 99).wait > 0);
    CHECK(p.Acquire({"s"}, t + 100).wait == 0);
}

TEST_CASE("pacer: all scopes or none, and a batch of k costs k") {
    Pacer p;
    p.SetRate("a", 100);
    p.SetRate("b", 5);
    UnixMillis t = 5000;
    CHECK(p.Acquire({"a", "b"}, t, 5).wait == 0);  // b is now empty
    Pacer::Grant g = p.Acquire({"a", "b"}, t, 1);
    CHECK(g.scope == "b");
    CHECK(g.wait == 200);
    // "a" was not charged for the refused request: 95 left, so 95 singles pass on a alone.
    int granted = 0;
    while (p.Acquire({"a"}, t).wait == 0) ++granted;
    CHECK(granted == 95);
}

TEST_CASE("pacer: a Retry-After gate closes the scope until its time and is never shortened") {
    Pacer p;
    p.SetRate("class", 20);
    UnixMillis t = 10'000;
    p.Block("class", t + 2500);
    p.Block("class", t + 1000);  // shorter: ignored
    CHECK(p.BlockedUntil("class") == t + 2500);
    Pacer::Grant g = p.Acquire({"app", "class"}, t);
    CHECK(g.gated);
    CHECK(g.scope == "class");
    CHECK(g.wait == 2500);
    CHECK(p.Acquire({"class"}, t + 2499).wait == 1);
    CHECK(p.Acquire({"class"}, t + 2500).wait == 0);
}

TEST_CASE("adaptive rate: 0.7x per 429 (once per volley), CUBIC regrowth only while work waits") {
    AdaptiveRate r(19.6, 18.0);
    UnixMillis t = 100'000;
    CHECK(r.OnThrottle(t));
    CHECK(r.Rate() == doctest::Approx(12.6));
    CHECK_FALSE(r.OnThrottle(t + 200));  // same volley of in-flight responses
    CHECK(r.Rate() == doctest::Approx(12.6));
    CHECK(r.OnThrottle(t + 600));
    CHECK(r.Rate() == doctest::Approx(8.82));
    double wMax = r.LastGoodMax();
    CHECK(wMax < 12.6);  // fast convergence: remembers a little below the rate that failed
    t += 600;
    r.Tick(t + 500, true);  // inside the quiet window: no growth
    CHECK(r.Rate() == doctest::Approx(8.82));
    r.Tick(t + 2000, false);  // nothing waiting: no growth
    CHECK(r.Rate() == doctest::Approx(8.82));
    r.Tick(t + 3000, true);  // a second cut in a row: the way back takes 2K, not K
    CHECK(r.Rate() < wMax * 0.99);
    r.Tick(t + 6000, true);  // 2K seconds after the cut: back at the last good maximum
    CHECK(r.Rate() == doctest::Approx(wMax).epsilon(0.01));
    r.Tick(t + 8000, true);  // then probing beyond it, slowly at first
    CHECK(r.Rate() > wMax);
    CHECK(r.Rate() < wMax * 1.2);
    r.Tick(t + 60'000, true);
    CHECK(r.Rate() == doctest::Approx(19.6));  // never above the ceiling
    // A lone cut long after the streak: back in K = 3 s.
    t += 120'000;
    CHECK(r.OnThrottle(t));
    double w = r.LastGoodMax();
    r.Tick(t + 3000, true);
    CHECK(r.Rate() == doctest::Approx(w).epsilon(0.01));
}

TEST_CASE("adaptive rate: pacer scopes cut on a 429 and regrow, fixed scopes do not change") {
    Pacer p;
    p.SetAdaptive("class:get_message", 20, 0.9);
    p.SetRate("channel:c", 3.6);
    CHECK(p.Rate("class:get_message") == doctest::Approx(18));
    CHECK(p.OnThrottle({"app", "class:get_message", "channel:c"}, 1000));
    CHECK(p.Rate("class:get_message") == doctest::Approx(12.6));
    CHECK(p.Rate("channel:c") == doctest::Approx(3.6));
    for (UnixMillis t = 1000; t <= 30'000; t += 100) p.Tick(t, true);
    CHECK(p.Rate("class:get_message") == doctest::Approx(19.6));
}

TEST_CASE("pacer: teams share one adaptive rate, so one team's 429 slows them all") {
    Pacer p;
    p.SetAdaptive("team:a", 4, 0.9, "teams");
    p.SetAdaptive("team:b", 4, 0.9, "teams");
    p.SetAdaptive("class:get_message", 20, 0.9);
    CHECK(p.OnThrottle({"team:a"}, 1000));
    CHECK(p.Rate("team:a") == doctest::Approx(3.6 * 0.7));
    CHECK(p.Rate("team:b") == doctest::Approx(3.6 * 0.7));
    CHECK(p.Rate("class:get_message") == doctest::Approx(18));  // not in the group
    CHECK_FALSE(p.OnThrottle({"team:b"}, 1200));  // the same volley: one cut for the group
    for (UnixMillis t = 1000; t <= 30'000; t += 100) p.Tick(t, true);
    CHECK(p.Rate("team:b") == doctest::Approx(3.92));
}

TEST_CASE("planner: poll rates follow sqrt(lambda), add up to the budget and respect the clamps") {
    PollPlanner pl;
    pl.Configure({/*budget*/ 3.0, /*min*/ 0.25, /*max*/ 1000});
    UnixMillis t = 1'000'000;
    // Two channels watched for 10 minutes: 4x and 1x the message rate.
    pl.Seed("hot", 0, 1, t);
    pl.Seed("cold", 0, 1, t);
    for (int i = 0; i < 600; ++i) {
        t += 1000;
        pl.Observe("hot", i % 5 == 0 ? 4 : 0, t);
        pl.Observe("cold", i % 5 == 0 ? 1 : 0, t);
    }
    CHECK(pl.Lambda("hot", t) / pl.Lambda("cold", t) == doctest::Approx(4.0).epsilon(0.05));
    pl.Rebalance(t);
    CHECK(pl.PollRate("hot") + pl.PollRate("cold") == doctest::Approx(3.0).epsilon(0.001));
    CHECK(pl.PollRate("hot") / pl.PollRate("cold") == doctest::Approx(2.0).epsilon(0.05));
    // A tight cap: the hot channel is clamped at 1/minInterval, the rest goes to the cold one.
    pl.Configure({3.0, 1.0, 1000});
    pl.Rebalance(t);
    CHECK(pl.PollRate("hot") == doctest::Approx(1.0));
    CHECK(pl.PollRate("cold") == doctest::Approx(1.0));  // both capped: budget not reachable
    // A floor: a silent channel is still polled every maxInterval.
    pl.Configure({0.1, 1.0, 60});
    pl.Seed("silent", 0, 1, t);
    pl.Rebalance(t);
    CHECK(pl.PollRate("silent") == doctest::Approx(1.0 / 60));
}

TEST_CASE("planner: quiet channels back off towards the floor and leave the budget unspent") {
    PollPlanner pl;
    pl.Configure({/*budget*/ 10.0, /*min*/ 1.0, /*max*/ 60});
    UnixMillis t = 1'000'000;
    for (const char* c : {"a", "b", "c", "busy"}) pl.Seed(c, 2, 3600, t);
    pl.Rebalance(t);
    // Freshly seeded: nothing is quiet yet, so the budget is spent (capped at 1/s each).
    CHECK(pl.PollRate("a") == doctest::Approx(1.0));
    // Two minutes later only "busy" has shown anything new.
    for (int i = 0; i < 130; ++i) {
        t += 1000;
        pl.Observe("busy", i % 10 == 0 ? 1 : 0, t);
        for (const char* c : {"a", "b", "c"}) pl.Observe(c, 0, t);
    }
    pl.Rebalance(t);
    double quiet = pl.PollRate("a");
    CHECK(quiet == doctest::Approx(
                       std::max(1.0 / 60, PollPlanner::kQuietPollsPerMessage * pl.Lambda("a", t))));
    CHECK(quiet < 0.1);
    CHECK(pl.PollRate("busy") == doctest::Approx(1.0));  // a busy channel keeps its cap
    CHECK(pl.PollRate("a") + pl.PollRate("b") + pl.PollRate("c") + pl.PollRate("busy") < 2.0);
    // An hour of silence: the estimate decays, and the floor is all that is left.
    for (int i = 0; i < 60; ++i) {
        t += 60'000;
        pl.Observe("a", 0, t);
    }
    pl.Rebalance(t);
    CHECK(pl.PollRate("a") == doctest::Approx(1.0 / 60));
    // One new message ends the back-off at once.
    pl.Observe("a", 1, t);
    pl.Rebalance(t);
    CHECK(pl.PollRate("a") > 0.5);
}

TEST_CASE(
    "planner: the rate estimate converges within a minute and priority is lambda x age x boost") {
    PollPlanner pl;
    UnixMillis t = 50'000;
    pl.Seed("c", 0, 1, t);
    for (int i = 0; i < 60; ++i) {
        t += 1000;
        pl.Observe("c", 1, t);  // one message a second
    }
    double l = pl.Lambda("c", t);
    CHECK(l > 0.8);
    CHECK(l < 1.05);
    double p1 = pl.Priority("c", t - 10'000, t, 1.0);
    CHECK(p1 == doctest::Approx(l * 10));
    CHECK(pl.Priority("c", t - 10'000, t, 4.0) == doctest::Approx(p1 * 4));
    // Silence decays it back towards the prior.
    pl.Observe("c", 0, t + 3600 * 1000);
    CHECK(pl.Lambda("c", t + 3600 * 1000) < 0.01);
}

TEST_CASE("retry budget: spends one per retry, refills from successes and a slow trickle") {
    RetryBudget b(0.1, 5, 0.2);
    UnixMillis t = 1000;
    for (int i = 0; i < 5; ++i) CHECK(b.TryRetry(t));
    CHECK_FALSE(b.TryRetry(t));
    for (int i = 0; i < 10; ++i) b.OnSuccess();  // ten successes earn one retry
    CHECK(b.TryRetry(t));
    CHECK_FALSE(b.TryRetry(t));
    CHECK(b.TryRetry(t + 5000));  // 5 s x 0.2/s
}

TEST_CASE("sdk baseline: Retry-After capped at 180 s, else about 3, 5 and 7 s plus jitter") {
    double ra = 12.5;
    CHECK(SdkRetry::DelaySeconds(1, &ra, 0.9) == doctest::Approx(12.5));
    double huge = 600;
    CHECK(SdkRetry::DelaySeconds(2, &huge, 0) == doctest::Approx(180));
    CHECK(SdkRetry::DelaySeconds(1, nullptr, 0) == doctest::Approx(3));
    CHECK(SdkRetry::DelaySeconds(2, nullptr, 0.5) == doctest::Approx(5.5));
    CHECK(SdkRetry::DelaySeconds(3, nullptr, 0.99) == doctest::Approx(7.99));
    CHECK(SdkRetry::Retriable(429));
    CHECK(SdkRetry::Retriable(503));
    CHECK(SdkRetry::Retriable(504));
    CHECK_FALSE(SdkRetry::Retriable(500));
    CHECK_FALSE(SdkRetry::Retriable(404));
    for (int f = 0; f < 12; ++f) {
        CHECK(FullJitterBackoff(f, 1.0, 60.0, 0.999) <= 60.0);
        CHECK(FullJitterBackoff(f, 1.0, 60.0, 0.0) == 0.0);
    }
    CHECK(FullJitterBackoff(3, 1.0, 60.0, 0.5) == doctest::Approx(4.0));
}

TEST_CASE("metrics: log histogram quantiles are within a bucket of the truth") {
    LogHistogram h;
    for (int i = 1; i <= 1000; ++i) h.Add(i);
    CHECK(h.Count() == 1000);
    CHECK(h.Quantile(0.5) == doctest::Approx(500).epsilon(0.1));
    CHECK(h.Quantile(0.95) == doctest::Approx(950).epsilon(0.1));
    CHECK(h.Quantile(1.0) == 1000);
    CHECK(h.Max() == 1000);
    LogHistogram empty;
    CHECK(empty.Quantile(0.5) == 0);
}

// ---------------------------------------------------------------- engine, scripted

namespace {

class FixedToken final : public TokenProvider {
  public:
    Result<AccessToken> Token(bool) override {
        AccessToken t;
        t.token = "test-token";
        t.expiresAt = NowMillis() + 3600000;
        return t;
    }
    bool IsDelegated() const override { return false; }
};

const char* kMessage = R"({"id":"%ID%","messageType":"message","createdDateTime":"%AT%",
 "lastModifiedDateTime":"%AT%","etag":"1","importance":"normal",
 "from":{"user":{"id":"u1","displayName":"Ada"}},
 "body":{"contentType":"html","content":"<p>hello %ID%</p>"}})";

std::string Message(const std::string& id, UnixMillis at) {
    std::string s = kMessage;
    for (auto [k, v] :
         {std::pair<std::string, std::string>{"%ID%", id}, {"%AT%", FormatIso8601(at)}})
        for (size_t p; (p = s.find(k)) != std::string::npos;) s.replace(p, k.size(), v);
    return s;
}

// Answers like Graph for one team with one channel; tests queue overrides per request.
class ScriptedTransport final : public HttpTransport {
  public:
    struct Canned {
        int status;
        std::string body;
        std::map<std::string, std::string> headers;
    };
    Result<HttpResponse> Send(const HttpRequest& req) override {
        std::lock_guard lock(m);
        urls.push_back(req.url);
        HttpResponse r;
        r.status = 200;
        r.totalMs = 5;
        if (!script.empty() && req.url.find("/messages") != std::string::npos) {
            Canned c = script.front();
            script.pop_front();
            r.status = c.status;
            r.body = c.body;
            r.headers = c.headers;
            return r;
        }
        if (req.url.find("/messages/delta") != std::string::npos) {
            r.body =
                R"({"value":[],"@odata.deltaLink":"https://graph.test/v1.0/teams/T1/channels/C1/messages/delta?$deltatoken=d1"})";
        } else if (req.url.find("/messages") != std::string::npos) {
            r.body = "{\"value\":[" + Message("m1", messageTime) + "," +
                     Message("m2", messageTime + 1000) + "]}";
        } else if (secondTeam && req.url.find("/teams/T2/channels") != std::string::npos) {
            if (team2ChannelFailures > 0) {
                --team2ChannelFailures;
                r.status = team2ChannelStatus;
                r.body = team2ChannelStatus == 403
                             ? R"({"error":{"code":"Forbidden","message":"no access"}})"
                             : R"({"error":{"code":"ServiceUnavailable","message":"busy"}})";
            } else {
                r.body =
                    R"({"value":[{"id":"C2","displayName":"Night","membershipType":"standard"}]})";
            }
        } else if (req.url.find("/channels") != std::string::npos) {
            r.body =
                R"({"value":[{"id":"C1","displayName":"General","membershipType":"standard"}]})";
        } else if (secondTeam) {
            r.body =
                R"({"value":[{"id":"T1","displayName":"Ops"},{"id":"T2","displayName":"Night"}]})";
        } else {
            r.body = R"({"value":[{"id":"T1","displayName":"Ops"}]})";
        }
        return r;
    }
    size_t Count(const std::string& part) {
        std::lock_guard lock(m);
        size_t n = 0;
        for (const auto& u : urls) n += u.find(part) != std::string::npos;
        return n;
    }
    std::mutex m;
    std::vector<std::string> urls;
    std::deque<Canned> script;
    UnixMillis messageTime = 0;
    bool secondTeam = false;       // a second team T2 with channel C2
    int team2ChannelFailures = 0;  // T2's channel list fails this many times
    int team2ChannelStatus = 503;  // with this status
};

struct EngineRig {
    std::atomic<UnixMillis> now{1'700'000'000'000};
    std::shared_ptr<ScriptedTransport> http = std::make_shared<ScriptedTransport>();
    std::shared_ptr<GraphClient> client;
    Store store;
    std::unique_ptr<SyncEngine> engine;

    explicit EngineRig(SyncSettings s = {}, RetryBudget budget = {}) {
        http->messageTime = now.load() - 60000;
        GraphClientConfig gc;
        gc.graphBaseUrl = "https://graph.test/v1.0";
        client = std::make_shared<GraphClient>(gc, http, std::make_shared<FixedToken>());
        EngineOptions o;
        o.clock = [this] { return now.load(); };
        o.random01 = [] { return 0.5; };
        o.startThreads = false;
        o.retryBudget = budget;
        engine = std::make_unique<SyncEngine>(client, store, s, false, GraphLimits{}, o);
        engine->Start();
    }
    // Runs every job that may run now; returns how many ran.
    int Drain() {
        int n = 0;
        while (engine->RunOnce()) ++n;
        return n;
    }
};

}  // namespace

TEST_CASE("engine: discovery, backfill and the first delta round on an injected clock") {
    EngineRig rig;
    rig.Drain();  // teams, channels, backfill page
    auto snap = rig.store.Current();
    REQUIRE(snap->FindChannel("C1"));
    CHECK(snap->FindChannel("C1")->messages.size() == 2);
    CHECK(snap->FindChannel("C1")->backfilled);
    CHECK(snap->sync.channelsBackfilled == 1);
    CHECK(rig.http->Count("/messages/delta") == 0);  // the first poll is not due yet
    // The first delta round is the channel's first poll, one poll interval later (the
    // single channel gets the whole budget, so the interval is the 1 s minimum).
    rig.now += 1'000;
    rig.Drain();
    CHECK(rig.http->Count("/messages/delta") == 1);
    // It started from shortly before the backfill, with the only filter delta allows.
    CHECK(rig.http->urls.back().find("$filter=lastModifiedDateTime%20gt%20") != std::string::npos);
    CHECK(rig.store.Current()->FindChannel("C1")->deltaLink.find("deltatoken=d1") !=
          std::string::npos);
    // Later rounds follow the stored deltaLink verbatim.
    rig.now += 1'000;
    rig.Drain();
    CHECK(rig.http->urls.back() ==
          "https://graph.test/v1.0/teams/T1/channels/C1/messages/delta?$deltatoken=d1");
}

TEST_CASE("engine: not live while a team's channel list is missing, even if the cache is") {
    // Regression: one team's cached channels, all backfilled, made the whole engine 'live'
    // while the other team's channel list was still failing.
    EngineRig rig;
    rig.http->secondTeam = true;
    rig.http->team2ChannelFailures = 1000;
    rig.store.UpsertTeams({Team{"T1", "Ops", ""}});
    rig.store.UpsertChannels("T1", {Channel{"C1", "T1", "General", "", "standard"}});
    rig.store.RestoreChannelSync("C1", rig.now - 5000, true,
                                 "https://graph.test/v1.0/teams/T1/channels/C1/messages/"
                                 "delta?$deltatoken=d1");
    rig.store.UpdateSyncStatus([](SyncStatus& s) { s.phase = "starting"; });
    rig.Drain();
    auto snap = rig.store.Current();
    CHECK(snap->FindChannel("C1")->backfilled);
    CHECK(snap->sync.channelsTotal == 1);  // only T1's channel is known yet
    CHECK(snap->sync.phase == "backfilling");
    // T2's list arrives; its channel backfills, and only then is the engine live.
    rig.http->team2ChannelFailures = 0;
    for (int i = 0; i < 40 && rig.store.Current()->sync.phase != "live"; ++i) {
        rig.now += 5'000;
        rig.Drain();
    }
    snap = rig.store.Current();
    CHECK(snap->sync.phase == "live");
    CHECK(snap->sync.channelsTotal == 2);
    CHECK(snap->sync.channelsBackfilled == 2);
    REQUIRE(snap->FindChannel("C2"));
    CHECK(snap->FindChannel("C2")->backfilled);
}

TEST_CASE("engine: commands still queued at Stop are handed over, not dropped") {
    EngineRig rig;
    rig.Drain();
    Command c;
    c.kind = Command::Kind::kSoftDelete;
    c.teamId = "T1";
    c.channelId = "C1";
    c.messageId = "m1";
    int finished = 0;
    c.finished = [&](const Command::Outcome&) { ++finished; };
    rig.engine->Submit(c);
    Command refresh;
    refresh.kind = Command::Kind::kRefreshAll;
    rig.engine->Submit(refresh);
    size_t queued = rig.engine->QueueSize();
    rig.engine->Stop();
    std::vector<Command> taken = rig.engine->TakeCommands();
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].kind == Command::Kind::kSoftDelete);
    CHECK(taken[0].messageId == "m1");
    CHECK(rig.engine->QueueSize() == queued - 1);  // the rest of the queue is untouched
    CHECK(rig.engine->TakeCommands().empty());
    // The callback travels with the command: the new engine reports through it.
    taken[0].finished(Command::Outcome{});
    CHECK(finished == 1);
}

TEST_CASE("engine: the engine that replaces another keeps its call facts (re-sign-in)") {
    // Regression: every engine hooked its observer into the one shared GraphClient, and the
    // old engine's Stop() cleared the hook after the new engine had set it. From then on the
    // new engine counted no requests or 429s, lost Graph's request-id for the audit log and
    // never slowed down near a limit.
    EngineRig rig;
    rig.Drain();
    EngineOptions o;
    o.clock = [&rig] { return rig.now.load(); };
    o.random01 = [] { return 0.5; };
    o.startThreads = false;
    SyncEngine next(rig.client, rig.store, {}, false, GraphLimits{}, o);
    next.Start();
    rig.engine->Stop();  // as AppRuntime::SignInAgain does, after building the new one
    rig.engine.reset();
    auto drain = [&] {
        while (next.RunOnce()) {
        }
    };
    drain();
    CHECK(next.Metrics().requests >= 2);  // teams and channels, counted by the new engine
    // A 429 is counted and closes the class scope.
    rig.http->script.push_back({429,
                                R"({"error":{"code":"TooManyRequests","message":"slow down"}})",
                                {{"retry-after", "2"}, {"request-id", "req-429"}}});
    for (int i = 0; i < 50 && !rig.http->script.empty(); ++i) {
        rig.now += 500;
        drain();
    }
    REQUIRE(rig.http->script.empty());
    CHECK(next.Metrics().throttled429 == 1);
    CHECK(next.ScopeClosedUntil("class:get_message") > rig.now.load());
    // A delete's outcome carries Graph's request-id (the audit log records it).
    rig.now += 5'000;
    rig.http->script.push_back({204, "", {{"request-id", "req-delete"}}});
    Command del;
    del.kind = Command::Kind::kSoftDelete;
    del.teamId = "T1";
    del.channelId = "C1";
    del.messageId = "m1";
    std::string requestId;
    del.finished = [&](const Command::Outcome& out) { requestId = out.requestId; };
    next.Submit(del);
    drain();
    CHECK(requestId == "req-delete");
    // Near a limit (RateLimit-Remaining at 5% of RateLimit-Limit) the class rate is cut
    // before any 429.
    double before = next.ScopeRate("class:get_message");
    rig.http->script.push_back(
        {200,
         R"({"value":[],"@odata.deltaLink":"https://graph.test/v1.0/teams/T1/channels/C1/messages/delta?$deltatoken=d2"})",
         {{"ratelimit-limit", "20"}, {"ratelimit-remaining", "1"}}});
    for (int i = 0; i < 50 && !rig.http->script.empty(); ++i) {
        rig.now += 500;
        drain();
    }
    REQUIRE(rig.http->script.empty());
    CHECK(next.ScopeRate("class:get_message") < before);
    next.Stop();
}

TEST_CASE("engine: a team whose channel list is refused (403) does not hold back the rest") {
    EngineRig rig;
    rig.http->secondTeam = true;
    rig.http->team2ChannelFailures = 1000;
    rig.http->team2ChannelStatus = 403;
    for (int i = 0; i < 10 && rig.store.Current()->sync.phase != "live"; ++i) {
        rig.Drain();
        rig.now += 1'000;
    }
    auto snap = rig.store.Current();
    CHECK(snap->sync.phase == "live");
    CHECK(snap->sync.channelsTotal == 1);
    CHECK(snap->FindChannel("C1")->backfilled);
    CHECK_FALSE(snap->FindChannel("C2"));
}

TEST_CASE("engine: a 429 closes the scopes until Retry-After, cuts the rate, and nobody sleeps") {
    EngineRig rig;
    rig.http->script.push_back({429,
                                R"({"error":{"code":"TooManyRequests","message":"slow down"}})",
                                {{"retry-after", "2"}}});
    const UnixMillis t0 = rig.now;
    double before = rig.engine->ScopeRate("class:get_message");
    auto wall = std::chrono::steady_clock::now();
    rig.Drain();  // teams, channels, then the backfill page gets the 429
    // Re-queued, not slept: the whole drain took no real time to speak of.
    CHECK(std::chrono::steady_clock::now() - wall < std::chrono::seconds(1));
    UnixMillis closed = rig.engine->ScopeClosedUntil("class:get_message");
    CHECK(closed >= t0 + 2000);
    CHECK(closed <= t0 + 2200);  // 0-10% jitter
    CHECK(rig.engine->ScopeClosedUntil("channel:C1") == closed);
    CHECK(rig.engine->ScopeClosedUntil("team:T1") == closed);
    CHECK(rig.engine->ScopeRate("class:get_message") == doctest::Approx(before * 0.7));
    size_t sent = rig.http->Count("/messages");
    // While the gate is closed nothing is sent into it, however often the engine looks.
    for (int i = 0; i < 20; ++i) {
        rig.now += 100;
        if (rig.now >= closed) break;
        CHECK_FALSE(rig.engine->RunOnce());
    }
    CHECK(rig.http->Count("/messages") == sent);
    rig.now = closed;
    CHECK(rig.engine->RunOnce());
    CHECK(rig.http->Count("/messages") == sent + 1);
    CHECK(rig.store.Current()->FindChannel("C1")->messages.size() == 2);
    MetricsSnapshot m = rig.engine->Metrics();
    CHECK(m.throttled429 == 1);
    CHECK(m.retries == 1);
}

TEST_CASE("engine: 5xx without Retry-After draws on the retry budget, then waits its turn") {
    EngineRig rig({}, RetryBudget(0.1, 3, 0.0));  // three retries, no trickle
    for (int i = 0; i < 40; ++i)
        rig.http->script.push_back(
            {500, R"({"error":{"code":"InternalServerError","message":"boom"}})", {}});
    rig.Drain();
    // Each failure is re-queued with back-off; step the clock until the budget runs dry.
    for (int i = 0; i < 400 && rig.engine->Metrics().retryBudgetDenied == 0; ++i) {
        rig.now += 5000;
        rig.Drain();
    }
    MetricsSnapshot m = rig.engine->Metrics();
    CHECK(m.server5xx == 4);  // the first try and three retries
    CHECK(m.retries == 3);
    CHECK(m.retryBudgetDenied == 1);
    CHECK(rig.store.Current()->FindChannel("C1")->lastError.find("InternalServerError") !=
          std::string::npos);
    // Denied means "wait a while", not "give up": the job is still queued.
    CHECK(rig.engine->QueueSize() >= 2);
}

TEST_CASE("engine: an expired delta token starts a new round (resync)") {
    EngineRig rig;
    rig.Drain();
    rig.now += 61'000;
    rig.Drain();  // first delta round: deltaLink d1 stored
    REQUIRE_FALSE(rig.store.Current()->FindChannel("C1")->deltaLink.empty());
    rig.http->script.push_back(
        {410,
         R"({"error":{"code":"resyncRequired","message":"The delta token has expired."}})",
         {}});
    rig.now += 61'000;
    rig.Drain();  // 410, then the new round right away
    auto& urls = rig.http->urls;
    REQUIRE(urls.size() >= 2);
    CHECK(urls[urls.size() - 2].find("deltatoken=d1") != std::string::npos);
    CHECK(urls.back().find("$filter=lastModifiedDateTime") != std::string::npos);
    CHECK(urls.back().find("deltatoken") == std::string::npos);
    CHECK(rig.store.Current()->FindChannel("C1")->deltaLink.find("d1") != std::string::npos);
}

TEST_CASE("engine: pause stops a channel's requests, refresh now jumps the queue") {
    EngineRig rig;
    rig.Drain();
    size_t before = rig.http->Count("/messages");
    Command pause;
    pause.kind = Command::Kind::kPause;
    pause.channelId = "C1";
    pause.flag = true;
    rig.engine->Submit(pause);
    rig.now += 600'000;
    rig.Drain();
    CHECK(rig.http->Count("/messages") == before);
    CHECK(rig.store.Current()->FindChannel("C1")->paused);
    pause.flag = false;
    rig.engine->Submit(pause);
    Command refresh;
    refresh.kind = Command::Kind::kRefreshChannel;
    refresh.channelId = "C1";
    rig.engine->Submit(refresh);
    CHECK(rig.engine->RunOnce());
    CHECK(rig.http->Count("/messages") == before + 1);
}

TEST_CASE("engine: the sdk policy polls at its fixed interval and does not pace") {
    SyncSettings s;
    s.policy = "sdk";
    s.pollIntervalSeconds = 10;
    EngineRig rig(s);
    rig.Drain();
    size_t before = rig.http->Count("/messages");
    rig.now += 9'000;
    rig.Drain();
    CHECK(rig.http->Count("/messages") == before);
    rig.now += 1'000;
    rig.Drain();
    CHECK(rig.http->Count("/messages") == before + 1);
    CHECK(rig.engine->Metrics().policy == "sdk");
}

TEST_CASE("metrics: Prometheus text names every family and escapes label values") {
    MetricsSnapshot m;
    m.requests = 3;
    m.ok2xx = 2;
    m.throttled429 = 1;
    ScopeMetrics s;
    s.scope = "team:a\"b";
    s.limit = 4;
    m.scopes.push_back(s);
    std::string text = MetricsToPrometheus(m);
    CHECK(text.find("channeldeck_requests_total{outcome=\"429\"} 1\n") != std::string::npos);
    CHECK(text.find("# TYPE channeldeck_freshness_seconds summary") != std::string::npos);
    CHECK(text.find("scope=\"team:a\\\"b\"") != std::string::npos);
    CHECK(text.find("channeldeck_queue_depth{state=\"ready\"}") != std::string::npos);
}
