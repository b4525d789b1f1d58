#pragma once
// HAProxy (Debian's package) in front of several nodes' webhooks, for the cluster tests and
// benchmarks: TCP passthrough (TLS ends at each node, whose certificate graphsim checks),
// round robin, health checks on each node's /healthz. Header-only.
// Threads: the caller's thread.
#include <fstream>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace cdeck::test {

struct HaproxyServer {
    std::string name;
    int port = 0;       // the node's webhook (HTTPS)
    int checkPort = 0;  // the node's /healthz (HTTP)
};

inline std::string HaproxyConfig(int listenPort, const std::vector<HaproxyServer>& servers) {
    std::string c =
        "global\n  maxconn 2000\n"
        "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n"
        "  timeout server 30s\n  retries 3\n  option redispatch\n"
        "frontend webhooks\n  bind 127.0.0.1:" +
        std::to_string(listenPort) +
        "\n  default_backend nodes\n"
        "backend nodes\n  balance roundrobin\n  option httpchk GET /healthz\n"
        "  http-check expect status 200\n";
    for (const auto& s : servers)
        c += "  server " + s.name + " 127.0.0.1:" + std::to_string(s.port) + " check port " +
             std::to_string(s.checkPort) + " inter 500ms fall 2 rise 1\n";
    return c;
}

// Writes the configuration to `configPath` and runs HAProxy in the foreground (-db) as a
// child; its output goes next to the configuration.
inline pid_t StartHaproxy(const std::string& configPath, int listenPort,
                          const std::vector<HaproxyServer>& servers) {
    { std::ofstream(configPath) << HaproxyConfig(listenPort, servers); }
    return SpawnProcess({"/usr/sbin/haproxy", "-db", "-f", configPath}, configPath + ".out",
                        configPath + ".log");
}

}  // namespace cdeck::test
