#pragma once
// Time helpers shared by core modules. Pure functions; safe on any thread.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdeck::core {

// Milliseconds since the Unix epoch, UTC. Graph's timestamps fit comfortably.
using UnixMillis = int64_t;

UnixMillis NowMillis();

// Tests only: shifts NowMillis() by `ms` from now on, as a jump of the system clock would
// (steady-clock timing is not affected, as it is not by a real jump).
void SetClockSkewForTesting(UnixMillis ms);

// Parses ISO 8601 / RFC 3339 as Graph writes it: "2021-03-28T21:11:12.395Z", with up to 7
// fractional digits and a 'Z' or +hh:mm offset. Returns nullopt for anything else.
std::optional<UnixMillis> ParseIso8601(std::string_view text);

// Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatIso8601(UnixMillis ms);

// Parses an IMF-fixdate (RFC 7231: "Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<UnixMillis> ParseHttpDate(std::string_view text);

// "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago".
std::string FormatAgo(UnixMillis then, UnixMillis now);

// Days since 1970-01-01 for a civil date (proleptic Gregorian). Exposed for tests.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace cdeck::core
