#include "metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace cdeck::core {

// ---------------------------------------------------------------- LogHistogram

int LogHistogram::BucketOf(double v) {
    if (!(v > 0)) return 0;
    double e = std::log2(v);
    if (e < kMinExp) return 0;
    if (e >= kMaxExp) return kBuckets - 1;
    return 1 + static_cast<int>(std::floor((e - kMinExp) * kPerOctave));
}

double LogHistogram::UpperBound(int i) {
    if (i <= 0) return std::ldexp(1.0, kMinExp);
    if (i >= kBuckets - 1) return INFINITY;
    return std::exp2(kMinExp + static_cast<double>(i) / kPerOctave);
}

void LogHistogram::Add(double v) {
    if (std::isnan(v)) return;
    v = std::max(0.0, v);
    m_buckets[BucketOf(v)]++;
    m_count++;
    m_sum += v;
    m_max = std::max(m_max, v);
}

double LogHistogram::Quantile(double q) const {
    if (m_count == 0) return 0;
    auto rank = static_cast<uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * m_count));
    rank = std::max<uint64_t>(rank, 1);
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        seen += m_buckets[i];
        if (seen >= rank) return std::min(UpperBound(i), m_max);
    }
    return m_max;
}

void LogHistogram::Merge(const LogHistogram& o) {
    for (int i = 0; i < kBuckets; ++i) m_buckets[i] += o.m_buckets[i];
    m_count += o.m_count;
    m_sum += o.m_sum;
    m_max = std::max(m_max, o.m_max);
}

Quantiles Quantiles::Of(const LogHistogram& h) {
    return {h.Count(), h.Quantile(0.5), h.Quantile(0.95), h.Quantile(0.99), h.Max()};
}

// ---------------------------------------------------------------- SyncMetrics

SyncMetrics::SyncMetrics(std::string policy, double quota, UnixMillis now)
    : m_policy(std::move(policy)), m_quota(quota), m_started(now) {}

SyncMetrics::Window& SyncMetrics::WindowAt(Data& d, UnixMillis now) {
    int64_t sec = now / 1000;
    Window& w = d.windows[static_cast<size_t>(sec % 10)];
    if (w.second != sec) w = Window{sec};
    return w;
}

void SyncMetrics::RollBusy(Data& d, UnixMillis now) {
    int64_t sec = now / 1000;
    if (sec == d.sampleSecond) return;
    if (d.sampleSecond >= 0 && d.sampleBusy) {
        d.busySeconds += 1;
        d.busyUseful += d.curUseful;
        d.busySends += d.curSends;
        d.busyOk += d.curOk;
    }
    d.sampleSecond = sec;
    d.sampleBusy = false;
    d.curUseful = 0;
    d.curSends = 0;
    d.curOk = 0;
}

void SyncMetrics::OnResponse(UnixMillis now, const std::vector<std::string>& scopes, int status,
                             bool timedOut, double rttMs, const double* retryAfter) {
    std::lock_guard lock(m_mutex);
    Data& d = m_data;
    RollBusy(d, now);
    d.curSends++;
    d.requests++;
    Window& w = WindowAt(d, now);
    w.sends++;
    if (status >= 200 && status < 300) {
        d.ok2xx++;
        d.curOk++;
        w.ok++;
    } else if (status == 429) {
        d.throttled++;
        w.throttled++;
        ThrottleEvent ev;
        ev.at = now;
        ev.retryAfterSeconds = retryAfter ? *retryAfter : 0.0;
        for (const auto& sc : scopes) {
            if (sc.rfind("team:", 0) == 0) ev.teamId = sc.substr(5);
            if (sc.rfind("channel:", 0) == 0) ev.channelId = sc.substr(8);
        }
        if (d.throttles.size() < MetricsSnapshot::kRecentThrottles) {
            d.throttles.push_back(std::move(ev));
        } else {
            d.throttles[d.throttlesNext] = std::move(ev);
            d.throttlesNext = (d.throttlesNext + 1) % MetricsSnapshot::kRecentThrottles;
        }
    } else if (status >= 500) {
        d.s5xx++;
    } else if (status == 0 && timedOut) {
        d.timeouts++;
    } else {
        d.other++;
    }
    if (status != 0) d.rtt.Add(rttMs);
    if (retryAfter) d.retryAfter.Add(*retryAfter);
    int64_t sec = now / 1000;
    for (const auto& s : scopes) {
        PerScope& p = d.scopes[s];
        p.sends++;
        size_t slot = static_cast<size_t>(sec % 10);
        if (p.recentSecond[slot] != sec) {
            p.recentSecond[slot] = sec;
            p.recent[slot] = 0;
        }
        p.recent[slot]++;
        if (status == 429) {
            p.throttled++;
            if (retryAfter) p.retryAfter += *retryAfter;
        }
    }
}

void SyncMetrics::OnUseful(UnixMillis now, size_t n) {
    std::lock_guard lock(m_mutex);
    RollBusy(m_data, now);
    m_data.delivered += n;
    if (n == 0) return;
    m_data.useful++;
    m_data.curUseful++;
    WindowAt(m_data, now).useful++;
}

void SyncMetrics::OnFresh(UnixMillis now, UnixMillis created, bool hot) {
    double s = std::max(0.0, static_cast<double>(now - created) / 1000.0);
    std::lock_guard lock(m_mutex);
    ++m_data.liveFound;
    m_data.freshAll.Add(s);
    (hot ? m_data.freshHot : m_data.freshCold).Add(s);
}

void SyncMetrics::OnGated(const std::string& scope, double seconds) {
    std::lock_guard lock(m_mutex);
    m_data.scopes[scope].gated += seconds;
}

void SyncMetrics::SampleQueues(UnixMillis now, int inFlight, int ready, int waiting, bool busy) {
    std::lock_guard lock(m_mutex);
    RollBusy(m_data, now);
    m_data.sampleBusy = m_data.sampleBusy || busy;
    m_data.inFlight = inFlight;
    m_data.ready = ready;
    m_data.waiting = waiting;
}

MetricsSnapshot SyncMetrics::Snapshot(UnixMillis now, const std::vector<double>& staleness,
                                      const std::vector<ScopeState>& scopes,
                                      std::vector<std::string> gated) const {
    MetricsSnapshot m;
    m.gatedScopes = std::move(gated);
    m.at = now;
    m.startedAt = m_started;
    m.policy = m_policy;
    m.quota = m_quota;
    LogHistogram stale;
    for (double s : staleness) stale.Add(s);
    m.staleness = Quantiles::Of(stale);
    std::lock_guard lock(m_mutex);
    const Data& d = m_data;
    m.requests = d.requests;
    m.ok2xx = d.ok2xx;
    m.useful = d.useful;
    m.throttled429 = d.throttled;
    m.server5xx = d.s5xx;
    m.timeouts = d.timeouts;
    m.otherErrors = d.other;
    m.retries = d.retries;
    m.retryBudgetDenied = d.retryBudgetDenied;
    m.messagesDelivered = d.delivered;
    m.resyncs = d.resyncs;
    int64_t sec = now / 1000;
    uint64_t sends = 0, ok = 0, useful = 0, thr = 0;
    for (const auto& w : d.windows)
        if (w.second > sec - 10 && w.second <= sec) {
            sends += w.sends;
            ok += w.ok;
            useful += w.useful;
            thr += w.throttled;
        }
    m.sendsPerSecond = sends / 10.0;
    m.okPerSecond = ok / 10.0;
    m.usefulPerSecond = useful / 10.0;
    m.throttledPerSecond = thr / 10.0;
    m.busySeconds = d.busySeconds;
    m.busyUseful = d.busyUseful;
    m.busySends = d.busySends;
    m.busyOk = d.busyOk;
    m.inFlight = d.inFlight;
    m.ready = d.ready;
    m.waiting = d.waiting;
    m.rttMs = Quantiles::Of(d.rtt);
    m.retryAfterSeconds = Quantiles::Of(d.retryAfter);
    m.freshnessAll = Quantiles::Of(d.freshAll);
    m.liveFound = d.liveFound;
    m.freshnessHot = Quantiles::Of(d.freshHot);
    m.freshnessCold = Quantiles::Of(d.freshCold);
    m.recentThrottles.reserve(d.throttles.size());
    for (size_t i = 0; i < d.throttles.size(); ++i)
        m.recentThrottles.push_back(d.throttles[(d.throttlesNext + i) % d.throttles.size()]);
    for (const auto& sc : scopes) {
        ScopeMetrics s;
        s.scope = sc.scope;
        s.limit = sc.limit;
        s.pacedRate = sc.rate;
        s.closed = sc.closed;
        if (auto it = d.scopes.find(sc.scope); it != d.scopes.end()) {
            const PerScope& p = it->second;
            s.sends = p.sends;
            s.throttled = p.throttled;
            s.retryAfterSeconds = p.retryAfter;
            s.gatedSeconds = p.gated;
            uint32_t n = 0;
            for (size_t i = 0; i < 10; ++i)
                if (p.recentSecond[i] > sec - 10 && p.recentSecond[i] <= sec) n += p.recent[i];
            s.sendsPerSecond = n / 10.0;
        }
        m.scopes.push_back(std::move(s));
    }
    return m;
}

// ---------------------------------------------------------------- rendering

namespace {

nlohmann::json QJson(const Quantiles& q) {
    return {{"count", q.count}, {"p50", q.p50}, {"p95", q.p95}, {"p99", q.p99}, {"max", q.max}};
}

std::string Num(double v) {
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

// Label values are scope names (ids from Graph): escape backslash, quote and newline.
std::string LabelValue(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

nlohmann::json MetricsToJson(const MetricsSnapshot& m) {
    nlohmann::json scopes = nlohmann::json::array();
    for (const auto& s : m.scopes)
        scopes.push_back({{"scope", s.scope},
                          {"limit", s.limit},
                          {"paced_rate", s.pacedRate},
                          {"sends_per_second", s.sendsPerSecond},
                          {"sends", s.sends},
                          {"throttled", s.throttled},
                          {"retry_after_seconds", s.retryAfterSeconds},
                          {"gated_seconds", s.gatedSeconds},
                          {"closed", s.closed}});
    return {{"policy", m.policy},
            {"uptime_seconds", (m.at - m.startedAt) / 1000.0},
            {"requests", m.requests},
            {"responses_2xx", m.ok2xx},
            {"useful", m.useful},
            {"throttled_429", m.throttled429},
            {"server_5xx", m.server5xx},
            {"timeouts", m.timeouts},
            {"other_errors", m.otherErrors},
            {"retries", m.retries},
            {"retry_budget_denied", m.retryBudgetDenied},
            {"messages_delivered", m.messagesDelivered},
            {"delta_resyncs", m.resyncs},
            {"sends_per_second", m.sendsPerSecond},
            {"ok_per_second", m.okPerSecond},
            {"useful_per_second", m.usefulPerSecond},
            {"throttled_per_second", m.throttledPerSecond},
            {"quota", m.quota},
            {"busy_seconds", m.busySeconds},
            {"busy_useful", m.busyUseful},
            {"busy_sends", m.busySends},
            {"useful_fraction_of_quota", m.UsefulFractionOfQuota()},
            {"ok_fraction_of_quota", m.OkFractionOfQuota()},
            {"busy_ok", m.busyOk},
            {"throttled_share", m.ThrottledShare()},
            {"requests_per_message", m.RequestsPerMessage()},
            {"queues", {{"in_flight", m.inFlight}, {"ready", m.ready}, {"waiting", m.waiting}}},
            {"rtt_ms", QJson(m.rttMs)},
            {"retry_after_seconds", QJson(m.retryAfterSeconds)},
            {"freshness_seconds",
             {{"all", QJson(m.freshnessAll)},
              {"hot", QJson(m.freshnessHot)},
              {"cold", QJson(m.freshnessCold)}}},
            {"staleness_seconds", QJson(m.staleness)},
            {"scopes", scopes}};
}

std::string MetricsToPrometheus(const MetricsSnapshot& m) {
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help) {
        out += "# HELP ";
        out += name;
        out += ' ';
        out += help;
        out += "\n# TYPE ";
        out += name;
        out += ' ';
        out += type;
        out += '\n';
    };
    auto sample = [&](const std::string& name, const std::string& labels, double v) {
        out += name;
        if (!labels.empty()) out += "{" + labels + "}";
        out += ' ';
        out += Num(v);
        out += '\n';
    };
    metric("channeldeck_requests_total", "counter", "Graph requests by outcome.");
    sample("channeldeck_requests_total", "outcome=\"2xx\"", static_cast<double>(m.ok2xx));
    sample("channeldeck_requests_total", "outcome=\"429\"", static_cast<double>(m.throttled429));
    sample("channeldeck_requests_total", "outcome=\"5xx\"", static_cast<double>(m.server5xx));
    sample("channeldeck_requests_total", "outcome=\"timeout\"", static_cast<double>(m.timeouts));
    sample("channeldeck_requests_total", "outcome=\"other\"", static_cast<double>(m.otherErrors));
    metric("channeldeck_useful_responses_total", "counter", "Responses that brought new data.");
    sample("channeldeck_useful_responses_total", "", static_cast<double>(m.useful));
    metric("channeldeck_messages_delivered_total", "counter", "New or changed messages ingested.");
    sample("channeldeck_messages_delivered_total", "", static_cast<double>(m.messagesDelivered));
    metric("channeldeck_delta_resyncs_total", "counter", "Delta rounds restarted (token expired).");
    sample("channeldeck_delta_resyncs_total", "", static_cast<double>(m.resyncs));
    metric("channeldeck_retries_total", "counter", "Jobs re-queued after a failure.");
    sample("channeldeck_retries_total", "", static_cast<double>(m.retries));
    metric("channeldeck_retry_budget_denied_total", "counter",
           "Failures not retried early because the retry budget was empty.");
    sample("channeldeck_retry_budget_denied_total", "", static_cast<double>(m.retryBudgetDenied));
    metric("channeldeck_rate_per_second", "gauge", "Rates over the last 10 seconds.");
    sample("channeldeck_rate_per_second", "kind=\"sends\"", m.sendsPerSecond);
    sample("channeldeck_rate_per_second", "kind=\"2xx\"", m.okPerSecond);
    sample("channeldeck_rate_per_second", "kind=\"useful\"", m.usefulPerSecond);
    sample("channeldeck_rate_per_second", "kind=\"429\"", m.throttledPerSecond);
    metric("channeldeck_queue_depth", "gauge", "Sync jobs by state.");
    sample("channeldeck_queue_depth", "state=\"in_flight\"", m.inFlight);
    sample("channeldeck_queue_depth", "state=\"ready\"", m.ready);
    sample("channeldeck_queue_depth", "state=\"waiting\"", m.waiting);
    auto quantiles = [&](const char* name, const char* help, const Quantiles& q,
                         const std::string& extra) {
        metric(name, "summary", help);
        std::string pre = extra.empty() ? "" : extra + ",";
        sample(name, pre + "quantile=\"0.5\"", q.p50);
        sample(name, pre + "quantile=\"0.95\"", q.p95);
        sample(name, pre + "quantile=\"0.99\"", q.p99);
        sample(name, pre + "quantile=\"1\"", q.max);
        sample(std::string(name) + "_count", extra, static_cast<double>(q.count));
    };
    quantiles("channeldeck_rtt_milliseconds", "Graph round-trip time.", m.rttMs, "");
    quantiles("channeldeck_retry_after_seconds", "Retry-After values received.",
              m.retryAfterSeconds, "");
    metric("channeldeck_freshness_seconds", "summary",
           "Message createdDateTime to ingest, by channel temperature.");
    for (auto [label, q] : {std::pair{"all", &m.freshnessAll}, std::pair{"hot", &m.freshnessHot},
                            std::pair{"cold", &m.freshnessCold}}) {
        std::string l = std::string("channels=\"") + label + "\"";
        sample("channeldeck_freshness_seconds", l + ",quantile=\"0.5\"", q->p50);
        sample("channeldeck_freshness_seconds", l + ",quantile=\"0.95\"", q->p95);
        sample("channeldeck_freshness_seconds", l + ",quantile=\"0.99\"", q->p99);
        sample("channeldeck_freshness_seconds", l + ",quantile=\"1\"", q->max);
        sample("channeldeck_freshness_seconds_count", l, static_cast<double>(q->count));
    }
    quantiles("channeldeck_channel_staleness_seconds",
              "Seconds since each channel's last successful sync.", m.staleness, "");
    auto perScope = [&](const char* name, const char* type, const char* help, auto value) {
        metric(name, type, help);
        for (const auto& s : m.scopes)
            sample(name, "scope=\"" + LabelValue(s.scope) + "\"", static_cast<double>(value(s)));
    };
    perScope("channeldeck_scope_limit_per_second", "gauge", "Configured limit per scope.",
             [](const ScopeMetrics& s) { return s.limit; });
    perScope("channeldeck_scope_paced_rate_per_second", "gauge", "Rate the pacer allows now.",
             [](const ScopeMetrics& s) { return s.pacedRate; });
    perScope("channeldeck_scope_sends_per_second", "gauge", "Sends per scope, last 10 seconds.",
             [](const ScopeMetrics& s) { return s.sendsPerSecond; });
    perScope("channeldeck_scope_throttled_total", "counter", "429 responses per scope.",
             [](const ScopeMetrics& s) { return s.throttled; });
    perScope("channeldeck_scope_gated_seconds_total", "counter",
             "Time each scope's Retry-After gate was closed.",
             [](const ScopeMetrics& s) { return s.gatedSeconds; });
    return out;
}

}  // namespace cdeck::core
