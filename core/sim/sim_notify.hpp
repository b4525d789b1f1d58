#pragma once
// graphsim's change notifications: subscriptions, their delivery state, the delivery model
// and graphsim's own crypto for rich notifications and validation tokens (SERVER.md,
// "Change notification facts"). Not a public header. Threads: the structs are guarded by
// GraphSim::Impl::mutex; SimSigner is thread-safe once initialised; the free functions are
// pure and may run on any thread.
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/tenant.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace cdeck::sim {

// The Microsoft Graph Change Tracking application, the caller named in validation tokens.
inline constexpr const char* kChangeTrackingAppId = "0bf30f3b-4a52-48df-9a82-234910c4a086";

// One notification waiting for delivery (or for a retry).
struct PendingNotification {
    nlohmann::json item;  // the changeNotification object
    std::string appId;    // whose validation token goes with it
    Millis due = 0;       // not before
    Millis generated = 0;
    int attempts = 0;
    bool lifecycle = false;  // goes to the lifecycle URL
};

struct SubscriptionStats {
    uint64_t generated = 0;  // changes that matched the subscription
    uint64_t delivered = 0;  // notifications in a batch answered with 2xx
    uint64_t retried = 0;    // notifications sent again after a failed attempt
    uint64_t dropped = 0;    // lost: drop state, retries exhausted, or injected silent loss
    uint64_t duplicated = 0;
    uint64_t lifecycle = 0;  // lifecycle notifications delivered
};

struct SimSubscription {
    std::string id;
    std::string appId;
    std::string resource;
    std::string changeType;  // as given: "created,updated"
    std::string notificationUrl;
    std::string lifecycleUrl;
    std::string clientState;
    bool includeResourceData = false;
    std::string certificateB64;  // encryptionCertificate (base64 DER)
    std::string certificateId;
    std::string thumbprint;  // SHA-1 of the DER certificate, hex upper case
    int channel = -1;        // -1: /teams/getAllMessages
    Millis expires = 0;
    Millis createdAt = 0;
    Millis lastPatch = -1'000'000'000, lastReauthorize = -1'000'000'000;
    Millis nextReauthNotice = 0;  // reauthorizationRequired schedule in the last hour
    Millis lastReauthNotice = -1'000'000'000;
    bool removed = false;  // subscriptionRemoved or expired: gone, 404 from now on
    // A reauthorizationRequired not yet answered by a PATCH or reauthorize; a second one
    // unanswered pauses delivery (changes meanwhile are lost, as documented).
    bool reauthPending = false, paused = false;
    std::deque<PendingNotification> queue;
    SubscriptionStats stats;
};

// What the delivery model does; POST /_sim/notifications changes it.
struct DeliverySettings {
    double latencyMedianMs = 3000;  // log-normal; documented: average under 10 s
    double latencyMaxMs = 60000;    // documented: at most about a minute
    double duplicateRate = 0, lossRate = 0, reorderRate = 0;
    // Graph's thresholds and windows (3 s, 10 s, 10 minutes, back-off from 10 s, 4 hours of
    // retries) multiplied by this, so that tests can reach the slow and drop states.
    double timeScale = 1.0;
    int maxBatch = 100;
    int tenantCap = 10000;  // Teams subscriptions per tenant
    int jwtVersion = 2;     // 1: sts.windows.net issuer and appid; 2: v2.0 issuer and azp
    // One-shot forgeries for the next N batches (tests of the receiver's checks):
    // client-state, hmac, ciphertext, jwt-audience, jwt-issuer, jwt-caller, jwt-signature,
    // jwt-expired, null-tokens, replay.
    std::string forge;
    int forgeCount = 0;
};

// Per notification URL: recent answers, for Graph's "slow" and "drop" states.
struct EndpointHealth {
    std::deque<std::pair<Millis, double>> answers;  // (when, seconds taken or 1e9 for failure)
    Millis slowUntil = 0, dropUntil = 0;
    std::string lastBatch;  // the last body delivered (for the replay forgery)
};

struct DeliveryTotals {
    std::vector<double> latencyMs;  // generated to delivered, recent (a ring), ground truth
    size_t latencyNext = 0;
    uint64_t batches = 0, failedBatches = 0, validations = 0, failedValidations = 0;
    uint64_t patchReauthorizeConflicts = 0;  // PATCH and reauthorize within 10 minutes
    uint64_t slowEntered = 0, dropEntered = 0;
};

// graphsim's signing key for validation tokens and its JWKS entry. Thread-safe after
// creation (read only).
struct SimSigner {
    EVP_PKEY* key = nullptr;
    std::string kid;
    nlohmann::json jwk;
    SimSigner() = default;
    SimSigner(const SimSigner&) = delete;
    SimSigner& operator=(const SimSigner&) = delete;
    ~SimSigner();
    std::string Init();  // generates the key; error text or empty
    std::string SignRs256(const nlohmann::json& header, const nlohmann::json& payload) const;
};

// Rich notification encryption, as documented: a random 32-byte key, RSA-OAEP (SHA-1) with
// the subscriber's certificate, AES-256-CBC with PKCS7 and the key's first 16 bytes as IV,
// HMAC-SHA256 over the ciphertext. Returns the encryptedContent object, or null on error.
nlohmann::json EncryptForSubscriber(const std::string& certB64, const std::string& certId,
                                    const std::string& thumbprint, const std::string& plaintext);
// Checks an encryptionCertificate: base64 DER X.509 with an RSA key of 2048-4096 bits.
// Returns the error text, or empty; sets the SHA-1 thumbprint.
std::string CheckEncryptionCertificate(const std::string& certB64, std::string& thumbprint);
std::string Base64Std(const std::string& in);

}  // namespace cdeck::sim
