#include "sync/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::core {

void Pacer::SetRate(const std::string& scope, double perSecond) {
    m_buckets[scope].rate = perSecond;
}

double Pacer::Rate(const std::string& scope) const {
    auto it = m_buckets.find(scope);
    return it == m_buckets.end() ? 0.0 : it->second.rate;
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

UnixMillis Pacer::Acquire(const std::vector<std::string>& scopes, UnixMillis now, double cost) {
    UnixMillis wait = 0;
    for (const auto& s : scopes) {
        Bucket& b = m_buckets[s];
        if (b.blockedUntil > now) wait = std::max(wait, b.blockedUntil - now);
        if (b.rate <= 0) continue;
        Refill(b, now);
        if (b.tokens < cost) {
            double need = (cost - b.tokens) / b.rate * 1000.0;
            wait = std::max<UnixMillis>(wait, static_cast<UnixMillis>(std::ceil(need)));
        }
    }
    if (wait > 0) return wait;
    for (const auto& s : scopes) {
        Bucket& b = m_buckets[s];
        if (b.rate > 0) b.tokens -= cost;
    }
    return 0;
}

void Pacer::Block(const std::string& scope, UnixMillis until) {
    Bucket& b = m_buckets[scope];
    b.blockedUntil = std::max(b.blockedUntil, until);
}

UnixMillis Pacer::BlockedUntil(const std::string& scope) const {
    auto it = m_buckets.find(scope);
    return it == m_buckets.end() ? 0 : it->second.blockedUntil;
}

}  // namespace cdeck::core
