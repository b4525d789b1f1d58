#pragma once
// Throttling and freshness metrics for the sync engine (DESIGN.md section 5, point 8).
//
// SyncMetrics is the recorder: workers call it from any thread (one mutex, short critical
// sections). Snapshot() copies it into a MetricsSnapshot, an immutable value the engine
// publishes through the store so the UI reads it like any other data, and which renders
// as Prometheus text or JSON.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

// A histogram with logarithmic buckets: 8 per power of two from 2^-10 to 2^30, so any
// quantile is within ~9% of the true value. Values are in the histogram's own unit
// (milliseconds or seconds). Not thread-safe by itself.
class LogHistogram {
  public:
    static constexpr int kPerOctave = 8;
    static constexpr int kMinExp = -10;
    static constexpr int kMaxExp = 30;
    static constexpr int kBuckets = (kMaxExp - kMinExp) * kPerOctave + 2;

    void Add(double v);
    uint64_t Count() const { return m_count; }
    double Sum() const { return m_sum; }
    double Max() const { return m_max; }
    // q in [0, 1]; 0 when empty. Returns the bucket's upper bound (clamped to the max).
    double Quantile(double q) const;
    void Merge(const LogHistogram& other);
    // Upper bound of bucket i (for Prometheus "le" labels).
    static double UpperBound(int i);
    const std::array<uint64_t, kBuckets>& Buckets() const { return m_buckets; }

  private:
    static int BucketOf(double v);
    std::array<uint64_t, kBuckets> m_buckets{};
    uint64_t m_count = 0;
    double m_sum = 0;
    double m_max = 0;
};

struct Quantiles {
    uint64_t count = 0;
    double p50 = 0, p95 = 0, p99 = 0, max = 0;
    static Quantiles Of(const LogHistogram& h);
};

struct ScopeMetrics {
    std::string scope;          // "class:get_message", "team:<id>", ...
    double limit = 0;           // configured limit, requests/s (0: not paced)
    double pacedRate = 0;       // what the pacer allows now
    double sendsPerSecond = 0;  // over the last 10 s
    uint64_t sends = 0;
    uint64_t throttled = 0;
    double retryAfterSeconds = 0;  // total Retry-After received
    double gatedSeconds = 0;       // total time the scope's gate was closed
    bool closed = false;           // gated right now
};

// One 429 as the metrics view's timeline and the wall's tiles show it.
struct ThrottleEvent {
    UnixMillis at = 0;
    std::string teamId;            // empty when the request had no team scope
    std::string channelId;         // empty when it had no channel scope
    double retryAfterSeconds = 0;  // 0: the response named no Retry-After
};

// Everything the engine measured, as of `at`.
struct MetricsSnapshot {
    UnixMillis at = 0;
    UnixMillis startedAt = 0;
    std::string policy;
    // Totals.
    uint64_t requests = 0, ok2xx = 0, useful = 0, throttled429 = 0, server5xx = 0, timeouts = 0,
             otherErrors = 0, retries = 0, retryBudgetDenied = 0, messagesDelivered = 0,
             resyncs = 0;
    // Messages created after the engine started that it found new to the store. With push
    // on, these are what reconciliation found that push had not (yet) delivered.
    uint64_t liveFound = 0;
    // Rates over the last 10 s.
    double sendsPerSecond = 0, okPerSecond = 0, usefulPerSecond = 0, throttledPerSecond = 0;
    // While work was queued (backfill, continuation pages, replies, refresh-now):
    double busySeconds = 0;
    uint64_t busyUseful = 0;
    uint64_t busySends = 0;
    uint64_t busyOk = 0;
    double quota = 0;  // the GET channel message limit, requests/s
    // Queues now.
    int inFlight = 0, ready = 0, waiting = 0;
    Quantiles rttMs;
    Quantiles retryAfterSeconds;
    Quantiles freshnessAll, freshnessHot, freshnessCold;  // seconds, created -> ingested
    // Per-channel staleness (seconds since the last successful sync), over channels.
    Quantiles staleness;
    std::vector<ScopeMetrics> scopes;  // request classes first, then the busiest teams
    // The last 429s (at most kRecentThrottles, oldest first), and every scope whose gate is
    // closed now: "class:...", "team:<id>", "channel:<id>".
    static constexpr size_t kRecentThrottles = 256;
    std::vector<ThrottleEvent> recentThrottles;
    std::vector<std::string> gatedScopes;

    double UsefulFractionOfQuota() const {
        return busySeconds > 0 && quota > 0 ? busyUseful / busySeconds / quota : 0.0;
    }
    // The same with every 2xx counted (a reply check that found nothing new still did
    // its job without wasting quota on a 429).
    double OkFractionOfQuota() const {
        return busySeconds > 0 && quota > 0 ? busyOk / busySeconds / quota : 0.0;
    }
    double ThrottledShare() const {
        return requests ? static_cast<double>(throttled429) / requests : 0.0;
    }
    double RequestsPerMessage() const {
        return messagesDelivered ? static_cast<double>(requests) / messagesDelivered : 0.0;
    }
};
using MetricsSnapshotPtr = std::shared_ptr<const MetricsSnapshot>;

nlohmann::json MetricsToJson(const MetricsSnapshot& m);
// Prometheus text exposition format (version 0.0.4).
std::string MetricsToPrometheus(const MetricsSnapshot& m);

class SyncMetrics {
  public:
    explicit SyncMetrics(std::string policy, double quota, UnixMillis now);

    // One HTTP exchange. status 0: no response (timeout or connection failure).
    void OnResponse(UnixMillis now, const std::vector<std::string>& scopes, int status,
                    bool timedOut, double rttMs, const double* retryAfter);
    // A response that brought `n` new or changed messages (n > 0 counts it as useful).
    void OnUseful(UnixMillis now, size_t n);
    // Ingest of a message created at `created` (only live messages, not history).
    void OnFresh(UnixMillis now, UnixMillis created, bool hot);
    void OnRetry() {
        Locked([](Data& d) { d.retries++; });
    }
    void OnResync() {
        Locked([](Data& d) { d.resyncs++; });
    }
    void OnRetryDenied() {
        Locked([](Data& d) { d.retryBudgetDenied++; });
    }
    void OnGated(const std::string& scope, double seconds);
    // Samples whether work is queued, once per engine tick.
    void SampleQueues(UnixMillis now, int inFlight, int ready, int waiting, bool busy);

    struct ScopeState {
        std::string scope;
        double limit, rate;
        bool closed;
    };
    // staleness: seconds per channel. scopes: the pacer's view now (the scopes to list).
    // gated: every scope whose gate is closed now, listed or not.
    MetricsSnapshot Snapshot(UnixMillis now, const std::vector<double>& staleness,
                             const std::vector<ScopeState>& scopes,
                             std::vector<std::string> gated = {}) const;

  private:
    struct Window {  // one second of activity
        int64_t second = -1;
        uint32_t sends = 0, ok = 0, useful = 0, throttled = 0;
    };
    struct PerScope {
        uint64_t sends = 0, throttled = 0;
        double retryAfter = 0, gated = 0;
        std::array<uint32_t, 10> recent{};  // sends in each of the last 10 seconds
        std::array<int64_t, 10> recentSecond{};
    };
    struct Data {
        uint64_t requests = 0, ok2xx = 0, useful = 0, throttled = 0, s5xx = 0, timeouts = 0,
                 other = 0, retries = 0, retryBudgetDenied = 0, delivered = 0, resyncs = 0,
                 liveFound = 0;
        std::array<Window, 10> windows;
        LogHistogram rtt, retryAfter, freshAll, freshHot, freshCold;
        std::map<std::string, PerScope> scopes;
        std::vector<ThrottleEvent> throttles;  // ring of kRecentThrottles
        size_t throttlesNext = 0;
        int inFlight = 0, ready = 0, waiting = 0;
        // Busy-time accounting: the current second is busy if any sample in it was.
        int64_t sampleSecond = -1;
        bool sampleBusy = false;
        double busySeconds = 0;
        uint64_t busyUseful = 0, busySends = 0, busyOk = 0;
        uint32_t curUseful = 0, curSends = 0, curOk = 0;
    };
    template <typename F>
    void Locked(F f) {
        std::lock_guard lock(m_mutex);
        f(m_data);
    }
    static Window& WindowAt(Data& d, UnixMillis now);
    static void RollBusy(Data& d, UnixMillis now);

    const std::string m_policy;
    const double m_quota;
    const UnixMillis m_started;
    mutable std::mutex m_mutex;
    Data m_data;
};

}  // namespace cdeck::core
