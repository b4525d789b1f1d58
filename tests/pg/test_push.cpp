// Push end to end over the real network paths: graphsim delivers change notifications over
// HTTPS to channeldeck-node's webhook, which checks them and ingests them into PostgreSQL.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "pg/push_fixture.hpp"
#include "util/time.hpp"

using namespace cdeck;
using namespace cdeck::test;

namespace {

uint64_t MessageReads(PushRig& rig) {
    json r = rig.Stats()["requests"];
    return r.value("get_message", uint64_t{0});
}

// Waits until the node has backfilled and holds an active subscription.
void WaitLive(PushRig& rig, int subscriptions = 1) {
    auto admin = Connect(rig.db.admin);
    bool live = WaitFor(
        [&] {
            return rig.ActiveSubscriptions() >= subscriptions &&
                   std::stoll(Scalar(*admin, "SELECT count(*) FROM messages")) > 100 &&
                   rig.node.Store().Current()->sync.phase == "live";
        },
        90);
    INFO("subscriptions " << rig.ActiveSubscriptions() << ", stats " << rig.Notifications().dump());
    REQUIRE(live);
}

}  // namespace

TEST_CASE("push: new messages reach PostgreSQL by notification, with no polling") {
    PushRig rig;
    rig.Start("tenant", 6);
    WaitLive(rig);
    // The backfill and first delta rounds are done; from now on only push brings messages.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    uint64_t readsBefore = MessageReads(rig);
    double rootsBefore = rig.Metric("cdeck_push_roots_fetched_total");
    std::string since = core::FormatIso8601(core::NowMillis());
    uint64_t deliveredBefore = rig.Delivered();
    REQUIRE(WaitFor([&] { return rig.Delivered() >= deliveredBefore + 15; }, 60));
    rig.Control("/_sim/traffic", {{"paused", true}});
    std::vector<std::string> missing;
    bool all = rig.WaitNoneMissing(since, 30, missing);
    INFO("missing " << missing.size() << ", e.g. " << (missing.empty() ? "" : missing[0]));
    CHECK(all);
    CHECK(rig.Metric("cdeck_push_decrypted_total") >= 15);
    CHECK(rig.Metric("cdeck_push_merged_total") >= 15);
    // Replies to threads the node holds need no fetch; nothing was polled.
    uint64_t readsAfter = MessageReads(rig);
    auto rootsFetched =
        static_cast<uint64_t>(rig.Metric("cdeck_push_roots_fetched_total") - rootsBefore);
    CHECK(readsAfter - readsBefore == rootsFetched);
    json n = rig.Notifications();
    CHECK(n["validations"].get<int>() >= 2);  // the notification and the lifecycle URL
    CHECK(n["patch_reauthorize_conflicts"] == 0);
    CHECK(rig.Metric("cdeck_push_freshness_seconds{quantile=\"0.95\"}") < 5);
}

TEST_CASE("push: forged and broken notifications are rejected and the node carries on") {
    PushRig rig;
    rig.Start("tenant", 6);
    WaitLive(rig);
    const std::pair<const char*, const char*> forgeries[] = {
        {"client-state", "cdeck_push_rejected_total{reason=\"client_state\"}"},
        {"hmac", "cdeck_push_rejected_total{reason=\"hmac\"}"},
        {"ciphertext", "cdeck_push_rejected_total{reason=\"hmac\"}"},
        {"datakey", "cdeck_push_rejected_total{reason=\"decrypt\"}"},
        {"jwt-audience", "cdeck_push_rejected_total{reason=\"jwt_audience\"}"},
        {"jwt-issuer", "cdeck_push_rejected_total{reason=\"jwt_issuer\"}"},
        {"jwt-caller", "cdeck_push_rejected_total{reason=\"jwt_caller\"}"},
        {"jwt-signature", "cdeck_push_rejected_total{reason=\"jwt_signature\"}"},
        {"jwt-expired", "cdeck_push_rejected_total{reason=\"jwt_expired\"}"},
        {"null-tokens", "cdeck_push_rejected_total{reason=\"tokens_null\"}"},
        {"replay", "cdeck_push_duplicates_total"},
    };
    for (const auto& [kind, metric] : forgeries) {
        double before = rig.Metric(metric);
        CAPTURE(kind);
        REQUIRE(rig.Control("/_sim/notifications", {{"forge", kind}, {"forge_count", 1}}) == 200);
        bool counted = WaitFor([&] { return rig.Metric(metric) > before; }, 30);
        CHECK(counted);
    }
    // Straight at the webhook: malformed JSON, an oversized body.
    auto post = [&](const std::string& body) {
        core::HttpRequest r;
        r.method = "POST";
        r.url = "https://127.0.0.1:" + std::to_string(rig.webhookPort) + "/notify";
        r.body = body;
        r.headers = {{"Content-Type", "application/json"}};
        auto resp = rig.http->Send(r);
        return resp ? resp->status : 0;
    };
    CHECK(post("{\"value\": [ {\"subscriptionId\": ") == 400);
    CHECK(post(std::string(5 * 1024 * 1024, ' ')) == 413);
    CHECK(post("{\"value\":[{\"subscriptionId\":\"x\",\"clientState\":\"y\",\"changeType\":"
               "\"created\",\"resource\":\"teams('a')/channels('b')/messages('c')\"}],"
               "\"validationTokens\":[]}") == 403);
    CHECK(rig.Metric("cdeck_push_rejected_total{reason=\"malformed\"}") >= 1);
    // The service carries on: genuine notifications still arrive.
    std::string since = core::FormatIso8601(core::NowMillis());
    uint64_t delivered = rig.Delivered();
    REQUIRE(WaitFor([&] { return rig.Delivered() >= delivered + 5; }, 60));
    rig.Control("/_sim/traffic", {{"paused", true}});
    CHECK(WaitFor([&] { return rig.MissingSince(since).empty(); }, 30));
}

TEST_CASE(
    "push: lifecycle events are answered: PATCH on reauthorization, re-subscribe and "
    "reconcile on removal") {
    PushRig rig;
    rig.Start("tenant", 2);
    WaitLive(rig);
    json subs = rig.Notifications()["subscriptions"];
    REQUIRE(subs.size() == 1);
    std::string first = subs.begin().key();
    REQUIRE(rig.Control(
                "/_sim/faults",
                {{"lifecycle", {{"event", "reauthorizationRequired"}, {"subscription", first}}}}) ==
            200);
    CHECK(WaitFor(
        [&] { return !rig.Notifications()["subscriptions"][first]["lastPatch"].is_null(); }, 30));
    CHECK(rig.Notifications()["subscriptions"][first]["lastReauthorize"].is_null());

    uint64_t readsBefore = MessageReads(rig);
    REQUIRE(rig.Control("/_sim/faults", {{"lifecycle", {{"event", "subscriptionRemoved"}}}}) ==
            200);
    // A new subscription replaces the removed one, and the gap is reconciled by delta.
    CHECK(WaitFor(
        [&] {
            json s = rig.Notifications()["subscriptions"];
            return s.size() == 2 && s[first]["state"] == "removed" &&
                   rig.ActiveSubscriptions() == 1;
        },
        30));
    CHECK(WaitFor([&] { return MessageReads(rig) > readsBefore; }, 30));
    CHECK(rig.Metric("cdeck_push_recreated_total") == 1);
    CHECK(rig.Metric("cdeck_push_lifecycle_total") >= 2);
    CHECK(rig.Notifications()["patch_reauthorize_conflicts"] == 0);
}

TEST_CASE(
    "push: with 5% silent loss and 1% duplicates, reconciliation leaves nothing missing "
    "and nothing doubled") {
    PushRig rig;
    rig.Start("channel", 8, 30, /*reconcileHours=*/0.004);  // reconcile every ~15 s
    WaitLive(rig, 2);
    REQUIRE(rig.Control("/_sim/notifications",
                        {{"loss_rate", 0.05}, {"duplicate_rate", 0.01}, {"reorder_rate", 0.05}}) ==
            200);
    std::string since = core::FormatIso8601(core::NowMillis());
    uint64_t dropped = 0, duplicated = 0, generated = 0;
    auto count = [&] {
        json subs = rig.Notifications()["subscriptions"];
        dropped = duplicated = generated = 0;
        for (auto& [id, s] : subs.items()) {
            dropped += s["dropped"].get<uint64_t>();
            duplicated += s["duplicated"].get<uint64_t>();
            generated += s["generated"].get<uint64_t>();
        }
        return dropped >= 3 && generated >= 150;
    };
    CHECK(WaitFor(count, 120));
    rig.Control("/_sim/traffic", {{"paused", true}});
    count();
    INFO("generated " << generated << ", dropped " << dropped << ", duplicated " << duplicated);
    CHECK(dropped > 0);  // the loss really happened, so reconciliation had work to do
    std::vector<std::string> missing;
    bool complete = rig.WaitNoneMissing(since, 60, missing);
    INFO("still missing " << missing.size());
    CHECK(complete);
    auto admin = Connect(rig.db.admin);
    CHECK(Scalar(*admin,
                 "SELECT count(*) FROM (SELECT id FROM messages GROUP BY id HAVING "
                 "count(*) > 1) d") == "0");
}

TEST_CASE("graphsim: subscription rules are Graph's") {
    PushRig rig;
    rig.Start("tenant", 0.5);
    WaitLive(rig);
    auto teams = rig.Stats()["channels"];
    std::string team = teams[0]["teamId"], channel = teams[0]["id"];
    std::string resource = "/teams/" + team + "/channels/" + channel + "/messages";
    std::string url = "https://127.0.0.1:" + std::to_string(rig.webhookPort) + "/rules";
    auto now = core::NowMillis();
    auto sub = [&](json overrides) {
        json b = {{"changeType", "created"},
                  {"notificationUrl", url},
                  {"lifecycleNotificationUrl", url + "/lifecycle"},
                  {"resource", resource},
                  {"expirationDateTime", core::FormatIso8601(now + 120 * 60000)},
                  {"clientState", "s"}};
        for (auto& [k, v] : overrides.items()) b[k] = v;
        return b;
    };
    json answer;
    // Lifetimes: past 4320 minutes refused; past an hour needs the lifecycle URL; under 45
    // minutes raised to 45.
    CHECK(rig.GraphCall("POST", "/subscriptions",
                        sub({{"expirationDateTime", core::FormatIso8601(now + 4400LL * 60000)}})) ==
          400);
    json noLifecycle = sub({});
    noLifecycle.erase("lifecycleNotificationUrl");
    CHECK(rig.GraphCall("POST", "/subscriptions", noLifecycle, &answer) == 400);
    CHECK(answer.dump().find("lifecycleNotificationUrl") != std::string::npos);
    REQUIRE(rig.GraphCall("POST", "/subscriptions",
                          sub({{"expirationDateTime", core::FormatIso8601(now + 10 * 60000)}}),
                          &answer) == 201);
    std::string id = answer["id"];
    auto exp = core::ParseIso8601(answer["expirationDateTime"].get<std::string>());
    REQUIRE(exp.has_value());
    CHECK(*exp >= now + 44 * 60000);
    // One per app per channel (403); the same resource and change type again (409).
    CHECK(rig.GraphCall("POST", "/subscriptions", sub({{"changeType", "updated"}})) == 403);
    CHECK(rig.GraphCall("POST", "/subscriptions", sub({})) == 409);
    // Bad inputs.
    CHECK(rig.GraphCall("POST", "/subscriptions", sub({{"changeType", "edited"}})) == 400);
    CHECK(rig.GraphCall("POST", "/subscriptions", sub({{"resource", "/chats/getAllMessages"}})) ==
          400);
    CHECK(rig.GraphCall("POST", "/subscriptions",
                        sub({{"notificationUrl", "http://127.0.0.1:1/"}})) == 400);
    CHECK(rig.GraphCall(
              "POST", "/subscriptions",
              sub({{"resource", "/teams/getAllMessages"}, {"includeResourceData", true}})) ==
          400);  // rich without a certificate
    // The validation handshake: nothing listening, a non-loopback host, a wrong answer.
    std::string other =
        "/teams/" + team + "/channels/" + teams[1]["id"].get<std::string>() + "/messages";
    CHECK(rig.GraphCall(
              "POST", "/subscriptions",
              sub({{"resource", other},
                   {"notificationUrl", "https://127.0.0.1:" + std::to_string(FreePort()) + "/x"}}),
              &answer) == 400);
    CHECK(answer.dump().find("validation") != std::string::npos);
    CHECK(rig.GraphCall("POST", "/subscriptions",
                        sub({{"resource", other}, {"notificationUrl", "https://192.0.2.1/x"}})) ==
          400);
    CHECK(rig.Notifications()["failed_validations"].get<int>() >= 1);
    // The tenant cap.
    REQUIRE(rig.Control("/_sim/notifications", {{"tenant_cap", 2}}) == 200);
    CHECK(rig.GraphCall("POST", "/subscriptions", sub({{"resource", other}}), &answer) == 403);
    CHECK(answer.dump().find("limit") != std::string::npos);
    // Renewal, what PATCH may not change, reauthorize, delete, and 404 after.
    CHECK(rig.GraphCall("PATCH", "/subscriptions/" + id,
                        {{"expirationDateTime", core::FormatIso8601(now + 3000LL * 60000)}}) ==
          200);
    CHECK(rig.GraphCall("PATCH", "/subscriptions/" + id,
                        {{"lifecycleNotificationUrl", url + "/other"}}) == 400);
    CHECK(rig.GraphCall("POST", "/subscriptions/" + id + "/reauthorize", nullptr) == 204);
    CHECK(rig.Notifications()["patch_reauthorize_conflicts"] == 1);  // ours, on purpose
    CHECK(rig.GraphCall("DELETE", "/subscriptions/" + id, nullptr) == 204);
    CHECK(rig.GraphCall("PATCH", "/subscriptions/" + id,
                        {{"expirationDateTime", core::FormatIso8601(now + 60 * 60000)}}) == 404);
    CHECK(rig.GraphCall("GET", "/subscriptions/" + id, nullptr) == 404);
}

TEST_CASE(
    "push: key rotation moves every subscription to the new certificate, and the old key "
    "decrypts until then") {
    PushRig rig;
    // Half a minute of grace: long enough to see the previous key kept even in slow (TSan)
    // builds, where each look at graphsim's figures takes seconds.
    rig.Start("channel", 4, 30, 24, [](core::Config& c) { c.push.keyGraceMinutes = 0.5; });
    WaitLive(rig, 2);
    auto certs = [&] {
        std::set<std::string> ids;
        json subs = rig.Notifications()["subscriptions"];
        for (auto& [id, s] : subs.items())
            if (s["state"] == "active") ids.insert(s["encryptionCertificateId"].get<std::string>());
        return ids;
    };
    REQUIRE(certs().size() == 1);
    std::string before = *certs().begin();
    double decrypted = rig.Metric("cdeck_push_decrypted_total");
    rig.node.RotatePushKeys();
    CHECK(WaitFor(
        [&] {
            auto c = certs();
            return c.size() == 1 && *c.begin() != before;
        },
        60));
    // The previous key outlives the move by the grace period (notifications encrypted for
    // it may still be on their way), then goes; delivery goes on decrypting throughout.
    auto previous = rig.dir.path / "keys" / "notify-key.previous.pem";
    CHECK(std::filesystem::exists(previous));
    CHECK(WaitFor([&] { return !std::filesystem::exists(previous); }, 90));
    CHECK(WaitFor([&] { return rig.Metric("cdeck_push_decrypted_total") > decrypted + 5; }, 60));
    CHECK(rig.Metric("cdeck_push_rejected_total{reason=\"unknown_certificate\"}") == 0);
}

TEST_CASE(
    "graphsim: a wrong validation answer fails the create, failures are retried with "
    "back-off, slow endpoints enter the slow state and slower ones the drop state") {
    PushRig rig;
    rig.Start("tenant", 20);
    WaitLive(rig);
    TestWebhook hook;
    hook.Start(rig.sim, rig.dir);
    auto teams = rig.Stats()["channels"];
    std::string resource = "/teams/" + teams[0]["teamId"].get<std::string>() + "/channels/" +
                           teams[0]["id"].get<std::string>() + "/messages";
    json body = {{"changeType", "created,updated,deleted"},
                 {"notificationUrl", hook.Url()},
                 {"resource", resource},
                 {"expirationDateTime", core::FormatIso8601(core::NowMillis() + 50 * 60000)}};
    hook.wrongValidation = true;
    CHECK(rig.GraphCall("POST", "/subscriptions", body) == 400);
    hook.wrongValidation = false;
    // Graph's thresholds scaled by 1/100: slow past 30 ms, drop past 100 ms, windows of 6 s.
    REQUIRE(rig.Control("/_sim/notifications", {{"time_scale", 0.01}}) == 200);
    hook.status = 500;
    json created;
    REQUIRE(rig.GraphCall("POST", "/subscriptions", body, &created) == 201);
    std::string id = created["id"];
    auto sub = [&] { return rig.Notifications()["subscriptions"][id]; };
    CHECK(WaitFor([&] { return sub()["retried"].get<int>() >= 3; }, 60));
    hook.status = 202;  // the retries then get through
    CHECK(WaitFor([&] { return sub()["delivered"].get<int>() >= 3; }, 60));
    hook.delayMs = 60;  // slower than 3 s (scaled), faster than 10 s
    CHECK(WaitFor([&] { return rig.Notifications()["slow_entered"].get<int>() >= 1; }, 90));
    hook.delayMs = 150;  // slower than 10 s (scaled): notifications are dropped
    CHECK(WaitFor([&] { return rig.Notifications()["drop_entered"].get<int>() >= 1; }, 90));
    uint64_t dropped = sub()["dropped"].get<uint64_t>();
    CHECK(WaitFor([&] { return sub()["dropped"].get<uint64_t>() > dropped; }, 30));
}

TEST_CASE("graphsim: an ignored reauthorizationRequired pauses delivery until a PATCH") {
    PushRig rig;
    rig.Start("tenant", 2);
    WaitLive(rig);
    TestWebhook hook;
    hook.Start(rig.sim, rig.dir);
    auto teams = rig.Stats()["channels"];
    json body = {{"changeType", "created"},
                 {"notificationUrl", hook.Url()},
                 {"lifecycleNotificationUrl", hook.Url() + "/lifecycle"},
                 {"resource", "/teams/" + teams[0]["teamId"].get<std::string>() + "/channels/" +
                                  teams[0]["id"].get<std::string>() + "/messages"},
                 {"expirationDateTime", core::FormatIso8601(core::NowMillis() + 120 * 60000)}};
    json created;
    REQUIRE(rig.GraphCall("POST", "/subscriptions", body, &created) == 201);
    std::string id = created["id"];
    json reauth = {{"lifecycle", {{"event", "reauthorizationRequired"}, {"subscription", id}}}};
    REQUIRE(rig.Control("/_sim/faults", reauth) == 200);
    CHECK(rig.Notifications()["subscriptions"][id]["state"] == "active");  // one is fine
    REQUIRE(rig.Control("/_sim/faults", reauth) == 200);
    CHECK(rig.Notifications()["subscriptions"][id]["state"] == "paused");
    CHECK(WaitFor([&] { return rig.Notifications()["subscriptions"][id]["lifecycle"] == 2; }, 30));
    CHECK(rig.GraphCall("PATCH", "/subscriptions/" + id,
                        {{"expirationDateTime",
                          core::FormatIso8601(core::NowMillis() + 180 * 60000)}}) == 200);
    CHECK(rig.Notifications()["subscriptions"][id]["state"] == "active");
}

TEST_CASE(
    "push: subscriptions are renewed before expiry, and a 404 on renewal subscribes again "
    "and reconciles") {
    PushRig rig;
    rig.Start("tenant", 2, 30, 24, [](core::Config& c) {
        c.push.subscriptionMinutes = 46;
        c.push.renewBeforeMinutes = 45.9;  // renew about 6 s after each create or renewal
    });
    WaitLive(rig);
    CHECK(WaitFor([&] { return rig.Metric("cdeck_push_renewals_total") >= 2; }, 60));
    json subs = rig.Notifications()["subscriptions"];
    std::string first = subs.begin().key();
    CHECK_FALSE(subs[first]["lastPatch"].is_null());
    // A renewal does not restart graphsim's reauthorization notices (at most one per 15 min):
    // before the fix, each PATCH drew another notice, and each notice another PATCH.
    CHECK(subs[first]["lifecycle"].get<int>() <= 1);
    // Someone deletes it; the next renewal finds 404 and the node subscribes again.
    uint64_t readsBefore = MessageReads(rig);
    REQUIRE(rig.GraphCall("DELETE", "/subscriptions/" + first, nullptr) == 204);
    CHECK(WaitFor([&] { return rig.Metric("cdeck_push_recreated_total") >= 1; }, 60));
    CHECK(WaitFor([&] { return rig.ActiveSubscriptions() == 1; }, 30));
    CHECK(WaitFor([&] { return MessageReads(rig) > readsBefore; }, 30));  // reconciled
    CHECK(rig.Notifications()["patch_reauthorize_conflicts"] == 0);
}
