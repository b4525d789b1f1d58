#pragma once
// Process-wide logger. Thread-safe: any thread may call Log(); the sink is swapped under
// a mutex. Callers must never pass tokens, secrets, codes or Authorization headers; the
// logger additionally redacts anything that looks like a bearer token or a JWT as a last
// line of defence (tests capture the sink and grep it).
#include <functional>
#include <string>
#include <string_view>

namespace cdeck::core {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };

using LogSink = std::function<void(LogLevel, std::string_view line)>;

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Replaces the sink (default: stderr). Pass nullptr to restore stderr. Returns the old one.
LogSink SetLogSink(LogSink sink);
void Log(LogLevel level, std::string_view component, std::string_view message);

// Masks JWT-shaped strings and "Bearer xxx" in text. Exposed for tests.
std::string RedactSecrets(std::string_view text);

#define CDECK_LOG_INFO(comp, msg) ::cdeck::core::Log(::cdeck::core::LogLevel::kInfo, comp, msg)
#define CDECK_LOG_WARN(comp, msg) ::cdeck::core::Log(::cdeck::core::LogLevel::kWarn, comp, msg)
#define CDECK_LOG_ERROR(comp, msg) ::cdeck::core::Log(::cdeck::core::LogLevel::kError, comp, msg)
#define CDECK_LOG_DEBUG(comp, msg) ::cdeck::core::Log(::cdeck::core::LogLevel::kDebug, comp, msg)

}  // namespace cdeck::core
