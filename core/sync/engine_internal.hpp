#pragma once
// Shared by the sync engine's source files (sync_engine.cpp, sync_schedule.cpp,
// sync_channel.cpp, sync_commands.cpp, sync_gates.cpp); not a public header.
// Threads: the constants are immutable; JobCalls is per worker thread (see below).
#include <chrono>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "sync/sync_engine.hpp"

namespace cdeck::core::engine_detail {

inline UnixMillis Ms(double seconds) {
    return static_cast<UnixMillis>(std::llround(seconds * 1000.0));
}

// Priority is the expected number of unseen messages a request will bring. Polls use the
// planner's lambda x elapsed; a backfill or continuation page is worth up to a page of
// messages, a reply fetch a handful. The user's own commands, discovery and "refresh now"
// come before all of them.
constexpr double kPrioCommand = 1e12;
constexpr double kPrioDiscover = 1e11;
constexpr double kPrioRefreshNow = 1e10;
constexpr double kPrioPage = 50;
constexpr double kPrioReplies = 2;         // a changed thread has a new reply about half the time
constexpr double kPrioOverdue = 5;         // plus how many maximum intervals overdue
constexpr UnixMillis kCautiousMs = 10000;  // one at a time in a class after a warning
constexpr double kHotLambda = 1.0 / 60.0;  // a hot channel: at least one message a minute

inline const std::string kClassGetMessage = "class:get_message";

// What the calls of the job a worker is running observed. Run() points t_job at one for
// the job's duration; the engine's call observer (OnCall, on the same thread) fills it.
// Each engine has its own observer (GraphClient::WithObserver), so these facts reach only
// the engine whose worker made the call.
struct JobCalls {
    std::vector<std::string> scopes;  // the scopes the job's requests count against
    std::optional<double> rateLimit;  // RateLimit-Limit of the last response, if sent
    std::string requestId;            // Graph's request-id of the last call
};
extern thread_local JobCalls* t_job;

// A request that went out and got no answer may still have taken effect: no answer at
// all, or a gateway timing out on the way back.
inline bool SentButUnanswered(const Error& e) {
    return e.timedOut ||
           (e.code == ErrorCode::kTransient && (e.httpStatus == 0 || e.httpStatus == 504));
}

}  // namespace cdeck::core::engine_detail

namespace cdeck::core {

// sdk policy: retries 429/503/504 in place like the Graph SDK, sleeping in the worker.
template <typename F>
auto SyncEngine::WithSdkRetries(F call) -> decltype(call()) {
    auto result = call();
    if (!m_sdk) return result;
    for (int attempt = 1; attempt <= SdkRetry::kMaxRetries && !result; ++attempt) {
        const Error& e = result.error();
        if (!SdkRetry::Retriable(e.httpStatus)) break;
        double ra = e.retryAfterSeconds.value_or(-1);
        double delay = SdkRetry::DelaySeconds(attempt, ra >= 0 ? &ra : nullptr, Random01());
        m_metrics.OnRetry();
        {
            // The SDK holds its worker for the whole wait; only Stop() cuts it short.
            std::unique_lock lock(m_mutex);
            if (m_cv.wait_for(lock, std::chrono::milliseconds(engine_detail::Ms(delay)),
                              [&] { return m_stopping; }))
                return result;
        }
        result = call();
    }
    return result;
}

}  // namespace cdeck::core
