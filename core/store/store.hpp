#pragma once
// The snapshot store: the one place where fetched data meets the UI.
//
// Threading (the whole contract):
//  - Readers (the UI thread, the headless reporter, tests) call Current() and get a
//    shared_ptr<const Snapshot>. A snapshot never changes after publication, so readers
//    hold no lock while they walk it, for as long as they keep the pointer.
//  - Writers (sync workers) call the mutation methods. Writers are serialised by
//    m_writeMutex; each mutation builds the next Snapshot off to the side, sharing every
//    unchanged ChannelData/TeamData through shared_ptr<const ...>, and publishes it with an
//    atomic pointer swap. Then the wake callback runs (on the writer's thread).
//  - Derived per-channel facts (counts, last message, plain-text bodies, sparkline) are
//    computed here at publish time, so a frame does no parsing or aggregation.
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "model/compact.hpp"
#include "model/html_text.hpp"
#include "model/types.hpp"
#include "util/time.hpp"

// libstdc++ 12 implements atomic<shared_ptr> with a spin bit that ThreadSanitizer cannot
// see, so every publish/read pair is reported as a race. Under TSan the store holds the
// pointer behind a mutex instead; every other build uses the lock-free atomic.
#if defined(__SANITIZE_THREAD__)
#define CDECK_STORE_MUTEX_POINTER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CDECK_STORE_MUTEX_POINTER 1
#endif
#endif

namespace cdeck::core {

struct ReviewState;  // moderation/review.hpp

// A message as the UI needs it: the message in its compact form plus its body already
// converted to text.
struct StoredMessage {
    CompactMessage message;  // replies are kept in `replies` below
    PlainText text;          // HtmlToText(body) or the sanitized text body
    std::string preview;     // first line of text, clipped, for tiles and lists
    std::vector<std::shared_ptr<const StoredMessage>> replies;  // oldest first
    // Earlier bodies seen for this message (edit history), oldest first, capped at
    // Store::kMaxHistory: (version time, body content).
    std::vector<std::pair<UnixMillis, std::string>> history;
};
using StoredMessagePtr = std::shared_ptr<const StoredMessage>;

// Per-channel activity: per-minute counts over the last 24 hours (a ring indexed by the
// absolute minute) and hour-of-day totals for the heatmap. Updated incrementally as
// messages are merged, never recounted. Immutable once published, like everything else.
// Stored as 24 blocks of an hour each, shared between copies and cloned on write, so a
// merge that touches the current hour copies one small block, not the whole day.
struct ActivityRing {
    enum Kind { kMessages = 0, kReplies, kMentions, kDeletes, kKinds };
    static constexpr int kMinutes = 24 * 60;
    static constexpr int kBlock = 60;
    struct Block {
        std::array<int64_t, kBlock> minute{};  // which absolute minute a slot holds
        std::array<std::array<uint16_t, kKinds>, kBlock> counts{};
    };
    std::array<std::shared_ptr<Block>, kMinutes / kBlock> blocks;  // null: never written
    std::array<uint32_t, 24> hourOfDay{};  // messages + replies, by UTC hour, all time

    void Add(UnixMillis at, Kind kind, int n = 1);
    // Sum of `kind` over the minutes [from, to).
    int Sum(Kind kind, UnixMillis from, UnixMillis to) const;
    // Messages and replies in each of the `n` minutes ending at `now`, oldest first.
    void PerMinute(UnixMillis now, float* out, int n) const;
};

struct ChannelData {
    Channel channel;
    std::vector<StoredMessagePtr> messages;  // root messages, oldest first
    // Maintained by merges (incrementally):
    size_t replyCount = 0;
    size_t deletedCount = 0;
    size_t mentionCount = 0;
    UnixMillis lastActivity = 0;  // newest createdDateTime among roots and replies
    std::shared_ptr<const ActivityRing> activity;
    double rateEwma = 0;  // messages+replies per minute, exponentially weighted (10 min)
    UnixMillis rateEwmaAt = 0;
    // Derived at publish time from the above:
    StoredMessagePtr last;              // newest root message
    std::array<float, 60> sparkline{};  // messages per minute, oldest first, ending at sparkEnd
    UnixMillis sparkEnd = 0;
    int last15Min = 0;
    // Sync facts:
    UnixMillis lastSyncOk = 0;
    UnixMillis lastSyncAttempt = 0;
    std::string lastError;  // empty when the last attempt succeeded
    bool backfilled = false;
    std::string deltaLink;  // where the next delta round starts; empty before the first
    // Set from the UI through engine commands:
    bool pinned = false;
    bool paused = false;
    // Roots created before this left memory under the store's memory limit (with their
    // replies); the database still holds them. 0: nothing has left.
    UnixMillis trimmedBefore = 0;
    size_t trimmedRoots = 0;
    uint64_t version = 0;  // bumps whenever this channel's data changes
};
using ChannelDataPtr = std::shared_ptr<const ChannelData>;

struct TeamData {
    Team team;
    std::vector<std::string> channelIds;  // in Graph's order
    // The team's members (GET /teams/{id}/members), refreshed with channel discovery;
    // null until listed (or when the token may not list them).
    std::shared_ptr<const std::vector<TeamMember>> members;
};
using TeamDataPtr = std::shared_ptr<const TeamData>;

// Engine-level status shown in the UI's status strip and written by --report.
struct SyncStatus {
    std::string phase = "starting";  // starting, signing-in, discovering, backfilling, live, error
    std::string lastError;
    std::string account;  // who we are signed in as (app id or user name)
    std::string userId;   // the signed-in user's id (delegated); their messages may be edited
    std::string tenant;   // the tenant id or domain from the configuration ("demo" for graphsim)
    bool signedIn = false;
    bool delegated = false;
    // Device code sign-in in progress: what the user must do (never the device code itself).
    std::string signInMessage;
    std::string signInUserCode;
    std::string signInUrl;
    std::vector<std::string> grantedScopes;  // delegated scopes or app roles, when known
    int channelsTotal = 0;
    int channelsBackfilled = 0;
    uint64_t messagesIngested = 0;
    uint64_t requests = 0;
    uint64_t responses2xx = 0;
    uint64_t throttled = 0;
    uint64_t failures = 0;
    double requestsPerSecond = 0;
    double rttP50Ms = 0;
    double rttP95Ms = 0;
    UnixMillis lastSyncOk = 0;   // newest successful channel sync
    bool fromCache = false;      // data was loaded from the database at start
    bool pausedAll = false;      // the user paused all syncing
    std::string policy;          // adaptive or sdk
    GraphLimits limits;          // the budgets the engine paces to (changeable at run time)
    MetricsSnapshotPtr metrics;  // throttling and freshness figures, refreshed ~4x a second
    // Following nodes through PostgreSQL (a server block); all zero in standalone mode.
    // Polling etiquette (standalone, real tenant): channels off screen are refreshed about
    // every backgroundRefreshSeconds; live push needs a channeldeck-node.
    bool etiquette = false;
    double backgroundRefreshSeconds = 0;
    bool following = false;
    bool followConnected = false;   // the database answers
    int followNodes = 0;            // nodes with a live heartbeat
    UnixMillis lastNodeCommit = 0;  // the newest commit by any node
    double followStaleAfter = 30;   // seconds without a commit before STALE
    std::string persistError;       // the database is failing (data is kept in memory)
    size_t persistQueue = 0;
};

struct Snapshot {
    uint64_t version = 0;
    UnixMillis publishedAt = 0;
    std::vector<TeamDataPtr> teams;
    std::unordered_map<std::string, ChannelDataPtr> channels;  // by channel id
    SyncStatus sync;
    uint64_t totalMessages = 0;
    std::shared_ptr<const ReviewState> review;  // the moderation queue; null without rules

    const ChannelData* FindChannel(const std::string& id) const {
        auto it = channels.find(id);
        return it == channels.end() ? nullptr : it->second.get();
    }
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Told about every change after it is published, on the writer's thread, outside the
// store's lock. The persistence layer implements it. Set before writers start.
class StoreObserver {
  public:
    virtual ~StoreObserver() = default;
    virtual void OnTeams(const std::vector<Team>& teams) = 0;
    virtual void OnChannels(const std::string& teamId, const std::vector<Channel>& channels) = 0;
    // Each entry is one row: a root (its `replies` are separate entries) or a reply.
    virtual void OnMessages(const std::string& channelId,
                            const std::vector<StoredMessagePtr>& changed) = 0;
    // deltaLink: null when unchanged; otherwise the new link (empty: forget it).
    virtual void OnChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                               const std::string* deltaLink) = 0;
};

class Store {
  public:
    Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Any thread. Lock-free for readers.
    SnapshotPtr Current() const {
#ifdef CDECK_STORE_MUTEX_POINTER
        std::lock_guard lock(m_currentMutex);
        return m_current;
#else
        return m_current.load(std::memory_order_acquire);
#endif
    }

    // Called after every publish, on the publishing thread. Set before writers start.
    void SetWakeCallback(std::function<void()> wake);
    // Bounds memory: when more than `maxMessages` roots and replies are held, the oldest
    // roots (with their replies) leave memory until 2% below it. The database keeps them.
    // Every channel keeps at least kMinRootsKept of its newest roots, or fewer when those
    // floors would take more than half the limit. 0: no limit.
    void SetMemoryLimit(size_t maxMessages);
    static constexpr size_t kMinRootsKept = 100;
    // Not owned; may be null. Set before writers start (after loading from the database).
    void SetObserver(StoreObserver* observer);
    static constexpr size_t kMaxHistory = 10;

    // ---- writers (any thread; serialised internally) ----
    void UpsertTeams(const std::vector<Team>& teams);
    void UpsertChannels(const std::string& teamId, const std::vector<Channel>& channels);
    void SetTeamMembers(const std::string& teamId, std::vector<TeamMember> members);
    // Merges messages (roots, with any inlined replies) into a channel. Keyed by id; an
    // incoming version older than the stored one (lastModifiedDateTime, then etag) is
    // ignored. Returns how many messages were new or changed.
    // notifyObserver=false: the messages came from the observer's own storage (start-up
    // load), so telling it again would only rewrite them.
    // arrived (optional): receives the createdDateTime of every message and reply that was
    // new to the store, for freshness metrics.
    size_t MergeMessages(const std::string& channelId, std::vector<ChatMessage> messages,
                         bool backfillDone, bool notifyObserver = true,
                         std::vector<UnixMillis>* arrived = nullptr);
    // The two halves of MergeMessages: Prepare converts (HTML to text, previews) and can
    // run on any thread without the writer lock; MergePrepared is the merge itself.
    static std::vector<StoredMessagePtr> Prepare(std::vector<ChatMessage> messages);
    size_t MergePrepared(const std::string& channelId, std::vector<StoredMessagePtr> incoming,
                         bool backfillDone, bool notifyObserver = true,
                         std::vector<UnixMillis>* arrived = nullptr);
    // deltaLink: null leaves the stored link alone; otherwise replaces it (empty: forget).
    void RecordChannelSync(const std::string& channelId, bool ok, const std::string& error,
                           const std::string* deltaLink = nullptr);
    // Start-up load from the database: the last successful sync as it was, not now.
    void RestoreChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                            const std::string& deltaLink = {});
    // UI state kept with the channel (set through engine commands). Null leaves a flag.
    void SetChannelFlags(const std::string& channelId, const bool* pinned, const bool* paused);
    void UpdateSyncStatus(const std::function<void(SyncStatus&)>& edit);
    // Publishes a new moderation queue (the moderation engine calls it).
    void SetReview(std::shared_ptr<const ReviewState> review);

    // Builds a StoredMessage (text conversion, preview). Exposed for tests and benchmarks.
    static StoredMessagePtr MakeStored(ChatMessage message);
    // A stored root (its text as it is) with new replies, to merge them into its thread.
    static StoredMessagePtr WithReplies(const StoredMessage& root,
                                        std::vector<ChatMessage> replies);
    // A root and its replies, all in compact form already (the start-up load).
    static StoredMessagePtr MakeThread(CompactMessage root, std::vector<CompactMessage> replies);

  private:
    // Copies the current snapshot shallowly, lets `edit` change it, publishes it.
    void Publish(const std::function<void(Snapshot&)>& edit);
    uint64_t Trim(Snapshot& s, uint64_t total);
    static void Derive(ChannelData& c, UnixMillis now);

    void SetCurrent(SnapshotPtr next);

#ifdef CDECK_STORE_MUTEX_POINTER
    mutable std::mutex m_currentMutex;  // guards m_current (TSan builds only)
    SnapshotPtr m_current;
#else
    std::atomic<SnapshotPtr> m_current;
#endif
    std::mutex m_writeMutex;  // serialises writers; never held by readers
    // Writer-side: each channel's root id hashes, sorted (see RootFinder in store.cpp).
    std::unordered_map<std::string, std::vector<uint32_t>> m_rootHashes;
    std::function<void()> m_wake;
    StoreObserver* m_observer = nullptr;
    size_t m_memoryLimit = 0;
};

}  // namespace cdeck::core
