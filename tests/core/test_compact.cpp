// The compact stored form (model/compact.hpp, model/intern.hpp): what it shares, what it
// keeps out of line, and that it gives back exactly what it was given.
#include <doctest/doctest.h>

#include "model/compact.hpp"
#include "model/intern.hpp"
#include "store/store.hpp"

using namespace cdeck::core;

namespace {

ChatMessage Plain(const std::string& id, const std::string& replyTo = {}) {
    ChatMessage m;
    m.id = id;
    m.replyToId = replyTo;
    m.etag = id;
    m.createdDateTime = 1'700'000'000'000;
    m.from.user = Identity{"u-1", "Ann", "aadUser", "tenant-1"};
    m.body.contentType = "html";
    m.body.content = "<p>hello</p>";
    m.channelIdentity = ChannelIdentity{"team-1", "19:general@thread.tacv2"};
    std::string parent = replyTo.empty() ? id : replyTo;
    m.webUrl = "https://teams.microsoft.com/l/message/19%3Ageneral%40thread.tacv2/" + id +
               "?groupId=g-1&tenantId=t-1&createdTime=" + id + "&parentMessageId=" + parent;
    return m;
}

}  // namespace

TEST_CASE("messages of one channel share their author, channel and webUrl shape") {
    CompactMessage a(Plain("1700000000001")), b(Plain("1700000000002"));
    CompactMessage r1(Plain("1700000000003", "1700000000001"));
    CompactMessage r2(Plain("1700000000004", "1700000000002"));
    CHECK(a.from == b.from);
    CHECK(a.channelIdentity == b.channelIdentity);
    REQUIRE(a.urlTemplate != nullptr);
    CHECK(a.urlTemplate == b.urlTemplate);    // roots share one template
    CHECK(r1.urlTemplate == r2.urlTemplate);  // and replies another
    CHECK(a.WebUrl() == Plain("1700000000001").webUrl);
    CHECK(r2.WebUrl() == Plain("1700000000004", "1700000000002").webUrl);
    CHECK(a.From().user->tenantId == "tenant-1");
    // A plain message needs nothing out of line.
    CHECK_FALSE(a.extras);
    CHECK(a.MessageType() == "message");
    CHECK(a.Importance() == "normal");
    CHECK(a.ContentType() == "html");
}

TEST_CASE("a different display name is a different interned author, an empty one none") {
    ChatMessage m = Plain("1");
    CompactMessage before(m);
    m.from.user->displayName = "Ann Smith";
    CompactMessage renamed(m);
    CHECK(before.from != renamed.from);
    CHECK(renamed.From().DisplayName() == "Ann Smith");
    m.from = {};
    CompactMessage anonymous(m);
    CHECK(anonymous.from == nullptr);
    CHECK(anonymous.From().DisplayName().empty());
    CHECK(InternIdentitySet(IdentitySet{}) == nullptr);
}

TEST_CASE("rare fields and unusual values live in the extras and come back unchanged") {
    ChatMessage m = Plain("42");
    m.subject = "Release";
    m.summary = "short";
    m.locale = "en-us";
    m.messageType = "someFutureKind";
    m.importance = "critical";
    m.body.contentType = "markdown";
    m.eventDetailJson = R"({"@odata.type":"#microsoft.graph.membersAddedEventMessageDetail"})";
    m.mentions.push_back(Mention{0, "Sales", {}});
    m.mentions[0].mentioned.conversation = Identity{"19:x", "Sales", "channel"};
    m.reactions.push_back(Reaction{"like", "Like", 1'700'000'000'500, {}});
    m.reactions[0].user.user = Identity{"u-2", "", "aadUser"};
    m.attachments.push_back(Attachment{"a1", "reference", "https://x/y.pdf", "", "y.pdf", "", ""});
    m.repliesNextLink = "https://graph.microsoft.com/v1.0/next";
    ChatMessage copy = m;
    CompactMessage c(std::move(copy));
    REQUIRE(c.extras);
    CHECK(c.kind == MessageKind::kOther);
    CHECK(c.MessageType() == "someFutureKind");
    CHECK(c.importance == ImportanceKind::kOther);
    CHECK(c.Importance() == "critical");
    CHECK(c.ContentType() == "markdown");
    CHECK(c.Subject() == "Release");
    REQUIRE(c.Mentions().size() == 1);
    CHECK(c.Mentions()[0].mentioned->conversation->id == "19:x");
    REQUIRE(c.Reactions().size() == 1);
    CHECK(*c.Reactions()[0].createdDateTime == 1'700'000'000'500);
    ChatMessage back = ToChatMessage(c);
    CHECK(back.subject == m.subject);
    CHECK(back.summary == m.summary);
    CHECK(back.locale == m.locale);
    CHECK(back.messageType == m.messageType);
    CHECK(back.importance == m.importance);
    CHECK(back.body.contentType == m.body.contentType);
    CHECK(back.body.content == m.body.content);
    CHECK(back.eventDetailJson == m.eventDetailJson);
    CHECK(back.webUrl == m.webUrl);
    CHECK(back.repliesNextLink == m.repliesNextLink);
    CHECK(back.attachments.size() == 1);
    CHECK(back.attachments[0].contentUrl == "https://x/y.pdf");
    CHECK(back.mentions[0].mentioned.conversation->displayName == "Sales");
    CHECK(back.reactions[0].user.user->id == "u-2");
    // A copy owns its own extras (stored messages are copied when edited).
    CompactMessage dup = c;
    REQUIRE(dup.extras);
    CHECK(dup.extras.get() != c.extras.get());
    CHECK(dup.Subject() == "Release");
}

TEST_CASE("a webUrl that cannot be a template is kept verbatim") {
    ChatMessage m = Plain("7");
    m.webUrl = std::string("https://example.test/\x01odd/7");
    CompactMessage c(m);
    CHECK(c.urlTemplate == nullptr);
    CHECK(c.WebUrl() == m.webUrl);
    CHECK(c.HasWebUrl());
    m.webUrl.clear();
    CompactMessage none(m);
    CHECK_FALSE(none.HasWebUrl());
    CHECK(none.WebUrl().empty());
}

TEST_CASE("an optional time fits in one word and behaves like std::optional") {
    OptMillis t;
    CHECK_FALSE(t.has_value());
    CHECK(t.value_or(5) == 5);
    CHECK_FALSE(t.get().has_value());
    t = 0;  // the epoch is a time, not "absent"
    CHECK(t.has_value());
    CHECK(*t == 0);
    t = std::nullopt;
    CHECK_FALSE(t);
    static_assert(sizeof(OptMillis) == sizeof(UnixMillis));
}

TEST_CASE("the stored form stays small") {
    // The budget behind bench_store's bytes per message: the struct itself, before strings.
    CHECK(sizeof(CompactMessage) <= 200);
    CHECK(sizeof(StoredMessage) <= 344);
}

TEST_CASE("a root whose creation time moves is still one root, in order") {
    Store s;
    s.UpsertTeams({Team{"t", "T", "", "", "", false}});
    s.UpsertChannels("t", {Channel{"c", "t", "C", "", "", "", "", {}}});
    std::vector<ChatMessage> batch;
    for (int i = 0; i < 5; ++i) {
        ChatMessage m = Plain(std::to_string(100 + i));
        m.createdDateTime = 1000 + i;
        m.lastModifiedDateTime = 1000 + i;
        batch.push_back(m);
    }
    s.MergeMessages("c", batch, false);
    // A server that changes a creation time (never Graph): the newer version replaces the
    // old one in place, and the order the lookups rely on is restored.
    ChatMessage moved = batch[1];
    moved.createdDateTime = 5000;
    moved.lastModifiedDateTime = 6000;
    s.MergeMessages("c", {moved}, false);
    ChatMessage again = batch[3];
    again.lastModifiedDateTime = 7000;
    s.MergeMessages("c", {again, moved}, false);
    const ChannelData* c = s.Current()->FindChannel("c");
    REQUIRE(c);
    REQUIRE(c->messages.size() == 5);
    CHECK(c->messages.back()->message.id == "101");
    for (size_t i = 1; i < c->messages.size(); ++i)
        CHECK(c->messages[i - 1]->message.createdDateTime <=
              c->messages[i]->message.createdDateTime);
    CHECK(*c->messages[2]->message.lastModifiedDateTime == 7000);  // "103", edited in place
}
