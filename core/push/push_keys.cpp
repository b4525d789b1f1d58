#include "push/push_keys.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>

#include "platform/os.hpp"
#include "util/encoding.hpp"

namespace cdeck::core {
namespace {

namespace fs = std::filesystem;

PKeyPtr Own(EVP_PKEY* k) {
    return PKeyPtr(k, [](EVP_PKEY* p) { EVP_PKEY_free(p); });
}

std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

Status WritePrivate(const std::string& path, const std::string& text) {
    if (Status st = os::WriteOwnerOnlyFile(path, text); !st)
        return MakeError(ErrorCode::kIo,
                         "cannot write the notification key: " + st.error().message);
    return OkStatus();
}

std::string IdOf(const std::string& der) {
    std::string digest = Sha1(der);
    static const char* hex = "0123456789abcdef";
    std::string out = "cdeck-";
    for (unsigned char c : digest.substr(0, 12)) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

std::string DerOf(X509* cert) {
    int len = i2d_X509(cert, nullptr);
    if (len <= 0) return {};
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &p);
    return der;
}

X509* SelfSigned(EVP_PKEY* key) {
    X509* x = X509_new();
    if (!x) return nullptr;
    X509_set_version(x, 2);
    std::string serial = RandomBytes(8);
    BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()), 8, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 2L * 365 * 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(
        name, "CN", MBSTRING_ASC,
        reinterpret_cast<const unsigned char*>("channeldeck-node change notifications"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, key, EVP_sha256()) <= 0) {
        X509_free(x);
        return nullptr;
    }
    return x;
}

std::string MemoryPem(const std::function<int(BIO*)>& write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
}

std::string Pem(X509* cert) {
    return MemoryPem([cert](BIO* b) { return PEM_write_bio_X509(b, cert); });
}

std::string Pem(EVP_PKEY* key) {
    return MemoryPem([key](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
}

}  // namespace

Result<NotificationKeys::Pair> NotificationKeys::Create(const std::string& keyPath,
                                                        const std::string& certPath) {
    PKeyPtr key = Own(EVP_RSA_gen(2048));
    if (!key) return MakeError(ErrorCode::kInternal, "cannot generate the notification key");
    X509* cert = SelfSigned(key.get());
    if (!cert) return MakeError(ErrorCode::kInternal, "cannot make the notification certificate");
    std::string certPem = Pem(cert), der = DerOf(cert);
    X509_free(cert);
    if (auto st = WritePrivate(keyPath, Pem(key.get())); !st) return st.error();
    std::ofstream out(certPath, std::ios::trunc);
    out << certPem;
    if (!out) return MakeError(ErrorCode::kIo, "cannot write " + certPath);
    return Pair{key, der, IdOf(der)};
}

Result<NotificationKeys::Pair> NotificationKeys::Load(const std::string& keyPath,
                                                      const std::string& certPath) {
    if (auto open = os::OthersCanRead(keyPath); open && *open)
        return MakeError(ErrorCode::kConfig,
                         "the notification key " + keyPath +
                             " is readable by others; run: " + os::OwnerOnlyCommand(keyPath));
    std::string keyPem = Slurp(keyPath), certPem = Slurp(certPath);
    BIO* kb = BIO_new_mem_buf(keyPem.data(), static_cast<int>(keyPem.size()));
    BIO* cb = BIO_new_mem_buf(certPem.data(), static_cast<int>(certPem.size()));
    PKeyPtr key = Own(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
    X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
    BIO_free(kb);
    BIO_free(cb);
    bool match = key && cert && X509_check_private_key(cert, key.get()) == 1;
    std::string der = cert ? DerOf(cert) : std::string();
    if (cert) X509_free(cert);
    if (!match)
        return MakeError(ErrorCode::kConfig, "the notification key " + keyPath +
                                                 " and certificate " + certPath +
                                                 " are unreadable or do not match");
    return Pair{key, der, IdOf(der)};
}

Result<std::unique_ptr<NotificationKeys>> NotificationKeys::LoadOrCreate(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
    std::unique_ptr<NotificationKeys> k(new NotificationKeys(dir));
    std::string key = dir + "/notify-key.pem", cert = dir + "/notify-cert.pem";
    // Nodes sharing the directory (a cluster) start together: one creates, the others load.
    auto cur = [&] {
        auto lock = os::FileLock::Acquire(dir + "/.lock");  // released at the end of this block
        return fs::exists(key) ? Load(key, cert) : Create(key, cert);
    }();
    if (!cur) return cur.error();
    k->m_current = std::move(cur.value());
    std::string oldKey = dir + "/notify-key.previous.pem";
    if (fs::exists(oldKey)) {
        auto prev = Load(oldKey, dir + "/notify-cert.previous.pem");
        if (prev) k->m_previous = std::move(prev.value());
    }
    return k;
}

std::string NotificationKeys::CertificateBase64() const {
    std::lock_guard lock(m_mutex);
    std::string b = Base64UrlEncode(m_current.certDer);
    for (auto& c : b) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (b.size() % 4) b += '=';
    return b;
}

std::string NotificationKeys::CertificateId() const {
    std::lock_guard lock(m_mutex);
    return m_current.id;
}

PKeyPtr NotificationKeys::KeyFor(const std::string& id) const {
    std::lock_guard lock(m_mutex);
    if (id == m_current.id) return m_current.key;
    if (!m_previous.id.empty() && id == m_previous.id) return m_previous.key;
    return nullptr;
}

Result<std::string> NotificationKeys::Rotate() {
    std::lock_guard lock(m_mutex);
    std::string key = m_dir + "/notify-key.pem", cert = m_dir + "/notify-cert.pem";
    std::error_code ec;
    fs::rename(key, m_dir + "/notify-key.previous.pem", ec);
    if (!ec) fs::rename(cert, m_dir + "/notify-cert.previous.pem", ec);
    if (ec) return MakeError(ErrorCode::kIo, "cannot keep the previous key: " + ec.message());
    auto fresh = Create(key, cert);
    if (!fresh) return fresh.error();
    m_previous = std::move(m_current);
    m_current = std::move(fresh.value());
    return m_current.id;
}

void NotificationKeys::ForgetPrevious() {
    std::lock_guard lock(m_mutex);
    if (m_previous.id.empty()) return;
    m_previous = {};
    std::error_code ec;
    fs::remove(m_dir + "/notify-key.previous.pem", ec);
    fs::remove(m_dir + "/notify-cert.previous.pem", ec);
}

}  // namespace cdeck::core
