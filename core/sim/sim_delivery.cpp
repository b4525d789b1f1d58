// graphsim's notification delivery: changes in the tenant become change notifications for
// the subscriptions that match, encrypted when rich, and go out in batches to each
// notification URL over HTTPS (verified against the webhook CA). Delivery follows Graph's
// documented behaviour: a 2xx within 3 s counts; failures are retried with exponential
// back-off for up to 4 hours; endpoints that answer slowly enter the "slow" state (new
// notifications delayed 10 minutes) or the "drop" state (dropped for 10 minutes). Latency,
// duplicates, reordering and silent loss are injectable. Lifecycle notifications
// (reauthorizationRequired, subscriptionRemoved) go to the lifecycle URL.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

constexpr Millis kMinute = 60'000;

struct ParsedUrl {
    std::string host;
    int port = 443;
    std::string path = "/";
};

std::optional<ParsedUrl> ParseHttpsUrl(const std::string& url) {
    if (url.rfind("https://", 0) != 0) return std::nullopt;
    std::string rest = url.substr(8);
    size_t slash = rest.find('/');
    std::string hostPort = rest.substr(0, slash);
    ParsedUrl p;
    if (slash != std::string::npos) p.path = rest.substr(slash);
    size_t colon = hostPort.rfind(':');
    if (!hostPort.empty() && hostPort[0] == '[') {
        size_t close = hostPort.find(']');
        if (close == std::string::npos) return std::nullopt;
        p.host = hostPort.substr(1, close - 1);
        colon = hostPort.find(':', close);
    } else {
        p.host = hostPort.substr(0, colon);
    }
    if (colon != std::string::npos) {
        char* end = nullptr;
        long port = std::strtol(hostPort.c_str() + colon + 1, &end, 10);
        if (*end || port <= 0 || port > 65535) return std::nullopt;
        p.port = static_cast<int>(port);
    }
    if (p.host.empty()) return std::nullopt;
    return p;
}

bool IsLoopbackHost(const std::string& h) {
    return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

std::unique_ptr<httplib::SSLClient> ClientFor(const ParsedUrl& u, const std::string& caFile,
                                              double timeoutSeconds) {
    auto c = std::make_unique<httplib::SSLClient>(u.host, u.port);
    c->set_ca_cert_path(caFile.c_str());
    c->enable_server_certificate_verification(true);
    auto sec = static_cast<time_t>(timeoutSeconds);
    auto usec = static_cast<time_t>((timeoutSeconds - static_cast<double>(sec)) * 1e6);
    c->set_connection_timeout(sec, usec);
    c->set_read_timeout(sec, usec);
    c->set_write_timeout(sec, usec);
    return c;
}

}  // namespace

std::string ValidateEndpoint(const std::string& url, const std::string& caFile,
                             double timeoutSeconds) {
    auto u = ParseHttpsUrl(url);
    if (!u) return "the notification URL is not an https URL";
    if (!IsLoopbackHost(u->host))
        return "graphsim delivers to loopback addresses only, not " + u->host;
    std::string token =
        "Validation: Testing client application reachability for subscription Request-Id: " +
        UuidV4();
    auto client = ClientFor(*u, caFile, timeoutSeconds);
    std::string path = u->path + (u->path.find('?') == std::string::npos ? "?" : "&") +
                       "validationToken=" + UrlEncodeComponent(token);
    auto res = client->Post(path.c_str(), "", "text/plain");
    if (!res) return "no answer: " + httplib::to_string(res.error());
    if (res->status != 200) return "answered " + std::to_string(res->status);
    if (res->get_header_value("Content-Type").rfind("text/plain", 0) != 0)
        return "the answer's Content-Type is not text/plain";
    if (res->body != token) return "the answer is not the validation token";
    return {};
}

double GraphSim::Impl::SampleDeliveryMs() {
    if (delivery.latencyMedianMs <= 0) return 0;
    std::lognormal_distribution<double> d(std::log(delivery.latencyMedianMs), 1.0);
    return std::min(d(rng), delivery.latencyMaxMs);
}

// Turns the tenant's recorded changes into notifications for the matching subscriptions.
void GraphSim::Impl::CollectChanges(Millis now) {
    std::vector<SimChangeEvent> events;
    events.swap(tenant.events);
    if (events.empty()) return;
    std::uniform_real_distribution<double> u(0, 1);
    for (const auto& e : events)
        for (auto& [id, s] : subscriptions) {
            if (s.removed || s.expires <= now || !ChangeTypeIncludes(s.changeType, e.changeType))
                continue;
            if (s.channel >= 0 && s.channel != e.channel) continue;
            ++s.stats.generated;
            EndpointHealth& h = endpoints[s.notificationUrl];
            if (s.paused || h.dropUntil > now || u(rng) < delivery.lossRate) {
                ++s.stats.dropped;
                continue;
            }
            PendingNotification p;
            p.item = NotificationFor(s, e);
            p.appId = s.appId;
            p.generated = now;
            p.due = now + static_cast<Millis>(SampleDeliveryMs());
            if (h.slowUntil > now) p.due += static_cast<Millis>(10 * kMinute * delivery.timeScale);
            if (u(rng) < delivery.reorderRate)
                p.due += static_cast<Millis>(u(rng) * (2 * delivery.latencyMedianMs + 200));
            if (u(rng) < delivery.duplicateRate) {
                PendingNotification copy = p;
                copy.due = now + static_cast<Millis>(SampleDeliveryMs());
                s.queue.push_back(std::move(copy));
                ++s.stats.duplicated;
            }
            s.queue.push_back(std::move(p));
        }
}

json GraphSim::Impl::NotificationFor(const SimSubscription& s, const SimChangeEvent& e) {
    const SimChannel& c = tenant.channels[e.channel];
    const std::string& teamId = tenant.teams[c.team].id;
    std::string res = "teams('" + teamId + "')/channels('" + c.id + "')/messages('" + e.rootId +
                      "')" + (e.messageId != e.rootId ? "/replies('" + e.messageId + "')" : "");
    json n = {{"subscriptionId", s.id},
              {"changeType", e.changeType},
              {"clientState", s.clientState.empty() ? json(nullptr) : json(s.clientState)},
              {"subscriptionExpirationDateTime", SimIso(s.expires)},
              {"resource", res},
              {"resourceData",
               {{"id", e.messageId},
                {"@odata.type", "#Microsoft.Graph.chatMessage"},
                {"@odata.id", res}}},
              {"tenantId", tenant.tenantId}};
    if (!s.includeResourceData) return n;
    SimMessage* m = e.messageId == e.rootId ? tenant.FindRoot(e.channel, e.rootId)
                                            : tenant.FindReply(e.channel, e.rootId, e.messageId);
    if (!m) return n;
    n["encryptedContent"] = EncryptForSubscriber(s.certificateB64, s.certificateId, s.thumbprint,
                                                 MessageJson(tenant, c, *m, false, false).dump());
    return n;
}

void GraphSim::Impl::QueueLifecycle(SimSubscription& s, const std::string& event, Millis now) {
    if (s.lifecycleUrl.empty()) return;
    PendingNotification p;
    p.item = {{"subscriptionId", s.id},
              {"subscriptionExpirationDateTime", SimIso(s.expires)},
              {"tenantId", tenant.tenantId},
              {"clientState", s.clientState.empty() ? json(nullptr) : json(s.clientState)},
              {"lifecycleEvent", event}};
    p.appId = s.appId;
    p.generated = now;
    p.due = now;
    p.lifecycle = true;
    s.queue.push_back(std::move(p));
}

// reauthorizationRequired every 15 minutes in the last hour; expiry removes.
void GraphSim::Impl::LifecycleDue(Millis now) {
    for (auto& [id, s] : subscriptions) {
        if (s.removed) continue;
        if (s.expires <= now) {
            s.removed = true;
            s.stats.dropped += s.queue.size();
            s.queue.clear();
            continue;
        }
        if (now >= s.nextReauthNotice) {
            if (s.reauthPending) s.paused = true;  // ignored since the last notice
            s.reauthPending = true;
            QueueLifecycle(s, "reauthorizationRequired", now);
            s.lastReauthNotice = now;
            s.nextReauthNotice = now + 15 * kMinute;
        }
    }
}

std::string GraphSim::Impl::ValidationToken(const std::string& appId, Millis now) const {
    bool v1 = delivery.jwtVersion == 1;
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", signer.kid}};
    json p = {{"aud", appId},
              {"iss", v1 ? "https://sts.windows.net/" + tenant.tenantId + "/"
                         : info.authorityUrl + "/" + tenant.tenantId + "/v2.0"},
              {"iat", now / 1000},
              {"nbf", now / 1000 - 5},
              {"exp", now / 1000 + 3600},
              {"tid", tenant.tenantId},
              {v1 ? "appid" : "azp", kChangeTrackingAppId},
              {"ver", v1 ? "1.0" : "2.0"}};
    return signer.SignRs256(header, p);
}

// Due notifications, grouped by the URL they go to, in batches of at most maxBatch.
std::vector<GraphSim::Impl::OutBatch> GraphSim::Impl::TakeDueBatches(Millis now) {
    std::map<std::string, OutBatch> byUrl;
    std::vector<OutBatch> out;
    for (auto& [id, s] : subscriptions) {
        auto& q = s.queue;
        for (size_t i = 0; i < q.size();) {
            if (q[i].due > now) {
                ++i;
                continue;
            }
            const std::string& url = q[i].lifecycle ? s.lifecycleUrl : s.notificationUrl;
            OutBatch& b = byUrl[url];
            b.url = url;
            b.items.push_back({s.id, std::move(q[i])});
            q.erase(q.begin() + static_cast<long>(i));
            if (b.items.size() >= static_cast<size_t>(delivery.maxBatch)) {
                out.push_back(std::move(b));
                byUrl.erase(url);
            }
        }
    }
    for (auto& [url, b] : byUrl) out.push_back(std::move(b));
    for (auto& b : out) b.body = BatchBody(b, now);
    return out;
}

std::string GraphSim::Impl::BatchBody(const OutBatch& b, Millis now) {
    json value = json::array();
    std::set<std::string> apps;
    for (const auto& [sub, p] : b.items) {
        value.push_back(p.item);
        apps.insert(p.appId);
    }
    json tokens = json::array();
    for (const auto& app : apps) tokens.push_back(ValidationToken(app, now));
    json body = {{"value", std::move(value)}, {"validationTokens", std::move(tokens)}};
    if (delivery.forgeCount > 0) {
        --delivery.forgeCount;
        if (delivery.forge == "replay" && !endpoints[b.url].lastBatch.empty())
            return endpoints[b.url].lastBatch;
        Forge(body, delivery.forge, now);
    }
    return body.dump();
}

void GraphSim::Impl::Forge(json& body, const std::string& kind, Millis now) {
    auto flipB64 = [](json& field) {
        std::string s = field.get<std::string>();
        if (s.size() > 8) s[4] = s[4] == 'A' ? 'B' : 'A';
        field = s;
    };
    for (auto& n : body["value"]) {
        if (kind == "client-state") n["clientState"] = "forged-" + RandomHex(4);
        if (!n.contains("encryptedContent") || !n["encryptedContent"].is_object()) continue;
        if (kind == "hmac") flipB64(n["encryptedContent"]["dataSignature"]);
        if (kind == "ciphertext") flipB64(n["encryptedContent"]["data"]);
        if (kind == "datakey") flipB64(n["encryptedContent"]["dataKey"]);
    }
    if (kind == "null-tokens") body["validationTokens"] = nullptr;
    if (kind.rfind("jwt-", 0) != 0) return;
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", signer.kid}};
    json p = {{"aud", tenant.apps[0].clientId},
              {"iss", info.authorityUrl + "/" + tenant.tenantId + "/v2.0"},
              {"iat", now / 1000},
              {"nbf", now / 1000 - 5},
              {"exp", now / 1000 + 3600},
              {"tid", tenant.tenantId},
              {"azp", kChangeTrackingAppId},
              {"ver", "2.0"}};
    if (kind == "jwt-audience") p["aud"] = UuidV4();
    if (kind == "jwt-issuer") p["iss"] = "https://login.example.net/" + tenant.tenantId + "/v2.0";
    if (kind == "jwt-caller") p["azp"] = UuidV4();
    if (kind == "jwt-expired") {
        p["exp"] = now / 1000 - 600;
        p["nbf"] = now / 1000 - 4200;
    }
    std::string token = signer.SignRs256(header, p);
    if (kind == "jwt-signature")
        token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
    body["validationTokens"] = json::array({token});
}

void GraphSim::Impl::Send(OutBatch& b) const {
    auto u = ParseHttpsUrl(b.url);
    auto start = std::chrono::steady_clock::now();
    if (!u || !IsLoopbackHost(u->host)) {
        b.ok = false;
        return;
    }
    double timeout = std::max(0.05, 10.0 * delivery.timeScale);
    auto client = ClientFor(*u, webhookCaFile, timeout);
    auto res = client->Post(u->path.c_str(), b.body, "application/json");
    b.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    b.status = res ? res->status : 0;
    b.ok = res && res->status >= 200 && res->status < 300;
}

void GraphSim::Impl::Settle(OutBatch& b, Millis now) {
    EndpointHealth& h = endpoints[b.url];
    double slow = 3.0 * delivery.timeScale, drop = 10.0 * delivery.timeScale;
    bool counted = b.ok && b.seconds <= slow;
    ++deliveryTotals.batches;
    if (counted)
        h.lastBatch = b.body;
    else
        ++deliveryTotals.failedBatches;
    // Graph's states are about time taken: a fast error is a failure, not a slow answer; an
    // answer that never came (a time-out) counts as slower than the drop threshold.
    bool timedOut = b.status == 0 && b.seconds >= 0.95 * std::max(0.05, 10.0 * delivery.timeScale);
    h.answers.push_back({now, timedOut ? drop + 1 : b.seconds});
    Millis window = static_cast<Millis>(10 * kMinute * delivery.timeScale);
    while (!h.answers.empty() && h.answers.front().first < now - window) h.answers.pop_front();
    UpdateHealth(h, now, slow, drop, window);
    for (auto& [subId, p] : b.items) {
        auto it = subscriptions.find(subId);
        if (it == subscriptions.end()) continue;
        SimSubscription& s = it->second;
        if (counted) {
            ++(p.lifecycle ? s.stats.lifecycle : s.stats.delivered);
            if (!p.lifecycle) NoteLatency(static_cast<double>(now - p.generated));
            if (p.lifecycle && p.item.value("lifecycleEvent", "") == "subscriptionRemoved")
                s.removed = true;
            continue;
        }
        ++p.attempts;
        Millis backoff = static_cast<Millis>(10'000.0 * delivery.timeScale *
                                             std::pow(2.0, std::min(p.attempts - 1, 12)));
        if (s.removed ||
            now - p.generated > static_cast<Millis>(240 * kMinute * delivery.timeScale)) {
            ++s.stats.dropped;
            continue;
        }
        ++s.stats.retried;
        p.due = now + backoff;
        s.queue.push_back(std::move(p));
    }
}

void GraphSim::Impl::NoteLatency(double ms) {
    auto& v = deliveryTotals.latencyMs;
    if (v.size() < 20000)
        v.push_back(ms);
    else
        v[deliveryTotals.latencyNext++ % v.size()] = ms;
}

void GraphSim::Impl::UpdateHealth(EndpointHealth& h, Millis now, double slow, double drop,
                                  Millis window) {
    if (h.answers.size() < 10) return;
    size_t slowN = 0, dropN = 0;
    for (const auto& [at, sec] : h.answers) {
        slowN += sec > slow;
        dropN += sec > drop;
    }
    double n = static_cast<double>(h.answers.size());
    if (dropN / n > 0.15 && h.dropUntil <= now) {
        h.dropUntil = now + window;
        ++deliveryTotals.dropEntered;
        h.answers.clear();
    } else if (slowN / n > 0.10 && h.slowUntil <= now) {
        h.slowUntil = now + window;
        ++deliveryTotals.slowEntered;
    }
}

void GraphSim::Impl::DeliveryLoop() {
    std::unique_lock lock(mutex);
    while (!stopping) {
        Millis now = Now();
        CollectChanges(now);
        LifecycleDue(now);
        std::vector<OutBatch> batches = TakeDueBatches(now);
        if (batches.empty()) {
            cv.wait_for(lock, std::chrono::milliseconds(10), [&] { return stopping; });
            continue;
        }
        lock.unlock();
        for (auto& b : batches) Send(b);
        lock.lock();
        now = Now();
        for (auto& b : batches) Settle(b, now);
    }
}

json GraphSim::Impl::NotificationStats() const {
    json subs = json::object();
    for (const auto& [id, s] : subscriptions)
        subs[id] = {{"resource", s.resource},
                    {"notificationUrl", s.notificationUrl},
                    {"state", s.removed  ? "removed"
                              : s.paused ? "paused"
                                         : "active"},
                    {"generated", s.stats.generated},
                    {"delivered", s.stats.delivered},
                    {"retried", s.stats.retried},
                    {"dropped", s.stats.dropped},
                    {"duplicated", s.stats.duplicated},
                    {"lifecycle", s.stats.lifecycle},
                    {"queued", s.queue.size()},
                    {"encryptionCertificateId", s.certificateId},
                    {"expirationDateTime", SimIso(s.expires)},
                    {"lastPatch", s.lastPatch > 0 ? json(SimIso(s.lastPatch)) : json(nullptr)},
                    {"lastReauthorize",
                     s.lastReauthorize > 0 ? json(SimIso(s.lastReauthorize)) : json(nullptr)}};
    json eps = json::object();
    Millis now = Now();
    std::vector<double> lat = deliveryTotals.latencyMs;
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) {
        return lat.empty() ? 0.0
                           : lat[std::min(lat.size() - 1, static_cast<size_t>(q * lat.size()))];
    };
    for (const auto& [url, h] : endpoints)
        eps[url] = {{"slow", h.slowUntil > now}, {"drop", h.dropUntil > now}};
    return {{"subscriptions", subs},
            {"endpoints", eps},
            {"batches", deliveryTotals.batches},
            {"failed_batches", deliveryTotals.failedBatches},
            {"validations", deliveryTotals.validations},
            {"failed_validations", deliveryTotals.failedValidations},
            {"patch_reauthorize_conflicts", deliveryTotals.patchReauthorizeConflicts},
            {"slow_entered", deliveryTotals.slowEntered},
            {"drop_entered", deliveryTotals.dropEntered},
            {"delivery_latency_ms",
             {{"count", lat.size()}, {"p50", pct(0.5)}, {"p95", pct(0.95)}, {"p99", pct(0.99)}}}};
}

}  // namespace cdeck::sim
