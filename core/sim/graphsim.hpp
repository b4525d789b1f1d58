#pragma once
// graphsim: a local HTTPS simulator of the Microsoft Graph v1.0 and Entra ID endpoints
// that ChannelDeck uses. It is the demo tenant, the integration-test server and the
// benchmark target.
//
// It shares no protocol code with the client (DESIGN.md section 2): it writes its own JSON
// and parses requests on its own, so a shared bug cannot make both sides agree.
//
// Threads: Start() spawns the HTTPS listener (cpp-httplib's pool serves requests) and,
// when traffic is enabled, one generator thread. All tenant data is guarded by one
// mutex inside the implementation. Every public method is thread-safe. Stop() (also run by
// the destructor) stops the generator and the listener and joins both.
#include <cstdint>
#include <memory>
#include <string>

namespace cdeck::sim {

struct GraphSimOptions {
    std::string scenarioPath;  // JSON scenario file; or
    std::string scenarioJson;  // the scenario text itself (tests)
    uint64_t seed = 1;
    int port = 0;  // 0: any free port
    std::string bindHost = "127.0.0.1";
    std::string stateDir;             // where ca.pem is written; empty: a fresh temp dir
    bool generateTraffic = true;      // run the live message generator
    double trafficScale = 1.0;        // multiplies the scenario's arrival rate
    double tokenLifetimeSeconds = 0;  // 0: the scenario's value
    bool autoApprove = false;         // approve device codes and authorize requests at once
    double latencyMedianMs = -1;      // <0: the scenario's value (0 = no added latency)
    double latencyP99Ms = -1;
    double limitsScale =
        1.0;  // multiplies every throttling limit (tests that are not about throttling)
    int serverThreads = 64;  // HTTPS worker threads (keep-alive connections held at once)
    // Change notifications: the CA that webhook certificates must chain to (empty: graphsim's
    // own CA, which IssueLoopbackCertificate uses), and the median delivery latency (<0: the
    // documented default, a log-normal with a 3 s median, capped at 60 s).
    std::string webhookCaFile;
    double deliveryLatencyMedianMs = -1;
};

struct GraphSimInfo {
    std::string graphUrl;      // https://127.0.0.1:P/v1.0
    std::string authorityUrl;  // https://127.0.0.1:P
    std::string tenant;
    std::string caFile;
    std::string clientId;  // the scenario's first app
    std::string clientSecret;
    int port = 0;
};

class GraphSim {
  public:
    GraphSim();
    ~GraphSim();
    GraphSim(const GraphSim&) = delete;
    GraphSim& operator=(const GraphSim&) = delete;

    // Loads the scenario, generates the TLS identity, binds and starts serving.
    // Returns an empty string on success, else a one-line error.
    std::string Start(const GraphSimOptions& options);
    void Stop();
    // A service restart: the listener closes (connections are refused, open ones dropped)
    // for `downMillis`, then listens again on the same port with a new certificate from the
    // same CA. Sync state does not survive it: delta and skip tokens issued before are
    // answered with 410 syncStateNotFound. The tenant's data does, as a service's storage
    // would. Also POST /_sim/restart {"down_ms": N}. Returns an error, or empty.
    std::string Restart(int downMillis);

    // Stops (true) or resumes the live message generator; also POST /_sim/traffic.
    std::string SetTrafficPaused(bool paused);
    GraphSimInfo Info() const;
    // Writes a certificate for IP 127.0.0.1 issued by graphsim's CA, and its key (0600): a
    // webhook listener with it passes graphsim's verification. Returns an error, or empty.
    std::string IssueLoopbackCertificate(const std::string& certPath,
                                         const std::string& keyPath) const;
    // Ground truth as JSON text (the same document GET /_sim/stats serves).
    std::string StatsJson() const;
    // One JSON line for the CLI: {"graph":..,"authority":..,"tenant":..,"ca":..,...}
    std::string InfoLine() const;

    struct Impl;

  private:
    std::unique_ptr<Impl> m_impl;
};

}  // namespace cdeck::sim
