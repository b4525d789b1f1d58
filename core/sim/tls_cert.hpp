#pragma once
// Generates graphsim's TLS identity at start: a throwaway CA and a server certificate for
// IP:127.0.0.1 signed by it. The CA certificate is written as PEM so that clients can
// trust exactly this simulator and nothing else; verification stays on everywhere.
//
// Not thread-aware: called once during GraphSim::Start.
#include <memory>
#include <string>

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace cdeck::sim {

struct TlsIdentity {
    X509* serverCert = nullptr;
    EVP_PKEY* serverKey = nullptr;
    std::string caPem;
    std::string caKeyPem;  // kept in the state directory (0600) for the next start
    std::string serverCertPem, serverKeyPem;  // the same server identity as PEM
    std::string error;                        // non-empty when generation failed

    TlsIdentity() = default;
    TlsIdentity(const TlsIdentity&) = delete;
    TlsIdentity& operator=(const TlsIdentity&) = delete;
    TlsIdentity(TlsIdentity&& o) noexcept;
    ~TlsIdentity();
};

// commonName is informational; the subjectAltName is what clients verify. Given the PEMs of
// an earlier run's CA (certificate and key), the new server certificate is signed by it, so
// clients that trust that CA keep working across a restart; otherwise a new CA is made.
TlsIdentity GenerateTlsIdentity(const std::string& ipAddress = "127.0.0.1",
                                const std::string& caCertPem = {},
                                const std::string& caKeyPem = {});

}  // namespace cdeck::sim
