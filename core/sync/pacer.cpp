#include "sync/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::core {

// ---------------------------------------------------------------- AdaptiveRate

bool AdaptiveRate::OnThrottle(UnixMillis now, double holdMs) {
    if (m_cutAt != 0 && static_cast<double>(now - m_cutAt) < holdMs) return false;
    // Fast convergence (as in CUBIC): when the limit keeps falling, remember a little less
    // than the rate that failed so the next probe starts below it.
    m_wMax = (m_cuts > 0 && m_rate < m_wMax) ? m_rate * (1.0 + kCut) / 2.0 : m_rate;
    m_rate = std::max(m_ceiling * kMinFraction, m_rate * kCut);
    // Cuts that keep coming mean the limit really is lower: approach the old rate more
    // slowly each time (K = 3, 6, 9 s), so a lowered limit is probed rarely. Probing
    // beyond it stays quick, which is what brings the rate back when the limit returns.
    bool recent = m_cutAt != 0 && now - m_cutAt < kStreakMs;
    m_streak = recent ? std::min(m_streak + 1, kMaxStreak) : 1;
    m_cutAt = now;
    m_cuts++;
    return true;
}

void AdaptiveRate::Tick(UnixMillis now, bool workWaiting) {
    UnixMillis last = m_lastTick;
    m_lastTick = now;
    if (!workWaiting || m_rate >= m_ceiling) return;
    if (m_cutAt == 0) {
        // Never throttled: the start rate is the last good maximum; probe beyond it once
        // work has been waiting for a while, along the convex half of the same curve.
        if (last == 0) return;
        m_cutAt = now - static_cast<UnixMillis>(kCubicK * 1000.0);
        m_wMax = m_rate;
        return;
    }
    double t = static_cast<double>(now - m_cutAt) / 1000.0;
    if (t * 1000.0 < kQuietMs) return;
    // W(t) = Wmax * (1 + c (t - K)^3), with W(0) = kCut * Wmax: concave up to Wmax over
    // K seconds, then convex probing beyond it (always on the kCubicK curve).
    const double k = kCubicK * std::max(1, m_streak);
    const double cUp = (1.0 - kCut) / (k * k * k);
    const double cProbe = (1.0 - kCut) / (kCubicK * kCubicK * kCubicK);
    double d = t - k;
    double w = m_wMax * (1.0 + (d < 0 ? cUp : cProbe) * d * d * d);
    m_rate = std::min(m_ceiling, std::max(m_rate, w));
}

void AdaptiveRate::SetCeiling(double ceiling) {
    m_ceiling = ceiling;
    m_rate = std::min(m_rate, ceiling);
    m_wMax = std::min(m_wMax, ceiling);
    if (m_rate <= 0) m_rate = ceiling;
}

// ---------------------------------------------------------------- Pacer

namespace {
// The adaptive controller may probe this close to a documented limit, never past it.
constexpr double kCeilingFraction = 0.98;
}  // namespace

void Pacer::SetRate(const std::string& scope, double perSecond) {
    Bucket& b = m_buckets[scope];
    b.rate = perSecond;
    b.limit = perSecond;
    b.adaptive = false;
}

void Pacer::SetAdaptive(const std::string& scope, double limit, double startFraction,
                        const std::string& group) {
    Bucket& b = m_buckets[scope];
    double ceiling = limit * std::max(kCeilingFraction, startFraction);
    b.group = group;
    AdaptiveRate* control = &b.control;
    bool fresh = !b.adaptive;
    if (!group.empty()) {
        auto [it, added] = m_groups.try_emplace(group);
        control = &it->second;
        fresh = added;
    }
    if (fresh) {
        *control = AdaptiveRate(ceiling, limit * startFraction);
    } else {
        control->SetCeiling(ceiling);
    }
    b.adaptive = true;
    b.limit = limit;
    b.rate = control->Rate();
}

AdaptiveRate& Pacer::ControlOf(Bucket& b) {
    return b.group.empty() ? b.control : m_groups[b.group];
}

double Pacer::Rate(const std::string& scope) const {
    auto it = m_buckets.find(scope);
    return it == m_buckets.end() ? 0.0 : it->second.rate;
}

double Pacer::Limit(const std::string& scope) const {
    auto it = m_buckets.find(scope);
    return it == m_buckets.end() ? 0.0 : it->second.limit;
}

void Pacer::Refill(Bucket& b, UnixMillis now) {
    double capacity = std::max(1.0, b.rate);
    if (!b.init) {
        b.tokens = capacity;
        b.last = now;
        b.init = true;
        return;
    }
    if (now > b.last) {
        b.tokens =
            std::min(capacity, b.tokens + static_cast<double>(now - b.last) / 1000.0 * b.rate);
        b.last = now;
    }
}

Pacer::Grant Pacer::Acquire(const std::vector<std::string>& scopes, UnixMillis now, double cost) {
    Grant g;
    for (const auto& s : scopes) {
        Bucket& b = m_buckets[s];
        if (b.blockedUntil > now && b.blockedUntil - now > g.wait) {
            g.wait = b.blockedUntil - now;
            g.scope = s;
            g.gated = true;
        }
        if (b.rate <= 0) continue;
        Refill(b, now);
        // A batch costs more than one second of a small scope's tokens: let it through
        // from a full bucket and run the deficit down afterwards.
        double need = std::min(cost, std::max(1.0, b.rate));
        if (b.tokens < need) {
            auto w = static_cast<UnixMillis>(std::ceil((need - b.tokens) / b.rate * 1000.0));
            if (w > g.wait) {
                g.wait = w;
                g.scope = s;
                g.gated = false;
            }
        }
    }
    if (g.wait > 0) return g;
    g.scope.clear();
    for (const auto& s : scopes) {
        Bucket& b = m_buckets[s];
        if (b.rate > 0) b.tokens -= cost;
    }
    return g;
}

void Pacer::Refund(const std::vector<std::string>& scopes, double cost) {
    for (const auto& s : scopes) {
        auto it = m_buckets.find(s);
        if (it == m_buckets.end() || it->second.rate <= 0) continue;
        Bucket& b = it->second;
        b.tokens = std::min(std::max(1.0, b.rate), b.tokens + cost);
    }
}

void Pacer::Block(const std::string& scope, UnixMillis until) {
    Bucket& b = m_buckets[scope];
    b.blockedUntil = std::max(b.blockedUntil, until);
}

UnixMillis Pacer::BlockedUntil(const std::string& scope) const {
    auto it = m_buckets.find(scope);
    return it == m_buckets.end() ? 0 : it->second.blockedUntil;
}

bool Pacer::OnThrottle(const std::vector<std::string>& scopes, UnixMillis now) {
    bool cut = false;
    for (const auto& s : scopes) {
        auto it = m_buckets.find(s);
        if (it == m_buckets.end() || !it->second.adaptive) continue;
        Bucket& b = it->second;
        AdaptiveRate& control = ControlOf(b);
        if (!control.OnThrottle(now)) continue;
        cut = true;
        // A group (every team) learns from one member's 429: Teams limits change for all
        // teams at once, so the other teams slow down before they are refused too.
        for (auto& [name, other] : m_buckets) {
            if (&other != &b && (b.group.empty() || other.group != b.group)) continue;
            Refill(other, now);
            other.rate = control.Rate();
            other.tokens = std::min(other.tokens, std::max(1.0, other.rate));
        }
    }
    return cut;
}

void Pacer::Tick(UnixMillis now, bool workWaiting) {
    for (auto& [name, g] : m_groups) g.Tick(now, workWaiting);
    for (auto& [name, b] : m_buckets) {
        if (!b.adaptive) continue;
        Refill(b, now);  // credit the old rate up to now before the rate changes
        if (b.group.empty()) b.control.Tick(now, workWaiting);
        b.rate = ControlOf(b).Rate();
    }
}

std::vector<Pacer::ScopeView> Pacer::View(bool includeFixed) const {
    std::vector<ScopeView> out;
    for (const auto& [name, b] : m_buckets) {
        if (!b.adaptive && !includeFixed) continue;
        out.push_back({name, b.limit, b.rate, b.blockedUntil, b.adaptive});
    }
    return out;
}

}  // namespace cdeck::core
