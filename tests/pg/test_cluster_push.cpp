// Push with several nodes (issue: horizontal scale, "Subscriptions follow the work"):
// channel subscriptions move with their leases, and the tenant subscription's
// notifications reach any node through a real HAProxy. graphsim delivers over HTTPS to the
// nodes' real listeners; its ground truth judges.
#include <doctest/doctest.h>

#include <set>

#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "pg/cluster_fixture.hpp"
#include "pg/push_fixture.hpp"

using namespace cdeck;
using namespace cdeck::test;

namespace {

const std::vector<std::string> kNodes = {"node-a", "node-b", "node-c"};

std::string HookUrl(ClusterRig& rig, const std::string& id) {
    return "https://127.0.0.1:" + std::to_string(rig.Plan(id).webhook) + "/notify";
}

// Active subscriptions by notification URL.
std::map<std::string, int> ByUrl(ClusterRig& rig) {
    std::map<std::string, int> out;
    for (const auto& [id, s] : rig.ActiveSubscriptions()) out[s["notificationUrl"]]++;
    return out;
}

std::string LeaderOf(ClusterRig& rig) {
    for (const auto& [id, n] : rig.nodes)
        if (rig.Metric(id, "cdeck_cluster_leader") == 1) return id;
    return {};
}

}  // namespace

TEST_CASE("cluster push, channel scope: kill -9 of a node moves its subscriptions to the others") {
    ClusterRig rig(4, 30);
    rig.pushScope = "channel";
    for (const auto& id : kNodes) rig.Spawn(id);
    REQUIRE(WaitFor([&] { return rig.FairSplit(kNodes); }, 60));
    int channels = rig.Channels();
    // One subscription per channel, each pointing at the node that holds its lease.
    bool subscribed = WaitFor(
        [&] {
            auto by = ByUrl(rig);
            return by.size() == 3 && by[HookUrl(rig, "node-a")] + by[HookUrl(rig, "node-b")] +
                                             by[HookUrl(rig, "node-c")] ==
                                         channels;
        },
        60);
    REQUIRE_MESSAGE(subscribed, json(ByUrl(rig)).dump() << "\n" << rig.LogTail("node-a"));
    std::string since = rig.NowIso();
    std::this_thread::sleep_for(std::chrono::seconds(2));
    rig.Kill("node-b", SIGKILL);
    // The survivors take b's channels and PATCH their subscriptions to themselves: still one
    // per channel (Graph refuses a second), none left pointing at the dead node.
    bool moved = WaitFor(
        [&] {
            auto by = ByUrl(rig);
            return rig.FairSplit({"node-a", "node-c"}) && by.count(HookUrl(rig, "node-b")) == 0 &&
                   by[HookUrl(rig, "node-a")] + by[HookUrl(rig, "node-c")] == channels;
        },
        60);
    CHECK_MESSAGE(moved, json(ByUrl(rig)).dump());
    CHECK(rig.Metric("node-a", "cdeck_push_adopted_total") +
              rig.Metric("node-c", "cdeck_push_adopted_total") >=
          1);
    // Reconciliation by delta closes the gap while nobody received b's notifications.
    rig.ExpectNoneMissing(since, 90);
}

TEST_CASE(
    "cluster push, tenant scope: one subscription behind HAProxy, any node ingests, the "
    "leader fails over") {
    ClusterRig rig(4, 30);
    rig.pushScope = "tenant";
    rig.StartHaproxy(kNodes);
    for (const auto& id : kNodes) rig.Spawn(id);
    REQUIRE(WaitFor([&] { return rig.FairSplit(kNodes); }, 60));
    std::string lb = "https://127.0.0.1:" + std::to_string(rig.lbPort) + "/notify";
    REQUIRE_MESSAGE(WaitFor([&] { return ByUrl(rig)[lb] == 1 && ByUrl(rig).size() == 1; }, 60),
                    json(ByUrl(rig)).dump() << "\n"
                                            << rig.LogTail("node-a"));
    std::string since = rig.NowIso();
    // HAProxy spreads the deliveries: more than one node ingests.
    bool spread = WaitFor(
        [&] {
            int ingesting = 0;
            for (const auto& id : kNodes)
                ingesting += rig.Metric(id, "cdeck_push_notifications_total") > 0;
            return ingesting >= 2;
        },
        60);
    CHECK(spread);
    std::string leader = LeaderOf(rig);
    REQUIRE_FALSE(leader.empty());
    rig.Kill(leader, SIGKILL);
    // Another node leads and takes the subscription over (renewing it, not a second one);
    // HAProxy's health checks send the notifications to the living.
    std::string next;
    REQUIRE(WaitFor(
        [&] {
            next = LeaderOf(rig);
            return !next.empty();
        },
        30));
    CHECK(next != leader);
    CHECK(WaitFor([&] { return rig.Metric(next, "cdeck_push_adopted_total") >= 1; }, 30));
    CHECK(ByUrl(rig)[lb] == 1);
    CHECK(ByUrl(rig).size() == 1);
    rig.ExpectNoneMissing(since, 90);
}

TEST_CASE("cluster push: a tenant subscription that no node recorded is replaced, not fought") {
    ClusterRig rig(2, 30);
    // An earlier deployment's subscription, whose clientState nobody here knows.
    TestWebhook hook;
    hook.Start(rig.sim, rig.dir);
    core::ClientCredentialsConfig cc{rig.sim.Info().authorityUrl, rig.sim.Info().tenant,
                                     rig.sim.Info().clientId, rig.sim.Info().clientSecret};
    auto tokens = std::make_shared<core::ClientCredentialsProvider>(cc, rig.http);
    core::GraphClientConfig gc;
    gc.graphBaseUrl = rig.sim.Info().graphUrl;
    core::GraphClient graph(gc, rig.http, tokens);
    json body = {{"changeType", "created,updated,deleted"},
                 {"notificationUrl", hook.Url()},
                 {"lifecycleNotificationUrl", hook.Url()},
                 {"resource", "/teams/getAllMessages"},
                 {"expirationDateTime", core::FormatIso8601(core::NowMillis() + 3'600'000)},
                 {"clientState", "someone-elses"}};
    auto made = graph.Send("POST", "/subscriptions", body.dump());
    REQUIRE_MESSAGE(made.ok(), ErrText(made));
    std::string orphan = json::parse(made->http.body)["id"];
    rig.pushScope = "tenant";
    rig.StartHaproxy({"node-a"});
    rig.Spawn("node-a");
    std::string lb = "https://127.0.0.1:" + std::to_string(rig.lbPort) + "/notify";
    bool replaced = WaitFor(
        [&] {
            auto active = rig.ActiveSubscriptions();
            return active.count(orphan) == 0 && ByUrl(rig)[lb] == 1;
        },
        30);
    CHECK_MESSAGE(replaced, json(ByUrl(rig)).dump() << "\n" << rig.LogTail("node-a"));
}
