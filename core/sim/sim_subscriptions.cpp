// graphsim's /subscriptions endpoints with Graph's rules (SERVER.md, "Change notification
// facts"): resources and permissions, change types, lifetimes, the lifecycle URL, one
// subscription per app per channel, duplicates, the tenant cap, renewal, reauthorization,
// and the validation handshake to the notification and lifecycle URLs over HTTPS.
#include <regex>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

constexpr Millis kMinute = 60'000;
constexpr Millis kMinLifetime = 45 * kMinute;
constexpr Millis kMaxLifetime = 4320 * kMinute;

bool ValidChangeTypes(const std::string& list) {
    if (list.empty()) return false;
    size_t start = 0;
    while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string t = list.substr(start, comma - start);
        if (t != "created" && t != "updated" && t != "deleted") return false;
        start = comma + 1;
    }
    return true;
}

}  // namespace

bool ChangeTypeIncludes(const std::string& list, const std::string& type) {
    return ("," + list + ",").find("," + type + ",") != std::string::npos;
}

json GraphSim::Impl::SubscriptionJson(const SimSubscription& s) const {
    json j = {
        {"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity"},
        {"id", s.id},
        {"resource", s.resource},
        {"applicationId", s.appId},
        {"changeType", s.changeType},
        {"clientState", s.clientState.empty() ? json(nullptr) : json(s.clientState)},
        {"notificationUrl", s.notificationUrl},
        {"lifecycleNotificationUrl", s.lifecycleUrl.empty() ? json(nullptr) : json(s.lifecycleUrl)},
        {"expirationDateTime", SimIso(s.expires)},
        {"creatorId", s.appId},
        {"includeResourceData", s.includeResourceData},
        {"encryptionCertificateId",
         s.certificateId.empty() ? json(nullptr) : json(s.certificateId)},
        {"latestSupportedTlsVersion", "v1_2"},
        {"notificationUrlAppId", nullptr}};
    return j;
}

// Which channel a subscription resource names: -1 for /teams/getAllMessages, -2 when the
// resource is not one graphsim supports, -3 when the team or channel is unknown.
int GraphSim::Impl::SubscriptionChannel(const std::string& resourceIn) const {
    std::string resource = resourceIn;
    size_t q = resource.find('?');
    if (q != std::string::npos) resource = resource.substr(0, q);  // model= is ignored
    if (!resource.empty() && resource[0] != '/') resource = "/" + resource;
    if (resource == "/teams/getAllMessages") return -1;
    static const std::regex kChannel(R"(^/teams/([^/]+)/channels/([^/]+)/messages$)");
    static const std::regex kQuoted(R"(^/teams\('([^']+)'\)/channels\('([^']+)'\)/messages$)");
    std::smatch m;
    if (!std::regex_match(resource, m, kChannel) && !std::regex_match(resource, m, kQuoted))
        return -2;
    auto team = tenant.teamById.find(UrlDecode(m[1].str(), false));
    auto chan = tenant.channelById.find(UrlDecode(m[2].str(), false));
    if (team == tenant.teamById.end() || chan == tenant.channelById.end() ||
        tenant.channels[chan->second].team != team->second)
        return -3;
    return chan->second;
}

// The rules a create request breaks, with Graph's status; empty when it may go ahead.
// Requires mutex.
std::pair<int, std::string> GraphSim::Impl::CheckNewSubscription(const TokenInfo& t,
                                                                 SimSubscription& s,
                                                                 const json& b) {
    if (!b.is_object()) return {400, "Invalid request body."};
    for (const char* k : {"changeType", "notificationUrl", "resource", "expirationDateTime"})
        if (!b.contains(k) || !b[k].is_string())
            return {400, std::string("The '") + k + "' property is required."};
    s.changeType = b["changeType"];
    s.notificationUrl = b["notificationUrl"];
    s.resource = b["resource"];
    s.lifecycleUrl = b.value("lifecycleNotificationUrl", std::string());
    s.clientState = b.value("clientState", std::string());
    s.includeResourceData = b.value("includeResourceData", false);
    if (s.clientState.size() > 255) return {400, "clientState must be at most 255 characters."};
    if (!ValidChangeTypes(s.changeType))
        return {400, "Invalid changeType '" + s.changeType +
                         "'. Allowed values are created, updated and deleted."};
    s.channel = SubscriptionChannel(s.resource);
    if (s.channel == -2)
        return {400, "Resource '" + s.resource + "' is not supported for change notifications."};
    if (s.channel == -3) return {404, "The team or channel in '" + s.resource + "' was not found."};
    std::initializer_list<const char*> allowed = {"ChannelMessage.Read.All"};
    std::initializer_list<const char*> channelApp = {"ChannelMessage.Read.All",
                                                     "ChannelMessage.Read.Group"};
    if (s.channel == -1 && t.delegated)
        return {403,
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: "
                "/teams/getAllMessages requires application permissions.]"};
    const auto& need = (s.channel >= 0 && !t.delegated) ? channelApp : allowed;
    bool granted = std::any_of(need.begin(), need.end(), [&](const char* g) {
        return std::find(t.grants.begin(), t.grants.end(), g) != t.grants.end();
    });
    if (!granted)
        return {403,
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Caller "
                "does not have the permissions needed for this resource.]"};
    auto exp = SimParseIso(b["expirationDateTime"].get<std::string>());
    if (!exp) return {400, "expirationDateTime is not a valid date and time."};
    Millis now = Now();
    if (*exp <= now) return {400, "Subscription expiration date must be in the future."};
    if (*exp - now > kMaxLifetime + kMinute)
        return {400, "Subscription expiration can only be 4320 minutes in the future."};
    s.expires = std::max(*exp, now + kMinLifetime);
    if (s.expires - now > 60 * kMinute && s.lifecycleUrl.empty())
        return {400,
                "lifecycleNotificationUrl is a required property for subscription creation on "
                "this resource when the expirationDateTime value is set to greater than 1 hour."};
    if (s.includeResourceData) {
        s.certificateB64 = b.value("encryptionCertificate", std::string());
        s.certificateId = b.value("encryptionCertificateId", std::string());
        if (s.certificateB64.empty() || s.certificateId.empty())
            return {400,
                    "encryptionCertificate and encryptionCertificateId are required when "
                    "includeResourceData is true."};
        if (s.certificateId.size() > 128)
            return {400, "encryptionCertificateId must be at most 128 characters."};
        if (std::string e = CheckEncryptionCertificate(s.certificateB64, s.thumbprint); !e.empty())
            return {400, e};
    }
    for (const std::string* url : {&s.notificationUrl, &s.lifecycleUrl})
        if (!url->empty() && url->rfind("https://", 0) != 0)
            return {400, "The notification URL must use https."};
    return CheckSubscriptionQuota(t, s);
}

std::pair<int, std::string> GraphSim::Impl::CheckSubscriptionQuota(const TokenInfo& t,
                                                                   const SimSubscription& s) {
    size_t live = 0;
    for (const auto& [id, o] : subscriptions) {
        if (o.removed || o.expires <= Now()) continue;
        ++live;
        if (o.appId != t.clientId || o.channel != s.channel) continue;
        if (o.resource == s.resource && o.changeType == s.changeType)
            return {409, "A subscription for this resource and change type already exists: " +
                             o.id + "."};
        if (s.channel >= 0)
            return {403,
                    "This application already has a subscription for this channel (one "
                    "subscription per app per channel)."};
    }
    if (live >= static_cast<size_t>(delivery.tenantCap))
        return {403, "The tenant has reached its limit of " + std::to_string(delivery.tenantCap) +
                         " Teams subscriptions."};
    return {0, {}};
}

void GraphSim::Impl::HandleCreateSubscription(SimRequest& q, SimResponse& r) {
    requestsByClass["subscriptions"]++;
    auto t = Authenticate(q, r);
    if (!t) return;
    SimSubscription s;
    s.appId = t->clientId;
    json body = json::parse(q.body, nullptr, false);
    if (auto [status, msg] = CheckNewSubscription(*t, s, body); status)
        return GraphError(q, r, status,
                          status == 409   ? "Conflict"
                          : status == 403 ? "Forbidden"
                          : status == 404 ? "NotFound"
                                          : "BadRequest",
                          msg);
    // The handshakes go out without the lock: the subscriber may take up to 10 s.
    std::string ca = webhookCaFile;
    double timeout = 10.0;
    std::string failed;
    HeldLock()->unlock();
    failed = ValidateEndpoint(s.notificationUrl, ca, timeout);
    if (failed.empty() && !s.lifecycleUrl.empty())
        failed = ValidateEndpoint(s.lifecycleUrl, ca, timeout);
    HeldLock()->lock();
    deliveryTotals.validations += s.lifecycleUrl.empty() ? 1 : 2;
    if (!failed.empty()) {
        ++deliveryTotals.failedValidations;
        return GraphError(q, r, 400, "ValidationError",
                          "Subscription validation request failed. Notification endpoint must "
                          "respond with 200 OK to validation request. (" +
                              failed + ")");
    }
    if (auto [status, msg] = CheckSubscriptionQuota(*t, s); status)  // raced with another
        return GraphError(q, r, status, status == 409 ? "Conflict" : "Forbidden", msg);
    s.id = UuidV4();
    s.createdAt = Now();
    // Notices come in the last hour, at most every 15 minutes (never at once on creation).
    s.nextReauthNotice = std::max(s.createdAt + 15 * kMinute, s.expires - 60 * kMinute);
    tenant.recordEvents = true;
    Json(r, 201, SubscriptionJson(s));
    subscriptions.emplace(s.id, std::move(s));
}

SimSubscription* GraphSim::Impl::FindSubscription(SimRequest& q, SimResponse& r,
                                                  const TokenInfo& t) {
    auto it = subscriptions.find(q.m[1]);
    if (it == subscriptions.end() || it->second.removed || it->second.expires <= Now() ||
        it->second.appId != t.clientId) {
        GraphError(q, r, 404, "ResourceNotFound",
                   "The object was not found. Subscription '" + q.m[1] + "' does not exist.");
        return nullptr;
    }
    return &it->second;
}

SimSubscription* GraphSim::Impl::BeginSubscription(SimRequest& q, SimResponse& r, TokenInfo& t) {
    requestsByClass["subscriptions"]++;
    auto tok = Authenticate(q, r);
    if (!tok) return nullptr;
    t = *tok;
    return FindSubscription(q, r, t);
}

void GraphSim::Impl::HandleListSubscriptions(SimRequest& q, SimResponse& r) {
    requestsByClass["subscriptions"]++;
    auto t = Authenticate(q, r);
    if (!t) return;
    json value = json::array();
    for (const auto& [id, s] : subscriptions)
        if (!s.removed && s.expires > Now() && s.appId == t->clientId) {
            json j = SubscriptionJson(s);
            j.erase("@odata.context");
            value.push_back(std::move(j));
        }
    Json(r, 200,
         {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#subscriptions"},
          {"value", value}});
}

void GraphSim::Impl::HandleGetSubscription(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    if (SimSubscription* s = BeginSubscription(q, r, t)) Json(r, 200, SubscriptionJson(*s));
}

void GraphSim::Impl::HandlePatchSubscription(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    SimSubscription* s = BeginSubscription(q, r, t);
    if (!s) return;
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object()) return GraphError(q, r, 400, "BadRequest", "Invalid request body.");
    if (b.contains("lifecycleNotificationUrl"))
        return GraphError(q, r, 400, "BadRequest",
                          "lifecycleNotificationUrl cannot be changed by an update.");
    Millis now = Now();
    Millis expires = s->expires;
    if (b.contains("expirationDateTime")) {
        auto exp = b["expirationDateTime"].is_string()
                       ? SimParseIso(b["expirationDateTime"].get<std::string>())
                       : std::nullopt;
        if (!exp || *exp <= now)
            return GraphError(q, r, 400, "BadRequest",
                              "Subscription expiration date must be in the future.");
        if (*exp - now > kMaxLifetime + kMinute)
            return GraphError(q, r, 400, "BadRequest",
                              "Subscription expiration can only be 4320 minutes in the future.");
        expires = std::max(*exp, now + kMinLifetime);
        if (expires - now > 60 * kMinute && s->lifecycleUrl.empty())
            return GraphError(q, r, 400, "BadRequest",
                              "lifecycleNotificationUrl is required for an expiration more than "
                              "1 hour in the future.");
    }
    std::string url = s->notificationUrl;
    if (b.contains("notificationUrl")) {
        if (!b["notificationUrl"].is_string() ||
            b["notificationUrl"].get<std::string>().rfind("https://", 0) != 0)
            return GraphError(q, r, 400, "BadRequest", "The notification URL must use https.");
        url = b["notificationUrl"];
    }
    if (url != s->notificationUrl) {
        std::string id = s->id, ca = webhookCaFile;
        HeldLock()->unlock();
        std::string failed = ValidateEndpoint(url, ca, 10.0);
        HeldLock()->lock();
        ++deliveryTotals.validations;
        s = FindSubscription(q, r, t);
        if (!s) return;
        if (!failed.empty()) {
            ++deliveryTotals.failedValidations;
            return GraphError(q, r, 400, "ValidationError",
                              "Subscription validation request failed. (" + failed + ")");
        }
    }
    if (now - s->lastReauthorize < 10 * kMinute) ++deliveryTotals.patchReauthorizeConflicts;
    if (b.contains("encryptionCertificate")) {
        std::string cert = b.value("encryptionCertificate", std::string()), thumb;
        if (std::string e = CheckEncryptionCertificate(cert, thumb); !e.empty())
            return GraphError(q, r, 400, "BadRequest", e);
        s->certificateB64 = cert;
        s->thumbprint = thumb;
        s->certificateId = b.value("encryptionCertificateId", s->certificateId);
    }
    s->expires = expires;
    s->notificationUrl = url;
    s->lastPatch = now;
    s->reauthPending = s->paused = false;
    s->nextReauthNotice = std::max(s->lastReauthNotice + 15 * kMinute, s->expires - 60 * kMinute);
    Json(r, 200, SubscriptionJson(*s));
}

void GraphSim::Impl::HandleDeleteSubscription(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    SimSubscription* s = BeginSubscription(q, r, t);
    if (!s) return;
    s->removed = true;
    s->stats.dropped += s->queue.size();
    s->queue.clear();
    r.status = 204;
    r.body.clear();
}

void GraphSim::Impl::HandleReauthorize(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    SimSubscription* s = BeginSubscription(q, r, t);
    if (!s) return;
    if (Now() - s->lastPatch < 10 * kMinute) ++deliveryTotals.patchReauthorizeConflicts;
    s->lastReauthorize = Now();
    s->reauthPending = s->paused = false;
    s->nextReauthNotice = std::max(Now() + 15 * kMinute, s->expires - 60 * kMinute);
    r.status = 204;
    r.body.clear();
}

void GraphSim::Impl::HandleJwks(SimRequest&, SimResponse& r) {
    Json(r, 200, {{"keys", json::array({signer.jwk})}});
}

}  // namespace cdeck::sim
