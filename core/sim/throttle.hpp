#pragma once
// graphsim's throttling model: token buckets per scope, every applicable scope charged for
// each request, and the penalty Microsoft documents: usage keeps counting while throttled.
//
// A refusing scope opens again when one request's worth of tokens is back. Retry-After
// states that time as Graph does: whole delay-seconds, rounded up, never down. Requests
// that arrive while the scope is closed are penalties and move the opening later; a client
// that waits as told and sends one request is served unless the scope was really spent
// again meanwhile.
//
// Pure arithmetic over an injected clock (seconds as double), so tests can script exact
// sequences. Not thread-safe: GraphSim::Impl calls it with its mutex held.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cdeck::sim {

// Limits in requests per second (posts per day for the daily quota).
struct Limits {
    double app = 2000;        // per app, all requests
    double getMessage = 20;   // per app+tenant: GET channel message(s)
    double postMessage = 50;  // per app+tenant: POST channel message / reply
    double getChannels = 60;  // per app+tenant: GET channels / members
    double getTeams = 30;     // per app+tenant: GET team / joinedTeams
    double other = 30;        // per app+tenant: anything else
    double perTeam = 4;       // per app per team
    double perChannel = 4;    // per app per channel
    double postsPerChannelPerDay = 3000;

    static Limits Graph2025() { return {}; }
    static Limits GraphStrict() {
        Limits l;
        l.getMessage = 5;
        l.postMessage = 2;
        return l;
    }
    Limits Scaled(double f) const;
};

enum class RequestClass {
    kGetMessage,
    kPostMessage,
    kGetChannels,
    kGetTeams,
    kOther,
    kUnthrottled
};
const char* RequestClassName(RequestClass c);

struct ThrottleDecision {
    bool throttled = false;
    double retryAfter = 0;                       // whole seconds (>= 1), when throttled
    std::string scope;                           // the scope that refused (the first empty one)
    bool dailyQuota = false;                     // refused by the per-channel daily post quota
    bool nearLimit = false;                      // some scope above 80% usage (RateLimit-* headers)
    double limit = 0, remaining = 0, reset = 0;  // for RateLimit-* headers, of the busiest scope
};

struct ScopeStats {
    uint64_t requests = 0;
    uint64_t throttled = 0;
    uint64_t penalties = 0;   // requests that arrived while the scope was closed
    double gatedSeconds = 0;  // total time the scope spent blocked
};

class Throttler {
  public:
    explicit Throttler(Limits limits = Limits::Graph2025()) : m_limits(limits) {}

    void SetLimits(const Limits& l) { m_limits = l; }
    const Limits& GetLimits() const { return m_limits; }

    // Charges one request (cost = items, for $batch) at time `now`. teamId/channelId may
    // be empty. A throttled request is still counted: it deepens the deficit.
    ThrottleDecision Charge(double now, const std::string& appId, RequestClass cls,
                            const std::string& teamId, const std::string& channelId,
                            double cost = 1.0);

    const std::map<std::string, ScopeStats>& Stats() const { return m_stats; }
    uint64_t TotalThrottled() const;
    uint64_t TotalPenalties() const;

  private:
    struct Bucket {
        double tokens = 0;
        double rate = 0;
        double last = 0;
        bool init = false;
        double blockedUntil = 0;
    };
    double RateFor(const std::string& scopeKind, RequestClass cls) const;

    Limits m_limits;
    std::map<std::string, Bucket> m_buckets;
    std::map<std::string, ScopeStats> m_stats;
    std::map<std::string, std::pair<int64_t, double>> m_dailyPosts;  // channel -> (day, count)
};

}  // namespace cdeck::sim
