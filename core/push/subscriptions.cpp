#include "push/subscriptions.hpp"

#include <atomic>
#include <nlohmann/json.hpp>

#include "model/parse.hpp"
#include "push/notification.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace cdeck::core {
namespace {

using nlohmann::json;

constexpr UnixMillis kMinute = 60'000;
constexpr UnixMillis kCreateRetryMs = 30'000;
constexpr size_t kParallelRequests = 8;

// Runs body(0..n-1) on up to `threads` threads.
void ForEachParallel(size_t n, size_t threads, const std::function<void(size_t)>& body) {
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next++; i < n; i = next++) body(i);
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < std::min(n, threads); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
}

// A subscription's expirationDateTime from Graph's answer; 45 minutes (the least Graph
// grants) when it is missing.
UnixMillis ExpiryOf(const std::string& body, UnixMillis now) {
    json j = json::parse(body, nullptr, false);
    auto exp =
        j.is_object() && j.contains("expirationDateTime") && j["expirationDateTime"].is_string()
            ? ParseIso8601(j["expirationDateTime"].get<std::string>())
            : std::nullopt;
    return exp.value_or(now + 45 * kMinute);
}

std::string RandomState() {
    return Base64UrlEncode(RandomBytes(24));
}

}  // namespace

SubscriptionManager::SubscriptionManager(std::shared_ptr<GraphClient> client, PushSettings settings,
                                         NotificationKeys& keys, Store& store, Reconcile reconcile)
    : m_client(std::move(client)),
      m_settings(std::move(settings)),
      m_keys(keys),
      m_store(store),
      m_reconcile(std::move(reconcile)) {}

SubscriptionManager::~SubscriptionManager() {
    Stop();
}

void SubscriptionManager::Start() {
    m_thread = std::thread([this] { Loop(); });
}

void SubscriptionManager::Stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

bool SubscriptionManager::ClientStateMatches(const std::string& id,
                                             const std::string& state) const {
    {
        std::lock_guard lock(m_mutex);
        auto it = m_subs.find(id);
        if (it != m_subs.end()) return ConstantTimeEquals(it->second.clientState, state);
        // A create whose answer is still on its way: Graph may deliver before we hear the id.
        bool match = false;
        for (const auto& pending : m_pendingStates) match |= ConstantTimeEquals(pending, state);
        if (match || !m_dir) return match;
    }
    // Another node's subscription (tenant scope behind a load balancer).
    std::optional<std::string> shared = m_dir->ClientStateOf(id);
    return shared && ConstantTimeEquals(*shared, state);
}

void SubscriptionManager::OnLifecycle(const std::string& id, const std::string& event,
                                      bool forwarded) {
    bool mine;
    {
        std::lock_guard lock(m_mutex);
        mine = m_subs.count(id) != 0;
        if (mine || !m_dir) {
            m_lifecycle.push_back({id, event});
            ++m_figures.lifecycleEvents;
        }
    }
    // In a cluster, another node's subscription: its manager hears of it through the
    // directory (once: a forwarded event is never forwarded again).
    if (!mine && m_dir && !forwarded) m_dir->Forward(id, event);
    m_cv.notify_all();
}

void SubscriptionManager::Poke() {
    m_cv.notify_all();
}

void SubscriptionManager::RotateKeys() {
    {
        std::lock_guard lock(m_mutex);
        m_rotate = true;
    }
    m_cv.notify_all();
}

SubscriptionManager::Figures SubscriptionManager::GetFigures() const {
    std::lock_guard lock(m_mutex);
    Figures f = m_figures;
    f.active = static_cast<int>(m_subs.size());
    f.failing = static_cast<int>(m_createRetry.size());
    return f;
}

void SubscriptionManager::Loop() {
    // Alone, our URL's subscriptions from an earlier run are stale; in a cluster they are
    // the other nodes' (or ours to adopt).
    if (!m_dir)
        RemoveStale([this](const std::string&, const std::string&, const std::string& url) {
            return url == m_settings.notificationUrl;
        });
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        lock.unlock();
        Tick(NowMillis());
        lock.lock();
        m_cv.wait_for(lock, std::chrono::seconds(1),
                      [&] { return m_stopping || !m_lifecycle.empty() || m_rotate; });
    }
}

void SubscriptionManager::Tick(UnixMillis now) {
    std::deque<std::pair<std::string, std::string>> events;
    bool rotate = false;
    {
        std::lock_guard lock(m_mutex);
        events.swap(m_lifecycle);
        std::swap(rotate, m_rotate);
    }
    for (const auto& [id, event] : events) HandleLifecycle(id, event, now);
    DropNotMine();
    if (rotate) {
        auto id = m_keys.Rotate();
        if (!id) NoteFailure(id.error());
        Log(LogLevel::kInfo, "push", "rotated the notification key; moving subscriptions to it");
    }
    // Create what is missing, then renew what is due (or on an old certificate).
    std::string currentCert = m_keys.CertificateId();
    std::vector<std::string> renew;
    std::set<std::string> have;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, s] : m_subs) {
            have.insert(s.resource);
            if (s.expires - now <
                    static_cast<UnixMillis>(m_settings.renewBeforeMinutes * kMinute) ||
                s.certificateId != currentCert)
                renew.push_back(id);
        }
    }
    std::vector<std::pair<std::string, std::string>> missing;
    for (auto& [resource, channel] : Wanted()) {
        std::lock_guard lock(m_mutex);
        auto it = m_createRetry.find(resource);
        if (have.count(resource) || m_stopping || (it != m_createRetry.end() && it->second > now))
            continue;
        missing.push_back({resource, channel});
    }
    // Several at once: a node taking over a dead node's share adopts dozens of channel
    // subscriptions (each a PATCH that Graph validates), and a first start creates one per
    // channel.
    ForEachParallel(missing.size(), kParallelRequests, [&](size_t i) {
        const auto& [resource, channel] = missing[i];
        if (m_dir && Adopt(resource, channel, now)) return;
        Create(resource, channel, now);
    });
    for (const auto& id : renew) {
        Sub s;
        {
            std::lock_guard lock(m_mutex);
            auto it = m_subs.find(id);
            if (it == m_subs.end()) continue;
            s = it->second;
        }
        Renew(s, now, s.certificateId != currentCert);
    }
    RetirePreviousKey(currentCert, now);
}

// Notifications encrypted for the previous certificate may still be on their way (Graph
// retries for up to 4 hours): its key goes only a grace period after the last subscription
// moved off it.
void SubscriptionManager::RetirePreviousKey(const std::string& currentCert, UnixMillis now) {
    std::lock_guard lock(m_mutex);
    bool anyOld = false;
    for (const auto& [id, s] : m_subs) anyOld = anyOld || s.certificateId != currentCert;
    if (anyOld) {
        m_allMovedAt = 0;
        return;
    }
    if (m_allMovedAt == 0) m_allMovedAt = now;
    if (now - m_allMovedAt >= static_cast<UnixMillis>(m_settings.keyGraceMinutes * kMinute))
        m_keys.ForgetPrevious();
}

std::vector<std::pair<std::string, std::string>> SubscriptionManager::Wanted() const {
    if (m_settings.scope == "tenant") {
        if (m_dir && !m_dir->Mine("")) return {};  // the leader's
        return {{"/teams/getAllMessages", ""}};
    }
    std::vector<std::pair<std::string, std::string>> out;
    SnapshotPtr snap = m_store.Current();
    for (const auto& [id, c] : snap->channels)
        if (!m_dir || m_dir->Mine(id))
            out.push_back({"/teams/" + c->channel.teamId + "/channels/" + id + "/messages", id});
    return out;
}

void SubscriptionManager::RemoveStale(
    const std::function<bool(const std::string&, const std::string&, const std::string&)>& stale) {
    auto list = m_client->Send("GET", "/subscriptions");
    if (!list) return NoteFailure(list.error());
    json j = json::parse(list->http.body, nullptr, false);
    if (!j.is_object() || !j.contains("value") || !j["value"].is_array()) return;
    for (const auto& s : j["value"]) {
        if (!s.is_object()) continue;
        std::string id = s.value("id", "");
        if (id.empty() || !stale(id, s.value("resource", ""), s.value("notificationUrl", "")))
            continue;
        Log(LogLevel::kInfo, "push", "deleting subscription " + id + ", which nothing manages");
        auto del = m_client->Send("DELETE", "/subscriptions/" + UrlEncode(id));
        if (!del && del.error().httpStatus != 404) NoteFailure(del.error());
    }
}

std::string SubscriptionManager::ExpiryIso(UnixMillis now) const {
    return FormatIso8601(now + static_cast<UnixMillis>(m_settings.subscriptionMinutes * kMinute));
}

bool SubscriptionManager::Create(const std::string& resource, const std::string& channelId,
                                 UnixMillis now) {
    std::string state = RandomState();
    std::string certId = m_keys.CertificateId();
    json body = {{"changeType", "created,updated,deleted"},
                 {"notificationUrl", m_settings.notificationUrl},
                 {"lifecycleNotificationUrl", m_settings.LifecycleUrl()},
                 {"resource", resource},
                 {"expirationDateTime", ExpiryIso(now)},
                 {"clientState", state},
                 {"includeResourceData", true},
                 {"encryptionCertificate", m_keys.CertificateBase64()},
                 {"encryptionCertificateId", certId}};
    {  // known before Graph can deliver, which may be before its answer arrives
        std::lock_guard lock(m_mutex);
        m_pendingStates.insert(state);
    }
    auto resp = m_client->Send("POST", "/subscriptions", body.dump());
    std::unique_lock lock(m_mutex);
    m_pendingStates.erase(state);
    if (!resp) {
        m_createRetry[resource] = now + kCreateRetryMs;
        m_figures.lastError = resp.error().Describe();
        ++m_figures.failures;
        Log(LogLevel::kWarn, "push",
            "cannot subscribe to " + resource + ": " + resp.error().Describe());
        if (resp.error().httpStatus == 409 && m_dir) {
            // Graph holds one already that no node recorded (an earlier deployment, or a
            // node that died between creating and recording it): nothing can verify its
            // clientState, so it goes, and the next look subscribes afresh.
            m_createRetry[resource] = now + 1000;
            lock.unlock();
            std::optional<SharedSubscription> known = m_dir->Find(resource);
            RemoveStale([&](const std::string& id, const std::string& res, const std::string&) {
                return res == resource && (!known || known->id != id);
            });
        }
        return false;
    }
    json j = json::parse(resp->http.body, nullptr, false);
    std::string id = j.is_object() ? j.value("id", "") : "";
    if (id.empty()) {
        m_createRetry[resource] = now + kCreateRetryMs;
        return false;
    }
    m_subs[id] = Sub{id, resource, channelId, state, ExpiryOf(resp->http.body, now), certId};
    m_createRetry.erase(resource);
    ++m_figures.created;
    lock.unlock();
    Record(id);
    return true;
}

bool SubscriptionManager::Adopt(const std::string& resource, const std::string& channelId,
                                UnixMillis now) {
    std::optional<SharedSubscription> rec = m_dir->Find(resource);
    if (!rec) return false;
    json body = {{"notificationUrl", m_settings.notificationUrl},
                 {"expirationDateTime", ExpiryIso(now)}};
    std::string certId = rec->certificateId;
    if (certId != m_keys.CertificateId()) {
        certId = m_keys.CertificateId();
        body["encryptionCertificate"] = m_keys.CertificateBase64();
        body["encryptionCertificateId"] = certId;
    }
    auto resp = m_client->Send("PATCH", "/subscriptions/" + UrlEncode(rec->id), body.dump());
    if (!resp) {
        if (resp.error().httpStatus == 404) {  // it lapsed: subscribe afresh
            m_dir->Forget(rec->id);
            return false;
        }
        NoteFailure(resp.error());
        std::lock_guard lock(m_mutex);
        m_createRetry[resource] = now + kCreateRetryMs;
        return true;
    }
    UnixMillis expires = ExpiryOf(resp->http.body, now);
    {
        std::lock_guard lock(m_mutex);
        m_subs[rec->id] = Sub{rec->id, resource, channelId, rec->clientState, expires, certId};
        m_createRetry.erase(resource);
        ++m_figures.adopted;
        ++m_figures.reconciliations;
    }
    Log(LogLevel::kInfo, "push", "took over subscription " + rec->id + " for " + resource);
    Record(rec->id);
    m_reconcile(channelId);  // close the gap since the last holder's notifications
    return true;
}

void SubscriptionManager::Record(const std::string& id) {
    if (!m_dir) return;
    SharedSubscription rec;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_subs.find(id);
        if (it == m_subs.end()) return;
        const Sub& s = it->second;
        rec = {s.id, s.resource, s.channelId, s.clientState, s.certificateId, s.expires};
    }
    if (m_dir->Save(rec)) return;
    // The lease moved on while we subscribed: the new holder adopts it from the directory
    // (or subscribes itself); this node lets it go.
    Log(LogLevel::kInfo, "push",
        "subscription " + id + " is another node's to manage now; letting it go");
    std::lock_guard lock(m_mutex);
    m_subs.erase(id);
}

void SubscriptionManager::DropNotMine() {
    if (!m_dir) return;
    std::vector<std::string> gone;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, s] : m_subs)
            if (!m_dir->Mine(s.channelId)) gone.push_back(id);
        for (const auto& id : gone) m_subs.erase(id);
    }
    if (!gone.empty())
        Log(LogLevel::kInfo, "push",
            std::to_string(gone.size()) + " subscriptions passed to other nodes with their leases");
}

bool SubscriptionManager::Renew(Sub& s, UnixMillis now, bool newCertificate) {
    json body = {{"expirationDateTime", ExpiryIso(now)}};
    std::string certId = s.certificateId;
    if (newCertificate) {
        certId = m_keys.CertificateId();
        body["encryptionCertificate"] = m_keys.CertificateBase64();
        body["encryptionCertificateId"] = certId;
    }
    auto resp = m_client->Send("PATCH", "/subscriptions/" + UrlEncode(s.id), body.dump());
    if (!resp) {
        if (resp.error().httpStatus == 404) {  // gone: subscribe again, then catch up
            {
                std::lock_guard lock(m_mutex);
                m_subs.erase(s.id);
                ++m_figures.recreated;
            }
            Log(LogLevel::kInfo, "push", "subscription " + s.id + " is gone; subscribing again");
            if (m_dir) m_dir->Forget(s.id);
            if (Create(s.resource, s.channelId, now)) {
                std::lock_guard lock(m_mutex);
                ++m_figures.reconciliations;
            }
            m_reconcile(s.channelId);
        } else {
            NoteFailure(resp.error());
        }
        return false;
    }
    UnixMillis expires = ExpiryOf(resp->http.body, now);
    std::unique_lock lock(m_mutex);
    auto it = m_subs.find(s.id);
    if (it != m_subs.end()) {
        it->second.expires = expires;
        it->second.certificateId = certId;
    }
    ++m_figures.renewed;
    lock.unlock();
    Record(s.id);
    return true;
}

void SubscriptionManager::HandleLifecycle(const std::string& id, const std::string& event,
                                          UnixMillis now) {
    Sub s;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_subs.find(id);
        if (it == m_subs.end()) return;
        s = it->second;
    }
    Log(LogLevel::kInfo, "push", "lifecycle event " + event + " for subscription " + id);
    if (event == "reauthorizationRequired") {
        Renew(s, now, false);  // a PATCH; never also a reauthorize
    } else if (event == "subscriptionRemoved") {
        {
            std::lock_guard lock(m_mutex);
            m_subs.erase(id);
            ++m_figures.recreated;
        }
        if (m_dir) m_dir->Forget(id);
        Create(s.resource, s.channelId, now);
    }
    {
        std::lock_guard lock(m_mutex);
        ++m_figures.reconciliations;
    }
    m_reconcile(s.channelId);  // anything may have been missed meanwhile
}

void SubscriptionManager::NoteFailure(const Error& e) {
    std::lock_guard lock(m_mutex);
    m_figures.lastError = e.Describe();
    ++m_figures.failures;
    Log(LogLevel::kWarn, "push", "subscription request failed: " + e.Describe());
}

}  // namespace cdeck::core
