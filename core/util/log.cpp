#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "platform/os.hpp"

namespace cdeck::core {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_sinkMutex;  // guards g_sink and serialises writes to it
LogSink g_sink;

const char* LevelName(LogLevel l) {
    switch (l) {
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            return "error";
    }
    return "?";
}

bool IsTokenChar(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}

}  // namespace

void SetLogLevel(LogLevel level) {
    g_level.store(static_cast<int>(level));
}
LogLevel GetLogLevel() {
    return static_cast<LogLevel>(g_level.load());
}

LogSink SetLogSink(LogSink sink) {
    std::lock_guard lock(g_sinkMutex);
    LogSink old = std::move(g_sink);
    g_sink = std::move(sink);
    return old;
}

std::string RedactSecrets(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        // "Bearer <token>"
        if (text.substr(i, 7) == "Bearer " || text.substr(i, 7) == "bearer ") {
            out.append(text.substr(i, 7));
            i += 7;
            size_t j = i;
            while (j < text.size() && IsTokenChar(text[j])) ++j;
            if (j > i) out += "[redacted]";
            i = j;
            continue;
        }
        // JWT: three base64url segments starting with "eyJ".
        if (text.substr(i, 3) == "eyJ") {
            size_t j = i;
            int dots = 0;
            while (j < text.size() && IsTokenChar(text[j])) {
                if (text[j] == '.') ++dots;
                ++j;
            }
            if (dots >= 2) {
                out += "[redacted-jwt]";
                i = j;
                continue;
            }
        }
        out.push_back(text[i]);
        ++i;
    }
    return out;
}

void Log(LogLevel level, std::string_view component, std::string_view message) {
    if (static_cast<int>(level) < g_level.load()) return;
    std::string line;
    line.reserve(message.size() + component.size() + 32);
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm = os::UtcTime(t);
    char ts[32];
    std::strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    line += ts;
    line += ' ';
    line += LevelName(level);
    line += " [";
    line += component;
    line += "] ";
    line += RedactSecrets(message);
    std::lock_guard lock(g_sinkMutex);
    if (g_sink) {
        g_sink(level, line);
    } else {
        std::fprintf(stderr, "%s\n", line.c_str());
    }
}

}  // namespace cdeck::core
