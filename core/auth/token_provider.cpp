#include "auth/token_provider.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/os.hpp"
#include "util/encoding.hpp"

#include "net/http_error.hpp"
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
    // A lifetime beyond a year is nonsense from the server; cap it (and the arithmetic).
    expiresIn = std::min<long long>(expiresIn, 366LL * 86400);
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
    // App-only responses carry no scope; the application permissions granted are the
    // token's "roles" claim. Read for display only (which actions to offer); Graph decides.
    if (t.scopes.empty()) {
        size_t d1 = t.token.find('.');
        size_t d2 = d1 == std::string::npos ? d1 : t.token.find('.', d1 + 1);
        if (d2 != std::string::npos) {
            auto claims = nlohmann::json::parse(
                Base64UrlDecode(std::string_view(t.token).substr(d1 + 1, d2 - d1 - 1)), nullptr,
                false);
            if (claims.is_object() && claims.contains("roles") && claims["roles"].is_array())
                for (const auto& r : claims["roles"])
                    if (r.is_string()) t.scopes.push_back(r.get<std::string>());
        }
    }
    return t;
}

Result<std::string> BuildClientAssertion(const std::string& certPem, const std::string& keyPem,
                                         const std::string& clientId, const std::string& audience,
                                         UnixMillis now) {
    BIO* cb = BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size()));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(cb);
    if (!cert)
        return MakeError(ErrorCode::kConfig, "the certificate file is not a PEM certificate");
    unsigned char* der = nullptr;
    int derLen = i2d_X509(cert, &der);
    X509_free(cert);
    if (derLen <= 0) return MakeError(ErrorCode::kConfig, "cannot encode the certificate");
    std::string thumb = Base64UrlEncode(
        Sha1(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(derLen))));
    OPENSSL_free(der);

    BIO* kb = BIO_new_mem_buf(keyPem.data(), static_cast<int>(keyPem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    if (!key) return MakeError(ErrorCode::kConfig, "the private key file is not a PEM private key");
    nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", thumb}};
    long long secs = now / 1000;
    nlohmann::json claims = {{"aud", audience},  {"iss", clientId},  {"sub", clientId},
                             {"jti", NewUuid()}, {"nbf", secs - 60}, {"iat", secs},
                             {"exp", secs + 600}};
    std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t sigLen = 0;
    std::string sig;
    bool ok =
        EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &sigLen, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
    if (ok) {
        sig.resize(sigLen);
        ok =
            EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sigLen,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
        sig.resize(sigLen);
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok)
        return MakeError(ErrorCode::kConfig,
                         "cannot sign the client assertion (the key must be RSA)");
    return input + "." + Base64UrlEncode(sig);
}

namespace {
Result<std::string> ReadSecretFile(const std::string& path, bool mustBePrivate) {
    auto open = os::OthersCanRead(path);
    if (!open) return MakeError(ErrorCode::kConfig, "cannot read " + path);
    if (mustBePrivate && *open)
        Log(LogLevel::kWarn, "auth",
            path +
                " is readable by other users; make it owner-only: " + os::OwnerOnlyCommand(path));
    std::ifstream in(os::PathFromUtf8(path));
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) return MakeError(ErrorCode::kConfig, "cannot read " + path);
    return ss.str();
}
}  // namespace

ClientCredentialsProvider::ClientCredentialsProvider(ClientCredentialsConfig config,
                                                     std::shared_ptr<HttpTransport> http)
    : m_config(std::move(config)), m_http(std::move(http)) {}

std::vector<std::string> ClientCredentialsProvider::GrantedScopes() const {
    std::lock_guard lock(m_mutex);
    return m_cached ? m_cached->scopes : std::vector<std::string>{};
}

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
    if (!m_config.certificatePath.empty()) {
        auto cert = ReadSecretFile(m_config.certificatePath, false);
        if (!cert) return cert.error();
        auto key = ReadSecretFile(m_config.privateKeyPath, true);
        if (!key) return key.error();
        auto assertion = BuildClientAssertion(cert.value(), key.value(), m_config.clientId, req.url,
                                              NowMillis());
        if (!assertion) return assertion.error();
        req.body = FormEncode(
            {{"client_id", m_config.clientId},
             {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
             {"client_assertion", assertion.value()},
             {"scope", m_config.scope},
             {"grant_type", "client_credentials"}});
    } else {
        req.body = FormEncode({{"client_id", m_config.clientId},
                               {"client_secret", m_config.clientSecret},
                               {"scope", m_config.scope},
                               {"grant_type", "client_credentials"}});
    }
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
