// Gates and back-off: what a failed request does to its scopes (a 429 closes them until
// Retry-After and cuts the adaptive rate; 5xx and timeouts draw on the retry budget), and
// the engine's call observer, which counts every exchange and slows down near a limit.
#include <algorithm>
#include <cmath>

#include "sync/engine_internal.hpp"

namespace cdeck::core {

using namespace engine_detail;

void SyncEngine::CloseScopes(const std::vector<std::string>& scopes, UnixMillis until,
                             UnixMillis now) {
    // Every scope the request touched except the app-wide one (2000 rps is never what Teams
    // throttles first): Graph does not say which refused, and the service counts a request
    // into any scope still in deficit as a penalty. Time gated counts what each extends.
    for (const auto& s : scopes) {
        if (s == "app") continue;
        UnixMillis was = m_pacer.BlockedUntil(s);
        if (was < until)
            m_metrics.OnGated(s, static_cast<double>(until - std::max(now, was)) / 1000.0);
        m_pacer.Block(s, until);
    }
    // Every node stops sending into these scopes (a channel scope is only ever this node's).
    if (m_budget) m_budget->Block(scopes, until - now);
}

double SyncEngine::RetryDelay(const Job& job, const Error& error) {
    bool throttled = error.code == ErrorCode::kThrottled || error.httpStatus == 429;
    // Release a little after the server's time so workers do not stampede at once.
    if (error.retryAfterSeconds) return *error.retryAfterSeconds * (1.0 + 0.1 * Random01());
    if (throttled) return 0.25 + FullJitterBackoff(job.failures, 1.0, 60.0, Random01());
    if (error.code == ErrorCode::kAuth || error.code == ErrorCode::kPermission ||
        error.code == ErrorCode::kConfig || error.code == ErrorCode::kTls)
        return 30.0;  // needs a person; poll slowly until then
    return 0;
}

void SyncEngine::Retry(Job job, const Error& error) {
    job.failures++;
    UnixMillis now = Now();
    std::unique_lock lock(m_mutex);
    if (m_stopping) return;
    if (m_sdk) {
        // The SDK gave up on this request after its own retries: try again next round.
        job.notBefore = now + Ms(job.kind == Job::Kind::kSyncChannel ? 0 : 5.0);
        Enqueue(std::move(job));
        m_cv.notify_one();
        return;
    }
    bool throttled = error.code == ErrorCode::kThrottled || error.httpStatus == 429;
    bool transient = error.code == ErrorCode::kTransient;
    double delay = RetryDelay(job, error);
    if (throttled || (transient && error.retryAfterSeconds)) {
        std::vector<std::string> scopes = ScopesOf(job);
        CloseScopes(scopes, now + Ms(std::max(delay, 0.001)), now);
        if (throttled) {
            // The adaptive cut goes only to the scope that most likely refused.
            std::vector<std::string> refusing =
                RefusingScopes(scopes, t_job ? t_job->rateLimit : std::nullopt);
            m_pacer.OnThrottle(refusing, now);
            for (const auto& s : GuardedScopes(refusing)) m_cautiousUntil[s] = now + kCautiousMs;
        }
    }
    if (transient && !error.retryAfterSeconds) {
        if (m_retryBudget.TryRetry(now)) {
            delay = 0.2 + FullJitterBackoff(job.failures, 1.0, 60.0, Random01());
            m_metrics.OnRetry();
        } else {
            // No budget: wait for the job's normal turn (a poll) or a slow retry.
            m_metrics.OnRetryDenied();
            delay = job.kind == Job::Kind::kSyncChannel &&
                            m_channels[job.channelId].phase == Phase::kLive
                        ? 0
                        : 30.0;
        }
    } else if (throttled || error.retryAfterSeconds) {
        m_metrics.OnRetry();
    }
    job.notBefore = now + Ms(delay);
    Enqueue(std::move(job));
    m_cv.notify_all();
}

void SyncEngine::OnCall(const std::string&, const CallInfo& info) {
    UnixMillis now = Now();
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& scopes = t_job ? t_job->scopes : kNone;
    double ra = info.retryAfterSeconds.value_or(0);
    m_metrics.OnResponse(now, scopes, info.status, info.timedOut, info.rttMs,
                         info.retryAfterSeconds ? &ra : nullptr);
    if (t_job) {
        t_job->rateLimit = info.rateLimitLimit;
        t_job->requestId = info.requestId;
    }
    if (!Adaptive() || scopes.empty() || !info.rateLimitLimit || !info.rateLimitRemaining ||
        info.status == 429)
        return;
    // The service says a limit is nearly used up (RateLimit-* headers, sent near a limit).
    // Treat 20% or less remaining like a 429 for the adaptive rate, without closing the
    // gate: slowing down before the 429 is what keeps requests out of closed scopes.
    if (*info.rateLimitRemaining > 0.2 * *info.rateLimitLimit) return;
    std::lock_guard lock(m_mutex);
    std::vector<std::string> refusing = RefusingScopes(scopes, info.rateLimitLimit);
    m_pacer.OnThrottle(refusing, now);
    for (const auto& s : GuardedScopes(refusing)) m_cautiousUntil[s] = now + kCautiousMs;
}

std::vector<std::string> SyncEngine::GuardedScopes(const std::vector<std::string>& scopes) {
    std::vector<std::string> out;
    for (const auto& s : scopes)
        if (s.rfind("class:", 0) == 0 || s.rfind("team:", 0) == 0) out.push_back(s);
    return out;
}

std::vector<std::string> SyncEngine::RefusingScopes(const std::vector<std::string>& scopes,
                                                    std::optional<double> headerLimit) const {
    // Graph does not say which scope refused. Without a hint, assume every scope the
    // request touched except the app-wide one (2000 rps is never what Teams throttles
    // first). With a RateLimit-Limit header, the scope whose limit is nearest to it; a
    // team and a channel share the same limit, so a match on either names both.
    std::vector<std::string> out;
    if (!headerLimit || *headerLimit <= 0) {
        for (const auto& s : scopes)
            if (s != "app") out.push_back(s);
        return out;
    }
    std::string best;
    double bestDist = 1e18;
    for (const auto& s : scopes) {
        double lim = m_pacer.Limit(s);
        if (s == "app" || lim <= 0) continue;
        double d = std::fabs(std::log(lim / *headerLimit));
        if (d < bestDist - 1e-9) {
            bestDist = d;
            best = s;
        }
    }
    if (best.empty()) return RefusingScopes(scopes, std::nullopt);
    out.push_back(best);
    if (best.rfind("team:", 0) == 0 || best.rfind("channel:", 0) == 0)
        for (const auto& s : scopes)
            if (s != best && (s.rfind("team:", 0) == 0 || s.rfind("channel:", 0) == 0))
                out.push_back(s);
    return out;
}

}  // namespace cdeck::core
