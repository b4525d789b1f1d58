// The client must parse every documented example in ../shared/graph-examples (read in
// place; never copied into the project).
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "net/http_error.hpp"
#include "model/parse.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;
namespace fs = std::filesystem;

namespace {

std::string Example(const char* name) {
    fs::path p = cdeck::test::ExamplesDir() / name;
    REQUIRE_MESSAGE(fs::exists(p), "missing example " << p);
    return cdeck::test::ReadFile(p);
}

bool StartsWith(const std::string& s, const char* p) {
    return s.rfind(p, 0) == 0;
}
bool EndsWith(const std::string& s, const char* p) {
    std::string_view v(s), q(p);
    return v.size() >= q.size() && v.substr(v.size() - q.size()) == q;
}

}  // namespace

TEST_CASE("every message page example parses") {
    for (const char* name :
         {"list-channel-messages.json", "list-channel-messages-2019-with-reactions.json",
          "list-channel-messages-expand-replies.json", "list-channel-messages-getallmessages.json",
          "list-channel-messages-prefer-include-unknown-enum-members.json",
          "list-channel-messages-delta.json", "list-channel-messages-delta-page2.json",
          "list-channel-messages-delta-incremental.json",
          "list-channel-messages-delta-final-deltalink.json", "list-message-replies.json"}) {
        CAPTURE(name);
        auto page = ParseMessagePage(Example(name));
        REQUIRE_MESSAGE(page.ok(), cdeck::test::ErrText(page));
        CHECK_FALSE(page->items.empty());
        CHECK((page->nextLink.empty() || StartsWith(page->nextLink, "https://")));
        for (const auto& m : page->items) {
            CHECK_FALSE(m.id.empty());
            CHECK(m.createdDateTime > 0);
        }
    }
}

TEST_CASE("paging and delta links are kept verbatim") {
    auto first = ParseMessagePage(Example("list-channel-messages.json"));
    REQUIRE(first.ok());
    CHECK(first->count == 3);
    CHECK(first->nextLink.find("$skiptoken=") != std::string::npos);
    auto last = ParseMessagePage(Example("list-channel-messages-delta-final-deltalink.json"));
    REQUIRE(last.ok());
    CHECK(last->nextLink.empty());
    CHECK(last->deltaLink.find("deltatoken") != std::string::npos);
    auto expanded = ParseMessagePage(Example("list-channel-messages-expand-replies.json"));
    REQUIRE(expanded.ok());
    size_t replies = 0;
    for (const auto& m : expanded->items) replies += m.replies.size();
    CHECK(replies > 0);
}

TEST_CASE("single message examples parse") {
    for (const auto& entry : fs::directory_iterator(cdeck::test::ExamplesDir())) {
        std::string name = entry.path().filename().string();
        bool single =
            StartsWith(name, "get-channel-message") ||
            ((StartsWith(name, "post-channel-message") || StartsWith(name, "reply-to-message")) &&
             EndsWith(name, ".response.json"));
        if (!single) continue;
        CAPTURE(name);
        auto j = ParseJson(cdeck::test::ReadFile(entry.path()));
        REQUIRE(j.ok());
        auto m = ParseChatMessage(j.value());
        REQUIRE_MESSAGE(m.ok(), cdeck::test::ErrText(m));
        CHECK_FALSE(m->id.empty());
        if (StartsWith(name, "reply-to-message") || name == "get-channel-message-reply.json")
            CHECK_FALSE(m->replyToId.empty());
    }
}

TEST_CASE("chatMessage schema fragments parse (mentions, reactions, attachments, identities)") {
    auto doc =
        nlohmann::json::parse(Example("chatmessage-with-mentions-reactions-attachments.json"));
    int parsed = 0;
    for (auto& [key, fragment] : doc.items()) {
        if (key == "_note") continue;
        CAPTURE(key);
        nlohmann::json m = fragment;
        m["id"] = "fragment";  // fragments carry no id of their own
        auto r = ParseChatMessage(m);
        REQUIRE_MESSAGE(r.ok(), cdeck::test::ErrText(r));
        if (fragment.contains("mentions")) CHECK(r->mentions.size() == fragment["mentions"].size());
        if (fragment.contains("attachments"))
            CHECK(r->attachments.size() == fragment["attachments"].size());
        if (fragment.contains("reactions"))
            CHECK(r->reactions.size() == fragment["reactions"].size());
        ++parsed;
    }
    CHECK(parsed >= 20);
}

TEST_CASE("team and channel examples parse") {
    auto teams = ParseTeamPage(Example("list-joined-teams.json"));
    REQUIRE(teams.ok());
    CHECK(teams->items.at(0).displayName == "Contoso Team");
    for (const char* name : {"list-channels.json", "list-channels-filter-private.json"}) {
        CAPTURE(name);
        auto ch = ParseChannelPage(Example(name));
        REQUIRE(ch.ok());
        CHECK_FALSE(ch->items.empty());
    }
}

TEST_CASE("token and error examples parse") {
    for (const char* name : {"token.response.json", "token-client-credentials.response.json",
                             "token-authcode.response.json", "token-refresh.response.json"}) {
        CAPTURE(name);
        auto t = ParseTokenResponse(Example(name), 1000);
        REQUIRE(t.ok());
        CHECK_FALSE(t->token.empty());
        CHECK(t->expiresAt > 1000);
    }
    for (const char* name :
         {"token-error.response.json", "token-error-client-credentials.response.json"}) {
        CAPTURE(name);
        HttpResponse r;
        r.status = 400;
        r.body = Example(name);
        Error e = ErrorFromResponse(r, 0);
        CHECK_FALSE(e.graphCode.empty());
        CHECK(e.message.find("AADSTS") != std::string::npos);
    }
    struct Case {
        const char* name;
        int status;
        ErrorCode code;
    };
    for (auto c : {Case{"error-429.json", 429, ErrorCode::kThrottled},
                   Case{"error-403-with-client-request-id.json", 403, ErrorCode::kPermission},
                   Case{"error-generic.json", 400, ErrorCode::kClient}}) {
        CAPTURE(c.name);
        HttpResponse r;
        r.status = c.status;
        r.body = Example(c.name);
        Error e = ErrorFromResponse(r, 0);
        CHECK(e.code == c.code);
        CHECK_FALSE(e.graphCode.empty());
    }
    HttpResponse r;
    r.status = 403;
    r.body = Example("error-403-with-client-request-id.json");
    CHECK_FALSE(ErrorFromResponse(r, 0).requestId.empty());
}

TEST_CASE("the documented $batch response splits into typed items, matched by id") {
    auto request = nlohmann::json::parse(Example("batch.request.json"));
    BatchBuilder sent;
    for (const auto& r : request["requests"]) {
        BatchRequest br;
        br.id = r["id"];
        br.method = r["method"];
        br.url = r["url"];
        if (r.contains("dependsOn"))
            for (const auto& d : r["dependsOn"]) br.dependsOn.push_back(d);
        if (!sent.Add(br).ok()) br.dependsOn.clear(), (void)sent.Add(br);
    }
    REQUIRE(sent.Size() == request["requests"].size());
    auto split = SplitBatchResponse(Example("batch.response.json"), sent, 0);
    REQUIRE_MESSAGE(split.ok(), cdeck::test::ErrText(split));
    auto response = nlohmann::json::parse(Example("batch.response.json"));
    std::map<std::string, int> statusById;
    for (const auto& r : response["responses"]) statusById[r["id"]] = r["status"];
    for (size_t i = 0; i < split->size(); ++i) {
        CHECK(split->at(i).id == sent.Requests()[i].id);
        if (statusById.count(split->at(i).id))
            CHECK(split->at(i).status == statusById[split->at(i).id]);
        else
            CHECK(split->at(i).status == 0);  // never silently dropped
    }
    auto dep = nlohmann::json::parse(Example("batch-dependson.request.json"));
    CHECK(dep["requests"].size() <= BatchBuilder::kMaxRequests);
}
