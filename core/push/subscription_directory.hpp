#pragma once
// Where several nodes keep their change-notification subscriptions (SERVER.md "Shared
// store and coordination"; pg/pg_subscriptions.hpp implements it over PostgreSQL). Without
// one, a node manages its subscriptions alone.
//
// With one, a channel's subscription belongs to the holder of the channel's lease, and the
// tenant subscription to the leader. A node that takes a channel over adopts its
// subscription (PATCHing the notification URL to itself) instead of creating a second one,
// which Graph would refuse. Every node can check any subscription's clientState, since in
// tenant scope any node behind the load balancer may receive any notification.
//
// Threads: called from the subscription manager's thread and the webhook's threads; the
// implementation is thread-safe.
#include <optional>
#include <string>

#include "util/time.hpp"

namespace cdeck::core {

struct SharedSubscription {
    std::string id;
    std::string resource;
    std::string channelId;  // empty: tenant scope
    std::string clientState;
    std::string certificateId;
    UnixMillis expires = 0;
};

class SubscriptionDirectory {
  public:
    virtual ~SubscriptionDirectory() = default;
    // Whether this node manages the channel's subscription now ("": the tenant one).
    virtual bool Mine(const std::string& channelId) const = 0;
    // The subscription the cluster holds for `resource`, if any.
    virtual std::optional<SharedSubscription> Find(const std::string& resource) = 0;
    // Records a subscription this node manages. False when it no longer may (the lease or
    // the leadership passed on meanwhile): the caller lets it go.
    virtual bool Save(const SharedSubscription& s) = 0;
    virtual void Forget(const std::string& id) = 0;
    // The clientState of any of the cluster's subscriptions.
    virtual std::optional<std::string> ClientStateOf(const std::string& id) = 0;
    // A lifecycle event for a subscription another node manages: pass it on.
    virtual void Forward(const std::string& id, const std::string& event) = 0;
};

}  // namespace cdeck::core
