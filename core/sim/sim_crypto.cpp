// graphsim's crypto for change notifications: the RS256 key that signs validation tokens
// (published at the authority's jwks_uri) and rich-notification encryption with the
// subscriber's certificate. graphsim's own code: it shares none with the node's decryptor.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

std::string BigNumB64Url(const BIGNUM* bn) {
    std::string raw(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(raw.data()));
    return Base64Url(raw);
}

struct X509Ptr {
    X509* p = nullptr;
    ~X509Ptr() {
        if (p) X509_free(p);
    }
};
struct PKeyPtr {
    EVP_PKEY* p = nullptr;
    ~PKeyPtr() {
        if (p) EVP_PKEY_free(p);
    }
};

X509* ParseDer(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    return d2i_X509(nullptr, &p, static_cast<long>(der.size()));
}

std::string RsaOaepSha1(EVP_PKEY* key, const std::string& in) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
    std::string out;
    size_t len = 0;
    if (ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha1()) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha1()) == 1 &&
        EVP_PKEY_encrypt(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(in.data()),
                         in.size()) == 1) {
        out.resize(len);
        if (EVP_PKEY_encrypt(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                             reinterpret_cast<const unsigned char*>(in.data()), in.size()) == 1)
            out.resize(len);
        else
            out.clear();
    }
    EVP_PKEY_CTX_free(ctx);
    return out;
}

std::string Aes256Cbc(const std::string& key, const std::string& plain) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::string out(plain.size() + 32, '\0');
    int n1 = 0, n2 = 0;
    const auto* k = reinterpret_cast<const unsigned char*>(key.data());
    bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), nullptr, k, k) == 1 &&
              EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n1,
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size())) == 1 &&
              EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) return {};
    out.resize(static_cast<size_t>(n1 + n2));
    return out;
}

}  // namespace

std::string Base64Std(const std::string& in) {
    std::string out = Base64Url(in);
    for (auto& c : out) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (out.size() % 4) out += '=';
    return out;
}

SimSigner::~SimSigner() {
    if (key) EVP_PKEY_free(key);
}

std::string SimSigner::Init() {
    key = EVP_RSA_gen(2048);
    if (!key) return "cannot generate the token signing key";
    BIGNUM *n = nullptr, *e = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        BN_free(n);
        BN_free(e);
        return "cannot read the token signing key";
    }
    kid = "graphsim-" + RandomHex(6);
    jwk = {{"kty", "RSA"}, {"use", "sig"},         {"alg", "RS256"},
           {"kid", kid},   {"n", BigNumB64Url(n)}, {"e", BigNumB64Url(e)}};
    BN_free(n);
    BN_free(e);
    return {};
}

std::string SimSigner::SignRs256(const json& header, const json& payload) const {
    std::string input = Base64Url(header.dump()) + "." + Base64Url(payload.dump());
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    std::string sig;
    if (ctx && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1) {
        sig.resize(len);
        if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1)
            sig.resize(len);
        else
            sig.clear();
    }
    EVP_MD_CTX_free(ctx);
    return input + "." + Base64Url(sig);
}

std::string CheckEncryptionCertificate(const std::string& certB64, std::string& thumbprint) {
    std::string der = FromBase64Url(certB64);
    X509Ptr cert{der.empty() ? nullptr : ParseDer(der)};
    if (!cert.p) return "encryptionCertificate is not a base64-encoded X.509 certificate.";
    PKeyPtr key{X509_get_pubkey(cert.p)};
    if (!key.p || EVP_PKEY_get_base_id(key.p) != EVP_PKEY_RSA)
        return "encryptionCertificate must hold an RSA public key.";
    int bits = EVP_PKEY_get_bits(key.p);
    if (bits < 2048 || bits > 4096)
        return "encryptionCertificate key size must be between 2048 and 4096 bits.";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(der.data()), der.size(), digest);
    static const char* hex = "0123456789ABCDEF";
    thumbprint.clear();
    for (unsigned char c : digest) {
        thumbprint += hex[c >> 4];
        thumbprint += hex[c & 15];
    }
    return {};
}

json EncryptForSubscriber(const std::string& certB64, const std::string& certId,
                          const std::string& thumbprint, const std::string& plaintext) {
    std::string der = FromBase64Url(certB64);
    X509Ptr cert{ParseDer(der)};
    if (!cert.p) return nullptr;
    PKeyPtr pub{X509_get_pubkey(cert.p)};
    if (!pub.p) return nullptr;
    std::string key(32, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), 32);
    std::string data = Aes256Cbc(key, plaintext);
    std::string wrapped = RsaOaepSha1(pub.p, key);
    if (data.empty() || wrapped.empty()) return nullptr;
    unsigned char mac[32];
    unsigned int macLen = 0;
    HMAC(EVP_sha256(), key.data(), 32, reinterpret_cast<const unsigned char*>(data.data()),
         data.size(), mac, &macLen);
    return {{"data", Base64Std(data)},
            {"dataSignature", Base64Std(std::string(reinterpret_cast<char*>(mac), macLen))},
            {"dataKey", Base64Std(wrapped)},
            {"encryptionCertificateId", certId},
            {"encryptionCertificateThumbprint", thumbprint}};
}

}  // namespace cdeck::sim
