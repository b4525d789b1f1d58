#include <doctest/doctest.h>

#include "auth/token_provider.hpp"
#include "net/http_error.hpp"

using namespace cdeck::core;

TEST_CASE("Retry-After parsing table") {
    const UnixMillis now = 784111777000LL;  // Sun, 06 Nov 1994 08:49:37 GMT
    struct Row {
        const char* value;
        std::optional<double> expected;
    };
    const Row rows[] = {
        {"30", 30.0},
        {"0", 0.0},
        {"1.5", 2.0},  // decimals round up
        {"0.25", 1.0},
        {" 7 ", 7.0},
        {"Sun, 06 Nov 1994 08:50:37 GMT", 60.0},   // date: seconds from now
        {"Sun, 06 Nov 1994 08:59:37 GMT", 600.0},  // no 0-59 truncation
        {"Sun, 06 Nov 1994 08:40:37 GMT", 0.0},    // in the past: zero, never negative
        {"30,120", 120.0},                         // comma list: the maximum
        {"5, 2.5, 1", 5.0},
        {"Sun, 06 Nov 1994 08:50:37 GMT, 10", 60.0},  // a date inside a list
        {"", std::nullopt},
        {"soon", std::nullopt},
        {"-5", std::nullopt},
        {"1e3", std::nullopt},
        {"99999999999999999", std::nullopt},
    };
    for (const auto& r : rows) {
        CAPTURE(r.value);
        CHECK(ParseRetryAfter(r.value, now) == r.expected);
    }
}

TEST_CASE("Graph error bodies map to codes by status and error.code") {
    HttpResponse r;
    r.status = 429;
    r.headers["retry-after"] = "3";
    r.headers["request-id"] = "hdr-id";
    r.body =
        R"({"error":{"code":"TooManyRequests","message":"slow down","innerError":{"date":"2024-01-01T00:00:00","request-id":"body-id","client-request-id":"c"}}})";
    Error e = ErrorFromResponse(r, 0);
    CHECK(e.code == ErrorCode::kThrottled);
    CHECK(e.graphCode == "TooManyRequests");
    CHECK(e.requestId == "body-id");
    CHECK(e.retryAfterSeconds == 3.0);
    CHECK(e.httpStatus == 429);

    r = {};
    r.status = 410;
    r.body = R"({"error":{"code":"Gone","message":"x","innerError":{"code":"resyncRequired"}}})";
    CHECK(ErrorFromResponse(r, 0).code == ErrorCode::kResync);

    struct Case {
        int status;
        ErrorCode code;
    };
    for (auto c : {Case{401, ErrorCode::kAuth}, Case{403, ErrorCode::kPermission},
                   Case{404, ErrorCode::kNotFound}, Case{400, ErrorCode::kClient},
                   Case{500, ErrorCode::kTransient}, Case{503, ErrorCode::kTransient},
                   Case{504, ErrorCode::kTransient}}) {
        HttpResponse x;
        x.status = c.status;
        x.body = "<html>not json</html>";
        CAPTURE(c.status);
        Error err = ErrorFromResponse(x, 0);
        CHECK(err.code == c.code);
        CHECK(err.message == "HTTP " + std::to_string(c.status));
    }
}

TEST_CASE("OAuth error bodies keep the error code") {
    HttpResponse r;
    r.status = 401;
    r.body =
        R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})";
    Error e = ErrorFromResponse(r, 0);
    CHECK(e.code == ErrorCode::kAuth);
    CHECK(e.graphCode == "invalid_client");
    CHECK(e.message.find("AADSTS7000215") != std::string::npos);
}

TEST_CASE("a token response with an absurd lifetime is capped, not overflowed (found by fuzzing)") {
    auto t = ParseTokenResponse(
        R"({"token_type":"Bearer","expires_in":358888888888888888,"access_token":"b"})", 1000);
    REQUIRE(t.ok());
    CHECK(t->expiresAt == 1000 + 366LL * 86400 * 1000);
    auto s =
        ParseTokenResponse(R"({"token_type":"Bearer","expires_in":"-5","access_token":"b"})", 1000);
    REQUIRE(s.ok());
    CHECK(s->expiresAt == 1000 + 60 * 1000);
}
