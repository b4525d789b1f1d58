#include "push/validation_token.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "util/encoding.hpp"

namespace cdeck::core {
namespace {

using nlohmann::json;

TokenVerdict Fail(const char* reason, std::string detail) {
    return {false, reason, std::move(detail)};
}

std::shared_ptr<EVP_PKEY> RsaFromJwk(const json& k) {
    if (!k.is_object() || k.value("kty", "") != "RSA" || !k.contains("n") || !k.contains("e") ||
        !k["n"].is_string() || !k["e"].is_string())
        return nullptr;
    std::string n = Base64UrlDecode(k["n"].get<std::string>());
    std::string e = Base64UrlDecode(k["e"].get<std::string>());
    if (n.size() < 256 || e.empty()) return nullptr;  // RSA-2048 at least
    BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
    BIGNUM* be = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM* params = nullptr;
    EVP_PKEY* key = nullptr;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (bn && be && bld && ctx && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1 &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr && EVP_PKEY_fromdata_init(ctx) == 1)
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    if (!key) return nullptr;
    return std::shared_ptr<EVP_PKEY>(key, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

bool VerifyRs256(EVP_PKEY* key, const std::string& input, const std::string& sig) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok =
        ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

json DecodePart(const std::string& part) {
    std::string text = Base64UrlDecode(part);
    if (text.empty()) return json();
    json j = json::parse(text, nullptr, false);
    return j.is_object() ? j : json();
}

}  // namespace

static std::string WithoutTrailingSlash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

ValidationTokenChecker::ValidationTokenChecker(std::string appId, std::string authority,
                                               FetchKeys fetch)
    : m_appId(std::move(appId)),
      m_authority(WithoutTrailingSlash(std::move(authority))),
      m_fetch(std::move(fetch)) {}

ValidationTokenChecker::~ValidationTokenChecker() = default;

TokenVerdict ValidationTokenChecker::Check(const std::string& token, int64_t now) {
    {
        std::lock_guard lock(m_mutex);
        auto it = m_passed.find(token);
        if (it != m_passed.end() && it->second > now) return {true, {}, {}};
    }
    TokenVerdict v = CheckUncached(token, now);
    if (v.ok) {
        json p =
            DecodePart(token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1));
        std::lock_guard lock(m_mutex);
        for (auto it = m_passed.begin(); it != m_passed.end();)
            it = it->second <= now ? m_passed.erase(it) : std::next(it);
        if (m_passed.size() < 256) m_passed[token] = p.value("exp", int64_t{0});
    }
    return v;
}

TokenVerdict ValidationTokenChecker::CheckUncached(const std::string& token, int64_t now) {
    size_t d1 = token.find('.'), d2 = token.rfind('.');
    if (token.size() > 16384 || d1 == std::string::npos || d1 == d2)
        return Fail("jwt_malformed", "a validation token is not a JWT");
    json h = DecodePart(token.substr(0, d1));
    json p = DecodePart(token.substr(d1 + 1, d2 - d1 - 1));
    if (h.is_null() || p.is_null() || h.value("alg", "") != "RS256" || !h.contains("kid") ||
        !h["kid"].is_string())
        return Fail("jwt_malformed", "a validation token has no RS256 header or no claims");
    auto key = KeyFor(h["kid"].get<std::string>(), now);
    if (!key) return Fail("jwt_keys", "no signing key with the token's kid at the authority");
    if (!VerifyRs256(key.get(), token.substr(0, d2), Base64UrlDecode(token.substr(d2 + 1))))
        return Fail("jwt_signature", "a validation token's signature does not verify");
    auto num = [&](const char* k) {
        return p.contains(k) && p[k].is_number() ? p[k].get<int64_t>() : int64_t{-1};
    };
    const int64_t leeway = 60;
    if (num("exp") < 0 || num("exp") + leeway < now || num("nbf") - leeway > now)
        return Fail("jwt_expired", "a validation token is expired or not yet valid");
    if (p.value("aud", "") != m_appId)
        return Fail("jwt_audience", "a validation token is for another application");
    std::string tid = p.value("tid", "");
    std::string iss = p.value("iss", "");
    if (tid.empty() ||
        (iss != m_authority + "/" + tid + "/v2.0" && iss != "https://sts.windows.net/" + tid + "/"))
        return Fail("jwt_issuer", "a validation token has an unexpected issuer");
    std::string caller = p.contains("azp") ? p.value("azp", "") : p.value("appid", "");
    if (caller != kChangeTrackingAppId)
        return Fail("jwt_caller", "a validation token was not issued to Microsoft Graph");
    return {true, {}, {}};
}

std::shared_ptr<EVP_PKEY> ValidationTokenChecker::KeyFor(const std::string& kid, int64_t now) {
    std::lock_guard lock(m_mutex);
    auto it = m_keys.find(kid);
    if (it != m_keys.end()) return it->second;
    if (now - m_lastFetch < 60) return nullptr;
    m_lastFetch = now;
    auto jwks = m_fetch ? m_fetch() : Result<std::string>(MakeError(ErrorCode::kConfig, "none"));
    if (!jwks || !LoadKeys(jwks.value()).empty()) return nullptr;
    it = m_keys.find(kid);
    return it == m_keys.end() ? nullptr : it->second;
}

std::string ValidationTokenChecker::LoadKeys(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("keys") || !j["keys"].is_array())
        return "the key set is not a JWKS document";
    for (const auto& k : j["keys"]) {
        if (!k.is_object() || !k.contains("kid") || !k["kid"].is_string()) continue;
        if (auto key = RsaFromJwk(k)) m_keys[k["kid"].get<std::string>()] = key;
    }
    return {};
}

}  // namespace cdeck::core
