// The node's notification checks as units: the batch and resource parsers, constant-time
// comparison, rich-notification decryption (against an encryption written here from the
// documented recipe), the validation-token checker, and the key pair on disk.
#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "push/notification.hpp"
#include "push/push_keys.hpp"
#include "push/validation_token.hpp"
#include "support/test_util.hpp"
#include "util/encoding.hpp"

using namespace cdeck;
using namespace cdeck::core;
using nlohmann::json;

namespace {

std::string B64(const std::string& raw) {
    std::string s = Base64UrlEncode(raw);
    for (auto& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4) s += '=';
    return s;
}

// The documented recipe, independently of graphsim: OAEP-SHA1 key wrap, AES-256-CBC with
// the key's first 16 bytes as IV, HMAC-SHA256 over the ciphertext.
EncryptedContent Encrypt(EVP_PKEY* pub, const std::string& plain, const std::string& certId) {
    std::string key = RandomBytes(32);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    std::string data(plain.size() + 32, '\0');
    int n1 = 0, n2 = 0;
    auto* k = reinterpret_cast<const unsigned char*>(key.data());
    EVP_EncryptInit_ex(c, EVP_aes_256_cbc(), nullptr, k, k);
    EVP_EncryptUpdate(c, reinterpret_cast<unsigned char*>(data.data()), &n1,
                      reinterpret_cast<const unsigned char*>(plain.data()),
                      static_cast<int>(plain.size()));
    EVP_EncryptFinal_ex(c, reinterpret_cast<unsigned char*>(data.data()) + n1, &n2);
    EVP_CIPHER_CTX_free(c);
    data.resize(static_cast<size_t>(n1 + n2));
    EVP_PKEY_CTX* pc = EVP_PKEY_CTX_new(pub, nullptr);
    EVP_PKEY_encrypt_init(pc);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(pc, EVP_sha1());
    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, EVP_sha1());
    size_t len = 0;
    EVP_PKEY_encrypt(pc, nullptr, &len, k, 32);
    std::string wrapped(len, '\0');
    EVP_PKEY_encrypt(pc, reinterpret_cast<unsigned char*>(wrapped.data()), &len, k, 32);
    wrapped.resize(len);
    EVP_PKEY_CTX_free(pc);
    unsigned char mac[32];
    unsigned int macLen = 0;
    HMAC(EVP_sha256(), key.data(), 32, reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &macLen);
    return {B64(data), B64(wrapped), B64(std::string(reinterpret_cast<char*>(mac), macLen)), certId,
            "AB"};
}

struct TestSigner {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    ~TestSigner() { EVP_PKEY_free(key); }
    std::string Jwks(const std::string& kid) const {
        BIGNUM *n = nullptr, *e = nullptr;
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
        auto bin = [](BIGNUM* b) {
            std::string s(static_cast<size_t>(BN_num_bytes(b)), '\0');
            BN_bn2bin(b, reinterpret_cast<unsigned char*>(s.data()));
            return Base64UrlEncode(s);
        };
        json j = {{"keys", {{{"kty", "RSA"}, {"kid", kid}, {"n", bin(n)}, {"e", bin(e)}}}}};
        BN_free(n);
        BN_free(e);
        return j.dump();
    }
    std::string Sign(const json& payload, const std::string& kid = "k1") const {
        std::string input = Base64UrlEncode(json({{"alg", "RS256"}, {"kid", kid}}).dump()) + "." +
                            Base64UrlEncode(payload.dump());
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        size_t len = 0;
        EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size());
        std::string sig(len, '\0');
        EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size());
        EVP_MD_CTX_free(ctx);
        return input + "." + Base64UrlEncode(sig.substr(0, len));
    }
};

const char* kApp = "11111111-2222-3333-4444-555555555555";
const char* kTid = "tenant-guid";
const char* kAuthority = "https://login.example";

json GoodClaims(int64_t now) {
    return {{"aud", kApp},       {"iss", std::string(kAuthority) + "/" + kTid + "/v2.0"},
            {"tid", kTid},       {"azp", kChangeTrackingAppId},
            {"exp", now + 3600}, {"nbf", now - 10}};
}

}  // namespace

TEST_CASE("push units: batch parser accepts Graph's shape and refuses broken ones") {
    auto ok = ParseNotificationBatch(
        R"J({"value":[{"subscriptionId":"s","clientState":"c","changeType":"created",)J"
        R"J("resource":"teams('t')/channels('19:a@thread.tacv2')/messages('1')/replies('2')",)J"
        R"J("resourceData":{"id":"2"},"tenantId":"x","encryptedContent":{"data":"AA==",)J"
        R"J("dataKey":"AA==","dataSignature":"AA==","encryptionCertificateId":"k"}}],)J"
        R"J("validationTokens":["a.b.c"]})J");
    REQUIRE(ok.ok());
    REQUIRE(ok->items.size() == 1);
    CHECK(ok->items[0].resourceId == "2");
    CHECK(ok->items[0].encrypted.has_value());
    CHECK(ok->tokens.size() == 1);
    auto nullTokens = ParseNotificationBatch(
        R"({"value":[{"subscriptionId":"s","changeType":"created"}],"validationTokens":null})");
    REQUIRE(nullTokens.ok());
    CHECK(nullTokens->tokensNull);
    for (const char* bad :
         {"", "[]", "{\"value\":{}}", "{\"value\":[1]}",
          "{\"value\":[{\"changeType\":\"created\"}]}", "{\"value\":[{\"subscriptionId\":\"s\"}]}",
          "{\"value\":[{\"subscriptionId\":\"s\",\"changeType\":\"created\","
          "\"encryptedContent\":{\"data\":\"x\"}}]}",
          "{\"value\":[],\"validationTokens\":[1]}"}) {
        CAPTURE(bad);
        CHECK_FALSE(ParseNotificationBatch(bad).ok());
    }
}

TEST_CASE("push units: resource paths of roots and replies, both forms") {
    auto r = ParseMessageResource("teams('t1')/channels('19:x@thread.tacv2')/messages('10')");
    REQUIRE(r.has_value());
    CHECK(r->channelId == "19:x@thread.tacv2");
    CHECK(r->rootId == "10");
    CHECK(r->replyId.empty());
    auto reply = ParseMessageResource("/teams/t1/channels/c1/messages/10/replies/11");
    REQUIRE(reply.has_value());
    CHECK(reply->replyId == "11");
    for (const char* bad : {"", "teams('t')", "teams('t')/channels('c')/messages('')",
                            "teams('t')/channels('c')/messages('m')/extra",
                            "/teams/t/channels/c/messages", "/teams//channels/c/messages/m"}) {
        CAPTURE(bad);
        CHECK_FALSE(ParseMessageResource(bad).has_value());
    }
}

TEST_CASE("push units: constant-time equality") {
    CHECK(ConstantTimeEquals("secret", "secret"));
    CHECK_FALSE(ConstantTimeEquals("secret", "secreT"));
    CHECK_FALSE(ConstantTimeEquals("secret", "secret2"));
    CHECK_FALSE(ConstantTimeEquals("", "x"));
    CHECK(ConstantTimeEquals("", ""));
}

TEST_CASE("push units: decryption checks the signature first and refuses tampering") {
    test::TempDir dir;
    auto keys = NotificationKeys::LoadOrCreate((dir.path / "k").string());
    REQUIRE(keys.ok());
    std::string id = keys.value()->CertificateId();
    PKeyPtr key = keys.value()->KeyFor(id);
    REQUIRE(key);
    std::string plain = R"({"id":"1","body":{"content":"hi"}})";
    EncryptedContent c = Encrypt(key.get(), plain, id);
    auto out = DecryptNotification(c, key.get());
    REQUIRE(out.ok());
    CHECK(out.value() == plain);
    EncryptedContent tampered = c;
    tampered.data[5] = tampered.data[5] == 'A' ? 'B' : 'A';
    auto t = DecryptNotification(tampered, key.get());
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message.find("dataSignature") != std::string::npos);
    EncryptedContent badKey = c;
    badKey.dataKey[7] = badKey.dataKey[7] == 'A' ? 'B' : 'A';
    CHECK_FALSE(DecryptNotification(badKey, key.get()).ok());
    CHECK_FALSE(DecryptNotification({"!!", "??", "..", id, ""}, key.get()).ok());
    // The key file is the owner's alone; a reload finds the same identity.
    struct stat st {};
    REQUIRE(::stat((dir.path / "k" / "notify-key.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    auto again = NotificationKeys::LoadOrCreate((dir.path / "k").string());
    REQUIRE(again.ok());
    CHECK(again.value()->CertificateId() == id);
    // Rotation: a new current key; the old one still decrypts until forgotten.
    auto fresh = again.value()->Rotate();
    REQUIRE(fresh.ok());
    CHECK(fresh.value() != id);
    CHECK(again.value()->KeyFor(id) != nullptr);
    again.value()->ForgetPrevious();
    CHECK(again.value()->KeyFor(id) == nullptr);
}

TEST_CASE("push units: validation tokens - signature, expiry, audience, issuer forms, caller") {
    TestSigner signer;
    int fetches = 0;
    ValidationTokenChecker check(kApp, std::string(kAuthority) + "/", [&] {
        ++fetches;
        return Result<std::string>(signer.Jwks("k1"));
    });
    int64_t now = 1'800'000'000;
    CHECK(check.Check(signer.Sign(GoodClaims(now)), now).ok);
    json v1 = GoodClaims(now);
    v1.erase("azp");
    v1["appid"] = kChangeTrackingAppId;
    v1["iss"] = std::string("https://sts.windows.net/") + kTid + "/";
    CHECK(check.Check(signer.Sign(v1), now).ok);
    auto reason = [&](json claims) { return check.Check(signer.Sign(claims), now).reason; };
    json c = GoodClaims(now);
    c["aud"] = "someone-else";
    CHECK(reason(c) == "jwt_audience");
    c = GoodClaims(now);
    c["iss"] = "https://evil.example/" + std::string(kTid) + "/v2.0";
    CHECK(reason(c) == "jwt_issuer");
    c = GoodClaims(now);
    c["iss"] = std::string(kAuthority) + "/other-tenant/v2.0";
    CHECK(reason(c) == "jwt_issuer");
    c = GoodClaims(now);
    c["azp"] = "not-graph";
    CHECK(reason(c) == "jwt_caller");
    c = GoodClaims(now);
    c["exp"] = now - 3600;
    CHECK(reason(c) == "jwt_expired");
    c = GoodClaims(now);
    c["nbf"] = now + 3600;
    CHECK(reason(c) == "jwt_expired");
    std::string good = signer.Sign(GoodClaims(now));
    std::string forged = good;
    forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
    CHECK(check.Check(forged, now).reason == "jwt_signature");
    CHECK(check.Check("not-a-jwt", now).reason == "jwt_malformed");
    CHECK(check.Check(signer.Sign(GoodClaims(now), "unknown-kid"), now).reason == "jwt_keys");
    CHECK(fetches == 1);  // one key fetch; the unknown kid does not refetch within a minute
    CHECK(check.Check(signer.Sign(GoodClaims(now), "unknown-kid"), now + 61).reason == "jwt_keys");
    CHECK(fetches == 2);
}
