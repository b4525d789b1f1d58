#pragma once
// HTTP transport for Graph and Entra ID: the lowest layer of the client (net/ includes
// nothing from auth/ or graph/).
//
// HttpTransport is the seam the sync engine's unit tests replace with a scripted fake;
// CurlTransport is the real one. CurlTransport::Send is thread-safe: any number of
// threads may call it at once. Each call borrows an easy handle from a pool (so TCP/TLS
// connections and HTTP/2 sessions are reused across requests) and returns it afterwards.
//
// TLS verification is always on. The only TLS knob is an extra CA file (graphsim's CA);
// there is deliberately no way to disable peer or host checks.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace cdeck::core {

struct HttpRequest {
    std::string method = "GET";
    std::string url;  // absolute
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds timeout{30000};
    // Set to true from another thread to abort the transfer (result: kCancelled).
    const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers;  // keys lower-cased
    std::string body;
    double totalMs = 0;

    std::string Header(const std::string& lowerName) const {
        auto it = headers.find(lowerName);
        return it == headers.end() ? std::string() : it->second;
    }
};

class HttpTransport {
  public:
    virtual ~HttpTransport() = default;
    // Returns a response for any HTTP status; an Error only when no response arrived
    // (connect failure, TLS failure, timeout, reset, cancel).
    virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CurlOptions {
    std::string caFile;  // extra CA bundle (PEM); empty: the system store
    std::chrono::milliseconds connectTimeout{10000};
    // A response trickling in slower than this many bytes a second for lowSpeedSeconds is
    // given up as a timeout (slow-drip defence: a stalled peer holds no worker for long).
    long lowSpeedBytesPerSecond = 1024;
    long lowSpeedSeconds = 10;
    std::string userAgent = "ChannelDeck/0.1.0";
};

class CurlTransport final : public HttpTransport {
  public:
    explicit CurlTransport(CurlOptions options);
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    Result<HttpResponse> Send(const HttpRequest& request) override;

  private:
    void* Acquire();
    void Release(void* handle);

    CurlOptions m_options;
    std::mutex m_poolMutex;     // guards m_pool
    std::vector<void*> m_pool;  // idle CURL* handles
};

// A random RFC 4122 version-4 UUID, lower-case. Thread-safe.
std::string NewUuid();

// Percent-encodes everything except unreserved characters (RFC 3986).
std::string UrlEncode(const std::string& s);

}  // namespace cdeck::core
