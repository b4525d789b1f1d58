#pragma once
// What the sync engine asks when several nodes share one tenant (SERVER.md "Shared store
// and coordination"). The node implements both over PostgreSQL (pg/pg_cluster.hpp,
// pg/pg_quota.hpp); a desktop passes neither and syncs everything on its own budget.
//
// Threads: the engine calls every method with its queue mutex held, from any worker, so
// implementations answer from memory (never a round trip) and are thread-safe.
#include <functional>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

// Which channels this node syncs, and whether it runs the singletons (discovery).
class ChannelOwnership {
  public:
    virtual ~ChannelOwnership() = default;
    // True while this node holds the channel's lease and has renewed it recently enough.
    virtual bool OwnsChannel(const std::string& channelId) const = 0;
    // True while this node holds the leader lease.
    virtual bool Leader() const = 0;
};

// The tenant's budget, shared by every node, on top of the engine's own pacing.
class SharedBudget {
  public:
    virtual ~SharedBudget() = default;
    // Takes `cost` tokens from every shared scope among `scopes`, or none. Returns 0 when
    // granted, else how many milliseconds to wait before asking again.
    virtual UnixMillis Take(const std::vector<std::string>& scopes, double cost) = 0;
    // A 429 closed these scopes for `ms`: no node sends into them until then.
    virtual void Block(const std::vector<std::string>& scopes, UnixMillis ms) = 0;
    // The engine's wake-up, called when tokens arrive after a refusal (any thread).
    virtual void SetWake(std::function<void()> wake) = 0;
};

}  // namespace cdeck::core
