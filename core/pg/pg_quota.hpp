#pragma once
// The tenant's shared Graph budget (SERVER.md "Shared store and coordination"): every node
// of one app shares each throttling scope's limit, so the budget lives in the database as
// a generic cell rate algorithm per scope, taken by one SQL function (quota_take) on the
// database clock. A 429 moves the scope's blocked_until forward (quota_block) and every
// node hears it on cdeck_quota at once.
//
// The request classes and the per-team scopes are shared; the app-wide scope (never the
// first to throttle) and channel scopes (one node owns a channel) stay local. Each node
// takes a few tokens per round trip into a local reserve that expires after a second, so
// the engine asks from memory; the engine's own adaptive pacing stays as a second layer.
//
// Threads: Take, Block and SetWake are called with the engine's queue mutex held, from any
// worker; they only touch memory. One quota thread with its own connection takes tokens,
// sends blocks and listens for the others' (Start/Stop). The wake callback runs there,
// under the quota's mutex, so it must not take a lock that is held while calling Take.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "pg/pg_conn.hpp"
#include "sync/work_share.hpp"

namespace cdeck::core {

inline constexpr const char* kPgQuotaChannel = "cdeck_quota";

struct PgQuotaOptions {
    std::string conninfo;  // never logged
    std::string nodeId;
    GraphLimits limits;         // the documented limits; the shared rate is paceFraction of them
    double burstSeconds = 0.5;  // how far ahead of time the budget lends tokens
    double chunkSeconds = 0.1;  // tokens per round trip: this many seconds of the scope's rate
    double reserveSeconds = 1;  // unused local tokens expire after this
};

class PgQuota final : public SharedBudget {
  public:
    explicit PgQuota(PgQuotaOptions options);
    ~PgQuota() override;
    PgQuota(const PgQuota&) = delete;
    PgQuota& operator=(const PgQuota&) = delete;

    void Start();
    void Stop();

    UnixMillis Take(const std::vector<std::string>& scopes, double cost) override;
    void Block(const std::vector<std::string>& scopes, UnixMillis ms) override;
    void SetWake(std::function<void()> wake) override;

    // The scope's shared rate (requests per second); 0 when the scope is not shared.
    double RateOf(const std::string& scope) const;

    struct Figures {
        uint64_t roundTrips = 0;     // quota_take calls
        uint64_t tokensTaken = 0;    // granted by the database
        uint64_t tokensExpired = 0;  // taken but not used in time
        uint64_t refusals = 0;       // Take() answered "wait"
        uint64_t blocksSent = 0, blocksHeard = 0;
        uint64_t failures = 0;  // calls that failed (the database away)
        bool connected = false;
    };
    Figures GetFigures() const;

  private:
    using Clock = std::chrono::steady_clock;
    struct Scope {
        double tokens = 0;
        Clock::time_point takenAt{};
        bool wanted = false;            // a request found too few tokens, or a hot scope ran dry
        Clock::time_point nextTry{};    // the database said wait until then
        Clock::time_point blockedTo{};  // a 429 (ours or another node's)
    };
    void Loop();
    bool Refill(PgConn& conn);
    bool SendBlocks(PgConn& conn);
    void Heard(const std::string& payload);

    const PgQuotaOptions m_options;
    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    std::map<std::string, Scope> m_scopes;
    std::vector<std::pair<std::vector<std::string>, UnixMillis>> m_blocks;  // to send
    std::function<void()> m_wake;
    bool m_demand = false;
    bool m_stop = false;
    Figures m_figures;
    std::thread m_thread;
};

}  // namespace cdeck::core
