#pragma once
// The node's subscription manager (SERVER.md, "Subscriptions"): keeps one rich subscription
// for the tenant (/teams/getAllMessages) or one per channel, each with the lifecycle URL and
// a random clientState. Renews well before expiry; answers reauthorizationRequired with a
// PATCH (it never calls reauthorize, so the 10-minute rule cannot be broken); on 404 or
// subscriptionRemoved creates the subscription again and asks for reconciliation.
//
// Threads: one manager thread (Start/Stop), which subscribes up to 8 at a time on short-lived
// helper threads. ClientState() is called from the webhook's
// threads (ClientStateMatches) and OnLifecycle() from the ingest thread; both are thread-safe.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "graph/graph_client.hpp"
#include "push/push_keys.hpp"
#include "push/subscription_directory.hpp"
#include "store/store.hpp"

namespace cdeck::core {

class SubscriptionManager {
  public:
    // reconcile(channelId): catch the channel up by delta; an empty id means every channel.
    using Reconcile = std::function<void(const std::string& channelId)>;
    SubscriptionManager(std::shared_ptr<GraphClient> client, PushSettings settings,
                        NotificationKeys& keys, Store& store, Reconcile reconcile);
    ~SubscriptionManager();
    SubscriptionManager(const SubscriptionManager&) = delete;
    SubscriptionManager& operator=(const SubscriptionManager&) = delete;

    // Several nodes: subscriptions follow the leases (subscription_directory.hpp). Before
    // Start; the directory outlives the manager.
    void SetDirectory(SubscriptionDirectory* directory) { m_dir = directory; }
    void Start();
    void Stop();
    // Wakes the manager now (a lease was taken or given up).
    void Poke();

    // True when `state` is the clientState we gave the subscription (constant time).
    bool ClientStateMatches(const std::string& subscriptionId, const std::string& state) const;
    // An event for a subscription another node manages is passed on to it (Forward); one
    // passed on to this node (`forwarded`) is handled only if this node manages it.
    void OnLifecycle(const std::string& subscriptionId, const std::string& event,
                     bool forwarded = false);
    // Makes a new encryption key current and PATCHes every subscription to it; the old key
    // keeps decrypting until all are moved. Runs on the manager thread.
    void RotateKeys();

    struct Figures {
        int active = 0, failing = 0;
        uint64_t created = 0, renewed = 0, recreated = 0, lifecycleEvents = 0, failures = 0,
                 reconciliations = 0, adopted = 0;
        std::string lastError;
    };
    Figures GetFigures() const;

  private:
    struct Sub {
        std::string id;
        std::string resource;
        std::string channelId;  // empty: tenant scope
        std::string clientState;
        UnixMillis expires = 0;
        std::string certificateId;
    };
    void Loop();
    void Tick(UnixMillis now);
    std::vector<std::pair<std::string, std::string>> Wanted() const;  // (resource, channel)
    // Deletes this app's subscriptions that `stale` picks (from GET /subscriptions).
    void RemoveStale(const std::function<bool(const std::string& id, const std::string& resource,
                                              const std::string& url)>& stale);
    bool Create(const std::string& resource, const std::string& channelId, UnixMillis now);
    // Takes over the cluster's subscription for `resource` (PATCHing its notification URL
    // here). False when there is none to take over (create one).
    bool Adopt(const std::string& resource, const std::string& channelId, UnixMillis now);
    void DropNotMine();  // subscriptions whose lease moved on: the new holder adopts them
    void Record(const std::string& id);  // into the directory; let it go when refused
    bool Renew(Sub& s, UnixMillis now, bool newCertificate);
    void HandleLifecycle(const std::string& id, const std::string& event, UnixMillis now);
    std::string ExpiryIso(UnixMillis now) const;
    void NoteFailure(const Error& e);
    void RetirePreviousKey(const std::string& currentCert, UnixMillis now);

    const std::shared_ptr<GraphClient> m_client;
    const PushSettings m_settings;
    NotificationKeys& m_keys;
    Store& m_store;
    Reconcile m_reconcile;
    SubscriptionDirectory* m_dir = nullptr;

    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    std::map<std::string, Sub> m_subs;                // by subscription id
    std::map<std::string, UnixMillis> m_createRetry;  // resource -> not before
    std::set<std::string> m_pendingStates;            // clientStates of creates in flight
    std::deque<std::pair<std::string, std::string>> m_lifecycle;  // (id, event)
    bool m_rotate = false;
    UnixMillis m_allMovedAt = 0;  // when no subscription used the previous key any more
    bool m_stopping = false;
    Figures m_figures;
    std::thread m_thread;
};

}  // namespace cdeck::core
