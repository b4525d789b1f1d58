#include "sync/planner.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::core {

void PollPlanner::Configure(Settings s) {
    s.minInterval = std::max(0.05, s.minInterval);
    s.maxInterval = std::max(s.minInterval, s.maxInterval);
    s.budget = std::max(0.0, s.budget);
    m_settings = s;
}

void PollPlanner::Advance(Entry& e, UnixMillis now) {
    if (e.at == 0) {
        e.at = now;
        return;
    }
    if (now <= e.at) return;
    double dt = static_cast<double>(now - e.at) / 1000.0;
    double d = std::exp(-dt / kTauSeconds);
    e.count *= d;
    // The weight of the interval just watched: the integral of exp(-age / tau) over it.
    e.exposure = e.exposure * d + kTauSeconds * (1.0 - d);
    e.at = now;
}

double PollPlanner::Estimate(const Entry& e) {
    return (e.count + kPriorRate * kPriorSeconds) / (e.exposure + kPriorSeconds);
}

void PollPlanner::Seed(const std::string& channel, double messages, double seconds,
                       UnixMillis now) {
    Entry& e = m_channels[channel];
    double rate = seconds > 0 ? std::max(0.0, messages) / seconds : 0.0;
    // History says something, but less than what we watch live: cap its weight.
    e.exposure = std::min(seconds, kSeedSeconds);
    e.count = rate * e.exposure;
    e.at = now;
    e.lastNew = now;
}

void PollPlanner::Observe(const std::string& channel, int newMessages, UnixMillis now) {
    Entry& e = m_channels[channel];
    Advance(e, now);
    e.count += std::max(0, newMessages);
    if (newMessages > 0 || e.lastNew == 0) e.lastNew = now;  // watching starts the clock
}

void PollPlanner::Remove(const std::string& channel) {
    m_channels.erase(channel);
}

double PollPlanner::Lambda(const std::string& channel, UnixMillis now) const {
    auto it = m_channels.find(channel);
    if (it == m_channels.end()) return kPriorRate;
    Entry e = it->second;
    Advance(e, now);
    return Estimate(e);
}

void PollPlanner::Rebalance(UnixMillis now) {
    if (m_channels.empty()) return;
    const double lo = 1.0 / m_settings.maxInterval, hi = 1.0 / m_settings.minInterval;
    const double budget = m_settings.budget;
    struct Weight {
        double w;    // sqrt(lambda)
        double cap;  // the idle back-off's ceiling (hi when the channel is not quiet)
        Entry* e;
    };
    std::vector<Weight> w;
    w.reserve(m_channels.size());
    const auto quietMs = static_cast<UnixMillis>(kQuietSeconds * 1000);
    for (auto& [id, e] : m_channels) {
        double lambda = Lambda(id, now);
        double cap = now - e.lastNew > quietMs ? kQuietPollsPerMessage * lambda : hi;
        w.push_back({std::sqrt(lambda), std::max(lo, std::min(cap, hi)), &e});
    }
    // Water-filling: find k with sum(clamp(k * w_i, lo, cap_i)) = budget by bisection on k.
    auto total = [&](double k) {
        double s = 0;
        for (const auto& x : w) s += std::clamp(k * x.w, lo, x.cap);
        return s;
    };
    double kLo = 0, kHi = 1;
    while (total(kHi) < budget && kHi < 1e12) kHi *= 2;
    for (int i = 0; i < 60; ++i) {
        double mid = (kLo + kHi) / 2;
        (total(mid) < budget ? kLo : kHi) = mid;
    }
    for (auto& x : w) x.e->pollRate = std::clamp(kLo * x.w, lo, x.cap);
}

double PollPlanner::PollRate(const std::string& channel) const {
    auto it = m_channels.find(channel);
    if (it == m_channels.end() || it->second.pollRate <= 0) return 1.0 / m_settings.maxInterval;
    return it->second.pollRate;
}

double PollPlanner::PollInterval(const std::string& channel) const {
    return 1.0 / PollRate(channel);
}

double PollPlanner::Priority(const std::string& channel, UnixMillis lastPoll, UnixMillis now,
                             double boost) const {
    double elapsed = lastPoll > 0 ? std::max(0.0, static_cast<double>(now - lastPoll) / 1000.0)
                                  : m_settings.maxInterval;
    return Lambda(channel, now) * elapsed * std::max(1.0, boost);
}

bool RetryBudget::TryRetry(UnixMillis now) {
    if (m_last != 0 && now > m_last)
        m_tokens = std::min(m_capacity,
                            m_tokens + static_cast<double>(now - m_last) / 1000.0 * m_minPerSecond);
    m_last = now;
    if (m_tokens < 1.0 - 1e-9) return false;  // ten tenths make one
    m_tokens -= 1.0;
    return true;
}

double SdkRetry::DelaySeconds(int attempt, const double* retryAfter, double jitter01) {
    if (retryAfter && *retryAfter >= 0) return std::min(kMaxDelaySeconds, *retryAfter);
    return 1.0 + 2.0 * std::max(1, attempt) + jitter01;
}

double FullJitterBackoff(int failures, double baseSeconds, double capSeconds, double jitter01) {
    double ceiling = std::min(capSeconds, baseSeconds * std::pow(2.0, std::min(failures, 30)));
    return jitter01 * ceiling;
}

}  // namespace cdeck::core
