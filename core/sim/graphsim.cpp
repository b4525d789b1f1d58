#include "sim/graphsim.hpp"

#include <httplib.h>
#include <openssl/rand.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "sim/tenant.hpp"
#include "sim/tls_cert.hpp"

namespace cdeck::sim {

using nlohmann::json;

namespace {

constexpr const char* kJsonType =
    "application/"
    "json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

std::string Base64Url(const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    while (i + 2 < in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
        out += k[v & 63];
        i += 3;
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint8_t(in[i]) << 16;
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
    } else if (i + 2 == in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
    }
    return out;
}

std::string FromBase64Url(const std::string& in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '-') return 62;
        if (c == '_') return 63;
        return -1;
    };
    std::string out;
    uint32_t buf = 0;
    int bits = 0;
    for (char c : in) {
        int v = val(c);
        if (v < 0) return {};
        buf = (buf << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}

std::string RandomHex(size_t bytes) {
    std::string raw(bytes, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

std::string HttpDateNow() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string UuidV4() {
    std::string h = RandomHex(16);
    h[12] = '4';
    h[16] = "89ab"[std::strtol(h.substr(16, 1).c_str(), nullptr, 16) & 3];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

struct TokenInfo {
    std::string clientId;
    bool delegated = false;
    int user = -1;
    Millis expiresAt = 0;
    std::vector<std::string> roles;
};

}  // namespace

struct GraphSim::Impl {
    GraphSimOptions options;
    GraphSimInfo info;
    std::unique_ptr<httplib::SSLServer> server;
    std::thread listener;
    std::thread generator;

    mutable std::mutex mutex;  // guards tenant, tokens, stats, stopping
    std::condition_variable cv;
    bool stopping = false;
    Tenant tenant;
    std::unordered_map<std::string, TokenInfo> tokens;
    std::map<std::string, uint64_t> requestsByClass;
    std::map<int, uint64_t> responsesByStatus;
    struct Created {
        std::string id;
        int channel;
        Millis created;
    };
    std::vector<Created> recentCreated;  // ring of the newest 2000

    // ---- helpers (call with mutex held unless noted) ----
    void NoteCreated(int channel, const SimMessage& m) {
        if (recentCreated.size() >= 2000)
            recentCreated.erase(recentCreated.begin(), recentCreated.begin() + 1000);
        recentCreated.push_back({m.id, channel, m.created});
    }

    static void Common(const httplib::Request& req, httplib::Response& res) {
        res.set_header("request-id", UuidV4());
        if (req.has_header("client-request-id"))
            res.set_header("client-request-id", req.get_header_value("client-request-id"));
        res.set_header("Date", HttpDateNow());
        res.set_header("Cache-Control", "no-store");
    }

    static void SendJson(httplib::Response& res, int status, const json& body) {
        res.status = status;
        res.set_content(body.dump(), kJsonType);
    }

    static void GraphError(const httplib::Request& req, httplib::Response& res, int status,
                           const std::string& code, const std::string& message) {
        json body = {{"error",
                      {{"code", code},
                       {"message", message},
                       {"innerError",
                        {{"date", SimIso(SimNowMillis()).substr(0, 19)},
                         {"request-id", res.get_header_value("request-id")},
                         {"client-request-id", req.get_header_value("client-request-id")}}}}}};
        SendJson(res, status, body);
    }

    void Count(const std::string& cls) {
        std::lock_guard lock(mutex);
        requestsByClass[cls]++;
    }

    // Validates the bearer token. Returns nullopt after writing the 401 when invalid.
    std::optional<TokenInfo> Authenticate(const httplib::Request& req, httplib::Response& res) {
        std::string auth = req.get_header_value("Authorization");
        if (auth.rfind("Bearer ", 0) != 0) {
            GraphError(req, res, 401, "InvalidAuthenticationToken", "Access token is empty.");
            return std::nullopt;
        }
        std::string tok = auth.substr(7);
        std::lock_guard lock(mutex);
        auto it = tokens.find(tok);
        if (it == tokens.end()) {
            GraphError(req, res, 401, "InvalidAuthenticationToken",
                       "IDX14100: JWT is not well formed.");
            return std::nullopt;
        }
        if (it->second.expiresAt <= SimNowMillis()) {
            GraphError(req, res, 401, "InvalidAuthenticationToken",
                       "Lifetime validation failed, the token is expired.");
            return std::nullopt;
        }
        return it->second;
    }

    std::string IssueToken(const SimApp& app, bool delegated, int user, json& out) {
        Millis now = SimNowMillis();
        double lifetime = options.tokenLifetimeSeconds > 0 ? options.tokenLifetimeSeconds
                                                           : tenant.tokenLifetimeSeconds;
        json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "graphsim"}};
        json payload = {{"aud", "https://graph.microsoft.com"},
                        {"iss", "https://sts.windows.net/" + tenant.tenantId + "/"},
                        {"iat", now / 1000},
                        {"exp", now / 1000 + static_cast<Millis>(lifetime)},
                        {"appid", app.clientId},
                        {"tid", tenant.tenantId},
                        {"jti", RandomHex(8)}};
        if (!delegated) payload["roles"] = app.permissions;
        std::string token = Base64Url(header.dump()) + "." + Base64Url(payload.dump()) + "." +
                            Base64Url(RandomHex(32));
        TokenInfo ti;
        ti.clientId = app.clientId;
        ti.delegated = delegated;
        ti.user = user;
        ti.expiresAt = now + static_cast<Millis>(lifetime * 1000);
        ti.roles = delegated ? app.delegated : app.permissions;
        tokens[token] = ti;
        out = {{"token_type", "Bearer"},
               {"scope", delegated ? json(nullptr) : json("https://graph.microsoft.com/.default")},
               {"expires_in", static_cast<long long>(lifetime)},
               {"ext_expires_in", static_cast<long long>(lifetime)},
               {"access_token", token}};
        if (!delegated) out.erase("scope");
        return token;
    }

    static void OAuthError(httplib::Response& res, int status, const std::string& error,
                           const std::string& desc) {
        json body = {{"error", error},
                     {"error_description", desc},
                     {"error_codes", json::array({7000215})},
                     {"timestamp", SimIso(SimNowMillis())},
                     {"trace_id", UuidV4()},
                     {"correlation_id", UuidV4()}};
        res.status = status;
        res.set_content(body.dump(), "application/json; charset=utf-8");
    }

    void HandleToken(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("token");
        std::string tenantSeg = req.matches[1];
        std::string grant = req.get_param_value("grant_type");
        std::lock_guard lock(mutex);
        if (tenantSeg != tenant.tenantId && tenantSeg != "common" && tenantSeg != "organizations") {
            OAuthError(res, 400, "invalid_request",
                       "AADSTS90002: Tenant '" + tenantSeg + "' not found.");
            return;
        }
        const SimApp* app = nullptr;
        std::string clientId = req.get_param_value("client_id");
        for (const auto& a : tenant.apps)
            if (a.clientId == clientId) app = &a;
        if (!app) {
            OAuthError(res, 400, "unauthorized_client",
                       "AADSTS700016: Application with identifier '" + clientId +
                           "' was not found in the directory.");
            return;
        }
        if (grant == "client_credentials") {
            if (req.get_param_value("client_secret") != app->clientSecret) {
                OAuthError(res, 401, "invalid_client",
                           "AADSTS7000215: Invalid client secret provided.");
                return;
            }
            std::string scope = req.get_param_value("scope");
            if (!std::string_view(scope).ends_with("/.default")) {
                OAuthError(
                    res, 400, "invalid_scope",
                    "AADSTS1002012: The provided value for scope is not valid. Client credential "
                    "flows must "
                    "have a scope value with /.default suffixed to the resource identifier.");
                return;
            }
            json out;
            IssueToken(*app, false, -1, out);
            SendJson(res, 200, out);
            return;
        }
        OAuthError(res, 400, "unsupported_grant_type",
                   "AADSTS70003: The app requested an unsupported grant type '" + grant + "'.");
    }

    int ParseTop(const httplib::Request& req, httplib::Response& res, int def) {
        if (!req.has_param("$top")) return def;
        const std::string v = req.get_param_value("$top");
        char* end = nullptr;
        long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || n < 1 || n > 50) {
            GraphError(
                req, res, 400, "BadRequest",
                "Invalid page size specified: '" + v + "'. Must be between 1 and 50 inclusive.");
            return -1;
        }
        return static_cast<int>(n);
    }

    std::string NextLink(const httplib::Request& req, const std::string& cursor) {
        std::string link = info.graphUrl + req.path.substr(5);  // strip "/v1.0"
        // Re-encode the path segments that carry ids with reserved characters.
        std::string encoded;
        for (char c : link.substr(info.graphUrl.size())) {
            if (c == ':')
                encoded += "%3A";
            else if (c == '@')
                encoded += "%40";
            else
                encoded += c;
        }
        link = info.graphUrl + encoded + "?";
        for (const auto& [k, v] : req.params) {
            if (k == "$skiptoken") continue;
            link += (k[0] == '$' ? "%24" + k.substr(1) : k) + "=" + v + "&";
        }
        link += "%24skiptoken=" + Base64Url("gs1|" + cursor);
        return link;
    }

    void HandleJoinedTeams(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("team");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        if (!tok->delegated) {
            GraphError(req, res, 400, "BadRequest",
                       "/me request is only valid with delegated authentication flow.");
            return;
        }
        std::lock_guard lock(mutex);
        json arr = json::array();
        for (const auto& t : tenant.teams)
            if (std::find(t.members.begin(), t.members.end(), tok->user) != t.members.end())
                arr.push_back(TeamJson(tenant, t));
        SendJson(res, 200,
                 {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams"},
                  {"@odata.count", arr.size()},
                  {"value", arr}});
    }

    void HandleAllTeams(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("team");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        if (!tok->delegated &&
            !HasRole(*tok, {"Team.ReadBasic.All", "TeamSettings.Read.All", "Directory.Read.All"})) {
            GraphError(req, res, 403, "Forbidden", "Missing role permissions on the request.");
            return;
        }
        std::lock_guard lock(mutex);
        json arr = json::array();
        for (const auto& t : tenant.teams) arr.push_back(TeamJson(tenant, t));
        SendJson(res, 200,
                 {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams"},
                  {"@odata.count", arr.size()},
                  {"value", arr}});
    }

    static bool HasRole(const TokenInfo& t, std::initializer_list<const char*> any) {
        for (const char* r : any)
            if (std::find(t.roles.begin(), t.roles.end(), r) != t.roles.end()) return true;
        return false;
    }

    // Resolves team and channel from the path; writes a 404 when either is unknown.
    int ResolveChannel(const httplib::Request& req, httplib::Response& res) {
        auto t = tenant.teamById.find(req.matches[1]);
        if (t == tenant.teamById.end()) {
            GraphError(req, res, 404, "NotFound",
                       "No team found with Group Id " + std::string(req.matches[1]));
            return -1;
        }
        if (req.matches.size() < 3) return -2;
        auto c = tenant.channelById.find(req.matches[2]);
        if (c == tenant.channelById.end() || tenant.channels[c->second].team != t->second) {
            GraphError(req, res, 404, "NotFound", "Channel not found.");
            return -1;
        }
        return c->second;
    }

    void HandleChannels(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("channels");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        std::lock_guard lock(mutex);
        auto t = tenant.teamById.find(req.matches[1]);
        if (t == tenant.teamById.end()) {
            GraphError(req, res, 404, "NotFound",
                       "No team found with Group Id " + std::string(req.matches[1]));
            return;
        }
        json arr = json::array();
        for (int ci : tenant.teams[t->second].channels)
            arr.push_back(ChannelJson(tenant, tenant.channels[ci]));
        SendJson(res, 200,
                 {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams('" +
                                         tenant.teams[t->second].id + "')/channels"},
                  {"@odata.count", arr.size()},
                  {"value", arr}});
    }

    void HandleListMessages(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("get_message");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        int top = ParseTop(req, res, 20);
        if (top < 0) return;
        bool expand = req.get_param_value("$expand") == "replies";
        if (req.has_param("$expand") && !expand) {
            GraphError(req, res, 400, "BadRequest", "Only $expand=replies is supported.");
            return;
        }
        std::lock_guard lock(mutex);
        int ci = ResolveChannel(req, res);
        if (ci < 0) return;
        const SimChannel& c = tenant.channels[ci];
        // Newest first. The skiptoken holds the id of the last message already returned.
        size_t end = c.roots.size();
        if (req.has_param("$skiptoken")) {
            std::string cur = FromBase64Url(req.get_param_value("$skiptoken"));
            if (cur.rfind("gs1|", 0) != 0) {
                GraphError(req, res, 400, "BadRequest", "Invalid skip token.");
                return;
            }
            long long after = std::atoll(cur.c_str() + 4);
            auto it = std::lower_bound(
                c.roots.begin(), c.roots.end(), after,
                [](const SimMessage& m, long long v) { return std::atoll(m.id.c_str()) < v; });
            end = static_cast<size_t>(it - c.roots.begin());
        }
        json arr = json::array();
        size_t begin = end > static_cast<size_t>(top) ? end - top : 0;
        for (size_t k = end; k > begin; --k)
            arr.push_back(MessageJson(tenant, c, c.roots[k - 1], expand, false));
        json body = {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams('" +
                                            tenant.teams[c.team].id + "')/channels('" + c.id +
                                            "')/messages"},
                     {"@odata.count", c.roots.size()}};
        if (begin > 0) body["@odata.nextLink"] = NextLink(req, c.roots[begin].id);
        body["value"] = std::move(arr);
        SendJson(res, 200, body);
    }

    void HandleGetMessage(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("get_message");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        std::lock_guard lock(mutex);
        int ci = ResolveChannel(req, res);
        if (ci < 0) return;
        SimMessage* m = tenant.FindRoot(ci, req.matches[3]);
        if (!m) {
            GraphError(req, res, 404, "NotFound", "Message not found.");
            return;
        }
        SendJson(res, 200, MessageJson(tenant, tenant.channels[ci], *m, false, false));
    }

    void HandlePostMessage(const httplib::Request& req, httplib::Response& res) {
        Common(req, res);
        Count("post_message");
        auto tok = Authenticate(req, res);
        if (!tok) return;
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("body") ||
            !body["body"].is_object() || !body["body"].contains("content") ||
            !body["body"]["content"].is_string()) {
            GraphError(req, res, 400, "BadRequest",
                       "Invalid request body: body.content is required.");
            return;
        }
        if (!tok->delegated && !HasRole(*tok, {"Teamwork.Migrate.All", "ChannelMessage.Send"})) {
            GraphError(req, res, 403, "Forbidden", "Missing role permissions on the request.");
            return;
        }
        std::lock_guard lock(mutex);
        int ci = ResolveChannel(req, res);
        if (ci < 0) return;
        SimMessage m;
        m.created = m.modified = SimNowMillis();
        std::string ct = body["body"].value("contentType", std::string("text"));
        std::string content = body["body"]["content"].get<std::string>();
        if (ct == "html") {
            m.html = content;
        } else {
            // Text bodies are stored escaped so that they read back as literal text.
            for (char ch : content) {
                if (ch == '<')
                    m.html += "&lt;";
                else if (ch == '>')
                    m.html += "&gt;";
                else if (ch == '&')
                    m.html += "&amp;";
                else
                    m.html += ch;
            }
        }
        if (body.contains("subject") && body["subject"].is_string()) m.subject = body["subject"];
        if (body.contains("importance") && body["importance"].is_string()) {
            std::string imp = body["importance"];
            if (imp != "normal" && imp != "high" && imp != "urgent") {
                GraphError(req, res, 400, "BadRequest", "Invalid importance value.");
                return;
            }
            m.importance = imp;
        }
        m.user = tok->delegated ? tok->user : -1;
        m.appId = tok->clientId;
        SimMessage& stored = tenant.AddRoot(ci, std::move(m));
        NoteCreated(ci, stored);
        SendJson(res, 201, MessageJson(tenant, tenant.channels[ci], stored, false, false));
    }

    std::string Stats() const {
        std::lock_guard lock(mutex);
        json j;
        j["messages_created"] = tenant.messagesCreated;
        json recent = json::array();
        for (const auto& c : recentCreated)
            recent.push_back({{"id", c.id},
                              {"channelId", tenant.channels[c.channel].id},
                              {"createdDateTime", SimIso(c.created)}});
        j["recent_messages"] = recent;
        j["requests"] = requestsByClass;
        json ch = json::array();
        for (const auto& c : tenant.channels) {
            size_t replies = 0;
            for (const auto& r : c.roots) replies += r.replies.size();
            ch.push_back({{"id", c.id},
                          {"teamId", tenant.teams[c.team].id},
                          {"displayName", c.displayName},
                          {"roots", c.roots.size()},
                          {"replies", replies},
                          {"weight", c.weight}});
        }
        j["channels"] = ch;
        return j.dump();
    }

    void GeneratorLoop() {
        std::unique_lock lock(mutex);
        auto next = std::chrono::steady_clock::now();
        while (!stopping) {
            double gap = tenant.NextGapMs(options.trafficScale);
            next += std::chrono::microseconds(static_cast<long long>(gap * 1000));
            if (cv.wait_until(lock, next, [&] { return stopping; })) break;
            int ci = tenant.GenerateArrival(SimNowMillis());
            const auto& c = tenant.channels[ci];
            // The newest message in the channel is either the new root or a reply to a recent root.
            const SimMessage* newest = &c.roots.back();
            for (const auto& r : c.roots)
                if (!r.replies.empty() && r.replies.back().created > newest->created)
                    newest = &r.replies.back();
            NoteCreated(ci, *newest);
        }
    }
};

GraphSim::GraphSim() : m_impl(std::make_unique<Impl>()) {}
GraphSim::~GraphSim() {
    Stop();
}

std::string GraphSim::Start(const GraphSimOptions& options) {
    Impl& d = *m_impl;
    d.options = options;
    std::string text = options.scenarioJson;
    if (text.empty()) {
        std::ifstream in(options.scenarioPath);
        if (!in) return "cannot read scenario file '" + options.scenarioPath + "'";
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    json scenario = json::parse(text, nullptr, false);
    if (scenario.is_discarded()) return "scenario '" + options.scenarioPath + "' is not valid JSON";
    if (std::string err = d.tenant.Load(scenario, options.seed); !err.empty()) return err;
    d.tenant.GenerateHistory(SimNowMillis());

    std::string stateDir = options.stateDir;
    std::error_code ec;
    if (stateDir.empty()) {
        stateDir = (std::filesystem::temp_directory_path() / ("graphsim-" + RandomHex(6))).string();
    }
    std::filesystem::create_directories(stateDir, ec);
    if (ec) return "cannot create state directory '" + stateDir + "': " + ec.message();

    TlsIdentity tls = GenerateTlsIdentity(options.bindHost);
    if (!tls.error.empty()) return "TLS setup failed: " + tls.error;
    d.info.caFile = (std::filesystem::path(stateDir) / "ca.pem").string();
    {
        std::ofstream out(d.info.caFile, std::ios::trunc);
        out << tls.caPem;
        if (!out) return "cannot write CA file '" + d.info.caFile + "'";
    }
    d.server = std::make_unique<httplib::SSLServer>(tls.serverCert, tls.serverKey);
    if (!d.server->is_valid()) return "TLS server setup failed";
    auto& s = *d.server;
    s.set_keep_alive_max_count(10000);
    s.set_keep_alive_timeout(30);
    s.set_payload_max_length(8 * 1024 * 1024);
    s.Post(R"(/([^/]+)/oauth2/v2\.0/token)",
           [&d](const httplib::Request& q, httplib::Response& r) { d.HandleToken(q, r); });
    s.Get("/v1.0/me/joinedTeams",
          [&d](const httplib::Request& q, httplib::Response& r) { d.HandleJoinedTeams(q, r); });
    s.Get("/v1.0/teams",
          [&d](const httplib::Request& q, httplib::Response& r) { d.HandleAllTeams(q, r); });
    s.Get(R"(/v1\.0/teams/([^/]+)/channels)",
          [&d](const httplib::Request& q, httplib::Response& r) { d.HandleChannels(q, r); });
    s.Get(R"(/v1\.0/teams/([^/]+)/channels/([^/]+)/messages)",
          [&d](const httplib::Request& q, httplib::Response& r) { d.HandleListMessages(q, r); });
    s.Post(R"(/v1\.0/teams/([^/]+)/channels/([^/]+)/messages)",
           [&d](const httplib::Request& q, httplib::Response& r) { d.HandlePostMessage(q, r); });
    s.Get(R"(/v1\.0/teams/([^/]+)/channels/([^/]+)/messages/([^/]+))",
          [&d](const httplib::Request& q, httplib::Response& r) { d.HandleGetMessage(q, r); });
    s.Get("/_sim/stats", [&d](const httplib::Request& q, httplib::Response& r) {
        Impl::Common(q, r);
        r.set_content(d.Stats(), "application/json");
    });
    s.set_error_handler([](const httplib::Request& q, httplib::Response& r) {
        if (r.status == 404 && r.body.empty()) {
            Impl::Common(q, r);
            Impl::GraphError(q, r, 404, "UnknownError",
                             "Resource not found for the segment in " + q.path + ".");
        }
    });

    int port = options.port > 0
                   ? (s.bind_to_port(options.bindHost, options.port) ? options.port : -1)
                   : s.bind_to_any_port(options.bindHost);
    if (port <= 0) return "cannot bind " + options.bindHost + ":" + std::to_string(options.port);
    d.info.port = port;
    std::string host = options.bindHost.find(':') != std::string::npos
                           ? "[" + options.bindHost + "]"
                           : options.bindHost;
    d.info.authorityUrl = "https://" + host + ":" + std::to_string(port);
    d.info.graphUrl = d.info.authorityUrl + "/v1.0";
    d.info.tenant = d.tenant.tenantId;
    d.info.clientId = d.tenant.apps[0].clientId;
    d.info.clientSecret = d.tenant.apps[0].clientSecret;
    d.listener = std::thread([&s] { s.listen_after_bind(); });
    if (options.generateTraffic) d.generator = std::thread([&d] { d.GeneratorLoop(); });
    return {};
}

void GraphSim::Stop() {
    Impl& d = *m_impl;
    {
        std::lock_guard lock(d.mutex);
        d.stopping = true;
    }
    d.cv.notify_all();
    if (d.generator.joinable()) d.generator.join();
    if (d.server && d.listener.joinable()) {
        // stop() is a no-op until listen_after_bind has started; wait for it briefly.
        for (int i = 0; i < 500 && !d.server->is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        d.server->stop();
    }
    if (d.listener.joinable()) d.listener.join();
}

GraphSimInfo GraphSim::Info() const {
    return m_impl->info;
}
std::string GraphSim::StatsJson() const {
    return m_impl->Stats();
}

std::string GraphSim::InfoLine() const {
    const auto& i = m_impl->info;
    json j = {{"graph", i.graphUrl},     {"authority", i.authorityUrl},
              {"tenant", i.tenant},      {"ca", i.caFile},
              {"client_id", i.clientId}, {"client_secret", i.clientSecret},
              {"port", i.port}};
    return j.dump();
}

}  // namespace cdeck::sim
