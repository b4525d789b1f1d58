// graphsim's responses against Microsoft's documented examples. Built with the examples
// main: the whole executable reports itself skipped (exit 77) when the folder is absent.
#include <doctest/doctest.h>

#include <filesystem>

#include "integration/sim_fixture.hpp"

using namespace cdeck::core;
using cdeck::test::Get;
using cdeck::test::SimFixture;
using nlohmann::json;

namespace {

// Every key of `doc` (recursively, through the first array element) must appear in `sim`
// with the same JSON type; null in the example matches any type.
void SameShape(const json& doc, const json& sim, const std::string& path,
               std::vector<std::string>& problems) {
    if (doc.is_null()) return;
    if (doc.is_object()) {
        if (!sim.is_object()) {
            problems.push_back(path + ": expected an object");
            return;
        }
        for (auto& [k, v] : doc.items()) {
            if (k.rfind("@odata.", 0) == 0 && k != "@odata.nextLink" && k != "@odata.deltaLink")
                continue;
            if (k.find("@odata.") != std::string::npos)
                continue;  // annotations like replies@odata.context
            if (!sim.contains(k)) {
                problems.push_back(path + "." + k + ": missing");
                continue;
            }
            SameShape(v, sim[k], path + "." + k, problems);
        }
    } else if (doc.is_array()) {
        if (!sim.is_array())
            problems.push_back(path + ": expected an array");
        else if (!doc.empty() && !sim.empty())
            SameShape(doc[0], sim[0], path + "[0]", problems);
    } else if (doc.type() != sim.type() && !(doc.is_number() && sim.is_number()) &&
               !sim.is_null()) {
        problems.push_back(path + ": type differs");
    }
}

json Example(const char* name) {
    auto p = cdeck::test::ExamplesDir() / name;
    return std::filesystem::exists(p) ? json::parse(cdeck::test::ReadFile(p)) : json();
}

}  // namespace

TEST_CASE("graphsim's responses have the keys and JSON types of Microsoft's examples") {
    SimFixture f;
    auto teams = f.client->ListAllTeams();
    REQUIRE(teams.ok());
    std::string team = teams->front().id;
    auto chans = f.client->ListChannels(team);
    REQUIRE(chans.ok());
    std::string chan = GraphClient::ChannelPath(team, chans->at(1).id);
    json list = Get(f, chan + "/messages?$top=50&$expand=replies");
    std::string rootId = list["value"][0]["id"];
    std::string replyId;
    for (const auto& m : list["value"])
        if (!m["replies"].empty()) {
            rootId = m["id"];
            replyId = m["replies"][0]["id"];
            break;
        }
    REQUIRE_FALSE(replyId.empty());
    struct Case {
        const char* example;
        json sim;
    };
    std::vector<Case> cases = {
        {"list-joined-teams.json", Get(f, "/teams")},
        {"list-channels.json", Get(f, "/teams/" + team + "/channels")},
        {"list-channel-messages.json", Get(f, chan + "/messages?$top=2")},
        {"list-channel-messages-expand-replies.json", list},
        {"get-channel-message.json", Get(f, chan + "/messages/" + rootId)},
        {"get-channel-message-reply.json",
         Get(f, chan + "/messages/" + rootId + "/replies/" + replyId)},
        {"list-message-replies.json", Get(f, chan + "/messages/" + rootId + "/replies")},
        {"list-channel-messages-delta.json", Get(f, chan + "/messages/delta?$top=2")},
    };
    for (const auto& c : cases) {
        std::string example = c.example;
        CAPTURE(example);
        std::vector<std::string> problems;
        SameShape(Example(c.example), c.sim, "$", problems);
        std::string all;
        for (const auto& p : problems) all += p + "\n";
        CHECK_MESSAGE(problems.empty(), all);
    }
}
