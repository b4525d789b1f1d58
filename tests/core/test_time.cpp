#include <doctest/doctest.h>

#include "util/time.hpp"

using namespace cdeck::core;

TEST_CASE("ISO 8601 parsing as Graph writes it") {
    CHECK(ParseIso8601("1970-01-01T00:00:00Z") == 0);
    CHECK(ParseIso8601("2021-03-28T21:11:12.395Z") == 1616965872395LL);
    CHECK(ParseIso8601("2021-03-28T21:11:12.3950000Z") == 1616965872395LL);  // 7 fractional digits
    CHECK(ParseIso8601("2021-03-28T21:11:12.3Z") == 1616965872300LL);
    CHECK(ParseIso8601("2021-03-28T23:11:12.395+02:00") == 1616965872395LL);
    CHECK_FALSE(ParseIso8601("2021-03-28 21:11:12Z").has_value());
    CHECK_FALSE(ParseIso8601("2021-13-28T21:11:12Z").has_value());
    CHECK_FALSE(ParseIso8601("2021-03-28T21:11:12").has_value());  // no zone
    CHECK_FALSE(ParseIso8601("").has_value());
    CHECK_FALSE(ParseIso8601("2021-03-28T21:11:12.Z").has_value());
}

TEST_CASE("ISO 8601 formatting round-trips") {
    for (UnixMillis ms : {0LL, 1616965872395LL, 951782400000LL /* 2000-02-29 */, 4102444799999LL}) {
        auto s = FormatIso8601(ms);
        CAPTURE(s);
        CHECK(ParseIso8601(s) == ms);
    }
    CHECK(FormatIso8601(1616965872395LL) == "2021-03-28T21:11:12.395Z");
}

TEST_CASE("HTTP dates") {
    CHECK(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777000LL);
    CHECK_FALSE(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").has_value());
    CHECK_FALSE(ParseHttpDate("Sun, 06 Foo 1994 08:49:37 GMT").has_value());
}

TEST_CASE("relative times") {
    CHECK(FormatAgo(1000, 2000) == "just now");
    CHECK(FormatAgo(0, 42000) == "42 s ago");
    CHECK(FormatAgo(0, 5 * 60000) == "5 min ago");
    CHECK(FormatAgo(0, 3 * 3600000) == "3 h ago");
    CHECK(FormatAgo(0, 2 * 86400000LL) == "2 d ago");
}
