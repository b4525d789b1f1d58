#include "platform/os.hpp"
#include "sim/graphsim.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "sim/sim_internal.hpp"
#include "sim/tls_cert.hpp"

namespace cdeck::sim {

namespace {
constexpr const char* kJsonType =
    "application/"
    "json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

bool IsLoopback(const std::string& addr) {
    return addr.rfind("127.", 0) == 0 || addr == "::1" || addr.rfind("::ffff:127.", 0) == 0;
}
}  // namespace

// ---------------------------------------------------------------- responses

void GraphSim::Impl::Json(SimResponse& res, int status, const json& body) {
    res.status = status;
    res.body = body.dump();
    res.contentType = kJsonType;
}

void GraphSim::Impl::GraphError(const SimRequest& req, SimResponse& res, int status,
                                const std::string& code, const std::string& message) {
    json body = {{"error",
                  {{"code", code},
                   {"message", message},
                   {"innerError",
                    {{"date", SimIso(SimNowMillis()).substr(0, 19)},
                     {"request-id", res.GetHeader("request-id")},
                     {"client-request-id", req.Header("client-request-id")}}}}}};
    Json(res, status, body);
}

void GraphSim::Impl::OAuthError(SimResponse& res, int status, const std::string& error,
                                const std::string& desc) {
    json body = {{"error", error},
                 {"error_description", desc},
                 {"error_codes", json::array({70000})},
                 {"timestamp", SimIso(SimNowMillis()).substr(0, 19) + "Z"},
                 {"trace_id", UuidV4()},
                 {"correlation_id", UuidV4()}};
    res.status = status;
    res.body = body.dump();
    res.contentType = "application/json; charset=utf-8";
}

Millis GraphSim::Impl::Now() const {
    return SimNowMillis() + static_cast<Millis>(clockOffsetSeconds * 1000.0);
}

bool GraphSim::Impl::Admit(const SimRequest& req, SimResponse& res, const TokenInfo& t,
                           RequestClass cls, const std::string& teamId,
                           const std::string& channelId) {
    ThrottleDecision d = throttler.Charge(NowSeconds(), t.clientId, cls, teamId, channelId);
    if (rateLimitHeaders && d.nearLimit) {
        res.SetHeader("RateLimit-Limit", std::to_string(static_cast<long long>(d.limit)));
        res.SetHeader("RateLimit-Remaining", std::to_string(static_cast<long long>(d.remaining)));
        res.SetHeader("RateLimit-Reset",
                      std::to_string(static_cast<long long>(std::ceil(d.reset))));
    }
    if (!d.throttled) return true;
    res.SetHeader("Retry-After", std::to_string(static_cast<long long>(d.retryAfter)));
    GraphError(req, res, 429, "TooManyRequests",
               d.dailyQuota
                   ? "Daily message quota for this channel has been exceeded."
                   : "Too many requests. Please retry after the time in the Retry-After header.");
    return false;
}

// ---------------------------------------------------------------- faults and latency

double GraphSim::Impl::SampleLatencyMs() {
    if (latency.medianMs <= 0) return 0;
    // Lognormal: median = e^mu; p99 = e^(mu + 2.326 sigma).
    double mu = std::log(latency.medianMs);
    double sigma =
        latency.p99Ms > latency.medianMs ? std::log(latency.p99Ms / latency.medianMs) / 2.326 : 0.0;
    std::normal_distribution<double> n(mu, sigma);
    return std::min(30000.0, std::exp(n(rng)));
}

std::optional<FaultKind> GraphSim::Impl::PickFault(SimResponse& res) {
    std::string kind;
    if (faults.scripted > 0) {
        --faults.scripted;
        kind = faults.scriptedKind;
    } else {
        std::uniform_real_distribution<double> u(0, 1);
        double x = u(rng);
        struct Rate {
            double r;
            const char* k;
        };
        for (Rate r :
             {Rate{faults.rate503, "503"}, Rate{faults.rate503NoRetryAfter, "503-no-retry-after"},
              Rate{faults.rate504, "504"}, Rate{faults.rate500, "500"},
              Rate{faults.rateReset, "reset"}, Rate{faults.rateTruncate, "truncate"},
              Rate{faults.rateMalformed, "malformed"}, Rate{faults.rateDrip, "drip"},
              Rate{faults.rate429NoRetryAfter, "429-no-retry-after"}}) {
            if (x < r.r) {
                kind = r.k;
                break;
            }
            x -= r.r;
        }
    }
    if (kind.empty()) return std::nullopt;
    ++faultsInjected;
    SimRequest none;
    if (kind == "503" || kind == "503-no-retry-after") {
        if (kind == "503") res.SetHeader("Retry-After", "2");
        GraphError(none, res, 503, "ServiceUnavailable", "The service is temporarily unavailable.");
        return FaultKind::kNone;
    }
    if (kind == "504") {
        res.SetHeader("Retry-After", "1");
        GraphError(none, res, 504, "GatewayTimeout", "The gateway timed out.");
        return FaultKind::kNone;
    }
    if (kind == "500") {
        GraphError(none, res, 500, "InternalServerError", "An internal server error occurred.");
        return FaultKind::kNone;
    }
    if (kind == "429-no-retry-after") {
        GraphError(none, res, 429, "TooManyRequests", "Too many requests.");
        return FaultKind::kNone;
    }
    if (kind == "reset") return FaultKind::kReset;
    if (kind == "truncate") return FaultKind::kTruncate;
    if (kind == "malformed") return FaultKind::kMalformed;
    if (kind == "drip") return FaultKind::kDrip;
    return std::nullopt;
}

// ---------------------------------------------------------------- serving

void GraphSim::Impl::Execute(SimRequest& req, SimResponse& res) {
    bool wrongMethod = false;
    bool handled = false;
    try {
        handled = router.Dispatch(req, res, wrongMethod);
    } catch (const json::exception& e) {
        // A JSON body whose values have the wrong type (handlers read them with value()).
        return GraphError(req, res, 400, "BadRequest",
                          std::string("Invalid request body: ") + e.what());
    }
    if (!handled) {
        if (wrongMethod)
            GraphError(req, res, 405, "BadRequest",
                       "The HTTP method '" + req.method + "' is not allowed.");
        else
            GraphError(req, res, 400, "BadRequest",
                       "Resource not found for the segment '" + req.path + "'.");
    }
}

void GraphSim::Impl::Serve(const httplib::Request& in, httplib::Response& out) {
    SimRequest req;
    req.method = in.method;
    req.path = in.path;
    for (const auto& [k, v] : in.params) req.params.emplace(k, v);
    for (const auto& [k, v] : in.headers) {
        std::string key = k;
        for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers[key] = v;
    }
    req.body = in.body;
    SimResponse res;
    res.SetHeader("request-id", UuidV4());
    if (!req.Header("client-request-id").empty())
        res.SetHeader("client-request-id", req.Header("client-request-id"));
    res.SetHeader("Date", HttpDateNow());
    res.SetHeader("Cache-Control", "no-store");

    bool control = req.path.rfind("/_sim/", 0) == 0;
    double delayMs = 0;
    std::optional<FaultKind> fault;
    bool dropAfter = false;
    {
        std::lock_guard lock(mutex);
        ++requestsTotal;
        if (!control) {
            delayMs = SampleLatencyMs();
            fault = PickFault(res);
            if (!fault && faults.dropAfterWrite > 0 && req.method != "GET" &&
                req.path.find("/oauth2/") == std::string::npos) {
                --faults.dropAfterWrite;
                dropAfter = true;
            }
        }
    }
    if (delayMs > 0)
        std::this_thread::sleep_for(
            std::chrono::microseconds(static_cast<long long>(delayMs * 1000)));
    if (control && !IsLoopback(in.remote_addr)) {
        GraphError(req, res, 403, "Forbidden",
                   "The simulator's control API answers loopback clients only.");
    } else if (fault && *fault == FaultKind::kNone) {
        // res already holds the injected error response
    } else {
        std::unique_lock lock(mutex);
        HeldLock() = &lock;
        Execute(req, res);
        HeldLock() = nullptr;
    }
    if (dropAfter) fault = FaultKind::kReset;

    out.status = res.status;
    for (const auto& [k, v] : res.headers) out.set_header(k.c_str(), v);
    FaultKind fk = fault.value_or(FaultKind::kNone);
    if (fk == FaultKind::kNone) {
        if (!res.body.empty() || res.status != 204)
            out.set_content(res.body, res.contentType.c_str());
        return;
    }
    if (fk == FaultKind::kMalformed) {
        out.status = 200;
        out.set_content("{\"value\": [{\"id\": \"1\", \"body\": {\"content\": \"unterminated",
                        kJsonType);
        return;
    }
    auto body = std::make_shared<std::string>(res.body.empty() ? std::string(64, ' ') : res.body);
    if (fk == FaultKind::kReset) {
        out.set_content_provider(body->size(), res.contentType.c_str(),
                                 [](size_t, size_t, httplib::DataSink&) { return false; });
    } else if (fk == FaultKind::kTruncate) {
        out.set_content_provider(body->size(), res.contentType.c_str(),
                                 [body](size_t offset, size_t, httplib::DataSink& sink) {
                                     if (offset > 0) return false;
                                     sink.write(body->data(), body->size() / 2);
                                     return true;
                                 });
    } else if (fk == FaultKind::kDrip) {
        out.set_content_provider(body->size(), res.contentType.c_str(),
                                 [body](size_t offset, size_t, httplib::DataSink& sink) {
                                     std::this_thread::sleep_for(std::chrono::milliseconds(250));
                                     size_t n = std::min<size_t>(32, body->size() - offset);
                                     sink.write(body->data() + offset, n);
                                     return true;
                                 });
    }
}

// ---------------------------------------------------------------- control and stats

std::string GraphSim::Impl::LoadSchedule(const json& sc) {
    auto channelOf = [&](const json& e) -> int {
        if (e.contains("channel") && e["channel"].is_string())
            return tenant.ChannelByName(e["channel"]);
        return tenant.ChannelByRank(e.value("channel_rank", 0));
    };
    try {
        for (const auto& b : sc.value("bursts", json::array())) {
            int ch = channelOf(b);
            if (ch < 0) return "scenario: burst names an unknown channel";
            double at = b.at("at_seconds").get<double>(), over = b.value("over_seconds", 10.0);
            int n = b.at("messages").get<int>();
            double every = b.value("repeat_every_seconds", 0.0);
            double until = every > 0 ? b.value("repeat_until_seconds", 7200.0) : at;
            for (double t0 = at; t0 <= until; t0 += every > 0 ? every : 1e18)
                for (int i = 0; i < n; ++i)
                    schedule.push_back(
                        {t0 + over * i / std::max(1, n), ScheduledEvent::Kind::kMessage, ch});
        }
        for (const auto& l : sc.value("limit_schedule", json::array()))
            schedule.push_back({l.at("at_seconds").get<double>(), ScheduledEvent::Kind::kLimits, -1,
                                l.value("scale", 1.0), l.value("profile", std::string())});
        for (const auto& f : sc.value("fault_schedule", json::array()))
            schedule.push_back({f.at("at_seconds").get<double>(),
                                ScheduledEvent::Kind::kFaults,
                                -1,
                                1.0,
                                {},
                                f.at("faults")});
    } catch (const json::exception& e) {
        return std::string("scenario schedule: ") + e.what();
    }
    std::stable_sort(
        schedule.begin(), schedule.end(),
        [](const ScheduledEvent& a, const ScheduledEvent& b) { return a.atSeconds < b.atSeconds; });
    if (sc.contains("faults") && sc["faults"].is_object()) ApplyFaults(sc["faults"]);
    return {};
}

void GraphSim::Impl::GeneratorLoop() {
    std::unique_lock lock(mutex);
    const auto start = std::chrono::steady_clock::now();
    auto gap = [&] {
        return std::chrono::microseconds(
            static_cast<long long>(tenant.NextGapMs(options.trafficScale) * 1000));
    };
    auto nextArrival = start + gap();
    std::uniform_real_distribution<double> u(0, 1);
    auto at = [&](double secs) {
        return start + std::chrono::microseconds(static_cast<long long>(secs * 1e6));
    };
    while (!stopping) {
        auto wake = nextArrival;
        if (scheduleNext < schedule.size())
            wake = std::min(wake, at(schedule[scheduleNext].atSeconds));
        if (cv.wait_until(lock, wake, [&] { return stopping; })) break;
        auto nowSteady = std::chrono::steady_clock::now();
        Millis now = Now();
        while (scheduleNext < schedule.size() &&
               at(schedule[scheduleNext].atSeconds) <= nowSteady) {
            const ScheduledEvent& e = schedule[scheduleNext++];
            if (e.kind == ScheduledEvent::Kind::kMessage) {
                int ci = e.channel;
                if (const SimMessage* m = tenant.GenerateArrival(now, e.channel, &ci))
                    NoteCreated(ci, *m);
            } else if (e.kind == ScheduledEvent::Kind::kLimits) {
                if (e.profile == "graph-strict")
                    baseLimits = Limits::GraphStrict();
                else if (e.profile == "graph-2025")
                    baseLimits = Limits::Graph2025();
                throttler.SetLimits(baseLimits.Scaled(e.scale * options.limitsScale));
            } else {
                ApplyFaults(e.faults);
            }
        }
        if (nowSteady < nextArrival) continue;
        nextArrival += gap();
        if (trafficPaused) continue;
        // Most events are new messages; some are edits, reactions and soft deletes.
        if (u(rng) < 0.15) {
            tenant.GenerateActivity(now);
            continue;
        }
        int ci = -1;
        if (const SimMessage* m = tenant.GenerateArrival(now, -1, &ci)) NoteCreated(ci, *m);
    }
}

// ---------------------------------------------------------------- GraphSim

GraphSim::GraphSim() : m_impl(std::make_unique<Impl>()) {}

std::string GraphSim::SetTrafficPaused(bool paused) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->trafficPaused = paused;
    return {};
}
GraphSim::~GraphSim() {
    Stop();
}

std::string GraphSim::Start(const GraphSimOptions& options) {
    Impl& d = *m_impl;
    d.options = options;
    std::string text = options.scenarioJson;
    if (text.empty()) {
        std::ifstream in(options.scenarioPath);
        if (!in) return "cannot read scenario file '" + options.scenarioPath + "'";
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    json scenario = json::parse(text, nullptr, false);
    if (scenario.is_discarded()) return "scenario '" + options.scenarioPath + "' is not valid JSON";
    if (std::string err = d.tenant.Load(scenario, options.seed); !err.empty()) return err;
    d.rng.seed(options.seed * 7919 + 17);
    d.epoch = RandomHex(4);
    d.autoApprove = options.autoApprove;
    std::string profile = scenario.value("limits_profile", std::string("graph-2025"));
    if (profile == "graph-strict")
        d.throttler.SetLimits(Limits::GraphStrict());
    else if (profile != "graph-2025")
        return "scenario: unknown limits_profile '" + profile + "'";
    d.limitsProfile = profile;
    d.baseLimits = d.throttler.GetLimits();
    if (options.limitsScale != 1.0) d.throttler.SetLimits(d.baseLimits.Scaled(options.limitsScale));
    if (std::string err = d.LoadSchedule(scenario); !err.empty()) return err;
    if (scenario.contains("latency") && scenario["latency"].is_object()) {
        d.latency.medianMs = scenario["latency"].value("median_ms", 0.0);
        d.latency.p99Ms = scenario["latency"].value("p99_ms", 0.0);
    }
    if (options.latencyMedianMs >= 0) d.latency.medianMs = options.latencyMedianMs;
    if (options.latencyP99Ms >= 0) d.latency.p99Ms = options.latencyP99Ms;
    d.deltaTokenLifetimeSeconds =
        scenario.value("delta_token_lifetime_seconds", d.deltaTokenLifetimeSeconds);
    d.tenant.GenerateHistory(SimNowMillis());
    for (int ci = 0; ci < static_cast<int>(d.tenant.channels.size()); ++ci)
        for (const auto& r : d.tenant.channels[ci].roots) {
            d.NoteCreated(ci, r);
            for (const auto& rep : r.replies) d.NoteCreated(ci, rep);
        }
    std::sort(d.created.begin(), d.created.end(),
              [](const auto& a, const auto& b) { return a.created < b.created; });

    std::string stateDir = options.stateDir;
    std::error_code ec;
    if (stateDir.empty())
        stateDir = (std::filesystem::temp_directory_path() / ("graphsim-" + RandomHex(6))).string();
    std::filesystem::create_directories(stateDir, ec);
    if (ec) return "cannot create state directory '" + stateDir + "': " + ec.message();

    // The CA stays the same across restarts with the same state directory, as a real
    // service's does: clients trusting ca.pem keep working.
    d.info.caFile = (std::filesystem::path(stateDir) / "ca.pem").string();
    std::string caKeyFile = (std::filesystem::path(stateDir) / "ca-key.pem").string();
    auto slurp = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    std::string oldCa = slurp(d.info.caFile), oldKey = slurp(caKeyFile);
    TlsIdentity tls = GenerateTlsIdentity(options.bindHost, oldCa, oldKey);
    if (!tls.error.empty()) return "TLS setup failed: " + tls.error;
    if (tls.caPem != oldCa || tls.caKeyPem != oldKey) {
        {
            std::ofstream out(d.info.caFile, std::ios::trunc);
            out << tls.caPem;
            if (!out) return "cannot write CA file '" + d.info.caFile + "'";
        }
        if (auto st = cdeck::core::os::WriteOwnerOnlyFile(caKeyFile, tls.caKeyPem); !st)
            return "cannot write CA key file: " + st.error().message;
    }
    d.caPem = tls.caPem;
    d.caKeyPem = tls.caKeyPem;
    if (std::string err = d.signer.Init(); !err.empty()) return err;
    d.webhookCaFile = options.webhookCaFile.empty() ? d.info.caFile : options.webhookCaFile;
    if (!std::filesystem::exists(d.webhookCaFile))
        return "webhook CA file '" + d.webhookCaFile + "' does not exist";
    if (options.deliveryLatencyMedianMs >= 0)
        d.delivery.latencyMedianMs = options.deliveryLatencyMedianMs;
    d.delivery.latencyMaxMs = std::max(d.delivery.latencyMaxMs, d.delivery.latencyMedianMs);
    d.RegisterRoutes();
    if (std::string err = d.Listen(tls, options.port); !err.empty()) return err;
    if (options.generateTraffic) d.generator = std::thread([&d] { d.GeneratorLoop(); });
    d.deliverer = std::thread([&d] { d.DeliveryLoop(); });
    return {};
}

std::string GraphSim::Impl::Listen(const TlsIdentity& tls, int wantPort) {
    Impl& d = *this;
    d.server = std::make_unique<httplib::SSLServer>(tls.serverCert, tls.serverKey);
    if (!d.server->is_valid()) return "TLS server setup failed";
    auto& s = *d.server;
    int threads = std::max(8, options.serverThreads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
    s.set_keep_alive_max_count(100000);
    s.set_keep_alive_timeout(5);
    // Without TCP_NODELAY the header and body writes meet Nagle and delayed ACKs: a flat
    // 40 ms on every response.
    s.set_tcp_nodelay(true);
    s.set_payload_max_length(8 * 1024 * 1024);
    auto serve = [&d](const httplib::Request& q, httplib::Response& r) {
        if (q.path == "/_sim/stats" && IsLoopback(q.remote_addr)) {
            r.set_header("request-id", UuidV4());
            r.set_content(d.Stats(), "application/json");
            return;
        }
        d.Serve(q, r);
    };
    s.Get(".*", serve);
    s.Post(".*", serve);
    s.Patch(".*", serve);
    s.Put(".*", serve);
    s.Delete(".*", serve);

    int port = wantPort > 0 ? (s.bind_to_port(options.bindHost, wantPort) ? wantPort : -1)
                            : s.bind_to_any_port(options.bindHost);
    if (port <= 0) return "cannot bind " + options.bindHost + ":" + std::to_string(options.port);
    d.info.port = port;
    std::string host = options.bindHost.find(':') != std::string::npos
                           ? "[" + options.bindHost + "]"
                           : options.bindHost;
    d.info.authorityUrl = "https://" + host + ":" + std::to_string(port);
    d.info.graphUrl = d.info.authorityUrl + "/v1.0";
    d.info.tenant = d.tenant.tenantId;
    d.info.clientId = d.tenant.apps[0].clientId;
    d.info.clientSecret = d.tenant.apps[0].clientSecret;
    d.listener = std::thread([&s] { s.listen_after_bind(); });
    return {};
}

void GraphSim::Impl::StopListening() {
    if (server && listener.joinable()) {
        // stop() is a no-op until listen_after_bind has started; wait for it briefly.
        for (int i = 0; i < 500 && !server->is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        server->stop();
    }
    if (listener.joinable()) listener.join();
}

std::string GraphSim::Restart(int downMillis) {
    return m_impl->RestartServer(downMillis);
}

std::string GraphSim::Impl::RestartServer(int downMillis) {
    Impl& d = *this;
    std::lock_guard restartLock(d.restartMutex);
    d.StopListening();  // in-flight requests finish; then nothing listens
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max(0, downMillis)));
    {
        std::lock_guard lock(d.mutex);
        d.epoch = RandomHex(4);  // no handler runs now: the server is stopped
    }
    TlsIdentity tls = GenerateTlsIdentity(d.options.bindHost, d.caPem, d.caKeyPem);
    if (!tls.error.empty()) return "TLS setup failed: " + tls.error;
    return d.Listen(tls, d.info.port);
}

void GraphSim::Stop() {
    Impl& d = *m_impl;
    {
        std::lock_guard lock(d.mutex);
        d.stopping = true;
    }
    d.cv.notify_all();
    if (d.generator.joinable()) d.generator.join();
    if (d.deliverer.joinable()) d.deliverer.join();
    std::thread restarter;
    {
        std::lock_guard restartLock(d.restartMutex);
        restarter = std::move(d.restarter);
    }
    if (restarter.joinable()) restarter.join();
    std::lock_guard restartLock(d.restartMutex);
    d.StopListening();
}

std::string GraphSim::IssueLoopbackCertificate(const std::string& certPath,
                                               const std::string& keyPath) const {
    TlsIdentity id = GenerateTlsIdentity("127.0.0.1", m_impl->caPem, m_impl->caKeyPem);
    if (!id.error.empty()) return "cannot issue a certificate: " + id.error;
    {
        std::ofstream out(certPath, std::ios::trunc);
        out << id.serverCertPem;
        if (!out) return "cannot write '" + certPath + "'";
    }
    auto st = cdeck::core::os::WriteOwnerOnlyFile(keyPath, id.serverKeyPem);
    return st ? std::string() : "cannot write the key: " + st.error().message;
}

GraphSimInfo GraphSim::Info() const {
    return m_impl->info;
}
std::string GraphSim::StatsJson() const {
    return m_impl->Stats();
}

std::string GraphSim::InfoLine() const {
    const auto& i = m_impl->info;
    json j = {{"graph", i.graphUrl},     {"authority", i.authorityUrl},
              {"tenant", i.tenant},      {"ca", i.caFile},
              {"client_id", i.clientId}, {"client_secret", i.clientSecret},
              {"port", i.port}};
    return j.dump();
}

}  // namespace cdeck::sim
