#include "sim/throttle.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::sim {

namespace {
// At least one second, rounded up (a hair of floating-point noise is not a second more).
double WholeSeconds(double seconds) {
    return std::max(1.0, std::ceil(seconds - 1e-9));
}
}  // namespace

Limits Limits::Scaled(double f) const {
    Limits l = *this;
    for (double* v : {&l.app, &l.getMessage, &l.postMessage, &l.getChannels, &l.getTeams, &l.other,
                      &l.perTeam, &l.perChannel})
        *v *= f;
    return l;
}

const char* RequestClassName(RequestClass c) {
    switch (c) {
        case RequestClass::kGetMessage:
            return "get_message";
        case RequestClass::kPostMessage:
            return "post_message";
        case RequestClass::kGetChannels:
            return "get_channels";
        case RequestClass::kGetTeams:
            return "get_teams";
        case RequestClass::kOther:
            return "other";
        case RequestClass::kUnthrottled:
            return "unthrottled";
    }
    return "other";
}

double Throttler::RateFor(const std::string& kind, RequestClass cls) const {
    if (kind == "app") return m_limits.app;
    if (kind == "team") return m_limits.perTeam;
    if (kind == "channel") return m_limits.perChannel;
    switch (cls) {
        case RequestClass::kGetMessage:
            return m_limits.getMessage;
        case RequestClass::kPostMessage:
            return m_limits.postMessage;
        case RequestClass::kGetChannels:
            return m_limits.getChannels;
        case RequestClass::kGetTeams:
            return m_limits.getTeams;
        default:
            return m_limits.other;
    }
}

ThrottleDecision Throttler::Charge(double now, const std::string& appId, RequestClass cls,
                                   const std::string& teamId, const std::string& channelId,
                                   double cost) {
    ThrottleDecision d;
    if (cls == RequestClass::kUnthrottled) return d;
    struct Scope {
        std::string key;
        std::string kind;
    };
    std::vector<Scope> scopes = {{"app:" + appId, "app"},
                                 {"class:" + appId + ":" + RequestClassName(cls), "class"}};
    if (!teamId.empty()) scopes.push_back({"team:" + appId + ":" + teamId, "team"});
    if (!channelId.empty()) scopes.push_back({"channel:" + appId + ":" + channelId, "channel"});

    double worstWait = 0;
    double busiest = -1;
    for (const auto& s : scopes) {
        Bucket& b = m_buckets[s.key];
        b.rate = RateFor(s.kind, cls);
        double capacity = std::max(1.0, b.rate);  // one second of burst
        if (!b.init) {
            b.tokens = capacity;
            b.last = now;
            b.init = true;
        }
        // Refill; time only moves forward here even if the caller's clock steps back.
        if (now > b.last) {
            b.tokens = std::min(capacity, b.tokens + (now - b.last) * b.rate);
            b.last = now;
        }
        ScopeStats& st = m_stats[s.key];
        st.requests++;
        // Before the time a 429 stated, the scope is closed: the request is refused and
        // counted as a penalty. From that time on it is judged by its tokens alone.
        const bool closed = now < b.blockedUntil;
        if (closed) st.penalties++;
        // Usage keeps counting while throttled, so early retries deepen the deficit.
        b.tokens -= cost;
        // Bound the deficit so a runaway client cannot push the block out forever.
        b.tokens = std::max(b.tokens, -10.0 * capacity);
        double used = 1.0 - b.tokens / capacity;
        if (used > busiest) {
            busiest = used;
            d.limit = capacity;
            d.remaining = std::max(0.0, std::floor(b.tokens));
            d.reset = b.tokens >= capacity ? 0 : (capacity - b.tokens) / b.rate;
        }
        if (closed || b.tokens < 0) {
            // Open again once one request's worth of tokens is back. The header states that
            // time in whole seconds, rounded up, so a client that waits as told and sends
            // one request finds the token there unless others spent it meanwhile.
            double wait = std::max(0.0, (1.0 - b.tokens) / b.rate);
            double until = now + wait;
            if (until > b.blockedUntil) {
                st.gatedSeconds += until - std::max(now, b.blockedUntil);
                b.blockedUntil = until;
            }
            st.throttled++;
            if (!d.throttled) d.scope = s.key;
            worstWait = std::max(worstWait, wait);
            d.throttled = true;
        }
    }
    d.nearLimit = busiest >= 0.8;
    if (cls == RequestClass::kPostMessage && !channelId.empty() && !d.throttled) {
        auto& [day, count] = m_dailyPosts[appId + ":" + channelId];
        int64_t today = static_cast<int64_t>(std::floor(now / 86400.0));
        if (day != today) {
            day = today;
            count = 0;
        }
        if (count + cost > m_limits.postsPerChannelPerDay) {
            d.throttled = true;
            d.dailyQuota = true;
            d.scope = "daily:" + appId + ":" + channelId;
            worstWait = (today + 1) * 86400.0 - now;
        } else {
            count += cost;
        }
    }
    // Graph sends Retry-After as HTTP delay-seconds: a whole number, never rounded down.
    d.retryAfter = WholeSeconds(worstWait);
    return d;
}

uint64_t Throttler::TotalThrottled() const {
    uint64_t n = 0;
    for (const auto& [k, s] : m_stats) n += s.throttled;
    return n;
}

uint64_t Throttler::TotalPenalties() const {
    uint64_t n = 0;
    for (const auto& [k, s] : m_stats) n += s.penalties;
    return n;
}

}  // namespace cdeck::sim
