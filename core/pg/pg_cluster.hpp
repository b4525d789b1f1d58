#pragma once
// Several channeldeck-nodes on one tenant (SERVER.md "Shared store and coordination"): the
// channel leases that split the work, the leader lease that runs the singletons, and the
// membership notices that make the others react at once. PostgreSQL is the only
// coordinator, and every expiry is on the database clock (node clocks may differ).
//
// Each step (every renew interval, and at once when a node joins, leaves or gives leases
// up) renews this node's leases, keeps or takes the leader lease, counts the live nodes and
// claims (FOR UPDATE SKIP LOCKED) or gives up channels until this node holds its share:
// the channels divided by the live nodes, the remainder going to the first nodes by id. A
// claim raises the lease's fencing token; progress writes name the token they were made
// under (FenceOf) and land only while it is still current.
//
// Threads: one coordination thread with its own connection (Start/Stop). OwnsChannel,
// Leader, FenceOf and GetFigures are called from any thread (the sync engine's workers,
// the persister) and answer from memory. The callbacks run on the coordination thread.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pg/pg_conn.hpp"
#include "store/store.hpp"
#include "sync/work_share.hpp"

namespace cdeck::core {

inline constexpr const char* kPgNodesChannel = "cdeck_nodes";  // joins, leaves, give-ups
inline constexpr const char* kPgPushChannel = "cdeck_push";    // lifecycle events passed on

// The payload of a notice on cdeck_nodes: who, what (joined, left, released, channels) and
// how many channels it concerns. A node ignores notices that carry its own id.
std::string PgNodesNotice(const std::string& node, const std::string& event, size_t channels);

struct PgClusterOptions {
    std::string conninfo;  // never logged
    std::string nodeId;
    double leaseSeconds = 30;
    double renewSeconds = 10;
    double stopAfterSeconds = 25;  // no renewal this long: stop work on every channel
};

struct LeaseClaim {
    std::string channelId, teamId;
    std::string deltaLink;       // the last owner's progress ("" : backfill)
    std::string subscriptionId;  // its channel subscription, if any
    int64_t fence = 0;
    UnixMillis lastSync = 0;  // the last owner's last good round (0: none)
};

class PgCluster final : public ChannelOwnership {
  public:
    using Claimed = std::function<void(const std::vector<LeaseClaim>&)>;
    // Channels this node no longer holds (given up, or found taken by another node).
    using Released = std::function<void(const std::vector<std::string>&)>;

    PgCluster(PgClusterOptions options, Store& store);
    ~PgCluster() override;
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    void SetCallbacks(Claimed claimed, Released released);  // before Start
    // Notices on cdeck_push (lifecycle events another node passed on); before Start.
    void SetPushNotice(std::function<void(const std::string& payload)> notice);
    // Starts the coordination thread; its first step runs before Start returns (when the
    // database answers), so a node syncs its share from the start.
    void Start();
    // Stops the thread and, when `release`, gives up every lease at once (a clean exit)
    // and tells the other nodes.
    void Stop(bool release = true);
    void Wake();  // step now (a node joined or left)

    bool OwnsChannel(const std::string& channelId) const override;
    bool Leader() const override;
    // The fencing token this node believes it holds for the channel; none when it holds no
    // lease there (a write for it is refused).
    std::optional<int64_t> FenceOf(const std::string& channelId) const;
    std::optional<int64_t> LeaderFence() const;  // while this node leads
    // The subscription of a channel this node holds, written under its fencing token.
    // False when the lease is no longer this node's (the write was refused).
    bool SaveSubscription(const std::string& channelId, const std::string& subscriptionId);

    struct Figures {
        int owned = 0;
        int liveNodes = 0;
        int channels = 0;  // leases in the table
        int target = 0;    // this node's share
        bool leader = false;
        bool renewing = true;  // the last renewal worked
        uint64_t claimed = 0, released = 0, lost = 0, steps = 0, failures = 0;
        uint64_t fencedWrites = 0;  // subscription writes refused by the fencing token
        double secondsSinceRenewal = 0;
    };
    Figures GetFigures() const;

  private:
    using Clock = std::chrono::steady_clock;
    void Loop();
    bool Step(PgConn& conn);
    bool Renew(PgConn& conn);
    bool KeepLeader(PgConn& conn);
    bool Balance(PgConn& conn);
    bool Claim(PgConn& conn, int n);
    bool GiveUp(PgConn& conn, int n);
    void EnsureDirectory(PgConn& conn, const std::vector<LeaseClaim>& claims);
    void ReleaseAll(PgConn& conn);
    bool Fresh(Clock::time_point at) const;

    const PgClusterOptions m_options;
    Store& m_store;
    Claimed m_claimed;
    Released m_released;
    std::function<void(const std::string&)> m_pushNotice;

    mutable std::mutex m_mutex;  // guards everything below
    std::condition_variable m_cv;
    std::map<std::string, int64_t> m_owned;  // channel -> fencing token
    bool m_leader = false;
    int64_t m_leaderFence = 0;
    int64_t m_orphanLapseMs = -1;     // until a dead node's next lease runs out; -1: none
    Clock::time_point m_renewedAt{};  // the last renewal that reached the database
    Clock::time_point m_leaderAt{};
    Figures m_figures;
    bool m_wake = false;
    bool m_stop = false;
    bool m_firstStepDone = false;
    std::unique_ptr<PgConn> m_writeConn;  // SaveSubscription's (under m_writeMutex)
    std::mutex m_writeMutex;
    std::thread m_thread;
};

}  // namespace cdeck::core
