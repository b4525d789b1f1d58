// The whole shared deployment in one process, over the real network paths: graphsim over
// HTTPS, channeldeck-node's service writing into a real PostgreSQL, and two desks (the
// app's runtime with a server block) following it as two different database users.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "app_runtime.hpp"
#include "moderation/review.hpp"
#include "node/node_service.hpp"
#include "pg/pg_fixture.hpp"
#include "sim/graphsim.hpp"
#include "support/test_util.hpp"

using namespace cdeck;
using namespace cdeck::test;

namespace {

core::Config TenantConfig(const sim::GraphSimInfo& info) {
    core::Config c;
    c.graphUrl = info.graphUrl;
    c.authorityUrl = info.authorityUrl;
    c.tenant = info.tenant;
    c.clientId = info.clientId;
    c.clientSecret = info.clientSecret;
    c.caFile = info.caFile;
    c.authMode = "client_credentials";
    return c;
}

// graphsim on the demo scenario, its state under `dir`.
void StartSim(sim::GraphSim& sim, const TempDir& dir, double trafficScale = 1,
              double limitsScale = 1) {
    sim::GraphSimOptions so;
    so.scenarioPath = std::string(CDECK_ASSETS_DIR) + "/scenarios/demo.json";
    so.stateDir = (dir.path / "sim").string();
    so.trafficScale = trafficScale;
    so.limitsScale = limitsScale;
    REQUIRE(sim.Start(so).empty());
}

}  // namespace

TEST_CASE("shared: a node fills PostgreSQL, two desks follow it and share the review queue") {
    PgDb db = NewPgDb();
    TempDir dir;
    sim::GraphSim sim;
    StartSim(sim, dir);
    core::Config base = TenantConfig(sim.Info());

    node::NodeService node;
    node::NodeOptions no;
    no.config = base;
    no.config.server.conninfo = db.node;
    no.config.node.id = "node-test";
    no.config.node.listen = "127.0.0.1:0";
    no.rulesPath = std::string(CDECK_ASSETS_DIR) + "/rules/default.json";
    auto started = node.Start(no);
    REQUIRE_MESSAGE(started.ok(), ErrText(started));
    auto admin = Connect(db.admin);
    REQUIRE(WaitFor(
        [&] {
            return Scalar(*admin, "SELECT count(*) FROM review_items") != "0" &&
                   std::stoll(Scalar(*admin, "SELECT count(*) FROM messages")) > 100;
        },
        90));
    std::string why;
    REQUIRE(WaitFor([&] { return node.Ready(why); }, 30));
    CHECK(node.MetricsText().find("cdeck_pg_committed_messages_total") != std::string::npos);

    auto startDesk = [&](app::AppRuntime& rt, const std::string& conninfo, const char* name) {
        app::RuntimeOptions ro;
        ro.config = base;
        ro.config.server.conninfo = conninfo;
        ro.config.dbPath = (dir.path / name).string() + ".db";
        ro.stateDir = (dir.path / name).string();
        auto st = rt.Start(ro);
        REQUIRE_MESSAGE(st.ok(), ErrText(st));
    };
    app::AppRuntime alice, bob;
    startDesk(alice, db.alice, "alice");
    startDesk(bob, db.bob, "bob");
    for (app::AppRuntime* rt : {&alice, &bob}) {
        bool ready = WaitFor(
            [&] {
                auto s = rt->Store().Current();
                return s->totalMessages > 100 && s->review && !s->review->items.empty() &&
                       s->sync.followNodes == 1;
            },
            60);
        auto s = rt->Store().Current();
        INFO("messages " << s->totalMessages << ", review items "
                         << (s->review ? s->review->items.size() : 0) << ", nodes "
                         << s->sync.followNodes << ", phase " << s->sync.phase << ": "
                         << s->sync.lastError);
        REQUIRE(ready);
        CHECK(s->sync.following);
        CHECK(s->sync.phase == "live");
        CHECK(s->review->shared);
        CHECK(s->sync.requests == 0);  // nothing was read from Graph by the desk
    }
    CHECK(alice.Store().Current()->review->sharedUser == "alice");

    // Publishing a new rule-pack version reaches the node and every desk.
    {
        std::ifstream in(no.rulesPath);
        std::string text((std::istreambuf_iterator<char>(in)), {});
        auto j = nlohmann::json::parse(text);
        j["version"] = 7;
        std::string path = (dir.path / "rules-v7.json").string();
        std::ofstream(path) << j.dump();
        core::Config publisher = no.config;
        std::string said;
        auto pub = node::RunPublishRules(publisher, path, said);
        REQUIRE_MESSAGE(pub.ok(), ErrText(pub));
        CHECK(said.find("version 7") != std::string::npos);
    }
    for (app::AppRuntime* rt : {&alice, &bob})
        CHECK(WaitFor([&] { return rt->Store().Current()->review->packVersion == 7; }, 30));
    CHECK(WaitFor([&] { return node.Store().Current()->review->packVersion == 7; }, 30));

    // Alice claims the next items; Bob cannot resolve one of them.
    alice.Moderate([](core::ModerationEngine& m) { m.ClaimNext(2); });
    REQUIRE(WaitFor(
        [&] {
            auto r = bob.Store().Current()->review;
            for (const auto& it : r->items)
                if (it.claimedBy == "alice") return true;
            return false;
        },
        30));
    uint64_t held = 0;
    auto bobs = bob.Store().Current();  // held while its items are walked
    for (const auto& it : bobs->review->items)
        if (it.claimedBy == "alice") held = it.id;
    bob.Moderate([held](core::ModerationEngine& m) {
        m.Resolve({held}, core::ModerationEngine::Tag::kCompliant, "bob tries");
    });
    REQUIRE(WaitFor(
        [&] {
            auto now = bob.Store().Current();
            for (const auto& it : now->review->items)
                if (it.id == held) return it.lastError.find("claimed by") != std::string::npos;
            return false;
        },
        30));
    // Alice resolves it: one audit row, in the same transaction, naming her database user.
    alice.Moderate([held](core::ModerationEngine& m) {
        m.Resolve({held}, core::ModerationEngine::Tag::kFalsePositive, "fine");
    });
    REQUIRE(WaitFor(
        [&] {
            auto now = bob.Store().Current();
            for (const auto& it : now->review->items)
                if (it.id == held) return it.resolved;
            return false;
        },
        30));
    CHECK(Scalar(*admin, "SELECT db_user || ':' || result FROM audit_log WHERE review_id = $1",
                 {std::to_string(held)}) == "alice:false-positive");
    CHECK(Scalar(*admin, "SELECT count(*) FROM audit_log WHERE review_id = $1",
                 {std::to_string(held)}) == "1");

    // A desk's drafts go to the shared store under its own login, and come back.
    core::Draft draft;
    draft.key = "thread-1";
    draft.body = "half a reply";
    alice.SaveDraft(draft, false);
    REQUIRE(WaitFor([&] { return Scalar(*admin, "SELECT count(*) FROM drafts") == "1"; }, 30));
    CHECK(Scalar(*admin, "SELECT owner || ':' || body FROM drafts") == "alice:half a reply");
    auto drafts = alice.LoadDrafts();
    REQUIRE(drafts.size() == 1);
    CHECK(drafts[0].body == "half a reply");
    CHECK(bob.LoadDrafts().empty());

    alice.Stop();
    bob.Stop();
    node.Stop();
    // A clean exit takes the node out of the live set.
    CHECK(Scalar(*admin, "SELECT count(*) FROM sync_node WHERE expires_at > now()") == "0");
    sim.Stop();
}

TEST_CASE("shared: PostgreSQL restarts mid-run, every message graphsim created is stored once") {
    PgDb db = NewPgDb();
    TempDir dir;
    sim::GraphSim sim;
    StartSim(sim, dir, /*trafficScale=*/3, /*limitsScale=*/100);  // about the database, not 429s
    node::NodeService node;
    node::NodeOptions no;
    no.config = TenantConfig(sim.Info());
    no.config.server.conninfo = db.node;
    no.config.node.id = "node-restart";
    no.config.node.listen = "127.0.0.1:0";
    no.config.node.maxQueue = 500;  // a small backlog, so back-pressure really happens
    no.config.node.batchSize = 100;
    no.config.sync.backfillMessages = 100000;  // the whole tenant, every reply
    no.config.sync.backfillDays = 0;
    no.config.sync.replyWindowHours = 0;
    no.config.sync.maxPollIntervalSeconds = 3;
    no.rulesPath = std::string(CDECK_ASSETS_DIR) + "/rules/default.json";
    REQUIRE(node.Start(no).ok());
    auto admin = Connect(db.admin);
    REQUIRE(WaitFor(
        [&] { return std::stoll(Scalar(*admin, "SELECT count(*) FROM messages")) > 200; }, 60));
    PgCluster& cl = SharedCluster();
    admin.reset();
    REQUIRE(cl.Stop());
    std::this_thread::sleep_for(std::chrono::seconds(4));  // traffic goes on meanwhile
    std::string why;
    CHECK_FALSE(node.Ready(why));
    CHECK(why.find("database unreachable") != std::string::npos);
    REQUIRE(cl.Start());
    std::this_thread::sleep_for(std::chrono::seconds(3));
    // The tenant stands still; the node must end with exactly what graphsim holds.
    REQUIRE(sim.SetTrafficPaused(true).empty());
    auto truth = [&] {
        auto j = nlohmann::json::parse(sim.StatsJson());
        long long n = 0;
        for (const auto& c : j["channels"])
            n += c["roots"].get<long long>() + c["replies"].get<long long>();
        return n;
    };
    admin = Connect(db.admin);
    long long expected = truth();
    bool equal = WaitFor(
        [&] { return std::stoll(Scalar(*admin, "SELECT count(*) FROM messages")) == expected; },
        90);
    std::string stored = Scalar(*admin, "SELECT count(*) FROM messages");
    INFO("graphsim holds " << expected << ", the database " << stored);
    CHECK(equal);
    CHECK(Scalar(*admin, "SELECT count(*) = count(DISTINCT (channel_id, id)) FROM messages") ==
          "t");
    std::string metrics = node.MetricsText();
    CHECK(metrics.find("cdeck_pg_failed_batches_total 0.0") == std::string::npos);
    // Every channel has finished a delta round (its link is stored) before the node stops.
    REQUIRE(WaitFor(
        [&] {
            return Scalar(*admin, "SELECT count(*) FROM sync_state WHERE delta_link <> ''") ==
                   Scalar(*admin, "SELECT count(*) FROM channels");
        },
        90));
    node.Stop();
    // A restarted node continues from the delta links in the database: every channel is
    // known and backfilled before it makes a single request.
    node::NodeService again;
    REQUIRE(again.Start(no).ok());
    auto snap = again.Store().Current();
    size_t withLink = 0;
    std::string missing;
    for (const auto& [id, c] : snap->channels) {
        bool ok = c->backfilled && !c->deltaLink.empty();
        withLink += ok;
        if (!ok)
            missing += id + " (backfilled " + std::to_string(c->backfilled) + ", db: " +
                       Scalar(*admin,
                              "SELECT coalesce(backfilled::text, '-') || ' ' || "
                              "coalesce(length(delta_link), -1) FROM sync_state WHERE channel_id "
                              "= $1",
                              {id}) +
                       ") ";
    }
    INFO("channels without a delta link: " << missing);
    CHECK(snap->channels.size() > 10);
    CHECK(withLink == snap->channels.size());
    again.Stop();
    sim.Stop();
}
