#pragma once
// Access-token sources for the Graph client.
//
// A TokenProvider hands out bearer tokens. Implementations are thread-safe: sync workers
// call AccessToken() concurrently; the first caller that finds the token near expiry
// refreshes it while the others wait on the same mutex, so one refresh serves everyone.
// Tokens and secrets never reach the logger.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace cdeck::core {

struct AccessToken {
    std::string token;
    UnixMillis expiresAt = 0;
    std::vector<std::string> scopes;  // granted scopes or app roles, when known
};

class TokenProvider {
  public:
    virtual ~TokenProvider() = default;
    // Returns a token valid for at least a minute (or the provider's refresh margin).
    // forceRefresh: the server rejected the cached token (401); get a new one.
    virtual Result<AccessToken> Token(bool forceRefresh) = 0;
    // Whether the token acts as a user (delegated) or as the app (application permissions).
    virtual bool IsDelegated() const = 0;
    // The delegated scopes or app roles of the current token; empty when unknown.
    virtual std::vector<std::string> GrantedScopes() const { return {}; }
};

struct ClientCredentialsConfig {
    std::string authorityUrl;  // e.g. https://login.microsoftonline.com
    std::string tenant;
    std::string clientId;
    std::string clientSecret;  // never logged
    std::string scope = "https://graph.microsoft.com/.default";
    // Certificate credential instead of a secret: PEM files of the certificate registered
    // with the app and its private key. The key file must not be readable by others.
    std::string certificatePath;
    std::string privateKeyPath;
};

// OAuth 2.0 client credentials grant with a shared secret (application permissions).
class ClientCredentialsProvider final : public TokenProvider {
  public:
    ClientCredentialsProvider(ClientCredentialsConfig config, std::shared_ptr<HttpTransport> http);
    Result<AccessToken> Token(bool forceRefresh) override;
    bool IsDelegated() const override { return false; }
    std::vector<std::string> GrantedScopes() const override;

  private:
    Result<AccessToken> Fetch();

    const ClientCredentialsConfig m_config;
    const std::shared_ptr<HttpTransport> m_http;
    mutable std::mutex m_mutex;  // guards m_cached; held across a refresh so only one runs
    std::optional<AccessToken> m_cached;
};

// A JWT client assertion (RFC 7523) signed RS256 with the private key, carrying the
// certificate's SHA-1 thumbprint as x5t, for the token endpoint `audience`.
Result<std::string> BuildClientAssertion(const std::string& certPem, const std::string& keyPem,
                                         const std::string& clientId, const std::string& audience,
                                         UnixMillis now);

// Parses a token endpoint success body ({access_token, expires_in, ...}).
Result<AccessToken> ParseTokenResponse(const std::string& body, UnixMillis now);

// application/x-www-form-urlencoded body from key/value pairs.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace cdeck::core
