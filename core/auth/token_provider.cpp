#include "auth/token_provider.hpp"

#include <nlohmann/json.hpp>

#include "graph/graph_error.hpp"
#include "util/log.hpp"

namespace cdeck::core {

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) out += '&';
        out += UrlEncode(k) + "=" + UrlEncode(v);
    }
    return out;
}

Result<AccessToken> ParseTokenResponse(const std::string& body, UnixMillis now) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return MakeError(ErrorCode::kParse, "token response is not a JSON object");
    auto at = j.find("access_token");
    if (at == j.end() || !at->is_string() || at->get_ref<const std::string&>().empty())
        return MakeError(ErrorCode::kParse, "token response has no access_token");
    AccessToken t;
    t.token = at->get<std::string>();
    long long expiresIn = 3600;
    if (auto e = j.find("expires_in"); e != j.end()) {
        // Entra ID sends a number; some older endpoints send it as a string.
        if (e->is_number_integer())
            expiresIn = e->get<long long>();
        else if (e->is_string())
            expiresIn = std::atoll(e->get_ref<const std::string&>().c_str());
        else
            return MakeError(ErrorCode::kParse, "token response: expires_in has the wrong type");
    }
    if (expiresIn <= 0) expiresIn = 60;
    t.expiresAt = now + expiresIn * 1000;
    if (auto s = j.find("scope"); s != j.end() && s->is_string()) {
        const std::string& sc = s->get_ref<const std::string&>();
        size_t start = 0;
        while (start < sc.size()) {
            size_t sp = sc.find(' ', start);
            if (sp == std::string::npos) sp = sc.size();
            if (sp > start) t.scopes.push_back(sc.substr(start, sp - start));
            start = sp + 1;
        }
    }
    return t;
}

ClientCredentialsProvider::ClientCredentialsProvider(ClientCredentialsConfig config,
                                                     std::shared_ptr<HttpTransport> http)
    : m_config(std::move(config)), m_http(std::move(http)) {}

Result<AccessToken> ClientCredentialsProvider::Token(bool forceRefresh) {
    std::lock_guard lock(m_mutex);
    UnixMillis now = NowMillis();
    if (m_cached && !forceRefresh) {
        // Refresh early: at 80% of the lifetime left or within 5 minutes of expiry, whichever
        // comes first, so that a request never goes out with a token about to lapse.
        UnixMillis margin = std::min<UnixMillis>(5 * 60 * 1000, (m_cached->expiresAt - now) / 5);
        if (now + std::max<UnixMillis>(margin, 1000) < m_cached->expiresAt) return *m_cached;
    }
    auto fresh = Fetch();
    if (!fresh) return fresh.error();
    m_cached = fresh.value();
    return fresh;
}

Result<AccessToken> ClientCredentialsProvider::Fetch() {
    HttpRequest req;
    req.method = "POST";
    req.url = m_config.authorityUrl + "/" + UrlEncode(m_config.tenant) + "/oauth2/v2.0/token";
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.headers.push_back({"client-request-id", NewUuid()});
    req.body = FormEncode({{"client_id", m_config.clientId},
                           {"client_secret", m_config.clientSecret},
                           {"scope", m_config.scope},
                           {"grant_type", "client_credentials"}});
    auto resp = m_http->Send(req);
    if (!resp) return resp.error();
    UnixMillis now = NowMillis();
    if (resp->status != 200) {
        Error e = ErrorFromResponse(resp.value(), now);
        if (e.code != ErrorCode::kTransient && e.code != ErrorCode::kThrottled)
            e.code = ErrorCode::kAuth;
        e.message = "sign-in (client credentials) failed: " + e.message;
        Log(LogLevel::kWarn, "auth", e.Describe());
        return e;
    }
    auto tok = ParseTokenResponse(resp->body, now);
    if (tok)
        Log(LogLevel::kInfo, "auth", "signed in with client credentials (application permissions)");
    return tok;
}

}  // namespace cdeck::core
