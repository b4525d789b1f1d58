#include "pg/pg_quota.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "util/log.hpp"

namespace cdeck::core {

namespace {

// A scope that spends its reserve this soon after taking it is refilled ahead of need.
constexpr auto kHot = std::chrono::milliseconds(500);

std::chrono::milliseconds Millis(double ms) {
    return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(std::max(0.0, ms))));
}

}  // namespace

PgQuota::PgQuota(PgQuotaOptions options) : m_options(std::move(options)) {}

PgQuota::~PgQuota() {
    Stop();
}

void PgQuota::Start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable()) return;
    m_stop = false;
    m_thread = std::thread([this] { Loop(); });
}

void PgQuota::Stop() {
    {
        std::lock_guard lock(m_mutex);
        if (!m_thread.joinable()) return;
        m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
}

void PgQuota::SetWake(std::function<void()> wake) {
    std::lock_guard lock(m_mutex);
    m_wake = std::move(wake);
}

double PgQuota::RateOf(const std::string& scope) const {
    const GraphLimits& l = m_options.limits;
    double limit = scope == "class:get_message"    ? l.getMessage
                   : scope == "class:post_message" ? l.postMessage
                   : scope == "class:get_channels" ? l.getChannels
                   : scope == "class:get_teams"    ? l.getTeams
                   : scope == "class:other"        ? l.other
                   : scope.rfind("team:", 0) == 0  ? l.perTeam
                                                   : 0;
    return limit * l.paceFraction;
}

UnixMillis PgQuota::Take(const std::vector<std::string>& scopes, double cost) {
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    UnixMillis wait = 0;
    for (const auto& name : scopes) {
        if (RateOf(name) <= 0) continue;
        Scope& s = m_scopes[name];
        if (s.blockedTo > now) {
            wait = std::max<UnixMillis>(
                wait,
                std::chrono::duration_cast<std::chrono::milliseconds>(s.blockedTo - now).count());
        } else if (s.tokens < cost) {
            // Ask the quota thread; the next token comes after a round trip, or when the
            // database said.
            UnixMillis dbWait =
                s.nextTry > now
                    ? std::chrono::duration_cast<std::chrono::milliseconds>(s.nextTry - now).count()
                    : 10;
            wait = std::max<UnixMillis>(wait, std::max<UnixMillis>(dbWait, 1));
            s.wanted = true;
            m_demand = true;
        }
    }
    if (wait > 0) {
        m_figures.refusals++;
        m_cv.notify_all();
        return wait;
    }
    for (const auto& name : scopes) {
        if (RateOf(name) <= 0) continue;
        Scope& s = m_scopes[name];
        s.tokens -= cost;
        if (s.tokens < 1 && now - s.takenAt < kHot) {
            s.wanted = true;
            m_demand = true;
            m_cv.notify_all();
        }
    }
    return 0;
}

void PgQuota::Block(const std::vector<std::string>& scopes, UnixMillis ms) {
    std::vector<std::string> shared;
    std::lock_guard lock(m_mutex);
    auto until = Clock::now() + std::chrono::milliseconds(ms);
    for (const auto& name : scopes) {
        if (RateOf(name) <= 0) continue;
        Scope& s = m_scopes[name];
        s.blockedTo = std::max(s.blockedTo, until);
        s.tokens = 0;  // what is held was granted before the 429
        shared.push_back(name);
    }
    if (shared.empty()) return;
    std::sort(shared.begin(), shared.end());
    m_blocks.push_back({std::move(shared), ms});
    m_cv.notify_all();
}

PgQuota::Figures PgQuota::GetFigures() const {
    std::lock_guard lock(m_mutex);
    return m_figures;
}

void PgQuota::Heard(const std::string& payload) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (!j.is_object() || !j.contains("scopes") || !j["scopes"].is_array() ||
        !j.value("ms", nlohmann::json()).is_number())
        return;
    if (j.value("node", std::string()) == m_options.nodeId) return;  // our own
    // The block runs from now: the notice took a moment to come, so this errs on the
    // closed side.
    auto until = Clock::now() + Millis(j["ms"].get<double>());
    std::lock_guard lock(m_mutex);
    for (const auto& sc : j["scopes"]) {
        if (!sc.is_string() || RateOf(sc.get<std::string>()) <= 0) continue;
        Scope& s = m_scopes[sc.get<std::string>()];
        s.blockedTo = std::max(s.blockedTo, until);
        s.tokens = 0;
    }
    m_figures.blocksHeard++;
}

bool PgQuota::SendBlocks(PgConn& conn) {
    std::vector<std::pair<std::vector<std::string>, UnixMillis>> blocks;
    {
        std::lock_guard lock(m_mutex);
        blocks.swap(m_blocks);
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
        std::vector<PgParam> names(blocks[i].first.begin(), blocks[i].first.end());
        auto r = conn.Exec("SELECT quota_block($1::text[], $2, $3)",
                           {PgArray(names), std::to_string(blocks[i].second), m_options.nodeId});
        if (!r) {  // keep the rest for the next connection
            std::lock_guard lock(m_mutex);
            m_blocks.insert(m_blocks.begin(), blocks.begin() + static_cast<long>(i), blocks.end());
            return false;
        }
        std::lock_guard lock(m_mutex);
        m_figures.blocksSent++;
    }
    return true;
}

bool PgQuota::Refill(PgConn& conn) {
    std::vector<PgParam> names, want, interval, burst;
    {
        std::lock_guard lock(m_mutex);
        const auto now = Clock::now();
        auto ttl = Millis(m_options.reserveSeconds * 1000);
        for (auto& [name, s] : m_scopes) {
            if (s.tokens > 0 && now - s.takenAt > ttl) {  // never bank the budget
                m_figures.tokensExpired += static_cast<uint64_t>(s.tokens);
                s.tokens = 0;
            }
            double rate = RateOf(name);
            double chunk = std::max(1.0, std::round(rate * m_options.chunkSeconds));
            if (!s.wanted || s.blockedTo > now || s.nextTry > now) continue;
            s.wanted = false;
            names.push_back(name);
            want.push_back(std::to_string(static_cast<int>(chunk - std::max(0.0, s.tokens))));
            interval.push_back(std::to_string(1000.0 / rate));
            burst.push_back(std::to_string(m_options.burstSeconds * 1000.0));
        }
        m_demand = false;
    }
    if (names.empty()) return true;
    auto r = conn.Exec(
        "SELECT scope, granted, wait_ms FROM quota_take($1::text[], $2::integer[], "
        "$3::float8[], $4::float8[])",
        {PgArray(names), PgArray(want), PgArray(interval), PgArray(burst)});
    if (!r) return false;
    bool granted = false;
    {
        std::lock_guard lock(m_mutex);
        const auto now = Clock::now();
        m_figures.roundTrips++;
        for (int i = 0; i < r->Rows(); ++i) {
            Scope& s = m_scopes[r->Text(i, 0)];
            int64_t got = r->Int(i, 1);
            if (got > 0) {
                s.tokens = std::max(0.0, s.tokens) + static_cast<double>(got);
                s.takenAt = now;
                m_figures.tokensTaken += static_cast<uint64_t>(got);
                granted = true;
            } else {
                s.nextTry = now + Millis(std::stod(r->Text(i, 2)));
            }
        }
        // Under the lock: once SetWake(nullptr) returns, the engine is never called again.
        if (granted && m_wake) m_wake();
    }
    return true;
}

void PgQuota::Loop() {
    std::unique_ptr<PgConn> conn;
    while (true) {
        {
            std::lock_guard lock(m_mutex);
            if (m_stop) return;
        }
        if (!conn || !conn->Healthy()) {
            conn.reset();
            auto c = PgConn::Connect(m_options.conninfo, "channeldeck-node quota");
            if (c && c.value()->Listen(kPgQuotaChannel)) conn = std::move(c.value());
            std::lock_guard lock(m_mutex);
            m_figures.connected = conn != nullptr;
        }
        if (!conn) {  // no budget without the database: nothing is sent until it is back
            std::unique_lock lock(m_mutex);
            m_figures.failures++;
            m_cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return m_stop; });
            continue;
        }
        bool ok = SendBlocks(*conn) && Refill(*conn);
        auto heard = ok ? conn->WaitForNotifications(std::chrono::milliseconds(0))
                        : Result<std::vector<PgNotification>>(
                              MakeError(ErrorCode::kIo, "quota call failed"));
        if (!heard) {
            std::lock_guard lock(m_mutex);
            m_figures.failures++;
            conn.reset();
            continue;
        }
        for (const auto& n : heard.value()) Heard(n.payload);
        // Sleep until a request wants tokens, a block is to be sent, or 20 ms pass (the
        // others' notices are read then).
        std::unique_lock lock(m_mutex);
        m_cv.wait_for(lock, std::chrono::milliseconds(20),
                      [&] { return m_stop || m_demand || !m_blocks.empty(); });
    }
}

}  // namespace cdeck::core
