#pragma once
// The node's webhook (SERVER.md, "Receiving"): an HTTPS listener that answers Graph's
// validation requests exactly and takes notification batches. Every notification is
// checked, in this order: clientState (constant time), the batch's validation tokens (JWT),
// dataSignature (HMAC-SHA256, constant time) and only then decrypted. A batch that passes
// is put in a bounded in-memory queue and answered 202 - no database round trip on the
// request path; a full queue answers 503 so that Graph retries. A failed check is a 4xx, a
// counted reason and a log line without secrets.
//
// Threads: the listener's pool runs WebhookReceiver::Handle; the node's ingest thread pops
// PushQueue. All classes here are thread-safe.
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

#include "push/notification.hpp"
#include "push/push_keys.hpp"
#include "push/validation_token.hpp"
#include "util/result.hpp"

namespace cdeck::core {

// One checked notification, on its way to ingest.
struct PushItem {
    enum class Kind { kMessage, kChange, kLifecycle };
    Kind kind = Kind::kMessage;
    std::string subscriptionId;
    std::string changeType;      // kMessage, kChange
    std::string lifecycleEvent;  // kLifecycle
    MessageResource where;       // kMessage, kChange
    std::string messageId;
    std::string json;  // kMessage: the decrypted chatMessage
    int64_t receivedMs = 0;
};

class PushQueue {
  public:
    explicit PushQueue(size_t capacity) : m_capacity(capacity) {}
    // All or nothing: false (and nothing queued) when the items do not fit.
    bool TryPushAll(std::vector<PushItem>&& items);
    // Waits up to `wait` for an item; false on time-out or once closed and empty.
    bool Pop(PushItem& out, int waitMs);
    void Close();
    size_t Size() const;
    size_t Capacity() const { return m_capacity; }

  private:
    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<PushItem> m_items;
    bool m_closed = false;
};

// What the receiver counts (for /metrics).
struct PushCounters {
    std::atomic<uint64_t> batches{0}, received{0}, decrypted{0}, lifecycle{0}, validations{0},
        queueFull{0}, duplicates{0};
    mutable std::mutex mutex;
    std::map<std::string, uint64_t> rejected;  // by reason; guarded by mutex
    void Reject(const std::string& reason, uint64_t n = 1);
    std::map<std::string, uint64_t> Rejected() const;
};

class WebhookReceiver {
  public:
    // Whether a notification's clientState is the one we gave its subscription (constant
    // time; false for a subscription we do not know).
    using ClientStates = std::function<bool(const std::string& id, const std::string& state)>;
    WebhookReceiver(ClientStates states, ValidationTokenChecker& tokens, NotificationKeys& keys,
                    PushQueue& queue, PushCounters& counters, std::function<int64_t()> nowMs);
    // Handles one POST body; returns the HTTP status to answer.
    int Handle(const std::string& body);

  private:
    bool TokensPass(const NotificationBatch& b, int64_t nowSeconds);
    // Checks one notification and turns it into an item; false: rejected (counted).
    bool Accept(const ChangeNotification& n, int64_t now, PushItem& out);
    bool SeenBefore(const std::string& signature);

    ClientStates m_states;
    ValidationTokenChecker& m_tokens;
    NotificationKeys& m_keys;
    PushQueue& m_queue;
    PushCounters& m_counters;
    std::function<int64_t()> m_now;
    std::mutex m_seenMutex;
    std::set<std::string> m_seen;  // dataSignatures of recent rich notifications
    std::deque<std::string> m_seenOrder;
    std::atomic<bool> m_warnedNullTokens{false};
};

struct WebhookOptions {
    std::string address = "127.0.0.1";
    int port = 0;  // 0: any free port
    std::string certFile, keyFile;
    int threads = 8;
};

class WebhookServer {
  public:
    WebhookServer();
    ~WebhookServer();
    WebhookServer(const WebhookServer&) = delete;
    WebhookServer& operator=(const WebhookServer&) = delete;
    // Serves POST on every path: a validationToken query answers the handshake, anything
    // else goes to the receiver. Fails with a clear message (bad certificate, port taken).
    Status Start(const WebhookOptions& options, WebhookReceiver& receiver, PushCounters& counters);
    void Stop();
    int Port() const { return m_port; }

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    std::thread m_thread;
    int m_port = 0;
};

}  // namespace cdeck::core
