#pragma once
// graphsim internals shared by its source files: the request/response model, the router,
// and GraphSim::Impl. Not a public header.
//
// Threading: cpp-httplib runs handlers on its pool threads. Everything in Impl below the
// `mutex` line is guarded by it; handlers take it for the shortest span that touches the
// tenant. Latency and slow-drip faults are served outside the lock.
#include <httplib.h>

#include "sim/sim_notify.hpp"
#include "sim/tls_cert.hpp"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/graphsim.hpp"
#include "sim/tenant.hpp"
#include "sim/throttle.hpp"

namespace cdeck::sim {

using nlohmann::json;

// A request as the handlers see it, whether it came over HTTPS or inside a $batch.
struct SimRequest {
    std::string method;
    std::string path;                                // percent-decoded, without the query
    std::multimap<std::string, std::string> params;  // decoded; "%24top" arrives as "$top"
    std::map<std::string, std::string> headers;      // lower-case keys
    std::string body;
    std::vector<std::string> m;  // regex captures of the matched route, m[0] is the path
    bool inBatch = false;

    std::string Header(const std::string& lower) const {
        auto it = headers.find(lower);
        return it == headers.end() ? std::string() : it->second;
    }
    bool Has(const std::string& k) const { return params.count(k) > 0; }
    std::string Param(const std::string& k) const {
        auto it = params.find(k);
        return it == params.end() ? std::string() : it->second;
    }
};

enum class FaultKind { kNone, kReset, kTruncate, kMalformed, kDrip };

struct SimResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string contentType = "application/json";
    FaultKind fault = FaultKind::kNone;
    // Optional: redirect
    void SetHeader(const std::string& k, const std::string& v) {
        for (auto& h : headers)
            if (h.first == k) {
                h.second = v;
                return;
            }
        headers.push_back({k, v});
    }
    std::string GetHeader(const std::string& k) const {
        for (const auto& h : headers)
            if (h.first == k) return h.second;
        return {};
    }
};

// Helpers (sim_util.cpp)
std::string Base64Url(const std::string& in);
std::string FromBase64Url(const std::string& in);
std::string RandomHex(size_t bytes);
std::string UuidV4();
std::string HttpDateNow();
std::string Sha256Base64Url(const std::string& in);
std::string UrlDecode(const std::string& s, bool plusIsSpace);
std::multimap<std::string, std::string> ParseQuery(const std::string& q);
std::string UrlEncodeComponent(const std::string& s);

// The lock Serve() holds while a handler runs on this thread (null elsewhere). A handler
// that must wait on the network (the subscription validation handshake) unlocks it for the
// wait and locks it again; it must re-check whatever it read before.
std::unique_lock<std::mutex>*& HeldLock();

// The validation handshake (SERVER.md): POST {url}?validationToken=..., expecting 200,
// text/plain and the decoded token, over HTTPS verified against caFile; loopback only.
// Returns the failure, or empty. Called without the mutex.
std::string ValidateEndpoint(const std::string& url, const std::string& caFile,
                             double timeoutSeconds);
bool ChangeTypeIncludes(const std::string& list, const std::string& type);

struct TokenInfo {
    std::string clientId;
    bool delegated = false;
    int user = -1;
    Millis expiresAt = 0;
    std::vector<std::string> grants;  // delegated scopes or application roles
    bool revoked = false;
};

struct DeviceCodeState {
    std::string deviceCode;
    std::string userCode;
    std::string clientId;
    std::string scope;
    Millis expiresAt = 0;
    int interval = 5;
    Millis lastPoll = 0;
    enum class State { kPending, kApproved, kDeclined } state = State::kPending;
    int user = -1;
    bool redeemed = false;
};

struct AuthCodeState {
    std::string clientId;
    std::string redirectUri;
    std::string challenge;
    std::string scope;
    int user = 0;
    Millis expiresAt = 0;
};

struct PendingAuthorize {
    std::string clientId, redirectUri, state, challenge, scope;
};

struct RefreshState {
    std::string clientId;
    int user = 0;
    std::string scope;
};

struct FaultSettings {
    double rate503 = 0, rate503NoRetryAfter = 0, rate504 = 0, rate500 = 0, rateReset = 0,
           rateTruncate = 0, rateMalformed = 0, rateDrip = 0, rate429NoRetryAfter = 0;
    int scripted = 0;  // the next N requests get `scriptedKind`
    std::string scriptedKind;
    // Drop the response after performing a write (for no-double-post tests).
    int dropAfterWrite = 0;
};

// A timed scenario event: one burst message, a limit change or a fault-setting change.
struct ScheduledEvent {
    double atSeconds = 0;  // from Start()
    enum class Kind { kMessage, kLimits, kFaults } kind = Kind::kMessage;
    int channel = -1;
    double scale = 1.0;
    std::string profile;
    nlohmann::json faults;
};

struct LatencySettings {
    double medianMs = 0;  // 0: none
    double p99Ms = 0;
};

class Router {
  public:
    using Handler = std::function<void(SimRequest&, SimResponse&)>;
    void Add(const std::string& method, const std::string& pattern, Handler h) {
        m_routes.push_back({method, std::regex(pattern), std::move(h)});
    }
    // Returns false when no route matched (the caller answers 404 / 405).
    bool Dispatch(SimRequest& req, SimResponse& res, bool& methodMismatch) const;

  private:
    struct Route {
        std::string method;
        std::regex re;
        Handler h;
    };
    std::vector<Route> m_routes;
};

// The ids a Graph path names, resolved against the tenant (-1 / null: not in the path).
struct Resolved {
    int team = -1;
    int channel = -1;
    SimMessage* root = nullptr;
    SimMessage* reply = nullptr;
};

// HTML-escapes text for graphsim's own pages. graphsim keeps its own escaper on purpose:
// it shares no code with the client (DESIGN.md section 2), whose escaper is in model/.
std::string HtmlEscape(const std::string& s);

struct GraphSim::Impl {
    GraphSimOptions options;
    GraphSimInfo info;
    std::unique_ptr<httplib::SSLServer> server;
    std::thread listener;
    std::string caPem, caKeyPem;  // the CA, kept so that a restart serves the same chain
    std::mutex restartMutex;      // one restart (or stop) at a time
    std::thread restarter;        // runs a restart asked for over the control API
    std::string Listen(const TlsIdentity& tls, int port);  // creates, binds and starts the server
    void StopListening();
    std::string RestartServer(int downMillis);
    std::thread generator;
    Router router;
    std::string epoch;  // changes on every start: delta tokens from an earlier run are unknown

    mutable std::mutex mutex;  // guards everything below
    std::condition_variable cv;
    bool stopping = false;
    bool trafficPaused = false;  // POST /_sim/traffic {"paused": true}: no new arrivals
    Tenant tenant;
    Throttler throttler;
    std::string limitsProfile = "graph-2025";
    bool rateLimitHeaders = true;
    bool autoApprove = false;
    double deltaTokenLifetimeSeconds = 7 * 86400;
    double clockOffsetSeconds = 0;  // /_sim/clock: shifts the simulator's notion of now
    FaultSettings faults;
    LatencySettings latency;
    std::mt19937_64 rng{1};
    std::unordered_map<std::string, TokenInfo> tokens;
    std::unordered_map<std::string, DeviceCodeState> deviceCodes;  // by device_code
    std::unordered_map<std::string, std::string> userCodes;        // user_code -> device_code
    std::unordered_map<std::string, AuthCodeState> authCodes;
    std::unordered_map<std::string, PendingAuthorize> pendingAuthorize;  // by request id
    std::unordered_map<std::string, RefreshState> refreshTokens;
    std::map<std::string, uint64_t> requestsByClass;
    uint64_t requestsTotal = 0;
    uint64_t faultsInjected = 0;
    struct Created {
        std::string id;
        int channel;
        Millis created;
    };
    std::vector<Created> created;          // every message created, in order (ground truth)
    std::vector<ScheduledEvent> schedule;  // sorted by time; consumed by the generator
    size_t scheduleNext = 0;
    Limits baseLimits;  // the profile's limits before scheduled scaling
    std::string LoadSchedule(const json& scenario);  // requires mutex
    void ApplyFaults(const json& b);                 // requires mutex

    // ---- change notifications (sim_subscriptions.cpp, sim_delivery.cpp, sim_crypto.cpp) ----
    SimSigner signer;           // signs validation tokens; read only after Start
    std::string webhookCaFile;  // verifies notification URLs; read only after Start
    std::thread deliverer;
    std::map<std::string, SimSubscription> subscriptions;  // by id
    DeliverySettings delivery;
    std::map<std::string, EndpointHealth> endpoints;  // by notification URL
    DeliveryTotals deliveryTotals;
    struct OutBatch {
        std::string url;
        std::vector<std::pair<std::string, PendingNotification>> items;  // (subscription, n)
        std::string body;
        bool ok = false;
        int status = 0;
        double seconds = 0;
    };
    void HandleCreateSubscription(SimRequest& req, SimResponse& res);
    void HandleListSubscriptions(SimRequest& req, SimResponse& res);
    void HandleGetSubscription(SimRequest& req, SimResponse& res);
    void HandlePatchSubscription(SimRequest& req, SimResponse& res);
    void HandleDeleteSubscription(SimRequest& req, SimResponse& res);
    void HandleReauthorize(SimRequest& req, SimResponse& res);
    void HandleJwks(SimRequest& req, SimResponse& res);
    void HandleSimNotifications(SimRequest& req, SimResponse& res);
    json SubscriptionJson(const SimSubscription& s) const;
    int SubscriptionChannel(const std::string& resource) const;
    std::pair<int, std::string> CheckNewSubscription(const TokenInfo& t, SimSubscription& s,
                                                     const json& body);
    std::pair<int, std::string> CheckSubscriptionQuota(const TokenInfo& t,
                                                       const SimSubscription& s);
    SimSubscription* FindSubscription(SimRequest& req, SimResponse& res, const TokenInfo& t);
    // The preamble of every /subscriptions/{id} handler: count, authenticate, find (the
    // caller's own, live); null when the error is written.
    SimSubscription* BeginSubscription(SimRequest& req, SimResponse& res, TokenInfo& t);
    // /_sim/faults {"lifecycle": {"event": .., "subscription": id or "*"}}. Requires mutex.
    std::string TriggerLifecycle(const json& spec);
    void DeliveryLoop();
    double SampleDeliveryMs();
    void CollectChanges(Millis now);
    json NotificationFor(const SimSubscription& s, const SimChangeEvent& e);
    void QueueLifecycle(SimSubscription& s, const std::string& event, Millis now);
    void LifecycleDue(Millis now);
    std::string ValidationToken(const std::string& appId, Millis now) const;
    std::vector<OutBatch> TakeDueBatches(Millis now);
    std::string BatchBody(const OutBatch& b, Millis now);
    void Forge(json& body, const std::string& kind, Millis now);
    void Send(OutBatch& b) const;  // without the mutex
    void Settle(OutBatch& b, Millis now);
    void NoteLatency(double ms);
    void UpdateHealth(EndpointHealth& h, Millis now, double slow, double drop, Millis window);
    json NotificationStats() const;

    // ---- graphsim.cpp ----
    Millis Now() const;  // wall clock plus the simulated offset
    double NowSeconds() const { return static_cast<double>(Now()) / 1000.0; }
    void RegisterRoutes();
    void Serve(const httplib::Request& in, httplib::Response& out);
    void Execute(SimRequest& req, SimResponse& res);  // auth-free dispatch with throttling
    std::string Stats() const;
    void GeneratorLoop();
    void NoteCreated(int channel, const SimMessage& m) {
        created.push_back({m.id, channel, m.created});
    }
    std::optional<FaultKind> PickFault(SimResponse& res);
    double SampleLatencyMs();

    // ---- responses ----
    static void Json(SimResponse& res, int status, const json& body);
    static void GraphError(const SimRequest& req, SimResponse& res, int status,
                           const std::string& code, const std::string& message);
    static void OAuthError(SimResponse& res, int status, const std::string& error,
                           const std::string& desc);

    // ---- auth (sim_identity.cpp) ----
    // Validates the bearer token; writes 401 and returns nullopt when invalid. Requires mutex.
    std::optional<TokenInfo> Authenticate(const SimRequest& req, SimResponse& res);
    // Checks that the token carries one of `any`; writes 403 and returns false otherwise.
    bool Require(const SimRequest& req, SimResponse& res, const TokenInfo& t,
                 std::initializer_list<const char*> any);
    // Charges the throttler; writes the 429 (Graph's body, Retry-After) and returns false
    // when refused. Adds RateLimit-* headers above 80% usage. Requires mutex.
    bool Admit(const SimRequest& req, SimResponse& res, const TokenInfo& t, RequestClass cls,
               const std::string& teamId, const std::string& channelId);
    void HandleToken(SimRequest& req, SimResponse& res);
    void HandleDeviceCode(SimRequest& req, SimResponse& res);
    void HandleAuthorize(SimRequest& req, SimResponse& res);
    void HandleAuthorizeDecision(SimRequest& req, SimResponse& res);
    void HandleOpenIdConfig(SimRequest& req, SimResponse& res);
    void HandleApproveDeviceCode(SimRequest& req, SimResponse& res);
    json IssueTokens(const SimApp& app, bool delegated, int user, const std::string& scope,
                     bool withRefresh);
    const SimApp* FindApp(const std::string& clientId) const;

    // ---- control (sim_control.cpp): the route table, /_sim/*, the device login page ----
    void HandleDeviceLoginPage(SimRequest& req, SimResponse& res);
    void HandleDeviceLoginSubmit(SimRequest& req, SimResponse& res);
    void HandleSimLimits(SimRequest& req, SimResponse& res);
    void HandleSimFaults(SimRequest& req, SimResponse& res);
    void HandleSimClock(SimRequest& req, SimResponse& res);
    void HandleSimRestart(SimRequest& req, SimResponse& res);
    void HandleSimTraffic(SimRequest& req, SimResponse& res);
    void HandleSimRevokeTokens(SimRequest& req, SimResponse& res);

    // ---- Graph routes (sim_routes.cpp): the table and the preamble every handler runs ----
    // Who may call an endpoint and what it costs: the request class, how many ids of the
    // path to resolve (1 team .. 4 reply), and the delegated scopes or application roles
    // that allow it (any one of them).
    struct Access {
        RequestClass cls = RequestClass::kOther;
        int depth = 0;
        std::initializer_list<const char*> delegatedScopes;
        std::initializer_list<const char*> appRoles;
    };
    void RegisterGraphRoutes();
    // Authenticates, checks the permission, resolves the path and charges the throttler;
    // false when it has written the error (401, 403, 404 or 429). Requires mutex.
    bool Begin(SimRequest& req, SimResponse& res, const Access& access, TokenInfo& tok,
               Resolved& r);
    bool ResolvePath(const SimRequest& req, SimResponse& res, int depth, Resolved& r);
    // $top in 1..max (def when absent); -1: a 400 was written.
    int TopParam(const SimRequest& req, SimResponse& res, int def, int max = 50);
    static bool UnknownEnums(const SimRequest& req);  // Prefer: include-unknown-enum-members
    // An absolute https:// link to `path` with `params` ($ names sent as %24).
    std::string Link(const std::string& path,
                     const std::vector<std::pair<std::string, std::string>>& params) const;

    // ---- directory (sim_directory.cpp) ----
    json TeamList(const std::vector<int>& which) const;
    std::vector<int> TeamsOf(int user) const;
    void HandleMyJoinedTeams(SimRequest& req, SimResponse& res);
    void HandleUserJoinedTeams(SimRequest& req, SimResponse& res);
    void HandleListTeams(SimRequest& req, SimResponse& res);
    void HandleListUsers(SimRequest& req, SimResponse& res);
    void HandleListChannels(SimRequest& req, SimResponse& res);
    void HandleListTeamMembers(SimRequest& req, SimResponse& res);

    // ---- delta (sim_delta.cpp) ----
    struct DeltaPage {
        int channel = -1;
        int top = 20;
        Millis now = 0;
        bool unknownEnums = false;
        std::string path;                // the delta URL's path, for links
        std::vector<std::string> parts;  // the round's cursor (see sim_delta.cpp)
    };
    void HandleDelta(SimRequest& req, SimResponse& res);
    // The cursor from the request's token, or a new first round; false: error written.
    bool DeltaCursor(const SimRequest& req, SimResponse& res, DeltaPage& page);
    void DeltaFirstRound(DeltaPage& page, json& value, json& body) const;
    void DeltaChanges(DeltaPage& page, json& value, json& body);
    std::string DeltaLinkFor(const DeltaPage& page, uint64_t seq) const;

    // ---- messages (sim_messages.cpp) ----
    void HandleListMessages(SimRequest& req, SimResponse& res);
    void HandlePostMessage(SimRequest& req, SimResponse& res);
    void HandlePostReply(SimRequest& req, SimResponse& res);
    void PostMessage(SimRequest& req, SimResponse& res, bool reply);
    // Reads a body's mentions into m; with checkTags, each needs its <at id> in the HTML.
    // Returns the error text, or empty.
    std::string ReadMentions(const json& body, SimMessage& m, bool checkTags) const;
    void HandleGetMessage(SimRequest& req, SimResponse& res);
    void HandleListReplies(SimRequest& req, SimResponse& res);
    void HandleGetReply(SimRequest& req, SimResponse& res);
    void HandlePatchMessage(SimRequest& req, SimResponse& res);
    void HandlePatchReply(SimRequest& req, SimResponse& res);
    void Patch(SimRequest& req, SimResponse& res, int depth);
    // What a PATCH may change, by who sends it; "403 ..." or "400 ..." when refused.
    std::string PatchAsApp(const json& body, SimMessage& m);
    std::string PatchAsSender(const json& body, SimMessage& m, const TokenInfo& t);
    void HandleSoftDeleteMessage(SimRequest& req, SimResponse& res);
    void HandleUndoDeleteMessage(SimRequest& req, SimResponse& res);
    void HandleSoftDeleteReply(SimRequest& req, SimResponse& res);
    void HandleUndoDeleteReply(SimRequest& req, SimResponse& res);
    void SoftDelete(SimRequest& req, SimResponse& res, int depth, bool undo);
    void HandleBatch(SimRequest& req, SimResponse& res);
    json BatchItem(const SimRequest& req, const SimResponse& res, const json& item,
                   std::unordered_map<std::string, int>& statusById);
};

// Ids in links are sent as Graph sends them (':' and '@' escaped).
std::string EncodeId(const std::string& id);
// The @odata.context of a channel's collection or entity.
std::string ODataContext(const Tenant& t, const SimChannel& c, const std::string& tail);

}  // namespace cdeck::sim
