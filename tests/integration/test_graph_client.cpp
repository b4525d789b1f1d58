#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "integration/sim_fixture.hpp"

using namespace cdeck::core;
using cdeck::test::SimFixture;

TEST_CASE("lists every team, channel and message of the demo tenant over HTTPS, across pages") {
    SimFixture f;
    auto stats = f.Stats();
    auto teams = f.client->ListAllTeams();
    REQUIRE_MESSAGE(teams.ok(), cdeck::test::ErrText(teams));
    CHECK(teams->size() >= 6);

    std::map<std::string, nlohmann::json> truth;
    for (const auto& c : stats["channels"]) truth[c["id"].get<std::string>()] = c;

    size_t channels = 0, roots = 0, replies = 0, multiPage = 0, needMany = 0;
    int maxPages = 0;
    for (const auto& t : teams.value()) {
        auto chans = f.client->ListChannels(t.id);
        REQUIRE(chans.ok());
        for (const auto& c : chans.value()) {
            ++channels;
            CHECK(c.teamId == t.id);
            // Small pages so that every channel needs several; follow nextLink verbatim.
            auto page = f.client->ListMessagesPage(t.id, c.id, 5, true);
            REQUIRE_MESSAGE(page.ok(), cdeck::test::ErrText(page));
            std::set<std::string> ids;
            size_t channelReplies = 0;
            int pages = 1;
            UnixMillis prev = INT64_MAX;
            while (true) {
                for (const auto& m : page->items) {
                    CHECK(ids.insert(m.id).second);    // no duplicates across pages
                    CHECK(m.createdDateTime <= prev);  // newest first
                    prev = m.createdDateTime;
                    channelReplies += m.replies.size();
                    CHECK(m.channelIdentity->channelId == c.id);
                }
                if (page->nextLink.empty()) break;
                CHECK(page->nextLink.rfind("https://", 0) == 0);
                page = f.client->NextMessagesPage(page->nextLink);
                REQUIRE(page.ok());
                ++pages;
            }
            if (pages > 1) ++multiPage;
            if (truth.at(c.id)["roots"].get<size_t>() > 5) ++needMany;
            maxPages = std::max(maxPages, pages);
            CHECK(ids.size() == truth.at(c.id)["roots"].get<size_t>());
            CHECK(channelReplies == truth.at(c.id)["replies"].get<size_t>());
            roots += ids.size();
            replies += channelReplies;
        }
    }
    CHECK(channels >= 30);
    CHECK(channels == truth.size());
    CHECK(multiPage == needMany);
    CHECK(needMany > channels / 2);
    CHECK(maxPages > 5);
    CHECK(roots + replies == stats["messages_created"].get<size_t>());
}

TEST_CASE("post a message and read it back") {
    SimFixture f;
    auto teams = f.client->ListAllTeams();
    REQUIRE(teams.ok());
    auto chans = f.client->ListChannels(teams->front().id);
    REQUIRE(chans.ok());
    const Channel& ch = chans->front();
    NewMessage nm;
    nm.subject = "Integration";
    nm.content = "<p>Hello from <b>ChannelDeck</b> tests</p>";
    nm.importance = "high";
    auto posted = f.client->PostMessage(ch.teamId, ch.id, nm);
    REQUIRE_MESSAGE(posted.ok(), cdeck::test::ErrText(posted));
    CHECK_FALSE(posted->id.empty());
    CHECK(posted->subject == "Integration");
    CHECK(posted->importance == "high");

    auto got = f.client->GetMessage(ch.teamId, ch.id, posted->id);
    REQUIRE(got.ok());
    CHECK(got->body.content == nm.content);
    auto first = f.client->ListMessagesPage(ch.teamId, ch.id, 1);
    REQUIRE(first.ok());
    REQUIRE(first->items.size() == 1);
    CHECK(first->items[0].id == posted->id);  // newest first
}

TEST_CASE("errors come back typed with Graph's request-id") {
    SimFixture f;
    auto missing = f.client->ListChannels("no-such-team");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == ErrorCode::kNotFound);
    CHECK(missing.error().httpStatus == 404);
    CHECK_FALSE(missing.error().requestId.empty());

    auto teams = f.client->ListAllTeams();
    REQUIRE(teams.ok());
    auto chans = f.client->ListChannels(teams->front().id);
    REQUIRE(chans.ok());
    auto badTop =
        f.client->Send("GET", GraphClient::ChannelPath(teams->front().id, chans->front().id) +
                                  "/messages?%24top=51");
    REQUIRE_FALSE(badTop.ok());
    CHECK(badTop.error().code == ErrorCode::kClient);
    CHECK(badTop.error().httpStatus == 400);
}

TEST_CASE("a wrong client secret is an auth error and no token is used") {
    SimFixture f;
    auto bad = std::make_shared<ClientCredentialsProvider>(
        ClientCredentialsConfig{f.info.authorityUrl, f.info.tenant, f.info.clientId,
                                "wrong-secret"},
        f.http);
    GraphClientConfig gc;
    gc.graphBaseUrl = f.info.graphUrl;
    GraphClient client(gc, f.http, bad);
    auto teams = client.ListAllTeams();
    REQUIRE_FALSE(teams.ok());
    CHECK(teams.error().code == ErrorCode::kAuth);
    CHECK(teams.error().graphCode == "invalid_client");
}

TEST_CASE("TLS is verified: without graphsim's CA the connection is refused, with no fallback") {
    SimFixture f;
    CurlOptions co;  // system CAs only
    auto http = std::make_shared<CurlTransport>(co);
    HttpRequest req;
    req.url = f.info.graphUrl + "/teams";
    auto r = http->Send(req);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kTls);
}

TEST_CASE("the client sends client-request-id and graphsim echoes it with a request-id") {
    SimFixture f;
    auto token = f.tokens->Token(false);
    REQUIRE(token.ok());
    HttpRequest req;
    req.url = f.info.graphUrl + "/teams";
    req.headers = {{"Authorization", "Bearer " + token->token},
                   {"client-request-id", "11111111-2222-4333-8444-555555555555"}};
    auto r = f.http->Send(req);
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->Header("client-request-id") == "11111111-2222-4333-8444-555555555555");
    CHECK_FALSE(r->Header("request-id").empty());
    CHECK_FALSE(r->Header("date").empty());
}

TEST_CASE("team members: every member, page by page, in Graph's documented shape") {
    SimFixture f;
    auto teams = f.client->ListAllTeams();
    REQUIRE(teams.ok());
    const std::string team = teams->front().id;
    auto all = f.client->ListTeamMembers(team);
    REQUIRE_MESSAGE(all.ok(), cdeck::test::ErrText(all));
    REQUIRE(all->size() >= 3);
    // Pages of two, following @odata.nextLink verbatim: the same members, in order.
    auto paged = f.client->ListTeamMembers(team, 2);
    REQUIRE_MESSAGE(paged.ok(), cdeck::test::ErrText(paged));
    REQUIRE(paged->size() == all->size());
    std::set<std::string> ids;
    for (size_t i = 0; i < all->size(); ++i) {
        CHECK((*paged)[i].id == (*all)[i].id);
        CHECK_FALSE((*all)[i].userId.empty());
        CHECK_FALSE((*all)[i].displayName.empty());
        CHECK((*all)[i].email.find('@') != std::string::npos);
        ids.insert((*all)[i].id);
    }
    CHECK(ids.size() == all->size());  // membership ids are distinct (and opaque)
    CHECK((*all)[0].roles == std::vector<std::string>{"owner"});
    // The raw page: the documented type annotation, a count and the next link.
    auto raw = f.client->Send("GET", "/teams/" + team + "/members?$top=1");
    REQUIRE(raw.ok());
    auto j = nlohmann::json::parse(raw->http.body);
    CHECK(j["value"].size() == 1);
    CHECK(j["value"][0]["@odata.type"] == "#microsoft.graph.aadUserConversationMember");
    CHECK(j["value"][0].contains("visibleHistoryStartDateTime"));
    CHECK(j["value"][0]["tenantId"].is_string());
    CHECK(j["@odata.nextLink"].get<std::string>().find("/members?") != std::string::npos);
    // $top beyond 999 is refused, as Graph does.
    auto big = f.client->Send("GET", "/teams/" + team + "/members?$top=1000");
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().message.find("between 1 and 999") != std::string::npos);
    CHECK_FALSE(f.client->ListTeamMembers(team, 1000).ok());
}

TEST_CASE("team members need TeamMember.Read.All: without it the list is a 403") {
    cdeck::test::SimOptions so;
    so.scenario = [](nlohmann::json& s) {
        for (auto& app : s["apps"]) {
            auto& p = app["permissions"];
            p.erase(std::remove(p.begin(), p.end(), "TeamMember.Read.All"), p.end());
        }
    };
    SimFixture f(so);
    auto teams = f.client->ListAllTeams();
    REQUIRE(teams.ok());
    auto members = f.client->ListTeamMembers(teams->front().id);
    REQUIRE_FALSE(members.ok());
    CHECK(members.error().code == ErrorCode::kPermission);
    CHECK(members.error().message.find("TeamMember.Read.All") != std::string::npos);
}
