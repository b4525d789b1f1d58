#pragma once
// Delegated sign-in (a user's permissions): the device code flow (the default for a wall
// monitor) and the authorization code flow with PKCE on a loopback redirect. Tokens are
// refreshed silently before expiry; refresh tokens rotate and are kept in the TokenCache.
//
// Threads: Token() is called by sync workers concurrently; it holds m_mutex across a
// refresh so one refresh serves all. The SignIn* functions block and belong on a sign-in
// thread (they wait between polls, which a sync worker never does); they can be cancelled.
// Tokens, refresh tokens, codes and verifiers never reach the logger.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/token_cache.hpp"
#include "auth/token_provider.hpp"

namespace cdeck::core {

struct DelegatedConfig {
    std::string authorityUrl;
    std::string tenant;
    std::string clientId;
    std::string scopes =
        "https://graph.microsoft.com/ChannelMessage.Read.All "
        "https://graph.microsoft.com/ChannelMessage.Send "
        "https://graph.microsoft.com/ChannelMessage.ReadWrite "
        "https://graph.microsoft.com/Team.ReadBasic.All "
        "https://graph.microsoft.com/Channel.ReadBasic.All "
        "https://graph.microsoft.com/TeamMember.Read.All offline_access openid profile";
    std::shared_ptr<TokenCache> cache;  // may be null: nothing persisted
};

struct DeviceCodePrompt {
    std::string deviceCode;  // secret: never shown or logged
    std::string userCode;
    std::string verificationUri;
    std::string message;
    int expiresIn = 900;
    int interval = 5;
};

enum class DevicePoll { kSuccess, kPending, kSlowDown, kDeclined, kExpired, kBadCode, kError };
const char* DevicePollName(DevicePoll p);

// PKCE (RFC 7636): a 64-character verifier and its S256 challenge.
std::string NewPkceVerifier();
std::string PkceChallenge(const std::string& verifier);

class DelegatedTokenProvider final : public TokenProvider {
  public:
    DelegatedTokenProvider(DelegatedConfig config, std::shared_ptr<HttpTransport> http);

    Result<AccessToken> Token(bool forceRefresh) override;
    bool IsDelegated() const override { return true; }

    // Loads a cached account (refresh token) for this authority/tenant/client, if any.
    bool RestoreFromCache();
    bool SignedIn() const;
    std::string Account() const;
    // The signed-in user's object id (from client_info's uid), when known.
    std::string UserId() const;
    std::vector<std::string> GrantedScopes() const override;

    // ---- device code flow ----
    Result<DeviceCodePrompt> RequestDeviceCode();
    // One poll of the token endpoint. `error` gets the detail for kError.
    DevicePoll PollDeviceCode(const std::string& deviceCode, Error* error = nullptr);
    // The whole flow: shows the prompt, polls at `interval` (+5 s on slow_down) until
    // success, decline, expiry or cancel. `wait` sleeps (tests pass a fast one).
    Status SignInWithDeviceCode(const std::function<void(const DeviceCodePrompt&)>& show,
                                const std::atomic<bool>* cancel,
                                std::function<void(std::chrono::milliseconds)> wait = {});

    // ---- authorization code + PKCE ----
    // Listens on 127.0.0.1, calls `open` with the authorize URL (xdg-open or print),
    // checks `state`, exchanges the code with the verifier.
    Status SignInWithBrowser(const std::function<void(const std::string& url)>& open,
                             const std::atomic<bool>* cancel,
                             std::chrono::milliseconds timeout = std::chrono::minutes(5));
    Status ExchangeCode(const std::string& code, const std::string& verifier,
                        const std::string& redirectUri);

    // Forgets the tokens and removes the cache entry.
    Status SignOut();

    // Called (on the thread that found out, with no lock of the caller's held) when the
    // refresh token is refused: revoked or expired, so the user has to sign in again.
    void SetSignInRequiredCallback(std::function<void()> callback);

  private:
    Result<std::string> PostToken(const std::vector<std::pair<std::string, std::string>>& form,
                                  HttpResponse* raw);
    Status Accept(const std::string& body);  // requires m_mutex
    Result<AccessToken> RefreshLocked();

    const DelegatedConfig m_config;
    const std::shared_ptr<HttpTransport> m_http;
    mutable std::mutex m_mutex;  // guards everything below
    std::optional<AccessToken> m_access;
    std::string m_refresh;
    std::string m_account;
    std::string m_homeId;
    std::string m_cacheKey;
    std::function<void()> m_onSignInRequired;
    bool m_refreshRefused = false;  // set by RefreshLocked, reported by Token()
};

// Opens a URL in the system browser (xdg-open) when there is one; returns false otherwise.
bool OpenInBrowser(const std::string& url);

}  // namespace cdeck::core
