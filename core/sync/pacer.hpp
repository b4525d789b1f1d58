#pragma once
// Pacing for the sync engine: token buckets per scope, and Retry-After gates.
//
// A request touches several scopes (the app, its request class, its team, its channel)
// and needs a token from each. Acquire() either takes one from all of them or takes none
// and says how long to wait, so the caller re-queues the job instead of sleeping. Block()
// closes a scope until a time (a 429's Retry-After): nothing is granted in a closed scope.
//
// Pure arithmetic over an injected clock (milliseconds); not thread-safe: the engine calls
// it with its queue mutex held.
#include <map>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

class Pacer {
  public:
    // Sets the rate (tokens per second) of a scope; capacity is one second of tokens.
    void SetRate(const std::string& scope, double perSecond);
    // Takes one token (or `cost`) from every scope, or none. Returns 0 when granted, else
    // the milliseconds to wait before trying again.
    UnixMillis Acquire(const std::vector<std::string>& scopes, UnixMillis now, double cost = 1.0);
    // Closes a scope until `until` (a Retry-After). Never shortens an existing gate.
    void Block(const std::string& scope, UnixMillis until);
    UnixMillis BlockedUntil(const std::string& scope) const;
    double Rate(const std::string& scope) const;

  private:
    struct Bucket {
        double rate = 0;  // 0: unlimited
        double tokens = 0;
        UnixMillis last = 0;
        bool init = false;
        UnixMillis blockedUntil = 0;
    };
    void Refill(Bucket& b, UnixMillis now);
    std::map<std::string, Bucket> m_buckets;
};

}  // namespace cdeck::core
