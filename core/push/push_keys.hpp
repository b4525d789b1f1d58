#pragma once
// The node's keys for rich notifications (SERVER.md, "Encryption keys"): an RSA-2048 key
// and a self-signed certificate, created on first run in the node's state directory. The
// private key file is 0600 and never goes into the database. Rotation makes a new pair
// current and keeps the previous one for decryption until its subscriptions are gone.
//
// Thread-safe: every method takes the internal mutex; keys are handed out as shared_ptrs
// so a rotation never frees a key a decryption is using.
#include <memory>
#include <mutex>
#include <string>

#include "util/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace cdeck::core {

using PKeyPtr = std::shared_ptr<EVP_PKEY>;

class NotificationKeys {
  public:
    // Loads DIR/notify-key.pem and DIR/notify-cert.pem (and the previous pair, if a rotation
    // left one), or creates them. Refuses a key file that others can read.
    static Result<std::unique_ptr<NotificationKeys>> LoadOrCreate(const std::string& dir);

    std::string CertificateBase64() const;  // base64 DER, for encryptionCertificate
    std::string CertificateId() const;      // for encryptionCertificateId (<= 128 chars)
    // The private key for a notification's encryptionCertificateId: the current one or the
    // previous one; null when neither matches.
    PKeyPtr KeyFor(const std::string& certificateId) const;
    // Makes a new current pair; the old current becomes the previous (the one before is
    // deleted). Returns the new certificate id.
    Result<std::string> Rotate();
    // The previous pair is no longer needed (its subscriptions are renewed or gone).
    void ForgetPrevious();

  private:
    struct Pair {
        PKeyPtr key;
        std::string certDer;
        std::string id;
    };
    explicit NotificationKeys(std::string dir) : m_dir(std::move(dir)) {}
    static Result<Pair> Create(const std::string& keyPath, const std::string& certPath);
    static Result<Pair> Load(const std::string& keyPath, const std::string& certPath);

    const std::string m_dir;
    mutable std::mutex m_mutex;
    Pair m_current, m_previous;
};

}  // namespace cdeck::core
