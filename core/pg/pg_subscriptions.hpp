#pragma once
// The cluster's subscription directory over PostgreSQL (push/subscription_directory.hpp):
// the push_subscription table, written under the channel's lease (channel scope) or the
// leader lease (tenant scope), and lifecycle events passed on with pg_notify on cdeck_push.
//
// Threads: called from the subscription manager's thread and the webhook's threads; one
// connection, used under a mutex. clientState lookups are cached (misses for a few
// seconds, so forged ids cannot turn into a query each).
#include <map>
#include <memory>
#include <mutex>

#include "pg/pg_cluster.hpp"
#include "pg/pg_conn.hpp"
#include "push/subscription_directory.hpp"

namespace cdeck::core {

class PgSubscriptions final : public SubscriptionDirectory {
  public:
    PgSubscriptions(std::string conninfo, std::string nodeId, std::shared_ptr<PgCluster> cluster);

    bool Mine(const std::string& channelId) const override;
    std::optional<SharedSubscription> Find(const std::string& resource) override;
    bool Save(const SharedSubscription& s) override;
    void Forget(const std::string& id) override;
    std::optional<std::string> ClientStateOf(const std::string& id) override;
    void Forward(const std::string& id, const std::string& event) override;

    // A cdeck_push notice: the event it carries, if it is well formed.
    static std::optional<std::pair<std::string, std::string>> ParseNotice(
        const std::string& payload);
    uint64_t RefusedSaves() const;

  private:
    PgConn* Conn();  // with m_mutex held; reconnects

    const std::string m_conninfo, m_nodeId;
    const std::shared_ptr<PgCluster> m_cluster;
    mutable std::mutex m_mutex;  // guards everything below
    std::unique_ptr<PgConn> m_conn;
    std::map<std::string, std::string> m_states;  // id -> clientState
    std::map<std::string, UnixMillis> m_misses;   // id -> when it was not found
    uint64_t m_refused = 0;
};

}  // namespace cdeck::core
