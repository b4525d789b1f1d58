// graphsim's Entra ID endpoints: token (client credentials with a secret or a certificate
// assertion, device code, authorization code + PKCE, refresh with rotation), device code
// issue and approval, the authorize page, and OpenID discovery.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

std::vector<std::string> SplitScopes(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t sp = s.find(' ', start);
        if (sp == std::string::npos) sp = s.size();
        if (sp > start) out.push_back(s.substr(start, sp - start));
        start = sp + 1;
    }
    return out;
}

std::string FormParam(const SimRequest& req, const std::string& k) {
    // Token requests are form posts; httplib parses them into params. Batch never carries them.
    return req.Param(k);
}

bool IsLoopbackRedirect(const std::string& uri) {
    return uri.rfind("http://127.0.0.1:", 0) == 0 || uri.rfind("http://127.0.0.1/", 0) == 0 ||
           uri.rfind("http://localhost:", 0) == 0 || uri.rfind("http://localhost/", 0) == 0 ||
           uri == "http://localhost" || uri == "http://127.0.0.1";
}

// Loopback redirect URIs match regardless of port (RFC 8252 section 7.3).
bool RedirectAllowed(const SimApp& app, const std::string& uri) {
    auto stripPort = [](const std::string& u) {
        size_t hostStart = u.find("://");
        if (hostStart == std::string::npos) return u;
        hostStart += 3;
        size_t pathStart = u.find('/', hostStart);
        std::string host = u.substr(
            hostStart, pathStart == std::string::npos ? std::string::npos : pathStart - hostStart);
        std::string path = pathStart == std::string::npos ? "/" : u.substr(pathStart);
        host = host.substr(0, host.find(':'));
        if (host == "localhost") host = "127.0.0.1";
        return u.substr(0, hostStart) + host + path;
    };
    if (!IsLoopbackRedirect(uri))
        return std::find(app.redirectUris.begin(), app.redirectUris.end(), uri) !=
               app.redirectUris.end();
    std::string want = stripPort(uri);
    for (const auto& r : app.redirectUris) {
        std::string have = stripPort(r);
        // A registered "http://localhost" allows any path under it.
        if (have == want || want.rfind(have, 0) == 0) return true;
    }
    return false;
}

// Verifies an RS256 JWT against a PEM certificate's public key.
bool VerifyRs256(const std::string& jwt, const std::string& certPem) {
    size_t d1 = jwt.find('.');
    size_t d2 = jwt.find('.', d1 == std::string::npos ? 0 : d1 + 1);
    if (d1 == std::string::npos || d2 == std::string::npos) return false;
    std::string signingInput = jwt.substr(0, d2);
    std::string sig = FromBase64Url(jwt.substr(d2 + 1));
    BIO* bio = BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!cert) return false;
    EVP_PKEY* key = X509_get_pubkey(cert);
    X509_free(cert);
    if (!key) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                               reinterpret_cast<const unsigned char*>(signingInput.data()),
                               signingInput.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

std::string WithQuery(const std::string& uri, const std::string& query) {
    return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

}  // namespace

// graphsim's own escaper, on purpose: it shares no code with the client (sim_internal.hpp).
std::string HtmlEscape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

const SimApp* GraphSim::Impl::FindApp(const std::string& clientId) const {
    for (const auto& a : tenant.apps)
        if (a.clientId == clientId) return &a;
    return nullptr;
}

std::optional<TokenInfo> GraphSim::Impl::Authenticate(const SimRequest& req, SimResponse& res) {
    std::string auth = req.Header("authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
        GraphError(req, res, 401, "InvalidAuthenticationToken", "Access token is empty.");
        return std::nullopt;
    }
    auto it = tokens.find(auth.substr(7));
    if (it == tokens.end() || it->second.revoked) {
        GraphError(req, res, 401, "InvalidAuthenticationToken",
                   "IDX14100: JWT is not well formed, or it was revoked.");
        return std::nullopt;
    }
    if (it->second.expiresAt <= Now()) {
        GraphError(req, res, 401, "InvalidAuthenticationToken",
                   "Lifetime validation failed, the token is expired.");
        return std::nullopt;
    }
    return it->second;
}

bool GraphSim::Impl::Require(const SimRequest& req, SimResponse& res, const TokenInfo& t,
                             std::initializer_list<const char*> any) {
    for (const char* g : any)
        if (std::find(t.grants.begin(), t.grants.end(), g) != t.grants.end()) return true;
    std::string names;
    for (const char* g : any) names += (names.empty() ? "" : ", ") + std::string(g);
    GraphError(req, res, 403, "Forbidden",
               std::string(t.delegated
                               ? "Missing scope permissions on the request. API requires one of '"
                               : "Missing role permissions on the request. API requires one of '") +
                   names + "'.");
    return false;
}

json GraphSim::Impl::IssueTokens(const SimApp& app, bool delegated, int user,
                                 const std::string& scope, bool withRefresh) {
    Millis now = Now();
    double lifetime = options.tokenLifetimeSeconds > 0 ? options.tokenLifetimeSeconds
                                                       : tenant.tokenLifetimeSeconds;
    std::vector<std::string> grants;
    std::string grantedScope;
    if (delegated) {
        std::vector<std::string> asked = SplitScopes(scope);
        bool all = std::any_of(asked.begin(), asked.end(),
                               [](const std::string& s) { return s.ends_with("/.default"); });
        for (const auto& g : app.delegated) {
            bool want = all || std::any_of(asked.begin(), asked.end(), [&](const std::string& s) {
                            return s == g || s == "https://graph.microsoft.com/" + g;
                        });
            if (want) grants.push_back(g);
        }
        for (const auto& g : grants) grantedScope += (grantedScope.empty() ? "" : " ") + g;
        for (const char* oidc : {"openid", "profile", "offline_access"})
            if (std::find(asked.begin(), asked.end(), oidc) != asked.end())
                grantedScope += std::string(" ") + oidc;
    } else {
        grants = app.permissions;
    }
    json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "graphsim"}};
    json payload = {{"aud", "https://graph.microsoft.com"},
                    {"iss", "https://sts.windows.net/" + tenant.tenantId + "/"},
                    {"iat", now / 1000},
                    {"exp", now / 1000 + static_cast<Millis>(lifetime)},
                    {"appid", app.clientId},
                    {"tid", tenant.tenantId},
                    {"jti", RandomHex(8)}};
    if (delegated) {
        payload["scp"] = grantedScope;
        payload["oid"] = tenant.users[user].id;
        payload["name"] = tenant.users[user].displayName;
    } else {
        payload["roles"] = grants;
    }
    std::string token =
        Base64Url(header.dump()) + "." + Base64Url(payload.dump()) + "." + Base64Url(RandomHex(32));
    TokenInfo ti;
    ti.clientId = app.clientId;
    ti.delegated = delegated;
    ti.user = user;
    ti.expiresAt = now + static_cast<Millis>(lifetime * 1000);
    ti.grants = grants;
    tokens[token] = ti;
    json out = {{"token_type", "Bearer"},
                {"expires_in", static_cast<long long>(lifetime)},
                {"ext_expires_in", static_cast<long long>(lifetime)},
                {"access_token", token}};
    if (delegated) {
        out["scope"] = grantedScope;
        const SimUser& u = tenant.users[user];
        json idHeader = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "graphsim"}};
        json idPayload = {{"aud", app.clientId},
                          {"iss", info.authorityUrl + "/" + tenant.tenantId + "/v2.0"},
                          {"iat", now / 1000},
                          {"exp", now / 1000 + 3600},
                          {"name", u.displayName},
                          {"preferred_username", u.mail},
                          {"oid", u.id},
                          {"tid", tenant.tenantId},
                          {"sub", Base64Url(u.id).substr(0, 22)}};
        out["id_token"] = Base64Url(idHeader.dump()) + "." + Base64Url(idPayload.dump()) + "." +
                          Base64Url(RandomHex(16));
        out["client_info"] = Base64Url(json({{"uid", u.id}, {"utid", tenant.tenantId}}).dump());
        if (withRefresh) {
            std::string rt = "0.graphsim." + RandomHex(24);
            refreshTokens[rt] = {app.clientId, user, scope};
            out["refresh_token"] = rt;
        }
    }
    return out;
}

void GraphSim::Impl::HandleToken(SimRequest& req, SimResponse& res) {
    requestsByClass["token"]++;
    const std::string& tenantSeg = req.m[1];
    if (tenantSeg != tenant.tenantId && tenantSeg != "common" && tenantSeg != "organizations")
        return OAuthError(res, 400, "invalid_request",
                          "AADSTS90002: Tenant '" + tenantSeg + "' not found.");
    std::string grant = FormParam(req, "grant_type");
    std::string clientId = FormParam(req, "client_id");
    const SimApp* app = FindApp(clientId);
    if (!app)
        return OAuthError(res, 400, "unauthorized_client",
                          "AADSTS700016: Application with identifier '" + clientId +
                              "' was not found in the directory.");
    Millis now = Now();

    if (grant == "client_credentials") {
        std::string assertionType = FormParam(req, "client_assertion_type");
        if (!assertionType.empty()) {
            if (assertionType != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                return OAuthError(res, 400, "invalid_request",
                                  "AADSTS50027: Invalid client_assertion_type.");
            std::string jwt = FormParam(req, "client_assertion");
            size_t d1 = jwt.find('.');
            json claims = json::parse(FromBase64Url(jwt.substr(d1 == std::string::npos ? 0 : d1 + 1,
                                                               jwt.find('.', d1 + 1) - d1 - 1)),
                                      nullptr, false);
            bool sigOk = false;
            for (const auto& pem : app->certificates) sigOk = sigOk || VerifyRs256(jwt, pem);
            std::string expectedAud = info.authorityUrl + "/" + tenantSeg + "/oauth2/v2.0/token";
            if (!sigOk || !claims.is_object())
                return OAuthError(res, 401, "invalid_client",
                                  "AADSTS700027: Client assertion failed signature validation.");
            if (claims.value("aud", std::string()) != expectedAud ||
                claims.value("iss", std::string()) != clientId ||
                claims.value("sub", std::string()) != clientId)
                return OAuthError(
                    res, 401, "invalid_client",
                    "AADSTS700021: Client assertion audience, issuer or subject is invalid.");
            if (!claims.contains("exp") || !claims["exp"].is_number() ||
                claims["exp"].get<double>() * 1000 < now)
                return OAuthError(
                    res, 401, "invalid_client",
                    "AADSTS700024: Client assertion is not within its valid time range.");
        } else if (FormParam(req, "client_secret") != app->clientSecret ||
                   app->clientSecret.empty()) {
            return OAuthError(res, 401, "invalid_client",
                              "AADSTS7000215: Invalid client secret provided.");
        }
        if (!FormParam(req, "scope").ends_with("/.default"))
            return OAuthError(
                res, 400, "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. Client credential flows "
                "must "
                "have a scope value with /.default suffixed to the resource identifier.");
        return Json(res, 200, IssueTokens(*app, false, -1, "", false));
    }

    if (grant == "urn:ietf:params:oauth:grant-type:device_code" || grant == "device_code") {
        std::string code = FormParam(req, "device_code");
        auto it = deviceCodes.find(code);
        if (it == deviceCodes.end() || it->second.clientId != clientId || it->second.redeemed)
            return OAuthError(res, 400, "bad_verification_code",
                              "AADSTS70019: The device code is not valid.");
        DeviceCodeState& dc = it->second;
        if (now >= dc.expiresAt)
            return OAuthError(res, 400, "expired_token",
                              "AADSTS70020: The provided value for the input parameter "
                              "'device_code' is not valid. This device code has expired.");
        if (dc.state == DeviceCodeState::State::kDeclined)
            return OAuthError(res, 400, "authorization_declined",
                              "AADSTS70000: The user declined the sign-in request.");
        bool tooSoon =
            dc.lastPoll != 0 && now - dc.lastPoll < static_cast<Millis>(dc.interval) * 1000 - 250;
        dc.lastPoll = now;
        if (dc.state == DeviceCodeState::State::kPending) {
            if (tooSoon) {
                dc.interval += 5;
                return OAuthError(res, 400, "slow_down",
                                  "AADSTS70016: Polling too fast; slow down.");
            }
            return OAuthError(res, 400, "authorization_pending",
                              "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. "
                              "Continue polling.");
        }
        dc.redeemed = true;
        return Json(res, 200, IssueTokens(*app, true, dc.user, dc.scope, true));
    }

    if (grant == "authorization_code") {
        auto it = authCodes.find(FormParam(req, "code"));
        if (it == authCodes.end() || it->second.clientId != clientId || it->second.expiresAt < now)
            return OAuthError(
                res, 400, "invalid_grant",
                "AADSTS70008: The provided authorization code is invalid or has expired.");
        AuthCodeState ac = it->second;
        authCodes.erase(it);  // one use only
        if (FormParam(req, "redirect_uri") != ac.redirectUri)
            return OAuthError(
                res, 400, "invalid_grant",
                "AADSTS50148: The redirect_uri does not match the one used to obtain the code.");
        std::string verifier = FormParam(req, "code_verifier");
        if (verifier.size() < 43 || verifier.size() > 128 ||
            Sha256Base64Url(verifier) != ac.challenge)
            return OAuthError(res, 400, "invalid_grant",
                              "AADSTS501481: The Code_Verifier does not match the code_challenge "
                              "supplied in the authorization request.");
        return Json(res, 200, IssueTokens(*app, true, ac.user, ac.scope, true));
    }

    if (grant == "refresh_token") {
        auto it = refreshTokens.find(FormParam(req, "refresh_token"));
        if (it == refreshTokens.end() || it->second.clientId != clientId)
            return OAuthError(res, 400, "invalid_grant",
                              "AADSTS700082: The refresh token has expired or was revoked.");
        RefreshState rs = it->second;
        refreshTokens.erase(it);  // rotation: the old refresh token stops working
        std::string scope = FormParam(req, "scope").empty() ? rs.scope : FormParam(req, "scope");
        return Json(res, 200, IssueTokens(*app, true, rs.user, scope, true));
    }
    OAuthError(res, 400, "unsupported_grant_type",
               "AADSTS70003: The app requested an unsupported grant type '" + grant + "'.");
}

void GraphSim::Impl::HandleDeviceCode(SimRequest& req, SimResponse& res) {
    requestsByClass["token"]++;
    const SimApp* app = FindApp(FormParam(req, "client_id"));
    if (!app)
        return OAuthError(res, 400, "unauthorized_client",
                          "AADSTS700016: Application not found in the directory.");
    if (!app->publicClient)
        return OAuthError(res, 400, "invalid_client",
                          "AADSTS7000218: The request body must contain client_assertion or "
                          "client_secret (public client flows are off).");
    DeviceCodeState dc;
    dc.deviceCode = "GAQABAAEAAAA" + RandomHex(24);
    static const char* kAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
    std::uniform_int_distribution<int> pick(0, 19);
    for (int i = 0; i < 9; ++i) dc.userCode += kAlphabet[pick(rng)];
    dc.clientId = app->clientId;
    dc.scope = FormParam(req, "scope");
    dc.interval = tenant.deviceCodeInterval;
    dc.expiresAt = Now() + static_cast<Millis>(tenant.deviceCodeLifetime * 1000);
    if (autoApprove) {
        dc.state = DeviceCodeState::State::kApproved;
        dc.user = tenant.defaultUser;
    }
    std::string uri = info.authorityUrl + "/devicelogin";
    json out = {{"user_code", dc.userCode},
                {"device_code", dc.deviceCode},
                {"verification_uri", uri},
                {"expires_in", static_cast<long long>(tenant.deviceCodeLifetime)},
                {"interval", dc.interval},
                {"message", "To sign in, use a web browser to open the page " + uri +
                                " and enter the code " + dc.userCode + " to authenticate."}};
    userCodes[dc.userCode] = dc.deviceCode;
    deviceCodes[dc.deviceCode] = std::move(dc);
    Json(res, 200, out);
}

void GraphSim::Impl::HandleApproveDeviceCode(SimRequest& req, SimResponse& res) {
    json b = json::parse(req.body, nullptr, false);
    if (!b.is_object() || !b.contains("user_code"))
        return GraphError(req, res, 400, "BadRequest", "expected {\"user_code\": ...}");
    auto uc = userCodes.find(b["user_code"].get<std::string>());
    if (uc == userCodes.end()) return GraphError(req, res, 404, "NotFound", "unknown user code");
    DeviceCodeState& dc = deviceCodes[uc->second];
    int user = tenant.defaultUser;
    if (b.contains("user") && b["user"].is_string()) {
        std::string who = b["user"];
        user = -1;
        for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
            if (tenant.users[i].id == who || tenant.users[i].mail == who ||
                tenant.users[i].displayName == who)
                user = i;
        if (user < 0) return GraphError(req, res, 404, "NotFound", "unknown user");
    }
    dc.user = user;
    dc.state = b.value("decline", false) ? DeviceCodeState::State::kDeclined
                                         : DeviceCodeState::State::kApproved;
    Json(res, 200,
         {{"state", dc.state == DeviceCodeState::State::kApproved ? "approved" : "declined"}});
}

void GraphSim::Impl::HandleAuthorize(SimRequest& req, SimResponse& res) {
    const SimApp* app = FindApp(req.Param("client_id"));
    std::string redirect = req.Param("redirect_uri");
    if (!app)
        return OAuthError(res, 400, "unauthorized_client",
                          "AADSTS700016: Application not found in the directory.");
    if (!RedirectAllowed(*app, redirect))
        return OAuthError(res, 400, "invalid_request",
                          "AADSTS50011: The redirect URI '" + redirect +
                              "' does not match the redirect URIs configured for the application.");
    std::string state = req.Param("state");
    if (req.Param("response_type") != "code")
        return res.SetHeader("Location",
                             WithQuery(redirect, "error=unsupported_response_type&state=" +
                                                     UrlEncodeComponent(state))),
               void(res.status = 302);
    if (req.Param("code_challenge").empty() || req.Param("code_challenge_method") != "S256") {
        res.status = 302;
        res.SetHeader(
            "Location",
            WithQuery(redirect,
                      "error=invalid_request&error_description=" +
                          UrlEncodeComponent(
                              "AADSTS9002325: Proof Key for Code Exchange (S256) is required.") +
                          "&state=" + UrlEncodeComponent(state)));
        return;
    }
    PendingAuthorize p{app->clientId, redirect, state, req.Param("code_challenge"),
                       req.Param("scope")};
    if (autoApprove) {
        std::string code = "0.AUTH." + RandomHex(24);
        authCodes[code] = {p.clientId, p.redirectUri,      p.challenge,
                           p.scope,    tenant.defaultUser, Now() + 600000};
        res.status = 302;
        res.SetHeader("Location",
                      WithQuery(redirect, "code=" + code + "&state=" + UrlEncodeComponent(state) +
                                              "&session_state=" + UuidV4()));
        return;
    }
    std::string id = RandomHex(12);
    pendingAuthorize[id] = p;
    std::string options;
    for (size_t i = 0; i < tenant.users.size(); ++i)
        options += "<option value=\"" + std::to_string(i) + "\">" +
                   HtmlEscape(tenant.users[i].displayName) + "</option>";
    res.status = 200;
    res.contentType = "text/html; charset=utf-8";
    res.body =
        "<!doctype html><html><head><title>graphsim sign-in</title></head><body>"
        "<h1>Sign in to " +
        HtmlEscape(tenant.tenantName) +
        " (graphsim)</h1>"
        "<p>The app <code>" +
        HtmlEscape(app->clientId) + "</code> asks for: " + HtmlEscape(p.scope) +
        "</p>"
        "<form method=\"post\" action=\"/" +
        HtmlEscape(req.m[1]) +
        "/oauth2/v2.0/authorize/decision\">"
        "<input type=\"hidden\" name=\"request\" value=\"" +
        id +
        "\">"
        "<label>Account <select name=\"user\">" +
        options +
        "</select></label> "
        "<button name=\"decision\" value=\"approve\">Approve</button> "
        "<button name=\"decision\" value=\"decline\">Decline</button></form></body></html>";
}

void GraphSim::Impl::HandleAuthorizeDecision(SimRequest& req, SimResponse& res) {
    auto it = pendingAuthorize.find(req.Param("request"));
    if (it == pendingAuthorize.end())
        return OAuthError(res, 400, "invalid_request", "Unknown or used sign-in request.");
    PendingAuthorize p = it->second;
    pendingAuthorize.erase(it);
    res.status = 302;
    if (req.Param("decision") != "approve") {
        res.SetHeader("Location",
                      WithQuery(p.redirectUri,
                                "error=access_denied&error_description=" +
                                    UrlEncodeComponent("AADSTS65004: User declined to consent.") +
                                    "&state=" + UrlEncodeComponent(p.state)));
        return;
    }
    int user = std::atoi(req.Param("user").c_str());
    if (user < 0 || user >= static_cast<int>(tenant.users.size())) user = tenant.defaultUser;
    std::string code = "0.AUTH." + RandomHex(24);
    authCodes[code] = {p.clientId, p.redirectUri, p.challenge, p.scope, user, Now() + 600000};
    res.SetHeader("Location", WithQuery(p.redirectUri,
                                        "code=" + code + "&state=" + UrlEncodeComponent(p.state)));
}

void GraphSim::Impl::HandleOpenIdConfig(SimRequest& req, SimResponse& res) {
    std::string base = info.authorityUrl + "/" + req.m[1];
    Json(res, 200,
         {{"issuer", info.authorityUrl + "/" + tenant.tenantId + "/v2.0"},
          {"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
          {"token_endpoint", base + "/oauth2/v2.0/token"},
          {"device_authorization_endpoint", base + "/oauth2/v2.0/devicecode"},
          {"jwks_uri", base + "/discovery/v2.0/keys"},
          {"response_types_supported", {"code", "id_token", "code id_token", "id_token token"}},
          {"scopes_supported", {"openid", "profile", "email", "offline_access"}},
          {"token_endpoint_auth_methods_supported",
           {"client_secret_post", "private_key_jwt", "client_secret_basic"}},
          {"code_challenge_methods_supported", {"S256"}},
          {"tenant_region_scope", "WW"}});
}

}  // namespace cdeck::sim
