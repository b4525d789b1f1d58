#include "metrics/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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
    in_addr bindTo{};
    if (::inet_pton(AF_INET, address.c_str(), &bindTo) != 1)
        return MakeError(ErrorCode::kConfig, "cannot serve on \"" + address +
                                                 "\": not an IPv4 address (e.g. 127.0.0.1)");
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (m_listen < 0) return MakeError(ErrorCode::kIo, std::string("socket: ") + strerror(errno));
    int one = 1;
    ::setsockopt(m_listen, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr = bindTo;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(m_listen, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(m_listen, 16) != 0) {
        std::string why = strerror(errno);
        ::close(m_listen);
        m_listen = -1;
        return MakeError(ErrorCode::kConfig, "cannot serve metrics on " + address + ":" +
                                                 std::to_string(port) + ": " + why);
    }
    socklen_t len = sizeof addr;
    ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len);
    m_port = ntohs(addr.sin_port);
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
    if (m_listen >= 0) ::close(m_listen);
    m_listen = -1;
}

void MetricsServer::Loop() {
    while (!m_stop) {
        pollfd p{m_listen, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        Answer(fd);
        ::close(fd);
    }
}

void MetricsServer::Answer(int fd) {
    // Read the request head (bounded, with a deadline): only the request line matters.
    std::string head;
    char buf[1024];
    for (int waited = 0; head.find("\r\n\r\n") == std::string::npos && head.size() < 8192;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
            if ((waited += 100) >= 2000 || m_stop) return;
            continue;
        }
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
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
    size_t sent = 0;
    while (sent < out.size()) {
        ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<size_t>(n);
    }
}

}  // namespace cdeck::core
