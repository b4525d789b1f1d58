#include "push/webhook.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "util/log.hpp"

namespace cdeck::core {

// ---------------------------------------------------------------- queue and counters

bool PushQueue::TryPushAll(std::vector<PushItem>&& items) {
    {
        std::lock_guard lock(m_mutex);
        if (m_closed || m_items.size() + items.size() > m_capacity) return false;
        for (auto& i : items) m_items.push_back(std::move(i));
    }
    m_cv.notify_all();
    return true;
}

bool PushQueue::Pop(PushItem& out, int waitMs) {
    std::unique_lock lock(m_mutex);
    m_cv.wait_for(lock, std::chrono::milliseconds(waitMs),
                  [&] { return !m_items.empty() || m_closed; });
    if (m_items.empty()) return false;
    out = std::move(m_items.front());
    m_items.pop_front();
    return true;
}

void PushQueue::Close() {
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
    }
    m_cv.notify_all();
}

size_t PushQueue::Size() const {
    std::lock_guard lock(m_mutex);
    return m_items.size();
}

void PushCounters::Reject(const std::string& reason, uint64_t n) {
    std::lock_guard lock(mutex);
    rejected[reason] += n;
}

std::map<std::string, uint64_t> PushCounters::Rejected() const {
    std::lock_guard lock(mutex);
    return rejected;
}

// ---------------------------------------------------------------- the checks

WebhookReceiver::WebhookReceiver(ClientStates states, ValidationTokenChecker& tokens,
                                 NotificationKeys& keys, PushQueue& queue, PushCounters& counters,
                                 std::function<int64_t()> nowMs)
    : m_states(std::move(states)),
      m_tokens(tokens),
      m_keys(keys),
      m_queue(queue),
      m_counters(counters),
      m_now(std::move(nowMs)) {}

int WebhookReceiver::Handle(const std::string& body) {
    ++m_counters.batches;
    auto batch = ParseNotificationBatch(body);
    if (!batch) {
        m_counters.Reject(body.size() > kMaxNotificationBody ? "oversized" : "malformed");
        Log(LogLevel::kWarn, "push", "rejected a batch: " + batch.error().message);
        return body.size() > kMaxNotificationBody ? 413 : 400;
    }
    int64_t now = m_now();
    m_counters.received += batch->items.size();
    std::vector<PushItem> items;
    size_t failed = 0;
    // clientState first, for every notification: a stranger's batch stops here, before any
    // signature work.
    std::vector<const ChangeNotification*> known;
    for (const auto& n : batch->items) {
        if (!m_states(n.subscriptionId, n.clientState)) {
            m_counters.Reject("client_state");
            ++failed;
            continue;
        }
        known.push_back(&n);
    }
    if (known.empty()) {
        Log(LogLevel::kWarn, "push", "rejected a batch: no notification had a known clientState");
        return 403;
    }
    if (!TokensPass(batch.value(), now / 1000)) return 401;
    for (const auto* n : known) {
        PushItem item;
        if (Accept(*n, now, item))
            items.push_back(std::move(item));
        else
            ++failed;
    }
    if (items.empty() && failed > 0) return 400;
    if (!m_queue.TryPushAll(std::move(items))) {
        ++m_counters.queueFull;
        return 503;
    }
    return 202;
}

bool WebhookReceiver::TokensPass(const NotificationBatch& b, int64_t nowSeconds) {
    if (b.tokensNull || !b.tokensPresent || b.tokens.empty()) {
        m_counters.Reject(b.tokensNull ? "tokens_null" : "tokens_missing", b.items.size());
        if (b.tokensNull && !m_warnedNullTokens.exchange(true))
            Log(LogLevel::kError, "push",
                "notifications arrive with validationTokens: null - the app registration is "
                "misconfigured (rich notifications need the app's own id as the audience; check "
                "the application id in the config and the app registration). Batches are "
                "rejected until this is fixed.");
        return false;
    }
    for (const auto& t : b.tokens) {
        TokenVerdict v = m_tokens.Check(t, nowSeconds);
        if (!v.ok) {
            m_counters.Reject(v.reason, b.items.size());
            Log(LogLevel::kWarn, "push", "rejected a batch: " + v.detail);
            return false;
        }
    }
    return true;
}

bool WebhookReceiver::SeenBefore(const std::string& signature) {
    std::lock_guard lock(m_seenMutex);
    if (!m_seen.insert(signature).second) return true;
    m_seenOrder.push_back(signature);
    if (m_seenOrder.size() > 100000) {
        m_seen.erase(m_seenOrder.front());
        m_seenOrder.pop_front();
    }
    return false;
}

bool WebhookReceiver::Accept(const ChangeNotification& n, int64_t now, PushItem& item) {
    item.subscriptionId = n.subscriptionId;
    item.receivedMs = now;
    if (!n.lifecycleEvent.empty()) {
        item.kind = PushItem::Kind::kLifecycle;
        item.lifecycleEvent = n.lifecycleEvent;
        ++m_counters.lifecycle;
        return true;
    }
    auto where = ParseMessageResource(n.resource);
    if (!where) {
        m_counters.Reject("resource");
        return false;
    }
    item.where = *where;
    item.changeType = n.changeType;
    item.messageId = n.resourceId.empty()
                         ? (where->replyId.empty() ? where->rootId : where->replyId)
                         : n.resourceId;
    if (!n.encrypted) {
        item.kind = PushItem::Kind::kChange;  // ingest fetches the message
        return true;
    }
    PKeyPtr key = m_keys.KeyFor(n.encrypted->certificateId);
    if (!key) {
        m_counters.Reject("unknown_certificate");
        return false;
    }
    auto plain = DecryptNotification(*n.encrypted, key.get());
    if (!plain) {
        bool hmac = plain.error().message.find("dataSignature") != std::string::npos;
        m_counters.Reject(hmac ? "hmac" : "decrypt");
        Log(LogLevel::kWarn, "push", "rejected a notification: " + plain.error().message);
        return false;
    }
    if (SeenBefore(n.encrypted->dataSignature)) {
        ++m_counters.duplicates;  // the same encrypted notification again (a Graph retry,
                                  // a duplicate or a replay): merged once already
        return false;
    }
    ++m_counters.decrypted;
    item.kind = PushItem::Kind::kMessage;
    item.json = std::move(plain.value());
    return true;
}

// ---------------------------------------------------------------- the listener

struct WebhookServer::Impl {
    std::unique_ptr<httplib::SSLServer> server;
};

WebhookServer::WebhookServer() : m_impl(std::make_unique<Impl>()) {}
WebhookServer::~WebhookServer() {
    Stop();
}

Status WebhookServer::Start(const WebhookOptions& o, WebhookReceiver& receiver,
                            PushCounters& counters) {
    m_impl->server = std::make_unique<httplib::SSLServer>(o.certFile.c_str(), o.keyFile.c_str());
    auto& s = *m_impl->server;
    if (!s.is_valid())
        return MakeError(ErrorCode::kConfig, "push.listen: cannot load the webhook certificate " +
                                                 o.certFile + " and key " + o.keyFile);
    int threads = std::max(2, o.threads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    s.set_payload_max_length(kMaxNotificationBody);
    s.set_tcp_nodelay(true);
    s.set_read_timeout(10, 0);
    s.Post(".*", [&receiver, &counters](const httplib::Request& q, httplib::Response& r) {
        if (q.has_param("validationToken")) {
            std::string token = q.get_param_value("validationToken");
            if (token.size() > 4096) {
                r.status = 400;
                return;
            }
            ++counters.validations;
            r.status = 200;
            r.set_content(token, "text/plain");
            return;
        }
        r.status = receiver.Handle(q.body);
        if (r.status == 503) r.set_header("Retry-After", "5");
    });
    m_port = o.port > 0 ? (s.bind_to_port(o.address, o.port) ? o.port : -1)
                        : s.bind_to_any_port(o.address);
    if (m_port <= 0)
        return MakeError(ErrorCode::kConfig,
                         "push.listen: cannot bind " + o.address + ":" + std::to_string(o.port));
    m_thread = std::thread([&s] { s.listen_after_bind(); });
    return OkStatus();
}

void WebhookServer::Stop() {
    if (m_impl->server && m_thread.joinable()) {
        for (int i = 0; i < 500 && !m_impl->server->is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        m_impl->server->stop();
    }
    if (m_thread.joinable()) m_thread.join();
}

}  // namespace cdeck::core
