// A desk following the nodes through a real PostgreSQL: the store fills from the database,
// hints wake it, a backstop covers lost hints, and a lost connection ends with no gap and
// no duplicate.
#include <doctest/doctest.h>

#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "pg/pg_fixture.hpp"
#include "pg/pg_follower.hpp"
#include "pg/pg_persister.hpp"
#include "store/store.hpp"

using namespace cdeck;
using namespace cdeck::test;
using namespace std::chrono_literals;

namespace {

core::ChatMessage Msg(const std::string& id, core::UnixMillis t, const std::string& body,
                      const std::string& replyTo = {}) {
    return PgMsg(id, t, t, body, replyTo);
}

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds limit = 15s) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return cond();
}

// Counts roots and replies a store holds for a channel, and checks ids are unique.
size_t Held(const core::Store& s, const std::string& ch, bool* unique = nullptr) {
    auto snap = s.Current();  // held: the channel lives in it
    const core::ChannelData* c = snap->FindChannel(ch);
    if (!c) return 0;
    std::set<std::string> ids;
    size_t n = 0;
    for (const auto& m : c->messages) {
        ids.insert(m->message.id);
        ++n;
        for (const auto& r : m->replies) {
            ids.insert(r->message.id);
            ++n;
        }
    }
    if (unique) *unique = ids.size() == n;
    return n;
}

struct NodeSide {
    core::Store store;
    std::unique_ptr<core::PgPersister> persister;
    explicit NodeSide(const std::string& conninfo) {
        core::PgPersistOptions o;
        o.conninfo = conninfo;
        o.nodeId = "node-a";
        o.batchSize = 100;
        persister = std::make_unique<core::PgPersister>(o);
        store.SetObserver(persister.get());
        persister->Start();
        core::Team t;
        t.id = "t1";
        t.displayName = "Ops";
        store.UpsertTeams({t});
        core::Channel a, b;
        a.id = "c1";
        a.teamId = b.teamId = "t1";
        a.displayName = "Alerts";
        b.id = "c2";
        b.displayName = "Chat";
        store.UpsertChannels("t1", {a, b});
    }
    ~NodeSide() {
        persister->Stop();
        store.SetObserver(nullptr);
    }
};

}  // namespace

TEST_CASE("follow: a desk fills its store from the database and follows new commits") {
    PgDb db = NewPgDb();
    NodeSide node(db.node);
    std::vector<core::ChatMessage> first;
    for (int i = 0; i < 120; ++i)
        first.push_back(Msg("m" + std::to_string(i), 1000 + i, "hello " + std::to_string(i)));
    first[0].replies.push_back(Msg("r0", 5000, "a reply", "m0"));
    node.store.MergeMessages("c1", first, true);
    REQUIRE(node.persister->Flush(10s));

    core::Store desk;
    core::FollowOptions fo;
    fo.conninfo = db.alice;  // a moderator's own login: read-only on messages
    fo.firstRoots = 20;
    core::PgFollower follower(desk, fo);
    std::mutex mu;
    std::vector<core::ReviewItem> review;
    follower.SetReviewCallback([&](std::vector<core::ReviewItem> items) {
        std::lock_guard lock(mu);
        review.insert(review.end(), items.begin(), items.end());
    });
    core::ReviewItem flagged;
    flagged.messageId = "m3";
    flagged.ruleId = "rule-1";
    flagged.channelId = "c1";
    flagged.text = "hello 3";
    node.persister->SaveReviewItems({flagged}, "pack", 2);
    REQUIRE(node.persister->Flush(10s));
    follower.Start();
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 121; }));
    REQUIRE(WaitFor([&] {
        std::lock_guard lock(mu);
        return review.size() == 1;
    }));
    CHECK(review[0].messageId == "m3");
    CHECK(review[0].text == "hello 3");
    CHECK(desk.Current()->teams.size() == 1);
    CHECK(desk.Current()->FindChannel("c2") != nullptr);

    // A new root, an edit and a reply to an old root arrive through hints.
    node.store.MergeMessages("c1", {Msg("new", 9000, "fresh")}, false);
    auto edited = Msg("m5", 1005, "");
    edited.lastModifiedDateTime = 9500;
    edited.etag = "9500";
    edited.body.content = "edited text";
    auto withReply = Msg("m7", 1007, "hello 7");
    withReply.replies.push_back(Msg("r7", 9600, "late reply", "m7"));
    node.store.MergeMessages("c1", {edited, withReply}, false);
    REQUIRE(node.persister->Flush(10s));
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 123; }));
    auto snap = desk.Current();
    const core::ChannelData* c = snap->FindChannel("c1");
    bool sawEdit = false, sawReply = false;
    for (const auto& m : c->messages) {
        if (m->message.id == "m5") sawEdit = m->message.body.content == "edited text";
        if (m->message.id == "m7")
            for (const auto& r : m->replies) sawReply = sawReply || r->message.id == "r7";
    }
    CHECK(sawEdit);
    CHECK(sawReply);
    // A sync fact alone (no message, no directory change) reaches the desk too.
    node.store.RecordChannelSync("c2", true, "");
    REQUIRE(node.persister->Flush(10s));
    CHECK(WaitFor([&] {
        auto now = desk.Current();
        const core::ChannelData* c2 = now->FindChannel("c2");
        return c2 && c2->lastSyncOk > 0;
    }));
    // The status says what the desk follows.
    REQUIRE(WaitFor([&] { return desk.Current()->sync.followNodes == 1; }));
    const core::SyncStatus& st = desk.Current()->sync;
    CHECK(st.following);
    CHECK(st.followConnected);
    CHECK(st.phase == "live");
    CHECK(st.lastNodeCommit > 0);
    CHECK(follower.Stats().hints > 0);
    follower.Stop();
}

TEST_CASE("follow: hints are never data, the backstop covers a lost hint") {
    PgDb db = NewPgDb();
    NodeSide node(db.node);
    node.store.MergeMessages("c1", {Msg("m1", 1000, "one")}, true);
    REQUIRE(node.persister->Flush(10s));
    core::Store desk;
    core::FollowOptions fo;
    fo.conninfo = db.bob;
    fo.backstopSeconds = 1;
    core::PgFollower follower(desk, fo);
    follower.Start();
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 1; }));
    // Garbage and hints naming unknown channels only cause reads.
    auto admin = Connect(db.admin);
    for (const char* payload :
         {"not json", "{\"channels\":[\"nope\"],\"seq\":99999999}", "{\"channels\":42}", "[]"})
        REQUIRE(admin->Exec("SELECT pg_notify('cdeck_changes', $1)", {payload}).ok());
    REQUIRE(WaitFor([&] { return follower.Stats().hints >= 4; }));
    CHECK(desk.Current()->FindChannel("nope") == nullptr);
    CHECK(Held(desk, "c1") == 1);
    // A row committed with no hint at all (a lost notification) still arrives.
    auto nodeConn = Connect(db.node);
    REQUIRE(nodeConn
                ->Exec("INSERT INTO messages(channel_id, id, created_ms, modified_ms, json, seq) "
                       "VALUES ('c1', 'quiet', 2000, 2000, $1, nextval('commit_seq'))",
                       {"{\"id\":\"quiet\",\"createdDateTime\":\"2026-01-01T00:00:02Z\","
                        "\"messageType\":\"message\",\"body\":{\"contentType\":\"text\","
                        "\"content\":\"no hint\"}}"})
                .ok());
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 2; }, 10s));
    CHECK(follower.Stats().backstops > 0);
    follower.Stop();
}

TEST_CASE("follow: a desk that loses the database shows it, then catches up with no gap") {
    PgDb db = NewPgDb();
    NodeSide node(db.node);
    core::Store desk;
    core::FollowOptions fo;
    fo.conninfo = db.alice;
    fo.backstopSeconds = 3600;  // only the reconnect's catch-up may fill the gap
    core::PgFollower follower(desk, fo);
    follower.Start();
    REQUIRE(WaitFor([&] { return follower.Stats().loaded; }));
    int next = 0;
    auto write = [&](int n) {
        std::vector<core::ChatMessage> v;
        for (int i = 0; i < n; ++i, ++next)
            v.push_back(Msg("m" + std::to_string(next), 1000 + next, "x"));
        node.store.MergeMessages("c1", v, false);
    };
    write(50);
    REQUIRE(node.persister->Flush(10s));
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 50; }));
    // The whole database restarts: the desk sees it gone (STALE) and reconnects.
    PgCluster& cl = SharedCluster();
    REQUIRE(cl.Stop());
    REQUIRE(WaitFor([&] { return !desk.Current()->sync.followConnected; }));
    CHECK(desk.Current()->sync.phase == "error");
    CHECK(desk.Current()->sync.lastError.find("database unreachable") != std::string::npos);
    write(40);  // the node keeps these until the database is back
    REQUIRE(cl.Start());
    REQUIRE(node.persister->Flush(30s));
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 90; }, 30s));
    // Then its own connection is killed while the node writes: hints sent meanwhile are
    // lost to it, and the reconnect's catch-up fills the gap.
    auto admin = Connect(db.admin);
    REQUIRE(admin
                ->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                       "application_name = 'channeldeck desk'")
                .ok());
    write(30);
    REQUIRE(node.persister->Flush(10s));
    REQUIRE(WaitFor([&] { return Held(desk, "c1") == 120; }, 30s));
    bool unique = false;
    CHECK(Held(desk, "c1", &unique) == 120);
    CHECK(unique);
    CHECK(follower.Stats().reconnects >= 3);
    REQUIRE(WaitFor([&] { return desk.Current()->sync.followConnected; }));
    follower.Stop();
}
