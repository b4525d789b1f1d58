#include "auth/delegated.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "platform/os.hpp"
#include "auth/loopback_redirect.hpp"
#include "net/http_error.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace cdeck::core {

const char* DevicePollName(DevicePoll p) {
    switch (p) {
        case DevicePoll::kSuccess:
            return "success";
        case DevicePoll::kPending:
            return "authorization_pending";
        case DevicePoll::kSlowDown:
            return "slow_down";
        case DevicePoll::kDeclined:
            return "authorization_declined";
        case DevicePoll::kExpired:
            return "expired_token";
        case DevicePoll::kBadCode:
            return "bad_verification_code";
        case DevicePoll::kError:
            return "error";
    }
    return "error";
}

std::string NewPkceVerifier() {
    return Base64UrlEncode(RandomBytes(48));
}  // 64 characters
std::string PkceChallenge(const std::string& verifier) {
    return Base64UrlEncode(Sha256(verifier));
}

bool OpenInBrowser(const std::string& url) {
    return os::OpenUrl(url).ok();
}

DelegatedTokenProvider::DelegatedTokenProvider(DelegatedConfig config,
                                               std::shared_ptr<HttpTransport> http)
    : m_config(std::move(config)), m_http(std::move(http)) {}

bool DelegatedTokenProvider::RestoreFromCache() {
    if (!m_config.cache) return false;
    auto hit = m_config.cache->FindFor(
        TokenCache::Key(m_config.authorityUrl, m_config.tenant, m_config.clientId, ""));
    if (!hit) return false;
    std::lock_guard lock(m_mutex);
    m_cacheKey = hit->first;
    m_refresh = hit->second.refreshToken;
    m_account = hit->second.account;
    m_homeId = hit->second.homeId;
    return true;
}

bool DelegatedTokenProvider::SignedIn() const {
    std::lock_guard lock(m_mutex);
    return m_access.has_value() || !m_refresh.empty();
}

std::string DelegatedTokenProvider::UserId() const {
    std::lock_guard lock(m_mutex);
    return m_homeId.substr(0, m_homeId.find('.'));
}

std::string DelegatedTokenProvider::Account() const {
    std::lock_guard lock(m_mutex);
    return m_account;
}

std::vector<std::string> DelegatedTokenProvider::GrantedScopes() const {
    std::lock_guard lock(m_mutex);
    return m_access ? m_access->scopes : std::vector<std::string>{};
}

Result<std::string> DelegatedTokenProvider::PostToken(
    const std::vector<std::pair<std::string, std::string>>& form, HttpResponse* raw) {
    HttpRequest req;
    req.method = "POST";
    req.url = m_config.authorityUrl + "/" + UrlEncode(m_config.tenant) + "/oauth2/v2.0/token";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"client-request-id", NewUuid()}};
    req.body = FormEncode(form);
    auto resp = m_http->Send(req);
    if (!resp) return resp.error();
    if (raw) *raw = resp.value();
    if (resp->status != 200) return ErrorFromResponse(resp.value(), NowMillis());
    return resp->body;
}

Status DelegatedTokenProvider::Accept(const std::string& body) {
    UnixMillis now = NowMillis();
    auto tok = ParseTokenResponse(body, now);
    if (!tok) return tok.error();
    auto j = nlohmann::json::parse(body, nullptr, false);
    m_access = tok.value();
    if (j.contains("refresh_token") && j["refresh_token"].is_string())
        m_refresh = j["refresh_token"];
    // The id_token names the account; its signature is not ours to check (it came over TLS
    // straight from the token endpoint), we only read the display claims.
    if (j.contains("id_token") && j["id_token"].is_string()) {
        std::string idt = j["id_token"];
        size_t d1 = idt.find('.'), d2 = idt.find('.', d1 + 1);
        if (d1 != std::string::npos && d2 != std::string::npos) {
            auto claims = nlohmann::json::parse(Base64UrlDecode(idt.substr(d1 + 1, d2 - d1 - 1)),
                                                nullptr, false);
            if (claims.is_object()) {
                m_account = claims.value("preferred_username", claims.value("name", std::string()));
                if (m_account.empty() && claims.contains("name") && claims["name"].is_string())
                    m_account = claims["name"];
            }
        }
    }
    if (j.contains("client_info") && j["client_info"].is_string()) {
        auto ci = nlohmann::json::parse(Base64UrlDecode(j["client_info"].get<std::string>()),
                                        nullptr, false);
        if (ci.is_object())
            m_homeId = ci.value("uid", std::string()) + "." + ci.value("utid", std::string());
    }
    if (m_config.cache && !m_refresh.empty()) {
        std::string key = TokenCache::Key(m_config.authorityUrl, m_config.tenant, m_config.clientId,
                                          m_homeId.empty() ? m_account : m_homeId);
        if (!m_cacheKey.empty() && m_cacheKey != key) (void)m_config.cache->Remove(m_cacheKey);
        m_cacheKey = key;
        std::string scopes;
        for (const auto& s : m_access->scopes) scopes += (scopes.empty() ? "" : " ") + s;
        Status st = m_config.cache->Put(key, {m_refresh, m_account, m_homeId, scopes});
        if (!st) Log(LogLevel::kWarn, "auth", "token cache not saved: " + st.error().message);
    }
    return OkStatus();
}

void DelegatedTokenProvider::SetSignInRequiredCallback(std::function<void()> callback) {
    std::lock_guard lock(m_mutex);
    m_onSignInRequired = std::move(callback);
}

Result<AccessToken> DelegatedTokenProvider::RefreshLocked() {
    if (m_refresh.empty()) return MakeError(ErrorCode::kAuth, "sign-in required");
    auto body = PostToken({{"client_id", m_config.clientId},
                           {"grant_type", "refresh_token"},
                           {"refresh_token", m_refresh},
                           {"scope", m_config.scopes}},
                          nullptr);
    if (!body) {
        Error e = body.error();
        if (e.code != ErrorCode::kTransient && e.code != ErrorCode::kThrottled) {
            // The refresh token is dead (revoked, expired): the user must sign in again.
            e.code = ErrorCode::kAuth;
            m_refresh.clear();
            m_access.reset();
            e.message = "sign-in required: " + e.message;
            m_refreshRefused = true;
        }
        Log(LogLevel::kWarn, "auth", "token refresh failed: " + e.Describe());
        return e;
    }
    Status st = Accept(body.value());
    if (!st) return st.error();
    Log(LogLevel::kInfo, "auth", "access token refreshed");
    return *m_access;
}

Result<AccessToken> DelegatedTokenProvider::Token(bool forceRefresh) {
    std::function<void()> notify;
    Result<AccessToken> out = [&]() -> Result<AccessToken> {
        std::lock_guard lock(m_mutex);
        UnixMillis now = NowMillis();
        if (m_access && !forceRefresh) {
            UnixMillis margin =
                std::min<UnixMillis>(5 * 60 * 1000, (m_access->expiresAt - now) / 5);
            if (now + std::max<UnixMillis>(margin, 1000) < m_access->expiresAt) return *m_access;
        }
        auto r = RefreshLocked();
        if (m_refreshRefused) {
            m_refreshRefused = false;
            notify = m_onSignInRequired;
        }
        return r;
    }();
    if (notify) notify();  // outside the lock: the callback may sign out
    return out;
}

Result<DeviceCodePrompt> DelegatedTokenProvider::RequestDeviceCode() {
    HttpRequest req;
    req.method = "POST";
    req.url = m_config.authorityUrl + "/" + UrlEncode(m_config.tenant) + "/oauth2/v2.0/devicecode";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                   {"client-request-id", NewUuid()}};
    req.body = FormEncode({{"client_id", m_config.clientId}, {"scope", m_config.scopes}});
    auto resp = m_http->Send(req);
    if (!resp) return resp.error();
    if (resp->status != 200) return ErrorFromResponse(resp.value(), NowMillis());
    auto j = nlohmann::json::parse(resp->body, nullptr, false);
    if (!j.is_object() || !j.contains("device_code") || !j.contains("user_code") ||
        !j["device_code"].is_string() || !j["user_code"].is_string())
        return MakeError(ErrorCode::kParse, "device code response lacks device_code or user_code");
    DeviceCodePrompt p;
    p.deviceCode = j["device_code"];
    p.userCode = j["user_code"];
    p.verificationUri = j.value("verification_uri", std::string());
    p.message = j.value("message", std::string());
    if (j.contains("expires_in") && j["expires_in"].is_number_integer())
        p.expiresIn = j["expires_in"];
    if (j.contains("interval") && j["interval"].is_number_integer())
        p.interval = std::max(1, j["interval"].get<int>());
    return p;
}

DevicePoll DelegatedTokenProvider::PollDeviceCode(const std::string& deviceCode, Error* error) {
    HttpResponse raw;
    auto body = PostToken({{"client_id", m_config.clientId},
                           {"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                           {"device_code", deviceCode}},
                          &raw);
    if (body) {
        std::lock_guard lock(m_mutex);
        Status st = Accept(body.value());
        if (!st) {
            if (error) *error = st.error();
            return DevicePoll::kError;
        }
        Log(LogLevel::kInfo, "auth", "signed in with the device code flow");
        return DevicePoll::kSuccess;
    }
    const std::string& code = body.error().graphCode;
    if (code == "authorization_pending") return DevicePoll::kPending;
    if (code == "slow_down") return DevicePoll::kSlowDown;
    if (code == "authorization_declined" || code == "access_denied") return DevicePoll::kDeclined;
    if (code == "expired_token") return DevicePoll::kExpired;
    if (code == "bad_verification_code") return DevicePoll::kBadCode;
    if (error) *error = body.error();
    return DevicePoll::kError;
}

Status DelegatedTokenProvider::SignInWithDeviceCode(
    const std::function<void(const DeviceCodePrompt&)>& show, const std::atomic<bool>* cancel,
    std::function<void(std::chrono::milliseconds)> wait) {
    if (!wait) wait = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    auto prompt = RequestDeviceCode();
    if (!prompt) return prompt.error();
    if (show) show(prompt.value());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(prompt->expiresIn);
    int interval = prompt->interval;
    while (true) {
        // Wait the interval in small steps so a cancel is noticed quickly.
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(interval);
        while (std::chrono::steady_clock::now() < until) {
            if (cancel && cancel->load())
                return MakeError(ErrorCode::kCancelled, "sign-in cancelled");
            wait(std::chrono::milliseconds(100));
        }
        Error err;
        switch (PollDeviceCode(prompt->deviceCode, &err)) {
            case DevicePoll::kSuccess:
                return OkStatus();
            case DevicePoll::kPending:
                break;
            case DevicePoll::kSlowDown:
                interval += 5;
                break;
            case DevicePoll::kDeclined:
                return MakeError(ErrorCode::kAuth, "sign-in was declined");
            case DevicePoll::kExpired:
                return MakeError(ErrorCode::kAuth, "the sign-in code expired; start again");
            case DevicePoll::kBadCode:
                return MakeError(ErrorCode::kAuth,
                                 "the identity provider rejected the device code");
            case DevicePoll::kError:
                if (err.code != ErrorCode::kTransient) return err;
                break;  // transient: keep polling until the code expires
        }
        if (std::chrono::steady_clock::now() > deadline)
            return MakeError(ErrorCode::kAuth, "the sign-in code expired; start again");
    }
}

Status DelegatedTokenProvider::SignInWithBrowser(
    const std::function<void(const std::string& url)>& open, const std::atomic<bool>* cancel,
    std::chrono::milliseconds timeout) {
    LoopbackRedirect listener;
    if (Status st = listener.Listen(); !st) return st;
    std::string verifier = NewPkceVerifier();
    std::string state = Base64UrlEncode(RandomBytes(16));
    std::string url = m_config.authorityUrl + "/" + UrlEncode(m_config.tenant) +
                      "/oauth2/v2.0/authorize?" +
                      FormEncode({{"client_id", m_config.clientId},
                                  {"response_type", "code"},
                                  {"redirect_uri", listener.RedirectUri()},
                                  {"response_mode", "query"},
                                  {"scope", m_config.scopes},
                                  {"state", state},
                                  {"code_challenge", PkceChallenge(verifier)},
                                  {"code_challenge_method", "S256"}});
    open(url);
    auto params = listener.Wait(timeout, cancel);
    if (!params) return params.error();
    auto& p = params.value();
    if (p["state"] != state)
        return MakeError(ErrorCode::kAuth, "sign-in response had the wrong state; ignored");
    if (p.count("error"))
        return MakeError(
            ErrorCode::kAuth,
            "sign-in failed: " + p["error"] +
                (p.count("error_description") ? " (" + p["error_description"] + ")" : ""));
    if (p["code"].empty()) return MakeError(ErrorCode::kAuth, "sign-in response had no code");
    return ExchangeCode(p["code"], verifier, listener.RedirectUri());
}

Status DelegatedTokenProvider::ExchangeCode(const std::string& code, const std::string& verifier,
                                            const std::string& redirectUri) {
    auto body = PostToken({{"client_id", m_config.clientId},
                           {"grant_type", "authorization_code"},
                           {"code", code},
                           {"redirect_uri", redirectUri},
                           {"code_verifier", verifier},
                           {"scope", m_config.scopes}},
                          nullptr);
    if (!body) {
        Error e = body.error();
        e.code = ErrorCode::kAuth;
        return e;
    }
    std::lock_guard lock(m_mutex);
    Status st = Accept(body.value());
    if (st) Log(LogLevel::kInfo, "auth", "signed in with the browser (authorization code + PKCE)");
    return st;
}

Status DelegatedTokenProvider::SignOut() {
    std::lock_guard lock(m_mutex);
    m_access.reset();
    m_refresh.clear();
    m_account.clear();
    Status st = OkStatus();
    if (m_config.cache && !m_cacheKey.empty()) st = m_config.cache->Remove(m_cacheKey);
    m_cacheKey.clear();
    Log(LogLevel::kInfo, "auth", "signed out");
    return st;
}

}  // namespace cdeck::core
