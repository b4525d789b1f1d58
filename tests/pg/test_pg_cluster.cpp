// Coordination between nodes in a real PostgreSQL: the shared budget's cell rate algorithm
// and blocks, channel and leader leases split between in-process coordinators, and the
// fencing token refusing a stale delta link that would otherwise have overwritten the
// successor's.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "pg/pg_cluster.hpp"
#include "pg/pg_fixture.hpp"
#include "pg/pg_persister.hpp"
#include "pg/pg_quota.hpp"
#include "store/store.hpp"
#include "support/test_util.hpp"

using namespace cdeck;
using namespace cdeck::test;
using namespace std::chrono_literals;

namespace {

struct Take {
    int granted = 0;
    double waitMs = 0;
};

Take QuotaTake(core::PgConn& c, const std::string& scope, int want, double intervalMs,
               double burstMs) {
    auto r = c.Exec(
        "SELECT granted, wait_ms FROM quota_take(ARRAY[$1], ARRAY[$2::integer], "
        "ARRAY[$3::float8], ARRAY[$4::float8])",
        {scope, std::to_string(want), std::to_string(intervalMs), std::to_string(burstMs)});
    REQUIRE_MESSAGE(r.ok(), ErrText(r));
    REQUIRE(r->Rows() == 1);
    return {static_cast<int>(r->Int(0, 0)), std::stod(r->Text(0, 1))};
}

// Channels in two teams, with lease rows, as the leader's discovery leaves them.
void SeedChannels(core::PgConn& c, int n) {
    for (const char* team : {"t1", "t2"})
        REQUIRE(c.Exec("INSERT INTO teams (id, json, seq) VALUES ($1, $2, 1)",
                       {team, nlohmann::json{{"id", team}, {"displayName", team}}.dump()})
                    .ok());
    for (int i = 0; i < n; ++i) {
        std::string id = "c" + std::to_string(i);
        std::string team = i % 2 ? "t1" : "t2";
        REQUIRE(c.Exec("INSERT INTO channels (id, team_id, position, json, seq) VALUES ($1, $2, "
                       "$3, $4, 1)",
                       {id, team, std::to_string(i),
                        nlohmann::json{{"id", id}, {"displayName", id}}.dump()})
                    .ok());
    }
    REQUIRE(c.Exec("INSERT INTO channel_lease (channel_id, team_id) SELECT id, team_id FROM "
                   "channels")
                .ok());
}

void Live(core::PgConn& c, const std::string& node) {
    REQUIRE(c.Exec("INSERT INTO sync_node (node_id, expires_at) VALUES ($1, now() + interval '1 "
                   "hour') ON CONFLICT (node_id) DO UPDATE SET expires_at = excluded.expires_at",
                   {node})
                .ok());
}

core::PgClusterOptions Opts(const PgDb& db, const std::string& node) {
    core::PgClusterOptions o;
    o.conninfo = db.node;
    o.nodeId = node;
    o.leaseSeconds = 6;
    o.renewSeconds = 1;
    o.stopAfterSeconds = 4;
    return o;
}

std::string Owner(core::PgConn& c, const std::string& channel) {
    return Scalar(c, "SELECT coalesce(owner, '') FROM channel_lease WHERE channel_id = $1",
                  {channel});
}

}  // namespace

TEST_CASE("shared budget: quota_take grants a burst, then one token per interval") {
    PgDb db = NewPgDb();
    auto c = Connect(db.node);
    // 10 per second with half a second of burst: 6 at once (the one now and five ahead).
    Take first = QuotaTake(*c, "class:get_message", 100, 100, 500);
    CHECK(first.granted == 6);
    CHECK(first.waitMs == 0);
    Take next = QuotaTake(*c, "class:get_message", 5, 100, 500);
    CHECK(next.granted == 0);
    CHECK(next.waitMs > 0);
    CHECK(next.waitMs <= 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(next.waitMs) + 5));
    CHECK(QuotaTake(*c, "class:get_message", 5, 100, 500).granted == 1);
    // Scopes are independent.
    CHECK(QuotaTake(*c, "team:t1", 2, 250, 0).granted == 1);
    CHECK(Scalar(*c, "SELECT granted FROM quota_scope WHERE scope = 'class:get_message'") == "7");
}

TEST_CASE("shared budget: quota_block closes a scope on the database clock and tells the others") {
    PgDb db = NewPgDb();
    auto listener = Connect(db.node);
    REQUIRE(listener->Listen(core::kPgQuotaChannel).ok());
    auto c = Connect(db.node);
    REQUIRE(c->Exec("SELECT quota_block(ARRAY['class:get_message'], 1500, 'node-a')").ok());
    Take t = QuotaTake(*c, "class:get_message", 1, 100, 500);
    CHECK(t.granted == 0);
    CHECK(t.waitMs > 1000);
    // A shorter block never shortens it.
    REQUIRE(c->Exec("SELECT quota_block(ARRAY['class:get_message'], 10, 'node-b')").ok());
    CHECK(QuotaTake(*c, "class:get_message", 1, 100, 500).waitMs > 1000);
    auto heard = listener->WaitForNotifications(2s);
    REQUIRE(heard.ok());
    REQUIRE_FALSE(heard->empty());
    auto j = nlohmann::json::parse(heard->front().payload);
    CHECK(j["scopes"][0] == "class:get_message");
    CHECK(j["ms"] == 1500);
    CHECK(j["node"] == "node-a");
}

TEST_CASE("shared budget: two nodes' PgQuota together stay within one rate, and share a 429") {
    PgDb db = NewPgDb();
    core::PgQuotaOptions o;
    o.conninfo = db.node;
    o.limits.getMessage = 20;  // x 0.9: 18 a second for both nodes together
    o.nodeId = "a";
    core::PgQuota a(o);
    o.nodeId = "b";
    core::PgQuota b(o);
    a.Start();
    b.Start();
    std::atomic<int> sent{0};
    auto drive = [&](core::PgQuota& q) {
        auto end = std::chrono::steady_clock::now() + 3s;
        while (std::chrono::steady_clock::now() < end) {
            if (q.Take({"app", "class:get_message", "channel:x"}, 1) == 0)
                ++sent;
            else
                std::this_thread::sleep_for(2ms);
        }
    };
    std::thread ta([&] { drive(a); });
    std::thread tb([&] { drive(b); });
    ta.join();
    tb.join();
    // 3 s at 18/s plus the half-second burst: at most 64; both nodes were served.
    CHECK(sent.load() <= 64);
    CHECK(sent.load() >= 40);
    CHECK(a.GetFigures().tokensTaken > 0);
    CHECK(b.GetFigures().tokensTaken > 0);
    // A 429 at a: b hears it and stops at once.
    a.Block({"class:get_message", "channel:x"}, 3000);
    REQUIRE(WaitFor([&] { return b.GetFigures().blocksHeard == 1; }, 5));
    CHECK(b.Take({"class:get_message"}, 1) > 1000);
    CHECK(b.Take({"class:other"}, 1) >= 0);  // other scopes are not closed
    a.Stop();
    b.Stop();
}

TEST_CASE("leases: two coordinators split the channels, and a clean exit hands them over") {
    PgDb db = NewPgDb();
    auto admin = Connect(db.admin);
    SeedChannels(*admin, 10);
    Live(*admin, "node-a");
    Live(*admin, "node-b");
    core::Store storeA, storeB;
    core::PgCluster a(Opts(db, "node-a"), storeA), b(Opts(db, "node-b"), storeB);
    std::atomic<int> claimedA{0};
    a.SetCallbacks([&](const std::vector<core::LeaseClaim>& c) { claimedA += int(c.size()); }, {});
    a.Start();
    b.Start();
    REQUIRE(WaitFor([&] { return a.GetFigures().owned == 5 && b.GetFigures().owned == 5; }, 10));
    CHECK(claimedA.load() == 5);
    CHECK(a.Leader() != b.Leader());
    CHECK(Scalar(*admin, "SELECT count(DISTINCT owner) FROM channel_lease") == "2");
    // Every channel is someone's, and each node's view matches the table.
    for (int i = 0; i < 10; ++i) {
        std::string ch = "c" + std::to_string(i);
        std::string owner = Owner(*admin, ch);
        CHECK(a.OwnsChannel(ch) == (owner == "node-a"));
        CHECK(b.OwnsChannel(ch) == (owner == "node-b"));
    }
    // The directory reached the store of the node without discovery.
    CHECK(storeA.Current()->FindChannel("c0") != nullptr);
    // A clean exit: a gives everything up and b takes it at once (well inside the lease).
    REQUIRE(admin->Exec("UPDATE sync_node SET expires_at = now() WHERE node_id = 'node-a'").ok());
    auto t0 = std::chrono::steady_clock::now();
    a.Stop(true);
    REQUIRE(WaitFor([&] { return b.GetFigures().owned == 10; }, 10));
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(b.Leader());
    b.Stop(true);
    CHECK(Scalar(*admin, "SELECT count(*) FROM channel_lease WHERE owner IS NOT NULL") == "0");
}

TEST_CASE("leases: a node that joins gets its share, and the others give theirs up") {
    PgDb db = NewPgDb();
    auto admin = Connect(db.admin);
    SeedChannels(*admin, 9);
    Live(*admin, "node-a");
    core::Store sa, sb;
    core::PgCluster a(Opts(db, "node-a"), sa);
    std::vector<std::string> releasedA;
    std::mutex mu;
    a.SetCallbacks({}, [&](const std::vector<std::string>& ids) {
        std::lock_guard lock(mu);
        releasedA.insert(releasedA.end(), ids.begin(), ids.end());
    });
    a.Start();
    REQUIRE(WaitFor([&] { return a.GetFigures().owned == 9; }, 10));
    Live(*admin, "node-b");
    core::PgCluster b(Opts(db, "node-b"), sb);
    b.Start();
    // a learns of b at its next step (every second here); 9 = 5 + 4, the first by id more.
    REQUIRE(WaitFor([&] { return a.GetFigures().owned == 5 && b.GetFigures().owned == 4; }, 10));
    {
        std::lock_guard lock(mu);
        CHECK(releasedA.size() == 4);
        for (const auto& id : releasedA) CHECK_FALSE(a.OwnsChannel(id));
    }
    a.Stop(true);
    b.Stop(true);
}

TEST_CASE("leases: a lapsed lease is taken with a new fencing token, and the old holder learns") {
    PgDb db = NewPgDb();
    auto admin = Connect(db.admin);
    SeedChannels(*admin, 2);
    Live(*admin, "node-a");
    core::Store sa;
    core::PgCluster a(Opts(db, "node-a"), sa);
    std::atomic<int> lost{0};
    a.SetCallbacks({}, [&](const std::vector<std::string>& ids) { lost += int(ids.size()); });
    a.Start();
    REQUIRE(WaitFor([&] { return a.GetFigures().owned == 2; }, 10));
    int64_t fence = a.FenceOf("c0").value_or(0);
    CHECK(fence >= 1);
    // Another node takes c0 after a's lease ran out (as if a had been paused).
    REQUIRE(admin
                ->Exec("UPDATE channel_lease SET owner = 'node-z', fence = fence + 1, expires_at "
                       "= now() + interval '1 minute' WHERE channel_id = 'c0'")
                .ok());
    REQUIRE(WaitFor([&] { return lost.load() == 1; }, 5));
    CHECK_FALSE(a.OwnsChannel("c0"));
    CHECK(a.OwnsChannel("c1"));
    CHECK_FALSE(a.FenceOf("c0").has_value());
    CHECK(a.GetFigures().lost == 1);
    // Its subscription write for c0 is refused; for c1 it lands.
    CHECK_FALSE(a.SaveSubscription("c0", "sub-stale"));
    CHECK(a.SaveSubscription("c1", "sub-1"));
    CHECK(Scalar(*admin,
                 "SELECT coalesce(subscription_id, '') FROM channel_lease WHERE "
                 "channel_id = 'c0'") == "");
    CHECK(a.GetFigures().fencedWrites == 1);
    a.Stop(true);
}

TEST_CASE("fencing: a stale delta link is refused, and without the token it would have landed") {
    PgDb db = NewPgDb();
    auto admin = Connect(db.admin);
    SeedChannels(*admin, 1);
    // node-a held c0 under token 1; node-b took it over (token 2) and saved its progress.
    REQUIRE(admin
                ->Exec("UPDATE channel_lease SET owner = 'node-b', fence = 2, expires_at = now() "
                       "+ interval '1 minute'")
                .ok());
    REQUIRE(admin
                ->Exec("INSERT INTO sync_state (channel_id, delta_link, backfilled, seq) VALUES "
                       "('c0', 'link-of-b', true, 1)")
                .ok());
    auto write = [&](std::function<std::optional<int64_t>(const std::string&)> fenceOf) {
        core::PgPersistOptions o;
        o.conninfo = db.node;
        o.nodeId = "node-a";
        o.fenceOf = std::move(fenceOf);
        core::PgPersister p(o);
        p.Start();
        std::string link = "stale-link-of-a";
        p.OnChannelSync("c0", 5000, true, &link);
        REQUIRE(p.Flush(10s));
        uint64_t fenced = p.Stats().fencedWrites;
        p.Stop();
        return fenced;
    };
    // node-a wakes from a pause still believing it holds token 1.
    CHECK(write([](const std::string&) { return std::optional<int64_t>(1); }) == 1);
    CHECK(Scalar(*admin, "SELECT delta_link FROM sync_state WHERE channel_id = 'c0'") ==
          "link-of-b");
    // The same write without the fencing check overwrites the successor's progress.
    CHECK(write(nullptr) == 0);
    CHECK(Scalar(*admin, "SELECT delta_link FROM sync_state WHERE channel_id = 'c0'") ==
          "stale-link-of-a");
    // And the current holder's write lands.
    REQUIRE(admin->Exec("UPDATE channel_lease SET owner = 'node-a', fence = 3").ok());
    CHECK(write([](const std::string&) { return std::optional<int64_t>(3); }) == 0);
}
