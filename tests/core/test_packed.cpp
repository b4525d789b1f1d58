// The local cache's packed rows (model/packed.hpp) and the load that reads them: exact round
// trips, damage that costs a row and nothing more, and caches written before schema 3.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/packed.hpp"
#include "model/serialize.hpp"
#include "persist/database.hpp"
#include "persist/persister.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;

namespace {

ChatMessage Rich(const std::string& id, UnixMillis t) {
    ChatMessage m;
    m.id = id;
    m.etag = std::to_string(t);
    m.createdDateTime = t;
    m.lastModifiedDateTime = t + 5;
    m.lastEditedDateTime = t + 5;
    m.from.user = Identity{"u-1", "Ann", "aadUser", "tenant-1"};
    m.body.contentType = "html";
    m.body.content = "<p>hello <at id=\"0\">Bo</at></p>";
    m.channelIdentity = ChannelIdentity{"t1", "c1"};
    m.webUrl = "https://teams.microsoft.com/l/message/c1/" + id + "?createdTime=" + id;
    m.subject = "Subject";
    m.importance = "urgent";
    m.locale = "en-us";
    m.policyViolationJson = R"({"dlpAction":"notifySender"})";
    m.hasPolicyViolation = true;
    m.mentions.push_back(Mention{0, "Bo", {}});
    m.mentions[0].mentioned.user = Identity{"u-2", "Bo", "aadUser", ""};
    m.reactions.push_back(Reaction{"heart", "Heart", t + 1, {}});
    m.reactions[0].user.application = Identity{"app-1", "Bot", "", ""};
    m.attachments.push_back(Attachment{"a1", "reference", "https://x/f.pdf", "", "f.pdf", "", ""});
    return m;
}

std::unique_ptr<Database> OpenDb(const std::string& path) {
    auto db = Database::Open(path);
    REQUIRE_MESSAGE(db.ok(), cdeck::test::ErrText(db));
    return std::move(db.value());
}

// A row as an older ChannelDeck wrote it (JSON only), or with the given packed bytes.
void PutRow(Database& db, const ChatMessage& m, const std::string& json,
            const std::string* packed) {
    auto st = db.Prepare(
        "INSERT INTO messages(channel_id, id, reply_to_id, created_ms, modified_ms, etag, json, "
        "packed) VALUES('c1', ?1, NULL, ?2, ?2, ?3, ?4, ?5)");
    REQUIRE(st.ok());
    st->Bind(1, m.id).Bind(2, m.createdDateTime).Bind(3, m.etag).Bind(4, json);
    if (packed)
        st->BindBlob(5, *packed);
    else
        st->BindNull(5);
    REQUIRE(st->Run().ok());
}

void SeedChannel(Database& db) {
    auto t = db.Prepare("INSERT INTO teams(id, json, updated_ms) VALUES('t1', ?1, 0)");
    REQUIRE(t.ok());
    REQUIRE(t->Bind(1, ToJson(Team{"t1", "Ops", "", "", "", false}).dump()).Run().ok());
    auto c = db.Prepare(
        "INSERT INTO channels(id, team_id, position, json, updated_ms) VALUES('c1', 't1', 0, ?1, "
        "0)");
    REQUIRE(c.ok());
    Channel ch;
    ch.id = "c1";
    ch.teamId = "t1";
    ch.displayName = "General";
    REQUIRE(c->Bind(1, ToJson(ch).dump()).Run().ok());
}

}  // namespace

TEST_CASE("a packed message unpacks to exactly what was packed") {
    for (const ChatMessage& m : {Rich("1700000000001", 1'700'000'000'001), ChatMessage{}}) {
        ChatMessage in = m;
        if (in.id.empty()) in.id = "bare";  // a message with nothing but an id
        CompactMessage c(in);
        std::string bytes = PackMessage(c);
        auto back = UnpackMessage(bytes);
        REQUIRE_MESSAGE(back.ok(), cdeck::test::ErrText(back));
        CHECK(ToJson(back.value()) == ToJson(c));
        CHECK(PackMessage(back.value()) == bytes);
        CHECK(back->from == c.from);  // interned again to the same author
        CHECK(back->urlTemplate == c.urlTemplate);
    }
}

TEST_CASE("damaged packed bytes fail cleanly, whatever the damage") {
    std::string bytes = PackMessage(CompactMessage(Rich("1700000000002", 1'700'000'000'002)));
    for (size_t n = 0; n < bytes.size(); ++n)  // every truncation
        CHECK_FALSE(UnpackMessage(std::string_view(bytes).substr(0, n)).ok());
    CHECK_FALSE(UnpackMessage(bytes + "x").ok());  // trailing bytes
    size_t unpacked = 0;
    for (size_t i = 0; i < bytes.size(); ++i) {  // every byte, three ways
        for (unsigned char v : {0x00, 0x7F, 0xFF}) {
            std::string bad = bytes;
            bad[i] = static_cast<char>(v);
            auto m = UnpackMessage(bad);
            if (!m) continue;
            ++unpacked;  // a different but well-formed message: it must pack stably
            std::string again = PackMessage(m.value());
            auto m2 = UnpackMessage(again);
            REQUIRE(m2.ok());
            CHECK(PackMessage(m2.value()) == again);
        }
    }
    CHECK(unpacked < 3 * bytes.size());  // most damage is caught
}

TEST_CASE("the load reads packed rows, JSON rows from older caches, and skips damaged ones") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "c.db").string();
    ChatMessage packedRow = Rich("1700000000010", 1'700'000'000'010);
    ChatMessage jsonRow = Rich("1700000000011", 1'700'000'000'011);
    ChatMessage fallback = Rich("1700000000012", 1'700'000'000'012);
    ChatMessage lost = Rich("1700000000013", 1'700'000'000'013);
    {
        auto db = OpenDb(path);
        SeedChannel(*db);
        std::string packed = PackMessage(CompactMessage(packedRow));
        PutRow(*db, packedRow, "", &packed);
        PutRow(*db, jsonRow, ToJson(jsonRow).dump(), nullptr);
        std::string damaged = "\x01garbage";
        PutRow(*db, fallback, ToJson(fallback).dump(), &damaged);  // JSON still reads
        PutRow(*db, lost, "", &damaged);                           // nothing reads
    }
    Store s;
    Persister p(OpenDb(path));
    REQUIRE(p.LoadInto(s).ok());
    const ChannelData* c = s.Current()->FindChannel("c1");
    REQUIRE(c);
    REQUIRE(c->messages.size() == 3);
    CHECK(c->messages[0]->message.id == packedRow.id);
    CHECK(c->messages[1]->message.id == jsonRow.id);
    CHECK(c->messages[2]->message.id == fallback.id);
    for (const auto& m : c->messages) {
        CHECK(m->message.Subject() == "Subject");
        CHECK(m->message.Mentions().size() == 1);
        CHECK(m->message.WebUrl().find(m->message.id) != std::string::npos);
        CHECK(m->text.text == "hello @Bo");
    }
}

TEST_CASE("a schema 2 cache is upgraded in place and its JSON rows load") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "old.db").string();
    ChatMessage m = Rich("1700000000020", 1'700'000'000'020);
    {
        auto db = OpenDb(path);
        SeedChannel(*db);
        PutRow(*db, m, ToJson(m).dump(), nullptr);
        // Back to schema 2's shape: no packed column.
        REQUIRE(db->Exec("ALTER TABLE messages DROP COLUMN packed").ok());
        auto v = db->Prepare("UPDATE schema_version SET version = 2");
        REQUIRE(v.ok());
        REQUIRE(v->Run().ok());
    }
    auto db = OpenDb(path);
    CHECK(db->SchemaVersion() == 3);
    Store s;
    Persister p(std::move(db));
    REQUIRE(p.LoadInto(s).ok());
    const ChannelData* c = s.Current()->FindChannel("c1");
    REQUIRE(c);
    REQUIRE(c->messages.size() == 1);
    CHECK(c->messages[0]->message.Importance() == "urgent");
    CHECK(c->messages[0]->message.From().user->tenantId == "tenant-1");
}
