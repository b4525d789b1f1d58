#pragma once
// Serves the sync metrics as Prometheus text at http://127.0.0.1:PORT/metrics. Opt-in
// (--metrics-port / metrics_port) and bound to loopback only: it carries no secrets, but
// nothing else on the network should be able to read a tenant's activity figures.
//
// One thread accepts and answers connections one at a time (scrapes are rare and small).
// Stop() (and the destructor) closes the socket and joins the thread.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "platform/os.hpp"
#include "util/result.hpp"

namespace cdeck::core {

class MetricsServer {
  public:
    using Render = std::function<std::string()>;
    // Readiness for GET /healthz: true when ready; otherwise `why` says what is missing.
    using Health = std::function<bool(std::string& why)>;
    MetricsServer() = default;
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // port 0 picks a free port (see Port()). Fails with a clear message when the port is
    // taken.
    Status Start(int port, Render render);
    // The node's form: an IPv4 address to bind (loopback unless configured otherwise) and
    // a readiness check served at /healthz (200 "ready" or 503 with the reason).
    Status Start(const std::string& address, int port, Render render, Health health);
    void Stop();
    int Port() const { return m_port; }

  private:
    void Loop();
    void Answer(const os::Socket& client);
    Render m_render;
    Health m_health;
    std::string m_address = "127.0.0.1";
    os::Socket m_listen;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

}  // namespace cdeck::core
