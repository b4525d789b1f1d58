// The node's PostgreSQL persister against a real server: multi-row upserts that keep only
// the newer version, one hint per committed batch, and nothing lost across a restart.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "pg/pg_fixture.hpp"
#include "pg/pg_persister.hpp"
#include "store/store.hpp"

using namespace cdeck;
using namespace cdeck::test;
using namespace std::chrono_literals;

namespace {

core::ChatMessage Msg(const std::string& id, core::UnixMillis created, core::UnixMillis modified,
                      const std::string& body, const std::string& replyTo = {}) {
    return PgMsg(id, created, modified, body, replyTo);
}

// A store with one team and channel whose observer is the persister.
struct Fixture {
    PgDb db = NewPgDb();
    core::Store store;
    std::unique_ptr<core::PgPersister> persister;
    explicit Fixture(size_t maxQueue = 50000, size_t batch = 2000) {
        core::PgPersistOptions o;
        o.conninfo = db.node;
        o.nodeId = "node-a";
        o.maxQueue = maxQueue;
        o.batchSize = batch;
        persister = std::make_unique<core::PgPersister>(o);
        store.SetObserver(persister.get());
        persister->Start();
        core::Team t;
        t.id = "t1";
        t.displayName = "Team";
        store.UpsertTeams({t});
        core::Channel c;
        c.id = "c1";
        c.teamId = "t1";
        c.displayName = "General";
        store.UpsertChannels("t1", {c});
    }
    ~Fixture() {
        persister->Stop();
        store.SetObserver(nullptr);
    }
};

}  // namespace

TEST_CASE("pg persister: messages, replies and versions are written, older versions lose") {
    Fixture f;
    auto root = Msg("m1", 1000, 1000, "first");
    root.replies.push_back(Msg("r1", 1100, 1100, "reply", "m1"));
    f.store.MergeMessages("c1", {root, Msg("m2", 2000, 2000, "second")}, false);
    REQUIRE(f.persister->Flush(10s));
    auto c = Connect(f.db.admin);
    CHECK(Scalar(*c, "SELECT count(*) FROM messages") == "3");
    CHECK(Scalar(*c, "SELECT reply_to_id FROM messages WHERE id = 'r1'") == "m1");
    CHECK(Scalar(*c, "SELECT count(*) FROM teams") == "1");
    CHECK(Scalar(*c, "SELECT team_id FROM channels WHERE id = 'c1'") == "t1");
    CHECK(Scalar(*c, "SELECT count(*) FROM message_versions") == "0");  // no edits yet
    // An edit replaces the row; the version it replaced goes to the history.
    f.store.MergeMessages("c1", {Msg("m1", 1000, 5000, "edited")}, false);
    REQUIRE(f.persister->Flush(10s));
    CHECK(Scalar(*c, "SELECT modified_ms FROM messages WHERE id = 'm1'") == "5000");
    CHECK(Scalar(*c, "SELECT count(*) FROM message_versions WHERE id = 'm1'") == "1");
    CHECK(Scalar(*c, "SELECT content FROM message_versions WHERE id = 'm1'") == "first");
    f.store.MergeMessages("c1", {Msg("m1", 1000, 6000, "edited twice")}, false);
    REQUIRE(f.persister->Flush(10s));
    CHECK(Scalar(*c,
                 "SELECT string_agg(content, ',' ORDER BY modified_ms) FROM message_versions "
                 "WHERE id = 'm1'") == "first,edited");
    // An older version arriving late (straight to the persister, as a second node would
    // send it) does not overwrite the newer one.
    core::Store other;
    other.SetObserver(f.persister.get());
    core::Team t;
    t.id = "t1";
    other.UpsertTeams({t});
    core::Channel ch;
    ch.id = "c1";
    ch.teamId = "t1";
    other.UpsertChannels("t1", {ch});
    other.MergeMessages("c1", {Msg("m1", 1000, 3000, "stale")}, false);
    REQUIRE(f.persister->Flush(10s));
    other.SetObserver(nullptr);
    CHECK(Scalar(*c, "SELECT modified_ms FROM messages WHERE id = 'm1'") == "6000");
    CHECK(Scalar(*c, "SELECT json::jsonb->'body'->>'content' FROM messages WHERE id = 'm1'") ==
          "edited twice");
    CHECK(Scalar(*c, "SELECT count(*) FROM message_versions WHERE id = 'm1'") == "2");
}

TEST_CASE("pg persister: one hint per committed batch, with the sequence and channels") {
    Fixture f;
    // The fixture's own batches (team, channels) commit before anyone listens.
    REQUIRE(f.persister->Flush(10s));
    uint64_t before = f.persister->Stats().committedBatches;
    auto listener = Connect(f.db.alice);
    REQUIRE(listener->Listen("cdeck_changes").ok());
    std::vector<core::ChatMessage> many;
    for (int i = 0; i < 50; ++i)
        many.push_back(Msg("m" + std::to_string(i), 1000 + i, 1000 + i, "x"));
    f.store.MergeMessages("c1", many, true);
    REQUIRE(f.persister->Flush(10s));
    std::vector<core::PgNotification> got;
    for (int i = 0; i < 20 && got.empty(); ++i) {
        auto n = listener->WaitForNotifications(200ms);
        REQUIRE(n.ok());
        got = n.value();
    }
    REQUIRE_FALSE(got.empty());
    auto stats = f.persister->Stats();
    // Every batch sent exactly one hint, and the last one names the last sequence number.
    for (int i = 0; i < 10; ++i) {
        auto n = listener->WaitForNotifications(100ms);
        REQUIRE(n.ok());
        got.insert(got.end(), n->begin(), n->end());
    }
    CHECK(got.size() == stats.committedBatches - before);
    auto last = nlohmann::json::parse(got.back().payload);
    CHECK(last["seq"].get<int64_t>() == stats.lastCommitSeq);
    CHECK(last["node"] == "node-a");
    bool namedChannel = false;
    for (const auto& n : got)
        if (n.payload.find("\"c1\"") != std::string::npos) namedChannel = true;
    CHECK(namedChannel);
    // The rows carry the sequence number of the batch that wrote them.
    auto c = Connect(f.db.admin);
    CHECK(Scalar(*c, "SELECT max(seq) FROM messages") == std::to_string(stats.lastCommitSeq));
    CHECK(Scalar(*c, "SELECT last_commit_seq FROM sync_node WHERE node_id = 'node-a'") ==
          std::to_string(stats.lastCommitSeq));
}

TEST_CASE("pg persister: a sync without a new delta link keeps the stored one") {
    Fixture f;
    std::string link = "https://graph/delta?token=1";
    f.store.RecordChannelSync("c1", true, "", &link);
    REQUIRE(f.persister->Flush(10s));
    f.store.RecordChannelSync("c1", true, "");
    REQUIRE(f.persister->Flush(10s));
    auto c = Connect(f.db.admin);
    CHECK(Scalar(*c, "SELECT delta_link FROM sync_state WHERE channel_id = 'c1'") == link);
}

TEST_CASE("pg persister: the database restarts mid-run, every message is stored exactly once") {
    Fixture f(/*maxQueue=*/300, /*batch=*/50);
    PgCluster& cl = SharedCluster();
    auto batchOf = [](int from, int n) {
        std::vector<core::ChatMessage> v;
        for (int i = from; i < from + n; ++i)
            v.push_back(Msg("m" + std::to_string(i), 1000 + i, 1000 + i, "x"));
        return v;
    };
    f.store.MergeMessages("c1", batchOf(0, 100), false);
    REQUIRE(f.persister->Flush(10s));
    REQUIRE(cl.Stop());
    // While the database is down the writer keeps its backlog; a producer that fills the
    // bounded queue waits (the sync slows) instead of dropping anything.
    std::atomic<bool> producerDone{false};
    std::thread producer([&] {
        for (int k = 0; k < 5; ++k) f.store.MergeMessages("c1", batchOf(100 + k * 100, 100), false);
        producerDone = true;
    });
    std::this_thread::sleep_for(1500ms);
    auto during = f.persister->Stats();
    CHECK(during.failing);
    CHECK_FALSE(during.connected);
    CHECK(during.queued <= 300);
    CHECK_FALSE(producerDone.load());  // blocked by back-pressure
    REQUIRE(cl.Start());
    producer.join();
    REQUIRE(f.persister->Flush(30s));
    auto after = f.persister->Stats();
    CHECK_FALSE(after.failing);
    CHECK(after.producerWaitMs > 0);
    auto c = Connect(f.db.admin);
    CHECK(Scalar(*c, "SELECT count(*) FROM messages") == "600");
    CHECK(Scalar(*c, "SELECT count(DISTINCT id) FROM messages") == "600");
}
