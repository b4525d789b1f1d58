#pragma once
// Ingest of checked notifications into the store (SERVER.md, "Receiving"): idempotent,
// whatever the duplicates and the order, because the store merges by id and version. A
// reply whose root the store does not hold fetches the root first; a notification without
// resource data fetches the message. Lifecycle events go to the subscription manager.
//
// Threads: one ingest thread (Start/Stop) pops the PushQueue. Figures() is thread-safe.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "graph/graph_client.hpp"
#include "push/webhook.hpp"
#include "store/store.hpp"

namespace cdeck::core {

class PushIngest {
  public:
    using Lifecycle =
        std::function<void(const std::string& subscriptionId, const std::string& event)>;
    // A notification for a channel the store does not know yet is counted and left: the
    // channel's backfill, once discovery (sync.rediscover_seconds) finds it, brings it.
    PushIngest(PushQueue& queue, Store& store, std::shared_ptr<GraphClient> client,
               Lifecycle lifecycle);
    ~PushIngest();
    void Start();
    void Stop();

    struct Figures {
        uint64_t items = 0, merged = 0, changed = 0, rootsFetched = 0, messagesFetched = 0,
                 parseErrors = 0, fetchErrors = 0, unknownChannels = 0;
        double freshnessP50 = 0, freshnessP95 = 0;  // seconds, createdDateTime to merge
    };
    Figures GetFigures() const;
    // Handles a set of items now, on the caller's thread (tests, and the ingest thread).
    void Ingest(std::vector<PushItem> items);

  private:
    void Loop();
    // The message the item stands for, or nullopt (counted) when it cannot be had.
    std::optional<ChatMessage> MessageOf(const PushItem& item);
    // The message ready to merge: a reply comes inside its root (the stored one, else
    // fetched). Null when the root cannot be fetched.
    StoredMessagePtr AsMergeable(ChatMessage m, const PushItem& item);
    void NoteFreshness(const std::vector<UnixMillis>& arrived);

    PushQueue& m_queue;
    Store& m_store;
    const std::shared_ptr<GraphClient> m_client;
    Lifecycle m_lifecycle;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
    mutable std::mutex m_mutex;  // guards below
    Figures m_figures;
    std::vector<double> m_freshness;  // ring of recent samples
    size_t m_freshNext = 0;
};

}  // namespace cdeck::core
