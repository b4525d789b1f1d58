#pragma once
// Checks the validationTokens of a notification batch (SERVER.md): RS256 JWTs signed with a
// key from the authority's OpenID configuration (jwks_uri). A token passes when its
// signature verifies, it is within exp/nbf (60 s of leeway), `aud` is our app id, the
// caller is Microsoft Graph's Change Tracking app (`azp` in v2 tokens, `appid` in v1), and
// `iss` has one of the two issuer forms for its tenant:
//   {authority}/{tid}/v2.0   and   https://sts.windows.net/{tid}/
//
// Thread-safe. Keys are cached; an unknown `kid` refreshes them, at most once a minute.
// Tokens that passed are remembered until they expire, so a batch costs one lookup.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace cdeck::core {

inline constexpr const char* kChangeTrackingAppId = "0bf30f3b-4a52-48df-9a82-234910c4a086";

struct TokenVerdict {
    bool ok = false;
    std::string reason;  // metric label: jwt_malformed, jwt_signature, jwt_expired,
                         // jwt_audience, jwt_issuer, jwt_caller, jwt_keys
    std::string detail;  // one line for the log; no token text
};

class ValidationTokenChecker {
  public:
    // Returns the JWKS document's text (GET jwks_uri), or an error.
    using FetchKeys = std::function<Result<std::string>()>;
    ValidationTokenChecker(std::string appId, std::string authority, FetchKeys fetch);
    ~ValidationTokenChecker();

    TokenVerdict Check(const std::string& token, int64_t nowSeconds);

  private:
    TokenVerdict CheckUncached(const std::string& token, int64_t nowSeconds);
    std::shared_ptr<EVP_PKEY> KeyFor(const std::string& kid, int64_t nowSeconds);
    std::string LoadKeys(const std::string& jwks);  // error text or empty; m_mutex held

    const std::string m_appId;
    const std::string m_authority;  // without a trailing slash
    const FetchKeys m_fetch;
    std::mutex m_mutex;
    std::map<std::string, std::shared_ptr<EVP_PKEY>> m_keys;  // by kid
    int64_t m_lastFetch = -1'000'000;
    std::map<std::string, int64_t> m_passed;  // token -> exp
};

}  // namespace cdeck::core
