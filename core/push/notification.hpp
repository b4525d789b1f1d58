#pragma once
// Change notifications as the node receives them (SERVER.md, "Change notification facts"):
// the batch parser, the resource path parser, and the checks on rich notifications
// (HMAC-SHA256 first, in constant time; then RSA-OAEP-SHA1 and AES-256-CBC).
//
// Pure functions over untrusted input: every failure is an Error, never a crash; nothing
// here logs. Thread-safe. The fuzz target fuzz_notification drives all of them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace cdeck::core {

struct EncryptedContent {
    std::string data;           // base64 AES-256-CBC ciphertext
    std::string dataKey;        // base64 RSA-OAEP-SHA1 wrapped 32-byte key
    std::string dataSignature;  // base64 HMAC-SHA256 of the ciphertext
    std::string certificateId;
    std::string thumbprint;
};

struct ChangeNotification {
    std::string subscriptionId;
    std::string clientState;
    std::string changeType;      // created | updated | deleted (empty for lifecycle)
    std::string lifecycleEvent;  // reauthorizationRequired | subscriptionRemoved | ...
    std::string resource;
    std::string resourceId;  // resourceData.id: the message's id
    std::string tenantId;
    std::optional<EncryptedContent> encrypted;
};

struct NotificationBatch {
    std::vector<ChangeNotification> items;
    bool tokensPresent = false;  // "validationTokens" was in the body
    bool tokensNull = false;     // ... and null: a misconfigured app registration
    std::vector<std::string> tokens;
};

// Limits that keep a hostile body cheap to reject.
inline constexpr size_t kMaxNotificationsPerBatch = 1000;
inline constexpr size_t kMaxNotificationBody = 4 * 1024 * 1024;

Result<NotificationBatch> ParseNotificationBatch(std::string_view body);

// "teams('T')/channels('C')/messages('M')" or ".../messages('M')/replies('R')" (also the
// slash form /teams/T/channels/C/messages/M). False when it names no channel message.
struct MessageResource {
    std::string teamId, channelId, rootId, replyId;  // replyId empty for a root
};
std::optional<MessageResource> ParseMessageResource(std::string_view resource);

// Constant-time comparison (lengths may differ; the time depends on the longer length only).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Unwraps the data key with our private key (RSA-OAEP-SHA1), checks dataSignature against
// it in constant time, and only then decrypts (AES-256-CBC): the chatMessage JSON text.
// Errors name the failed step, never key material.
Result<std::string> DecryptNotification(const EncryptedContent& content, EVP_PKEY* privateKey);

}  // namespace cdeck::core
