#pragma once
// Pacing for the sync engine: token buckets per scope, Retry-After gates, and an adaptive
// rate per scope (DESIGN.md section 5, points 2-4).
//
// A request touches several scopes (the app, its request class, its team, its channel)
// and needs `cost` tokens from each (a $batch of k items costs k). Acquire() either takes
// them from all scopes or takes none and says how long to wait and which scope refused,
// so the caller re-queues the job instead of sleeping. Block() closes a scope until a time
// (a 429's Retry-After): nothing is granted in a closed scope.
//
// Adaptive scopes (the request classes and teams) start at `startFraction` x their limit.
// A 429 multiplies the rate by 0.7; while work is waiting and no 429 has come for a
// quiet window, the rate grows back along a CUBIC curve: it returns to the rate it had at
// the cut after kCubicK seconds, then probes slowly beyond it, never above the ceiling.
//
// Pure arithmetic over an injected clock (milliseconds); not thread-safe: the engine calls
// it with its queue mutex held.
#include <map>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

// The CUBIC-like rate controller for one scope; exposed for tests.
class AdaptiveRate {
  public:
    static constexpr double kCut = 0.7;         // multiplier on a 429
    static constexpr double kCubicK = 3.0;      // seconds from a cut back to the old rate
    static constexpr double kQuietMs = 1000.0;  // no growth this soon after a cut
    static constexpr double kMinFraction = 0.02;
    static constexpr UnixMillis kStreakMs = 20000;  // cuts this close together form a streak
    static constexpr int kMaxStreak = 3;

    AdaptiveRate() = default;
    AdaptiveRate(double ceiling, double start) : m_ceiling(ceiling), m_rate(start), m_wMax(start) {}

    double Rate() const { return m_rate; }
    double Ceiling() const { return m_ceiling; }
    double LastGoodMax() const { return m_wMax; }
    // A 429 (or a server saying it is nearly out of quota). Cuts at most once per
    // `holdMs`, so a volley of responses to requests already in flight counts once.
    // Returns whether it cut.
    bool OnThrottle(UnixMillis now, double holdMs = 500);
    // Called as time passes; grows only while work is waiting.
    void Tick(UnixMillis now, bool workWaiting);
    // New limits at run time (configuration). Keeps the current rate under the ceiling.
    void SetCeiling(double ceiling);

  private:
    double m_ceiling = 0;
    double m_rate = 0;
    double m_wMax = 0;  // the rate at the last cut (the "last good maximum")
    UnixMillis m_cutAt = 0;
    UnixMillis m_lastTick = 0;
    uint64_t m_cuts = 0;
    int m_streak = 0;  // cuts in a row, each within kStreakMs of the last
};

class Pacer {
  public:
    struct Grant {
        UnixMillis wait = 0;  // 0: granted
        std::string scope;    // the scope that refused (gate or bucket)
        bool gated = false;   // refused by a Retry-After gate (not by pacing)
    };

    // A fixed-rate scope (tokens per second; capacity is one second of tokens). 0: unlimited.
    void SetRate(const std::string& scope, double perSecond);
    // An adaptive scope: `limit` is the documented limit; it starts at startFraction x it.
    // Scopes with the same non-empty `group` (every team) share one adaptive rate.
    void SetAdaptive(const std::string& scope, double limit, double startFraction,
                     const std::string& group = {});
    bool Has(const std::string& scope) const { return m_buckets.count(scope) != 0; }
    Grant Acquire(const std::vector<std::string>& scopes, UnixMillis now, double cost = 1.0);
    // Gives back what a granted Acquire took (the request did not go after all).
    void Refund(const std::vector<std::string>& scopes, double cost = 1.0);
    // Closes a scope until `until` (a Retry-After). Never shortens an existing gate.
    void Block(const std::string& scope, UnixMillis until);
    UnixMillis BlockedUntil(const std::string& scope) const;
    double Rate(const std::string& scope) const;
    double Limit(const std::string& scope) const;
    // A 429 seen in these scopes: cut each adaptive one. Returns whether any cut.
    bool OnThrottle(const std::vector<std::string>& scopes, UnixMillis now);
    // Time passes; adaptive scopes regrow while work is waiting.
    void Tick(UnixMillis now, bool workWaiting);

    struct ScopeView {
        std::string scope;
        double limit = 0;  // the configured limit (0: unlimited)
        double rate = 0;   // the paced rate now
        UnixMillis blockedUntil = 0;
        bool adaptive = false;
    };
    std::vector<ScopeView> View(bool includeFixed) const;

  private:
    struct Bucket {
        double rate = 0;  // 0: unlimited
        double limit = 0;
        double tokens = 0;
        UnixMillis last = 0;
        bool init = false;
        UnixMillis blockedUntil = 0;
        bool adaptive = false;
        AdaptiveRate control;  // when not in a group
        std::string group;
    };
    static void Refill(Bucket& b, UnixMillis now);
    AdaptiveRate& ControlOf(Bucket& b);
    std::map<std::string, Bucket> m_buckets;
    std::map<std::string, AdaptiveRate> m_groups;
};

}  // namespace cdeck::core
