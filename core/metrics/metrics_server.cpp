#include "metrics/metrics_server.hpp"

#include "util/log.hpp"

namespace cdeck::core {

MetricsServer::~MetricsServer() {
    Stop();
}

Status MetricsServer::Start(int port, Render render) {
    return Start("127.0.0.1", port, std::move(render), nullptr);
}

Status MetricsServer::Start(const std::string& address, int port, Render render, Health health) {
    if (port < 0 || port > 65535)
        return MakeError(ErrorCode::kConfig, "metrics port must be between 0 and 65535");
    m_render = std::move(render);
    m_health = std::move(health);
    m_address = address;
    auto listen = os::Socket::Listen(address, static_cast<uint16_t>(port), 16, true);
    if (!listen && listen.error().code == ErrorCode::kConfig)
        return MakeError(ErrorCode::kConfig, "cannot serve on \"" + address +
                                                 "\": not an IPv4 address (e.g. 127.0.0.1)");
    if (!listen)
        return MakeError(ErrorCode::kConfig, "cannot serve metrics on " + address + ":" +
                                                 std::to_string(port) + ": " +
                                                 listen.error().message);
    m_listen = std::move(listen.value());
    m_port = m_listen.LocalPort();
    m_stop = false;
    m_thread = std::thread([this] { Loop(); });
    Log(LogLevel::kInfo, "metrics",
        "serving Prometheus metrics at http://" + address + ":" + std::to_string(m_port) +
            "/metrics" + (m_health ? " and readiness at /healthz" : ""));
    return OkStatus();
}

void MetricsServer::Stop() {
    m_stop = true;
    if (m_thread.joinable()) m_thread.join();
    m_listen.Close();
}

void MetricsServer::Loop() {
    while (!m_stop) {
        if (!m_listen.WaitReadable(std::chrono::milliseconds(200))) continue;
        os::Socket client = m_listen.Accept();
        if (client.valid()) Answer(client);
    }
}

void MetricsServer::Answer(const os::Socket& client) {
    // Read the request head (bounded, with a deadline): only the request line matters.
    std::string head;
    char buf[1024];
    for (int waited = 0; head.find("\r\n\r\n") == std::string::npos && head.size() < 8192;) {
        if (!client.WaitReadable(std::chrono::milliseconds(100))) {
            if ((waited += 100) >= 2000 || m_stop) return;
            continue;
        }
        long n = client.Receive(buf, sizeof buf);
        if (n <= 0) return;
        head.append(buf, static_cast<size_t>(n));
    }
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (head.rfind("GET /metrics ", 0) == 0 || head.rfind("GET /metrics?", 0) == 0) {
        body = m_render();
    } else if (m_health && (head.rfind("GET /healthz ", 0) == 0)) {
        std::string why;
        if (m_health(why)) {
            body = "ready\n";
        } else {
            status = "503 Service Unavailable";
            body = "not ready: " + why + "\n";
        }
    } else if (head.rfind("GET ", 0) == 0) {
        status = "404 Not Found";
        body = "not found: metrics are at /metrics\n";
    } else {
        status = "405 Method Not Allowed";
        body = "only GET /metrics is served\n";
    }
    std::string out = "HTTP/1.1 " + status + "\r\nContent-Type: " + type +
                      "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n\r\n" + body;
    (void)client.SendAll(out);
}

}  // namespace cdeck::core
