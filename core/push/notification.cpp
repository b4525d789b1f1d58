#include "push/notification.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "util/encoding.hpp"

namespace cdeck::core {
namespace {

using nlohmann::json;

Error Bad(const std::string& what) {
    return MakeError(ErrorCode::kParse, "notification: " + what);
}

std::string Str(const json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<EncryptedContent> ReadEncrypted(const json& n, std::string& why) {
    auto it = n.find("encryptedContent");
    if (it == n.end() || it->is_null()) return std::nullopt;
    if (!it->is_object()) {
        why = "encryptedContent is not an object";
        return std::nullopt;
    }
    EncryptedContent c{Str(*it, "data"), Str(*it, "dataKey"), Str(*it, "dataSignature"),
                       Str(*it, "encryptionCertificateId"),
                       Str(*it, "encryptionCertificateThumbprint")};
    if (c.data.empty() || c.dataKey.empty() || c.dataSignature.empty())
        why = "encryptedContent lacks data, dataKey or dataSignature";
    return c;
}

Result<ChangeNotification> ReadItem(const json& n) {
    if (!n.is_object()) return Bad("an item of value is not an object");
    ChangeNotification c;
    c.subscriptionId = Str(n, "subscriptionId");
    c.clientState = Str(n, "clientState");
    c.changeType = Str(n, "changeType");
    c.lifecycleEvent = Str(n, "lifecycleEvent");
    c.resource = Str(n, "resource");
    c.tenantId = Str(n, "tenantId");
    if (auto rd = n.find("resourceData"); rd != n.end() && rd->is_object())
        c.resourceId = Str(*rd, "id");
    if (c.subscriptionId.empty()) return Bad("an item has no subscriptionId");
    if (c.changeType.empty() && c.lifecycleEvent.empty())
        return Bad("an item has neither changeType nor lifecycleEvent");
    std::string why;
    c.encrypted = ReadEncrypted(n, why);
    if (!why.empty()) return Bad(why);
    return c;
}

// Reads one 'quoted' id after `prefix` at `pos`; advances pos past the closing "')".
bool QuotedSegment(std::string_view s, size_t& pos, std::string_view prefix, std::string& out) {
    if (s.substr(pos, prefix.size()) != prefix) return false;
    pos += prefix.size();
    size_t end = s.find("')", pos);
    if (end == std::string_view::npos || end == pos) return false;
    out = std::string(s.substr(pos, end - pos));
    pos = end + 2;
    return true;
}

std::optional<MessageResource> ParseSlashForm(std::string_view s) {
    std::vector<std::string> parts;
    size_t start = s.starts_with('/') ? 1 : 0;
    while (start <= s.size()) {
        size_t slash = s.find('/', start);
        if (slash == std::string_view::npos) slash = s.size();
        parts.emplace_back(s.substr(start, slash - start));
        start = slash + 1;
    }
    if ((parts.size() != 6 && parts.size() != 8) || parts[0] != "teams" || parts[2] != "channels" ||
        parts[4] != "messages")
        return std::nullopt;
    if (parts.size() == 8 && parts[6] != "replies") return std::nullopt;
    for (const auto& p : parts)
        if (p.empty()) return std::nullopt;
    return MessageResource{parts[1], parts[3], parts[5], parts.size() == 8 ? parts[7] : ""};
}

std::string Unwrap(EVP_PKEY* key, const std::string& wrapped) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    std::string out;
    size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(wrapped.data());
    if (ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1 &&
        EVP_PKEY_decrypt(ctx, nullptr, &len, in, wrapped.size()) == 1) {
        out.resize(len);
        if (EVP_PKEY_decrypt(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, in,
                             wrapped.size()) == 1)
            out.resize(len);
        else
            out.clear();
    }
    EVP_PKEY_CTX_free(ctx);
    return out;
}

std::string AesDecrypt(const std::string& key, const std::string& data) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::string out(data.size() + 32, '\0');
    int n1 = 0, n2 = 0;
    const auto* k = reinterpret_cast<const unsigned char*>(key.data());
    bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k, k) == 1 &&
              EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n1,
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size())) == 1 &&
              EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return {};
    out.resize(static_cast<size_t>(n1 + n2));
    return out;
}

}  // namespace

Result<NotificationBatch> ParseNotificationBatch(std::string_view body) {
    if (body.size() > kMaxNotificationBody) return Bad("the body is too large");
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Bad("the body is not a JSON object");
    auto value = j.find("value");
    if (value == j.end() || !value->is_array()) return Bad("the body has no value array");
    if (value->size() > kMaxNotificationsPerBatch)
        return Bad("too many notifications in one batch");
    NotificationBatch b;
    for (const auto& n : *value) {
        auto item = ReadItem(n);
        if (!item) return item.error();
        b.items.push_back(std::move(item.value()));
    }
    if (auto t = j.find("validationTokens"); t != j.end()) {
        b.tokensPresent = true;
        if (t->is_null()) {
            b.tokensNull = true;
        } else if (t->is_array()) {
            for (const auto& tok : *t) {
                if (!tok.is_string()) return Bad("a validation token is not a string");
                b.tokens.push_back(tok.get<std::string>());
            }
        } else {
            return Bad("validationTokens is not an array");
        }
    }
    return b;
}

std::optional<MessageResource> ParseMessageResource(std::string_view s) {
    if (s.size() > 2048) return std::nullopt;
    if (s.starts_with("/teams/") || s.starts_with("teams/")) return ParseSlashForm(s);
    MessageResource r;
    size_t pos = 0;
    if (!QuotedSegment(s, pos, "teams('", r.teamId) ||
        !QuotedSegment(s, pos, "/channels('", r.channelId) ||
        !QuotedSegment(s, pos, "/messages('", r.rootId))
        return std::nullopt;
    if (pos == s.size()) return r;
    if (!QuotedSegment(s, pos, "/replies('", r.replyId) || pos != s.size()) return std::nullopt;
    return r;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    size_t n = std::max(a.size(), b.size());
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < n; ++i) {
        unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

Result<std::string> DecryptNotification(const EncryptedContent& c, EVP_PKEY* privateKey) {
    if (!privateKey) return MakeError(ErrorCode::kConfig, "notification: no decryption key");
    std::string data = Base64UrlDecode(c.data);
    std::string wrapped = Base64UrlDecode(c.dataKey);
    std::string signature = Base64UrlDecode(c.dataSignature);
    if (data.empty() || wrapped.empty() || signature.size() != 32)
        return Bad("encryptedContent is not valid base64");
    std::string key = Unwrap(privateKey, wrapped);
    if (key.size() != 32) return Bad("the data key does not decrypt with our key");
    unsigned char mac[32];
    unsigned int macLen = 0;
    HMAC(EVP_sha256(), key.data(), 32, reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &macLen);
    bool signatureOk =
        ConstantTimeEquals(std::string_view(reinterpret_cast<char*>(mac), macLen), signature);
    if (!signatureOk) return Bad("dataSignature does not match the data");
    std::string plain = AesDecrypt(key, data);
    OPENSSL_cleanse(key.data(), key.size());
    if (plain.empty()) return Bad("the data does not decrypt");
    return plain;
}

}  // namespace cdeck::core
