#include "util/time.hpp"

#include <atomic>

#include <cstdio>
#include <cstring>

namespace cdeck::core {

namespace {
std::atomic<UnixMillis> g_skew{0};
}

UnixMillis NowMillis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           g_skew.load(std::memory_order_relaxed);
}

void SetClockSkewForTesting(UnixMillis ms) {
    g_skew.store(ms, std::memory_order_relaxed);
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
    // Howard Hinnant's well-known civil-from-days inverse, written out from the algorithm.
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
        char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

void CivilFromDays(int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(yy + (m <= 2));
}

}  // namespace

std::optional<UnixMillis> ParseIso8601(std::string_view s) {
    int Y, M, D, h, m, sec;
    if (!Digits(s, 0, 4, Y) || s.size() < 19 || s[4] != '-' || !Digits(s, 5, 2, M) || s[7] != '-' ||
        !Digits(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, h) ||
        s[13] != ':' || !Digits(s, 14, 2, m) || s[16] != ':' || !Digits(s, 17, 2, sec))
        return std::nullopt;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
    size_t pos = 19;
    int millis = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            if (digits < 3) millis = millis * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0) return std::nullopt;
        for (int i = digits; i < 3; ++i) millis *= 10;
    }
    int64_t offsetMin = 0;
    if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        int oh, om;
        if (!Digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !Digits(s, pos + 4, 2, om))
            return std::nullopt;
        offsetMin = (oh * 60 + om) * (s[pos] == '+' ? 1 : -1);
        pos += 6;
    } else {
        return std::nullopt;  // Graph always sends a zone; a bare local time is ambiguous
    }
    if (pos != s.size()) return std::nullopt;
    int64_t days = DaysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offsetMin * 60;
    return secs * 1000 + millis;
}

std::string FormatIso8601(UnixMillis ms) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int millis = static_cast<int>(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int y;
    unsigned m, d;
    CivilFromDays(days, y, m, d);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
                  static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                  static_cast<int>(rem % 60), millis);
    return buf;
}

std::optional<UnixMillis> ParseHttpDate(std::string_view s) {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s.substr(26) != "GMT") return std::nullopt;
    int D, Y, h, m, sec;
    if (!Digits(s, 5, 2, D) || s[7] != ' ' || s[11] != ' ' || !Digits(s, 12, 4, Y) ||
        s[16] != ' ' || !Digits(s, 17, 2, h) || s[19] != ':' || !Digits(s, 20, 2, m) ||
        s[22] != ':' || !Digits(s, 23, 2, sec) || s[25] != ' ')
        return std::nullopt;
    int M = 0;
    for (int i = 0; i < 12; ++i)
        if (s.substr(8, 3) == kMonths[i]) M = i + 1;
    if (M == 0 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
    int64_t days = DaysFromCivil(Y, static_cast<unsigned>(M), static_cast<unsigned>(D));
    return (days * 86400 + h * 3600 + m * 60 + sec) * 1000;
}

std::string FormatAgo(UnixMillis then, UnixMillis now) {
    int64_t s = (now - then) / 1000;
    if (s < 5) return "just now";
    if (s < 60) return std::to_string(s) + " s ago";
    if (s < 3600) return std::to_string(s / 60) + " min ago";
    if (s < 86400) return std::to_string(s / 3600) + " h ago";
    return std::to_string(s / 86400) + " d ago";
}

}  // namespace cdeck::core
