#include "sim/tls_cert.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <random>

namespace cdeck::sim {
namespace {

std::string OpenSslError(const char* what) {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    return std::string(what) + ": " + buf;
}

bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) return false;
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

X509* MakeCert(EVP_PKEY* key, X509* issuer, EVP_PKEY* issuerKey, const char* cn, bool isCa,
               const std::string& ip, std::string& err) {
    X509* cert = X509_new();
    if (!cert) {
        err = OpenSslError("X509_new");
        return nullptr;
    }
    X509_set_version(cert, 2);  // v3
    std::random_device rd;
    ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), (static_cast<int64_t>(rd()) << 20) ^ rd());
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 60L * 60 * 24 * 30);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("ChannelDeck graphsim"), -1,
                               -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                               -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509* iss = issuer ? issuer : cert;
    bool ok = AddExt(cert, iss, NID_subject_key_identifier, "hash");
    if (isCa) {
        ok = ok && AddExt(cert, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
             AddExt(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        std::string san = "IP:" + ip;
        ok = ok && AddExt(cert, iss, NID_basic_constraints, "critical,CA:FALSE") &&
             AddExt(cert, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
             AddExt(cert, iss, NID_ext_key_usage, "serverAuth") &&
             AddExt(cert, iss, NID_subject_alt_name, san.c_str()) &&
             AddExt(cert, iss, NID_authority_key_identifier, "keyid:always");
    }
    if (!ok || X509_sign(cert, issuerKey, EVP_sha256()) == 0) {
        err = OpenSslError("certificate");
        X509_free(cert);
        return nullptr;
    }
    return cert;
}

}  // namespace

TlsIdentity::TlsIdentity(TlsIdentity&& o) noexcept
    : serverCert(o.serverCert),
      serverKey(o.serverKey),
      caPem(std::move(o.caPem)),
      error(std::move(o.error)) {
    o.serverCert = nullptr;
    o.serverKey = nullptr;
}

TlsIdentity::~TlsIdentity() {
    if (serverCert) X509_free(serverCert);
    if (serverKey) EVP_PKEY_free(serverKey);
}

namespace {

std::string PemOf(int (*write)(BIO*, void*), void* object) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio, object);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
}

int WriteCert(BIO* b, void* x) {
    return PEM_write_bio_X509(b, static_cast<X509*>(x));
}
int WriteKey(BIO* b, void* k) {
    return PEM_write_bio_PrivateKey(b, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr,
                                    nullptr);
}

}  // namespace

TlsIdentity GenerateTlsIdentity(const std::string& ip, const std::string& caCertPem,
                                const std::string& caKeyPem) {
    TlsIdentity id;
    X509* ca = nullptr;
    EVP_PKEY* caKey = nullptr;
    if (!caCertPem.empty() && !caKeyPem.empty()) {  // the CA of an earlier run
        BIO* cb = BIO_new_mem_buf(caCertPem.data(), static_cast<int>(caCertPem.size()));
        BIO* kb = BIO_new_mem_buf(caKeyPem.data(), static_cast<int>(caKeyPem.size()));
        ca = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
        caKey = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
        BIO_free(cb);
        BIO_free(kb);
        if (!ca || !caKey || X509_check_private_key(ca, caKey) != 1) {
            if (ca) X509_free(ca);
            if (caKey) EVP_PKEY_free(caKey);
            ca = nullptr;
            caKey = nullptr;  // unreadable: a new CA below
        }
    }
    if (!caKey) caKey = EVP_EC_gen("P-256");
    EVP_PKEY* srvKey = EVP_EC_gen("P-256");
    if (!caKey || !srvKey) {
        id.error = OpenSslError("key generation");
        if (caKey) EVP_PKEY_free(caKey);
        if (srvKey) EVP_PKEY_free(srvKey);
        if (ca) X509_free(ca);
        return id;
    }
    if (!ca) ca = MakeCert(caKey, nullptr, caKey, "graphsim local CA", true, ip, id.error);
    X509* srv = ca ? MakeCert(srvKey, ca, caKey, ip.c_str(), false, ip, id.error) : nullptr;
    if (ca && srv) {
        id.caPem = PemOf(WriteCert, ca);
        id.caKeyPem = PemOf(WriteKey, caKey);
        id.serverCertPem = PemOf(WriteCert, srv);
        id.serverKeyPem = PemOf(WriteKey, srvKey);
        id.serverCert = srv;
        id.serverKey = srvKey;
        srvKey = nullptr;
    } else if (srv) {
        X509_free(srv);
    }
    if (ca) X509_free(ca);
    EVP_PKEY_free(caKey);
    if (srvKey) EVP_PKEY_free(srvKey);
    return id;
}

}  // namespace cdeck::sim
