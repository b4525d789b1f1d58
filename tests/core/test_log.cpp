#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "util/log.hpp"

using namespace cdeck::core;

TEST_CASE("the logger redacts bearer tokens and JWTs even if a caller slips") {
    std::vector<std::string> lines;
    auto old = SetLogSink([&](LogLevel, std::string_view l) { lines.emplace_back(l); });
    Log(LogLevel::kWarn, "test", "header was Authorization: Bearer abc.def-ghi_123");
    Log(LogLevel::kWarn, "test", "token eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2lnbmF0dXJl leaked");
    SetLogSink(std::move(old));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("abc.def") == std::string::npos);
    CHECK(lines[0].find("Bearer [redacted]") != std::string::npos);
    CHECK(lines[1].find("eyJ0eXAi") == std::string::npos);
    CHECK(lines[1].find("[redacted-jwt] leaked") != std::string::npos);
}

TEST_CASE("log level filters") {
    int count = 0;
    auto old = SetLogSink([&](LogLevel, std::string_view) { ++count; });
    LogLevel prev = GetLogLevel();
    SetLogLevel(LogLevel::kWarn);
    Log(LogLevel::kInfo, "t", "hidden");
    Log(LogLevel::kError, "t", "shown");
    SetLogLevel(prev);
    SetLogSink(std::move(old));
    CHECK(count == 1);
}
