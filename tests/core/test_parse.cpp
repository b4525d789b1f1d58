#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/parse.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;

TEST_CASE("a message page parses with every field the model carries") {
    auto page =
        ParseMessagePage(cdeck::test::ReadFile(cdeck::test::FixturesDir() / "messages-page.json"));
    REQUIRE(page.ok());
    CHECK(page->count == 2);
    CHECK(page->nextLink.find("$skiptoken=opaque-token-1") != std::string::npos);
    REQUIRE(page->items.size() == 2);
    const ChatMessage& m = page->items[0];
    CHECK(m.id == "1700000000200");
    CHECK(m.replyToId.empty());
    CHECK(m.etag == "1700000000250");
    CHECK(m.createdDateTime == 1700000000200LL);
    CHECK(m.lastModifiedDateTime == 1700000000250LL);
    CHECK(m.lastEditedDateTime.has_value());
    CHECK_FALSE(m.IsDeleted());
    CHECK(m.subject == "Rollout");
    CHECK(m.importance == "high");
    CHECK(m.locale == "en-us");
    CHECK(m.from.DisplayName() == "Ada Example");
    CHECK(m.from.Id() == "u-1");
    CHECK(m.body.contentType == "html");
    REQUIRE(m.channelIdentity.has_value());
    CHECK(m.channelIdentity->channelId == "19:abc@thread.tacv2");
    REQUIRE(m.attachments.size() == 1);
    CHECK(m.attachments[0].name == "x.pdf");
    REQUIRE(m.mentions.size() == 1);
    CHECK(m.mentions[0].mentioned.user->id == "u-2");
    REQUIRE(m.reactions.size() == 1);
    CHECK(m.reactions[0].reactionType == "like");
    REQUIRE(m.replies.size() == 1);
    CHECK(m.replies[0].replyToId == "1700000000200");
    CHECK(m.replies[0].body.contentType == "text");

    const ChatMessage& sys = page->items[1];
    CHECK(sys.messageType == "systemEventMessage");
    CHECK(sys.IsDeleted());
    CHECK(sys.from.DisplayName().empty());
    CHECK(sys.eventDetailJson.find("membersAddedEventMessageDetail") != std::string::npos);
}

TEST_CASE("wrong types are errors that name the field") {
    auto bad = ParseMessagePage(R"({"value":[{"id":"1","createdDateTime":42}]})");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == ErrorCode::kParse);
    CHECK(bad.error().message.find("createdDateTime") != std::string::npos);

    auto badMentions = ParseMessagePage(R"({"value":[{"id":"1","mentions":{}}]})");
    REQUIRE_FALSE(badMentions.ok());
    CHECK(badMentions.error().message.find("mentions") != std::string::npos);

    auto noId = ParseMessagePage(R"({"value":[{"body":{"content":"x"}}]})");
    REQUIRE_FALSE(noId.ok());
    CHECK(noId.error().message.find("id") != std::string::npos);
}

TEST_CASE("malformed and truncated bodies are parse errors, not crashes") {
    CHECK(ParseMessagePage("").error().code == ErrorCode::kParse);
    CHECK(ParseMessagePage("{\"value\": [").error().code == ErrorCode::kParse);
    CHECK(ParseMessagePage("[]").error().code == ErrorCode::kParse);
    CHECK(ParseMessagePage("{\"value\": 3}").error().code == ErrorCode::kParse);
    CHECK(ParseTeamPage("{\"value\": [1]}").error().code == ErrorCode::kParse);
}

TEST_CASE("unknown fields and nulls are tolerated") {
    auto t = ParseTeamPage(R"({"value":[{"id":"t","displayName":null,"newField":{"x":1}}]})");
    REQUIRE(t.ok());
    CHECK(t->items[0].displayName.empty());
    auto c = ParseChannelPage(
        R"({"value":[{"id":"19:x@thread.tacv2","displayName":"General","membershipType":"private","createdDateTime":"2020-05-27T19:22:25.692Z"}]})");
    REQUIRE(c.ok());
    CHECK(c->items[0].membershipType == "private");
    CHECK(c->items[0].createdDateTime == 1590607345692LL);
}

TEST_CASE("a members page parses, and bad members are errors that name the field") {
    auto page = ParseMemberPage(R"({"@odata.nextLink":"https://g/teams/t/members?$skiptoken=x",
        "value":[{"@odata.type":"#microsoft.graph.aadUserConversationMember","id":"m1",
                  "roles":["owner"],"displayName":"Ann","userId":"u1","email":"ann@x.test",
                  "visibleHistoryStartDateTime":"0001-01-01T00:00:00Z","tenantId":"t"},
                 {"id":"m2","roles":[],"displayName":"Bo","userId":"u2","email":null}]})");
    REQUIRE(page.ok());
    REQUIRE(page->items.size() == 2);
    CHECK(page->items[0].roles == std::vector<std::string>{"owner"});
    CHECK(page->items[0].userId == "u1");
    CHECK(page->items[1].roles.empty());
    CHECK(page->items[1].email.empty());
    CHECK(page->nextLink == "https://g/teams/t/members?$skiptoken=x");
    const std::pair<const char*, const char*> bad[] = {
        {R"({"value":[{"displayName":"x"}]})", "member.id"},
        {R"({"value":[{"id":"m","roles":"owner"}]})", "member.roles"},
        {R"({"value":[{"id":"m","roles":[1]}]})", "member.roles"},
        {R"({"value":[{"id":"m","userId":5}]})", "userId"},
        {R"({"value":[7]})", "member"},
    };
    for (auto [text, want] : bad) {
        auto r = ParseMemberPage(text);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(want) != std::string::npos, r.error().message);
    }
}
