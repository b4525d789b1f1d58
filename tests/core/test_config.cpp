#include <doctest/doctest.h>

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

TEST_CASE("numbers too large for JSON are a config error, not an exception (found by fuzz_config)") {
    auto r = ParseConfig(R"({"sync": {"poll_interval_seconds": 1e999}})");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kConfig);
}
