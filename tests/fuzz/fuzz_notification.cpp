// Change-notification batches from untrusted bytes, through the webhook's whole check path:
// the parser, clientState, validation tokens (against a fixed key set), resource paths,
// the HMAC check and decryption with the node's key. Nothing may crash, hang or leak, and a
// batch is only ever accepted (202) with something queued or seen before.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "push/notification.hpp"
#include "push/push_keys.hpp"
#include "push/validation_token.hpp"
#include "push/webhook.hpp"

namespace {

using namespace cdeck::core;

struct Rig {
    std::unique_ptr<NotificationKeys> keys;
    ValidationTokenChecker tokens{
        "app", "https://login.example", [] {
            return Result<std::string>(
                std::string(R"({"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]})"));
        }};
    PushQueue queue{100000};
    PushCounters counters;
    std::unique_ptr<WebhookReceiver> receiver;
    Rig() {
        auto dir = std::filesystem::temp_directory_path() / "cdeck-fuzz-notification-keys";
        auto k = NotificationKeys::LoadOrCreate(dir.string());
        if (!k) std::abort();
        keys = std::move(k.value());
        receiver = std::make_unique<WebhookReceiver>(
            [](const std::string& id, const std::string& state) {
                return id == "s" && ConstantTimeEquals(state, "c");
            },
            tokens, *keys, queue, counters, [] { return int64_t{1'800'000'000'000}; });
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Rig rig;
    std::string body(reinterpret_cast<const char*>(data), size);
    auto batch = ParseNotificationBatch(body);
    if (batch.ok()) {
        for (const auto& n : batch->items) {
            (void)ParseMessageResource(n.resource);
            if (n.encrypted) {
                PKeyPtr key = rig.keys->KeyFor(rig.keys->CertificateId());
                (void)DecryptNotification(*n.encrypted, key.get());
            }
        }
        for (const auto& t : batch->tokens) (void)rig.tokens.Check(t, 1'800'000'000);
    }
    int status = rig.receiver->Handle(body);
    if (status != 202 && status != 400 && status != 401 && status != 403 && status != 413 &&
        status != 503)
        std::abort();
    PushItem item;
    while (rig.queue.Pop(item, 0)) {
        if (item.kind != PushItem::Kind::kLifecycle && item.where.channelId.empty()) std::abort();
    }
    return 0;
}
