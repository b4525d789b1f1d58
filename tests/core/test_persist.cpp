#include <doctest/doctest.h>

#include <thread>

#include "platform/os.hpp"
#include "support/owner_only.hpp"
#include "persist/database.hpp"
#include "persist/persister.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;

namespace {

ChatMessage Msg(const std::string& id, UnixMillis t, const std::string& body,
                const std::string& replyTo = {}) {
    ChatMessage m;
    m.id = id;
    m.replyToId = replyTo;
    m.etag = std::to_string(t);
    m.createdDateTime = t;
    m.lastModifiedDateTime = t;
    m.body.contentType = "html";
    m.body.content = body;
    m.from.user = Identity{"u1", "Ada", "aadUser"};
    return m;
}

void Seed(Store& s) {
    s.UpsertTeams({Team{"t1", "Ops", "desc", "", "", false}});
    Channel c;
    c.id = "c1";
    c.displayName = "General";
    Channel d;
    d.id = "c2";
    d.displayName = "Incidents";
    s.UpsertChannels("t1", {c, d});
}

std::unique_ptr<Database> OpenDb(const std::string& path) {
    auto db = Database::Open(path);
    REQUIRE_MESSAGE(db.ok(), cdeck::test::ErrText(db));
    return std::move(db.value());
}

}  // namespace

TEST_CASE("the database is created mode 0600, in WAL mode, at the current schema") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "state" / "channeldeck.db").string();
    auto db = OpenDb(path);
    CHECK(cdeck::test::OwnerOnlyProblem(path, cdeck::core::os::OwnerOnlyDescriptorText()) == "");
    auto mode = db->Prepare("PRAGMA journal_mode");
    REQUIRE(mode.ok());
    REQUIRE(mode->Step());
    CHECK(mode->Text(0) == "wal");
    CHECK(db->SchemaVersion() == Database::kSchemaVersion);
    // Opening again does not re-run migrations.
    db.reset();
    CHECK(OpenDb(path)->SchemaVersion() == Database::kSchemaVersion);
}

TEST_CASE("a database from a newer ChannelDeck is refused with a clear error") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    {
        auto db = OpenDb(path);
        auto up = db->Prepare("UPDATE schema_version SET version = ?1");
        REQUIRE(up.ok());
        REQUIRE(up->Bind(1, int64_t{99}).Run().ok());
    }
    auto again = Database::Open(path);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().code == ErrorCode::kConfig);
    CHECK(again.error().message.find("newer ChannelDeck") != std::string::npos);
}

TEST_CASE("what the store publishes is written behind it and loads back before any network call") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    {
        Store store;
        Persister p(OpenDb(path));
        store.SetObserver(&p);
        p.Start();
        Seed(store);
        ChatMessage root = Msg("100", 1000, "<p>root</p>");
        root.replies = {Msg("101", 1100, "first reply", "100")};
        store.MergeMessages("c1", {root, Msg("200", 2000, "<b>second</b>")}, true);
        // An edit, a soft delete and a reply added later.
        ChatMessage edited = Msg("200", 2000, "<b>second, edited</b>");
        edited.lastModifiedDateTime = 2500;
        edited.etag = "2500";
        ChatMessage again = Msg("100", 1000, "<p>root</p>");
        again.replies = {Msg("102", 1200, "second reply", "100")};
        ChatMessage deleted = Msg("300", 3000, "gone");
        deleted.deletedDateTime = 3100;
        deleted.lastModifiedDateTime = 3100;
        store.MergeMessages("c1", {edited, again, deleted}, true);
        store.RecordChannelSync("c1", true, {});
        REQUIRE(p.Flush(std::chrono::seconds(10)));
        p.Stop();
    }
    Store fresh;
    Persister p(OpenDb(path));
    REQUIRE(p.LoadInto(fresh).ok());
    auto snap = fresh.Current();
    REQUIRE(snap->teams.size() == 1);
    CHECK(snap->teams[0]->channelIds == std::vector<std::string>{"c1", "c2"});
    const ChannelData* c = snap->FindChannel("c1");
    REQUIRE(c);
    REQUIRE(c->messages.size() == 3);
    CHECK(c->messages[0]->message.id == "100");
    REQUIRE(c->messages[0]->replies.size() == 2);
    CHECK(c->messages[0]->replies[1]->text.text == "second reply");
    CHECK(c->messages[1]->text.text == "second, edited");
    CHECK(c->messages[2]->message.IsDeleted());
    CHECK(c->backfilled);
    CHECK(c->lastSyncOk > 0);
    CHECK(snap->sync.fromCache);
}

TEST_CASE("the database never goes back to an older version of a message") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    Persister p(OpenDb(path));
    p.Start();
    auto newer = std::make_shared<StoredMessage>();
    newer->message = Msg("1", 1000, "newer");
    newer->message.lastModifiedDateTime = 5000;
    newer->message.etag = "5000";
    auto older = std::make_shared<StoredMessage>();
    older->message = Msg("1", 1000, "older");
    p.OnMessages("c1", {newer});
    p.OnMessages("c1", {older});
    REQUIRE(p.Flush(std::chrono::seconds(10)));
    p.Stop();
    Store s;
    Seed(s);
    Persister again(OpenDb(path));
    REQUIRE(again.LoadInto(s).ok());
    CHECK(s.Current()->FindChannel("c1")->messages.at(0)->text.text == "newer");
}

TEST_CASE("the audit log is append-only, drafts are saved, replaced and deleted") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    Persister p(OpenDb(path));
    p.Start();
    p.AppendAudit(
        {0, 0, "moderator", "softDelete", "t1", "c1", "m1", "rule-7", "ok", "req-123", "{}"});
    p.AppendAudit(
        {0, 0, "moderator", "undoSoftDelete", "t1", "c1", "m1", "", "ok", "req-124", "{}"});
    p.SaveDraft({"channel:c1", "t1", "c1", "", "Subject", "draft one", 0});
    p.SaveDraft({"channel:c1", "t1", "c1", "", "Subject", "draft two", 0});
    p.SaveDraft({"reply:c1:m1", "t1", "c1", "m1", "", "a reply", 0});
    p.DeleteDraft("reply:c1:m1");
    REQUIRE(p.Flush(std::chrono::seconds(10)));
    auto audit = p.LoadAudit();
    REQUIRE(audit.size() == 2);
    CHECK(audit[0].action == "undoSoftDelete");
    CHECK(audit[1].requestId == "req-123");
    auto drafts = p.LoadDrafts();
    REQUIRE(drafts.size() == 1);
    CHECK(drafts[0].body == "draft two");
    p.Stop();
    // Hostile values are data, not SQL (every statement binds its parameters).
    auto db = OpenDb(path);
    auto upd = db->Exec("UPDATE audit_log SET actor = 'x'");
    REQUIRE_FALSE(upd.ok());
    CHECK(upd.error().message.find("append-only") != std::string::npos);
    CHECK_FALSE(db->Exec("DELETE FROM audit_log").ok());
    Persister hostile(std::move(db));
    hostile.Start();
    hostile.SaveDraft(
        {"x'); DROP TABLE drafts; --", "t", "c", "", "'", "\"; DELETE FROM audit_log; --", 0});
    REQUIRE(hostile.Flush(std::chrono::seconds(10)));
    CHECK(hostile.LoadDrafts().size() == 2);
    CHECK(hostile.LoadAudit().size() == 2);
}

TEST_CASE(
    "a failing database keeps the data in memory, reports it, and catches up when it recovers") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    Store store;
    Persister p(OpenDb(path));
    std::vector<PersistStats> reports;
    std::mutex m;
    p.SetStatusCallback([&](const PersistStats& s) {
        std::lock_guard lock(m);
        reports.push_back(s);
    });
    store.SetObserver(&p);
    p.Start();
    Seed(store);
    REQUIRE(p.Flush(std::chrono::seconds(10)));
    REQUIRE(p.SetWriteFault(true).ok());
    store.MergeMessages("c1", {Msg("1", 1000, "kept while the disk is read-only")}, false);
    p.SaveDraft({"channel:c1", "t1", "c1", "", "", "unsaved draft", 0});
    CHECK_FALSE(p.Flush(std::chrono::milliseconds(1500)));
    auto stats = p.Stats();
    CHECK(stats.failing);
    CHECK(stats.queued >= 2);
    CHECK_FALSE(stats.lastError.empty());
    {
        std::lock_guard lock(m);
        CHECK(std::any_of(reports.begin(), reports.end(),
                          [](const PersistStats& s) { return s.failing; }));
    }
    REQUIRE(p.SetWriteFault(false).ok());
    REQUIRE(p.Flush(std::chrono::seconds(40)));
    CHECK_FALSE(p.Stats().failing);
    CHECK(p.LoadDrafts().size() == 1);
    p.Stop();
    Store fresh;
    Persister again(OpenDb(path));
    REQUIRE(again.LoadInto(fresh).ok());
    CHECK(fresh.Current()->FindChannel("c1")->messages.size() == 1);
}

TEST_CASE("retention keeps the newest messages per channel and caps edit history") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    PersistOptions o;
    o.retentionMaxMessages = 3;
    o.maxVersionsPerMessage = 2;
    Persister p(OpenDb(path), o);
    p.Start();
    for (int i = 0; i < 6; ++i) {
        auto m = std::make_shared<StoredMessage>();
        m->message = Msg(std::to_string(i), 1000 + i, "v");
        p.OnMessages("c1", {m});
    }
    for (int v = 0; v < 5; ++v) {
        auto m = std::make_shared<StoredMessage>();
        m->message = Msg("5", 1005, "version " + std::to_string(v));
        m->message.lastModifiedDateTime = 2000 + v;
        m->message.etag = std::to_string(2000 + v);
        p.OnMessages("c1", {m});
    }
    REQUIRE(p.Flush(std::chrono::seconds(10)));
    REQUIRE(p.ApplyRetention().ok());
    p.Stop();
    auto db = OpenDb(path);
    auto count = db->Prepare("SELECT count(*), min(created_ms) FROM messages");
    REQUIRE(count.ok());
    REQUIRE(count->Step());
    CHECK(count->Int(0) == 3);
    CHECK(count->Int(1) == 1003);
    auto versions = db->Prepare("SELECT count(*) FROM message_versions WHERE id = ?1");
    REQUIRE(versions.ok());
    REQUIRE(versions->Bind(1, std::string_view("5")).Step());
    CHECK(versions->Int(0) == 2);
}

TEST_CASE("start-up can load each channel's newest roots first and the older history after") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    {
        Store store;
        Persister p(OpenDb(path));
        store.SetObserver(&p);
        p.Start();
        Seed(store);
        std::vector<ChatMessage> roots;
        for (int i = 0; i < 30; ++i) {
            ChatMessage r = Msg("r" + std::to_string(100 + i), 1000 + i * 10, "root");
            if (i % 3 == 0)
                r.replies = {Msg("x" + std::to_string(i), 1001 + i * 10, "reply", r.id)};
            roots.push_back(r);
        }
        store.MergeMessages("c1", roots, true);
        store.MergeMessages("c2", {Msg("only", 5000, "one")}, true);
        store.RecordChannelSync("c1", true, {});
        REQUIRE(p.Flush(std::chrono::seconds(10)));
        p.Stop();
    }
    Store s;
    Persister p(OpenDb(path));
    REQUIRE(p.LoadInto(s, 10).ok());
    const ChannelData* c1 = s.Current()->FindChannel("c1");
    REQUIRE(c1->messages.size() == 10);
    CHECK(c1->messages.front()->message.id == "r120");  // the newest ten
    CHECK(c1->replyCount == 3);                         // r120, r123, r126 have replies
    CHECK(s.Current()->FindChannel("c2")->messages.size() == 1);
    CHECK(c1->backfilled);
    REQUIRE(p.LoadOlderInto(s, 10).ok());
    c1 = s.Current()->FindChannel("c1");
    CHECK(c1->messages.size() == 30);
    CHECK(c1->replyCount == 10);
    CHECK(c1->messages.front()->message.id == "r100");
}
