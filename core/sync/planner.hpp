#pragma once
// Freshness-aware polling (DESIGN.md section 5, point 6), the retry budget (point 5) and
// the Graph SDK's retry timing (the `sdk` baseline policy). Pure arithmetic over an
// injected clock; not thread-safe (the engine holds its queue mutex).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

// Each channel keeps an estimate of its message rate lambda: messages seen divided by the
// time watched, both weighted by exp(-age / kTauSeconds), plus a weak prior. Unlike a
// plain decaying count, this converges within a few arrivals instead of a few tau.
// Channels are polled at
// rates proportional to sqrt(lambda), scaled so the rates add up to the poll budget, and
// clamped between a floor (1 / maxInterval) and a cap (1 / minInterval). The square root
// is the allocation that minimises the expected delay summed over messages for a fixed
// number of polls. Priority among due channels is the expected number of unseen
// messages, lambda x time since the last poll, times the channel's boost.
class PollPlanner {
  public:
    static constexpr double kTauSeconds = 600.0;
    // A channel with no history still gets this rate (one message an hour) so that
    // sqrt() never starves it below the floor when the budget is tight.
    static constexpr double kPriorRate = 1.0 / 3600.0;
    static constexpr double kVisibleBoost = 4.0;
    static constexpr double kPinnedBoost = 4.0;
    // Idle back-off: a channel that has shown no new message for kQuietSeconds is polled at
    // most kQuietPollsPerMessage times per message its rate estimate expects (never below
    // the floor, 1 / maxInterval), so a quiet tenant does not spend the whole budget on
    // polls that find nothing. The estimate decays with kTauSeconds, so the back-off
    // deepens the longer a channel stays quiet, and one new message ends it.
    static constexpr double kQuietSeconds = 120.0;
    static constexpr double kQuietPollsPerMessage = 60.0;

    struct Settings {
        double budget = 10;         // polls per second for all channels together
        double minInterval = 1.0;   // seconds: the per-channel cap
        double maxInterval = 60.0;  // seconds: the floor
    };

    void Configure(Settings s);
    const Settings& GetSettings() const { return m_settings; }
    // Seeds a channel's rate, e.g. from its backfilled history: n messages over `seconds`.
    void Seed(const std::string& channel, double messages, double seconds, UnixMillis now);
    // A poll of `channel` found `newMessages` it had not seen.
    void Observe(const std::string& channel, int newMessages, UnixMillis now);
    void Remove(const std::string& channel);
    double Lambda(const std::string& channel, UnixMillis now) const;

    // Poll rates (polls/s) for every known channel: sqrt(lambda) x k, water-filled so the
    // sum meets the budget within the clamps and the idle back-off (which may leave budget
    // unspent). Recomputed by Rebalance().
    void Rebalance(UnixMillis now);
    double PollRate(const std::string& channel) const;
    double PollInterval(const std::string& channel) const;  // seconds
    // lambda x elapsed x boost.
    double Priority(const std::string& channel, UnixMillis lastPoll, UnixMillis now,
                    double boost) const;

  private:
    static constexpr double kPriorSeconds = 10.0;  // weight of the prior, in seconds watched
    static constexpr double kSeedSeconds = 120.0;  // weight given to a seed
    struct Entry {
        double count = 0;     // decayed messages seen
        double exposure = 0;  // decayed seconds watched
        UnixMillis at = 0;
        double pollRate = 0;
        UnixMillis lastNew = 0;  // when a poll last found something (or the seed)
    };
    // The entry's count and exposure carried forward to `now` (nothing seen since).
    static void Advance(Entry& e, UnixMillis now);
    static double Estimate(const Entry& e);
    Settings m_settings;
    std::unordered_map<std::string, Entry> m_channels;
};

// 5xx and timeouts draw on a retry budget: each success earns `ratio` of a retry, up to
// `capacity`; a retry spends one. When it is empty, a failed job waits for its normal
// schedule instead of being retried early, so a failing service sees at most ~ratio extra
// load rather than a retry storm.
class RetryBudget {
  public:
    RetryBudget() : RetryBudget(0.1, 20, 0.2) {}
    RetryBudget(double ratio, double capacity, double minPerSecond)
        : m_ratio(ratio), m_capacity(capacity), m_minPerSecond(minPerSecond), m_tokens(capacity) {}
    void OnSuccess() { m_tokens = std::min(m_capacity, m_tokens + m_ratio); }
    // Takes one retry if there is one. `now` lets a trickle refill with no successes.
    bool TryRetry(UnixMillis now);
    double Tokens() const { return m_tokens; }

  private:
    double m_ratio, m_capacity, m_minPerSecond;
    double m_tokens;
    UnixMillis m_last = 0;
};

// What Microsoft's Graph SDK retry handler does, for the `sdk` baseline: retry 429, 503
// and 504 up to 3 times; wait Retry-After (capped at 180 s) while holding the worker, or
// without one 3 s, 5 s, 7 s plus up to 1 s of jitter.
struct SdkRetry {
    static constexpr int kMaxRetries = 3;
    static constexpr double kMaxDelaySeconds = 180.0;
    static bool Retriable(int status) { return status == 429 || status == 503 || status == 504; }
    // attempt: 1 for the first retry. jitter01: uniform in [0, 1).
    static double DelaySeconds(int attempt, const double* retryAfter, double jitter01);
};

// Full-jitter exponential back-off: uniform in [0, min(cap, base x 2^failures)).
double FullJitterBackoff(int failures, double baseSeconds, double capSeconds, double jitter01);

}  // namespace cdeck::core
