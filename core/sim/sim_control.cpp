// graphsim's top-level route table (identity, the device login page, the /_sim control
// API, then the Graph routes of sim_routes.cpp) and the control handlers: limits, faults,
// the simulated clock, a restart, token revocation, and the ground-truth statistics.
#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {
// The throttling limits by their JSON names, as /_sim/limits takes them and the statistics
// report them.
const std::pair<const char*, double Limits::*> kLimitFields[] = {
    {"app", &Limits::app},
    {"get_message", &Limits::getMessage},
    {"post_message", &Limits::postMessage},
    {"get_channels", &Limits::getChannels},
    {"get_teams", &Limits::getTeams},
    {"other", &Limits::other},
    {"per_team", &Limits::perTeam},
    {"per_channel", &Limits::perChannel}};
}  // namespace

void GraphSim::Impl::RegisterRoutes() {
    using Handler = void (Impl::*)(SimRequest&, SimResponse&);
    const std::pair<const char*, std::pair<const char*, Handler>> routes[] = {
        // Identity (sim_identity.cpp)
        {"POST", {R"(/([^/]+)/oauth2/v2\.0/token)", &Impl::HandleToken}},
        {"POST", {R"(/([^/]+)/oauth2/v2\.0/devicecode)", &Impl::HandleDeviceCode}},
        {"GET", {R"(/([^/]+)/oauth2/v2\.0/authorize)", &Impl::HandleAuthorize}},
        {"POST", {R"(/([^/]+)/oauth2/v2\.0/authorize/decision)", &Impl::HandleAuthorizeDecision}},
        {"GET", {R"(/([^/]+)/v2\.0/\.well-known/openid-configuration)", &Impl::HandleOpenIdConfig}},
        // The device login page a person opens (verification_uri): enter the code, approve.
        {"GET", {"/devicelogin", &Impl::HandleDeviceLoginPage}},
        {"POST", {"/devicelogin", &Impl::HandleDeviceLoginSubmit}},
        // Control
        {"POST", {"/_sim/devicecode/approve", &Impl::HandleApproveDeviceCode}},
        {"POST", {"/_sim/limits", &Impl::HandleSimLimits}},
        {"POST", {"/_sim/faults", &Impl::HandleSimFaults}},
        {"POST", {"/_sim/clock", &Impl::HandleSimClock}},
        {"POST", {"/_sim/restart", &Impl::HandleSimRestart}},
        {"POST", {"/_sim/traffic", &Impl::HandleSimTraffic}},
        {"POST", {"/_sim/tokens/revoke", &Impl::HandleSimRevokeTokens}},
        {"POST", {"/_sim/notifications", &Impl::HandleSimNotifications}},
        {"GET", {R"(/([^/]+)/discovery/v2\.0/keys)", &Impl::HandleJwks}},
    };
    for (const auto& [method, route] : routes)
        router.Add(method, route.first,
                   [this, h = route.second](SimRequest& q, SimResponse& r) { (this->*h)(q, r); });
    RegisterGraphRoutes();
}

void GraphSim::Impl::HandleDeviceLoginPage(SimRequest&, SimResponse& r) {
    r.status = 200;
    r.contentType = "text/html; charset=utf-8";
    // graphsim escapes with its own helper: it shares no code with the client.
    r.body = "<!doctype html><title>graphsim device login</title><h1>Sign in to " +
             HtmlEscape(tenant.tenantName) +
             " (graphsim)</h1><form method=post action=/devicelogin><label>Code <input "
             "name=user_code></label> "
             "<button name=decision value=approve>Approve</button> <button name=decision "
             "value=decline>Decline"
             "</button></form>";
}

void GraphSim::Impl::HandleDeviceLoginSubmit(SimRequest& q, SimResponse& r) {
    auto uc = userCodes.find(q.Param("user_code"));
    r.contentType = "text/html; charset=utf-8";
    if (uc == userCodes.end()) {
        r.status = 400;
        r.body = "<!doctype html><p>That code is not valid. Check it and try again.</p>";
        return;
    }
    DeviceCodeState& dc = deviceCodes[uc->second];
    dc.user = tenant.defaultUser;
    dc.state = q.Param("decision") == "approve" ? DeviceCodeState::State::kApproved
                                                : DeviceCodeState::State::kDeclined;
    r.status = 200;
    r.body = "<!doctype html><p>Done. You can return to the app.</p>";
}

void GraphSim::Impl::HandleSimLimits(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object()) return GraphError(q, r, 400, "BadRequest", "expected a JSON object");
    Limits l = throttler.GetLimits();
    if (b.contains("profile")) {
        std::string p = b["profile"].is_string() ? b["profile"].get<std::string>() : "";
        if (p == "graph-2025")
            l = Limits::Graph2025();
        else if (p == "graph-strict")
            l = Limits::GraphStrict();
        else
            return GraphError(q, r, 400, "BadRequest", "unknown profile");
        limitsProfile = p;
    }
    if (b.contains("scale")) {
        if (!b["scale"].is_number() || b["scale"].get<double>() <= 0)
            return GraphError(q, r, 400, "BadRequest", "scale must be a positive number");
        l = l.Scaled(b["scale"].get<double>());
    }
    if (b.contains("limits") && b["limits"].is_object()) {
        const json& x = b["limits"];
        for (const auto& [name, field] : kLimitFields) l.*field = x.value(name, l.*field);
    }
    throttler.SetLimits(l);
    Json(
        r, 200,
        {{"profile", limitsProfile}, {"get_message", l.getMessage}, {"per_channel", l.perChannel}});
}

void GraphSim::Impl::HandleSimFaults(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object()) return GraphError(q, r, 400, "BadRequest", "expected a JSON object");
    if (b.contains("lifecycle")) {
        if (std::string err = TriggerLifecycle(b["lifecycle"]); !err.empty())
            return GraphError(q, r, 400, "BadRequest", err);
        if (b.size() == 1) return Json(r, 200, {{"ok", true}});
    }
    ApplyFaults(b);
    Json(r, 200, {{"ok", true}});
}

std::string GraphSim::Impl::TriggerLifecycle(const json& spec) {
    if (!spec.is_object() || !spec.contains("event") || !spec["event"].is_string())
        return "lifecycle needs {\"event\": \"reauthorizationRequired\" | "
               "\"subscriptionRemoved\", \"subscription\": id or \"*\"}";
    std::string event = spec["event"], which = spec.value("subscription", std::string("*"));
    if (event != "reauthorizationRequired" && event != "subscriptionRemoved")
        return "unknown lifecycle event '" + event + "'";
    int n = 0;
    for (auto& [id, s] : subscriptions) {
        if (s.removed || (which != "*" && which != id)) continue;
        if (event == "reauthorizationRequired") {
            if (s.reauthPending) s.paused = true;
            s.reauthPending = true;
        } else {
            s.removed = true;
            s.stats.dropped += s.queue.size();
            s.queue.clear();
        }
        QueueLifecycle(s, event, Now());
        ++n;
    }
    return n ? std::string() : "no active subscription matches '" + which + "'";
}

// The delivery model: latency, duplicates, loss, reordering, the time scale of Graph's
// thresholds, the tenant cap, the token version, and one-shot forgeries.
void GraphSim::Impl::HandleSimNotifications(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object()) return GraphError(q, r, 400, "BadRequest", "expected a JSON object");
    DeliverySettings d = delivery;
    try {
        d.latencyMedianMs = b.value("latency_median_ms", d.latencyMedianMs);
        d.latencyMaxMs = b.value("latency_max_ms", d.latencyMaxMs);
        d.duplicateRate = b.value("duplicate_rate", d.duplicateRate);
        d.lossRate = b.value("loss_rate", d.lossRate);
        d.reorderRate = b.value("reorder_rate", d.reorderRate);
        d.timeScale = b.value("time_scale", d.timeScale);
        d.maxBatch = b.value("max_batch", d.maxBatch);
        d.tenantCap = b.value("tenant_cap", d.tenantCap);
        d.jwtVersion = b.value("jwt_version", d.jwtVersion);
        d.forge = b.value("forge", d.forge);
        d.forgeCount = b.value("forge_count", b.contains("forge") ? 1 : d.forgeCount);
    } catch (const json::exception& e) {
        return GraphError(q, r, 400, "BadRequest", std::string("bad setting: ") + e.what());
    }
    if (d.latencyMedianMs < 0 || d.latencyMaxMs < d.latencyMedianMs || d.timeScale <= 0 ||
        d.maxBatch < 1 || d.duplicateRate < 0 || d.lossRate < 0 || d.reorderRate < 0 ||
        (d.jwtVersion != 1 && d.jwtVersion != 2))
        return GraphError(q, r, 400, "BadRequest", "a delivery setting is out of range");
    delivery = d;
    Json(r, 200, {{"latency_median_ms", d.latencyMedianMs}, {"time_scale", d.timeScale}});
}

void GraphSim::Impl::HandleSimClock(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object() || !b.contains("offset_seconds") || !b["offset_seconds"].is_number())
        return GraphError(q, r, 400, "BadRequest", "expected {\"offset_seconds\": N}");
    clockOffsetSeconds = b["offset_seconds"].get<double>();
    Json(r, 200, {{"offset_seconds", clockOffsetSeconds}});
}

// Pauses or resumes the live message generator (tests that compare the tenant with what a
// client stored need the tenant to stand still at the end).
void GraphSim::Impl::HandleSimTraffic(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body, nullptr, false);
    if (!b.is_object() || !b.contains("paused") || !b["paused"].is_boolean())
        return GraphError(q, r, 400, "BadRequest", "expected {\"paused\": true|false}");
    trafficPaused = b["paused"].get<bool>();
    Json(r, 200, {{"paused", trafficPaused}});
}

void GraphSim::Impl::HandleSimRestart(SimRequest& q, SimResponse& r) {
    json b = json::parse(q.body.empty() ? "{}" : q.body, nullptr, false);
    if (!b.is_object() || (b.contains("down_ms") && !b["down_ms"].is_number_integer()))
        return GraphError(q, r, 400, "BadRequest", "expected {\"down_ms\": N}");
    int down = b.value("down_ms", 1000);
    // After this answer: the server cannot stop from inside one of its own handlers.
    {
        std::lock_guard lock(restartMutex);
        if (restarter.joinable()) restarter.join();  // the previous one has finished
        restarter = std::thread([this, down] {
            if (std::string err = RestartServer(down); !err.empty())
                std::fprintf(stderr, "graphsim: restart failed: %s\n", err.c_str());
        });
    }
    Json(r, 202, {{"restarting", true}, {"down_ms", down}});
}

void GraphSim::Impl::HandleSimRevokeTokens(SimRequest&, SimResponse& r) {
    for (auto& [k, t] : tokens) t.revoked = true;
    refreshTokens.clear();
    Json(r, 200, {{"revoked", tokens.size()}});
}

void GraphSim::Impl::ApplyFaults(const json& b) {
    FaultSettings f;
    f.rate503 = b.value("rate_503", 0.0);
    f.rate503NoRetryAfter = b.value("rate_503_no_retry_after", 0.0);
    f.rate504 = b.value("rate_504", 0.0);
    f.rate500 = b.value("rate_500", 0.0);
    f.rateReset = b.value("rate_reset", 0.0);
    f.rateTruncate = b.value("rate_truncate", 0.0);
    f.rateMalformed = b.value("rate_malformed", 0.0);
    f.rateDrip = b.value("rate_drip", 0.0);
    f.rate429NoRetryAfter = b.value("rate_429_no_retry_after", 0.0);
    f.scripted = b.value("next_count", 0);
    f.scriptedKind = b.value("next_kind", std::string());
    f.dropAfterWrite = b.value("drop_response_after_write", 0);
    faults = f;
    if (b.contains("latency_median_ms")) latency.medianMs = b["latency_median_ms"].get<double>();
    if (b.contains("latency_p99_ms")) latency.p99Ms = b["latency_p99_ms"].get<double>();
}

std::string GraphSim::Impl::Stats() const {
    std::lock_guard lock(mutex);
    json j;
    j["messages_created"] = tenant.messagesCreated;
    json msgs = json::array();
    for (const auto& c : created)
        msgs.push_back({{"id", c.id},
                        {"channelId", tenant.channels[c.channel].id},
                        {"createdDateTime", SimIso(c.created)}});
    j["messages"] = std::move(msgs);
    j["requests_total"] = requestsTotal;
    j["requests"] = requestsByClass;
    j["faults_injected"] = faultsInjected;
    j["limits_profile"] = limitsProfile;
    const Limits& lim = throttler.GetLimits();
    for (const auto& [name, field] : kLimitFields) j["limits"][name] = lim.*field;
    json scopes = json::object();
    for (const auto& [k, s] : throttler.Stats())
        scopes[k] = {{"requests", s.requests},
                     {"throttled", s.throttled},
                     {"penalties", s.penalties},
                     {"gated_seconds", s.gatedSeconds}};
    j["scopes"] = std::move(scopes);
    j["throttled_total"] = throttler.TotalThrottled();
    j["penalties_total"] = throttler.TotalPenalties();
    json ch = json::array();
    for (const auto& c : tenant.channels) {
        size_t replies = 0, deleted = 0;
        for (const auto& r : c.roots) {
            replies += r.replies.size();
            deleted += r.deleted.has_value();
        }
        ch.push_back({{"id", c.id},
                      {"teamId", tenant.teams[c.team].id},
                      {"displayName", c.displayName},
                      {"roots", c.roots.size()},
                      {"replies", replies},
                      {"deleted_roots", deleted},
                      {"weight", c.weight}});
    }
    j["channels"] = std::move(ch);
    j["notifications"] = NotificationStats();
    return j.dump();
}

}  // namespace cdeck::sim
