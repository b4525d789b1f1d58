#pragma once
// A one-shot HTTP listener on 127.0.0.1 for the auth-code redirect (RFC 8252). It binds
// a free port, waits for the browser's GET /?code=...&state=..., answers with a short page
// and closes. Used on the sign-in thread only; Wait() blocks, polling `cancel`.
#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "platform/os.hpp"
#include "util/result.hpp"

namespace cdeck::core {

class LoopbackRedirect {
  public:
    LoopbackRedirect() = default;
    ~LoopbackRedirect();
    LoopbackRedirect(const LoopbackRedirect&) = delete;
    LoopbackRedirect& operator=(const LoopbackRedirect&) = delete;

    Status Listen();  // binds 127.0.0.1 on a free port
    int Port() const { return m_port; }
    std::string RedirectUri() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/"; }
    // Waits for one redirect; returns its decoded query parameters.
    Result<std::map<std::string, std::string>> Wait(std::chrono::milliseconds timeout,
                                                    const std::atomic<bool>* cancel);

  private:
    os::Socket m_listen;
    int m_port = 0;
};

}  // namespace cdeck::core
