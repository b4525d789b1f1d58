#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "platform/os.hpp"
#include "support/owner_only.hpp"
#include "config/config.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;

TEST_CASE("an empty config is the demo tenant with defaults") {
    auto c = ParseConfig("{}");
    REQUIRE(c.ok());
    CHECK(c->IsDemo());
    CHECK(c->graphUrl == "https://graph.microsoft.com/v1.0");
    CHECK(c->authorityUrl == "https://login.microsoftonline.com");
    CHECK(c->sync.workers == 4);
}

TEST_CASE("a real tenant config is accepted and normalised") {
    auto c = ParseConfig(
        R"({"tenant":"contoso.onmicrosoft.com","client_id":"abc","auth_mode":"client_credentials",
                             "client_secret":"s","graph_url":"https://graph.microsoft.com/v1.0/",
                             "sync":{"workers":8,"poll_interval_seconds":2.5}})");
    REQUIRE(c.ok());
    CHECK_FALSE(c->IsDemo());
    CHECK(c->graphUrl == "https://graph.microsoft.com/v1.0");
    CHECK(c->sync.workers == 8);
    CHECK(c->sync.pollIntervalSeconds == 2.5);
}

TEST_CASE("bad config names the key") {
    struct Case {
        const char* text;
        const char* key;
    };
    const Case cases[] = {
        {R"({"graph_url": 5})", "graph_url"},
        {R"({"graph_url": "http://insecure.example"})", "graph_url"},
        {R"({"auth_mode": "password"})", "auth_mode"},
        {R"({"metrics_port": 70000})", "metrics_port"},
        {R"({"sync": {"workers": 0}})", "sync.workers"},
        {R"({"sync": {"pol_interval_seconds": 1}})", "sync.pol_interval_seconds"},
        {R"({"tenant": "t"})", "client_id"},
        {R"({"tenant": "t", "client_id": "c", "auth_mode": "client_credentials"})",
         "client_secret"},
        {R"({"tennant": "typo"})", "tennant"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        auto r = ParseConfig(c.text);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == ErrorCode::kConfig);
        CHECK(r.error().message.find(std::string("\"") + c.key + "\"") != std::string::npos);
    }
    auto notJson = ParseConfig("{ nope");
    REQUIRE_FALSE(notJson.ok());
    CHECK(notJson.error().message.find("not valid JSON") != std::string::npos);
}

TEST_CASE("a missing config file is fine at the default path, an error when named") {
    cdeck::test::TempDir dir;
    auto missing = (dir.path / "nope.json").string();
    CHECK(LoadConfig(missing, false).ok());
    auto named = LoadConfig(missing, true);
    REQUIRE_FALSE(named.ok());
    CHECK(named.error().message.find(missing) != std::string::npos);
}

TEST_CASE(
    "numbers too large for JSON are a config error, not an exception (found by fuzz_config)") {
    auto r = ParseConfig(R"({"sync": {"poll_interval_seconds": 1e999}})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kConfig);
}

TEST_CASE("the ui section is validated key by key") {
    auto c = ParseConfig(
        R"({"ui":{"font_scale":1.5,"theme":"high_contrast","palette":"colorblind",
                 "stale_after_seconds":90,"amber_factor":3,"red_factor":6,
                 "kiosk_pages":["metrics","wall"],"kiosk_interval_seconds":15}})");
    REQUIRE(c.ok());
    CHECK(c->ui.fontScale == 1.5);
    CHECK(c->ui.theme == "high_contrast");
    CHECK(c->ui.palette == "colorblind");
    CHECK(c->ui.kioskPages == std::vector<std::string>{"metrics", "wall"});
    CHECK(c->ui.kioskIntervalSeconds == 15);
    const std::pair<const char*, const char*> bad[] = {
        {R"({"ui":{"font_scale":9}})", "ui.font_scale"},
        {R"({"ui":{"theme":"light"}})", "ui.theme"},
        {R"({"ui":{"palette":1}})", "ui.palette"},
        {R"({"ui":{"kiosk_pages":[]}})", "ui.kiosk_pages"},
        {R"({"ui":{"kiosk_pages":["wall","nope"]}})", "ui.kiosk_pages"},
        {R"({"ui":{"amber_factor":5,"red_factor":2}})", "ui.red_factor"},
        {R"({"ui":{"colour":"x"}})", "ui.colour"},
        {R"({"ui":[]})", "\"ui\""},
    };
    for (auto [text, key] : bad) {
        auto r = ParseConfig(text);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(key) != std::string::npos, r.error().message);
    }
}

TEST_CASE("surge and alert settings are validated, with defaults") {
    auto d = ParseConfig("{}");
    REQUIRE(d.ok());
    CHECK(d->ui.surgeFactor == 3);
    CHECK(d->ui.surgeMinMessages == 10);
    CHECK_FALSE(d->ui.alertSound);
    CHECK(d->ui.desktopNotifications);
    CHECK(d->ui.alertRepeatMinutes == 10);
    auto c = ParseConfig(
        R"({"ui":{"surge_factor":4,"surge_min_messages":25,"alert_sound":true,
                 "desktop_notifications":false,"alert_repeat_minutes":30}})");
    REQUIRE(c.ok());
    CHECK(c->ui.surgeFactor == 4);
    CHECK(c->ui.surgeMinMessages == 25);
    CHECK(c->ui.alertSound);
    CHECK_FALSE(c->ui.desktopNotifications);
    CHECK(c->ui.alertRepeatMinutes == 30);
    const std::pair<const char*, const char*> bad[] = {
        {R"({"ui":{"surge_factor":1}})", "ui.surge_factor"},
        {R"({"ui":{"surge_min_messages":2.5}})", "whole number"},
        {R"({"ui":{"surge_min_messages":0}})", "ui.surge_min_messages"},
        {R"({"ui":{"alert_sound":"yes"}})", "ui.alert_sound"},
        {R"({"ui":{"desktop_notifications":1}})", "ui.desktop_notifications"},
        {R"({"ui":{"alert_repeat_minutes":0}})", "ui.alert_repeat_minutes"},
    };
    for (auto [text, key] : bad) {
        auto r = ParseConfig(text);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(key) != std::string::npos, r.error().message);
    }
}

TEST_CASE("saving settings keeps the rest of the file, validates, and writes mode 0600") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "sub" / "config.json").string();
    // No file yet: it is created (with its folder).
    Config c;
    c.ui.theme = "high_contrast";
    c.ui.kioskPages = {"activity"};
    c.limits.paceFraction = 0.5;
    c.sync.minPollIntervalSeconds = 2;
    REQUIRE(SaveSettings(path, c).ok());
    CHECK(cdeck::test::OwnerOnlyProblem(path, cdeck::core::os::OwnerOnlyDescriptorText()) == "");
    auto back = LoadConfig(path, true);
    REQUIRE(back.ok());
    CHECK(back->ui.theme == "high_contrast");
    CHECK(back->ui.kioskPages == std::vector<std::string>{"activity"});
    CHECK(back->limits.paceFraction == 0.5);
    CHECK(back->sync.minPollIntervalSeconds == 2);

    // Other keys survive a save.
    {
        std::ofstream out(path, std::ios::trunc);
        out << R"({"tenant":"contoso","client_id":"abc","client_secret":"keep-me",
                   "auth_mode":"client_credentials","sync":{"workers":7},"limits":{"per_team":3}})";
    }
    c.ui.fontScale = 2;
    REQUIRE(SaveSettings(path, c).ok());
    back = LoadConfig(path, true);
    REQUIRE(back.ok());
    CHECK(back->tenant == "contoso");
    CHECK(back->clientSecret == "keep-me");
    CHECK(back->sync.workers == 7);
    CHECK(back->limits.perTeam == 3);
    CHECK(back->ui.fontScale == 2);

    // A file that is not JSON is left alone and reported.
    {
        std::ofstream out(path, std::ios::trunc);
        out << "{ not json";
    }
    auto bad = SaveSettings(path, c);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("not a valid JSON object") != std::string::npos);
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK(text == "{ not json");
    // Values the parser would refuse are not written.
    c.ui.redFactor = 1;
    c.ui.amberFactor = 4;
    {
        std::ofstream out(path, std::ios::trunc);
        out << "{}";
    }
    auto invalid = SaveSettings(path, c);
    REQUIRE_FALSE(invalid.ok());
    CHECK(invalid.error().message.find("ui.red_factor") != std::string::npos);
}

TEST_CASE("a config holding a secret that others can read gives a warning") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "config.json").string();
    {
        std::ofstream out(path);
        out << R"({"tenant":"contoso","client_id":"abc","client_secret":"s3cret",
                   "auth_mode":"client_credentials"})";
    }
    REQUIRE(cdeck::test::MakeEveryoneReadable(path));
    auto c = LoadConfig(path, true);
    REQUIRE(c.ok());
    REQUIRE(c->warnings.size() == 1);
    CHECK(c->warnings[0].find(cdeck::core::os::OwnerOnlyCommand(path)) != std::string::npos);
    CHECK(c->warnings[0].find("s3cret") == std::string::npos);  // never the secret itself
    REQUIRE(cdeck::core::os::RestrictToOwner(path).ok());
    c = LoadConfig(path, true);
    REQUIRE(c.ok());
    if (cdeck::test::UnderWine())  // Wine rebuilds access lists from Unix mode bits
        MESSAGE("under Wine the restricted file still reads back as readable: checked on Windows");
    else
        CHECK(c->warnings.empty());
}

TEST_CASE("server and node blocks: values, defaults and errors that name the key") {
    auto c = ParseConfig(R"({"server":{"conninfo":"service=channeldeck","backstop_seconds":10,
                             "stale_after_seconds":45,"claim_seconds":120},
                             "node":{"id":"node-1","listen":"0.0.0.0:9464","max_queue":1000,
                             "batch_size":50}})");
    REQUIRE(c.ok());
    CHECK(c->server.Enabled());
    CHECK(c->server.conninfo == "service=channeldeck");
    CHECK(c->server.backstopSeconds == 10);
    CHECK(c->server.staleAfterSeconds == 45);
    CHECK(c->server.claimSeconds == 120);
    CHECK(c->node.id == "node-1");
    CHECK(c->node.listen == "0.0.0.0:9464");
    CHECK(c->node.maxQueue == 1000);
    CHECK(c->node.batchSize == 50);
    auto plain = ParseConfig("{}");
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->server.Enabled());
    CHECK(plain->node.listen == "127.0.0.1:9464");
    const std::pair<const char*, const char*> bad[] = {
        {R"({"server":{}})", "server.conninfo"},
        {R"({"server":{"conninfo":""}})", "server.conninfo"},
        {R"({"server":{"conninfo":"x=1","backstop_seconds":0}})", "server.backstop_seconds"},
        {R"({"server":{"conninfo":"x=1","claim_seconds":5}})", "server.claim_seconds"},
        {R"({"server":{"conninfo":"x=1","typo":1}})", "server.typo"},
        {R"({"server":"host=db"})", "server"},
        {R"({"node":{"listen":"9464"}})", "node.listen"},
        {R"({"node":{"listen":"127.0.0.1:99999"}})", "node.listen"},
        {R"({"node":{"listen":"127.0.0.1:"}})", "node.listen"},
        {R"({"node":{"max_queue":0}})", "node.max_queue"},
        {R"({"node":{"id":""}})", "node.id"}};
    for (const auto& [text, key] : bad) {
        CAPTURE(text);
        auto r = ParseConfig(text);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().message.find(std::string("\"") + key + "\"") != std::string::npos);
    }
}

TEST_CASE("a database password in a config others can read gives a warning, without it") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "config.json").string();
    {
        std::ofstream out(path);
        out << R"({"server":{"conninfo":"host=db user=desk password=Pg-s3cret"}})";
    }
    REQUIRE(cdeck::test::MakeEveryoneReadable(path));
    auto c = LoadConfig(path, true);
    REQUIRE(c.ok());
    REQUIRE(c->warnings.size() == 1);
    CHECK(c->warnings[0].find("database password") != std::string::npos);
    CHECK(c->warnings[0].find("Pg-s3cret") == std::string::npos);
    REQUIRE(cdeck::core::os::RestrictToOwner(path).ok());
    c = LoadConfig(path, true);
    REQUIRE(c.ok());
    if (cdeck::test::UnderWine())  // Wine rebuilds access lists from Unix mode bits
        MESSAGE("under Wine the restricted file still reads back as readable: checked on Windows");
    else
        CHECK(c->warnings.empty());
}
