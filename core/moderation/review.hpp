#pragma once
// The review queue: messages that rules flagged, and what moderators did about them.
//
// ModerationEngine evaluates the rule pack on ingest -- it is a StoreObserver, so it runs
// on the store writer's thread after each merge, never on the UI thread -- and keeps the
// queue. Every change is published into the store as an immutable ReviewState, which the
// UI reads from its snapshot like everything else. Moderator actions arrive as method
// calls (from the app's command path); those that need Graph (delete, undo, reply) go out
// as sync-engine commands. An action shows at once and is rolled back, with the error on
// the item, if the server refuses. Every action is appended to the audit log with Graph's
// request-id.
//
// Threading: all public methods are thread-safe (one mutex, never held while calling out
// to the store, the engine or the audit sink).
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "moderation/rules.hpp"
#include "model/records.hpp"
#include "store/store.hpp"
#include "sync/command.hpp"

namespace cdeck::core {

struct ReviewItem {
    uint64_t id = 0;
    std::string messageId;
    std::string rootId;  // the thread's root when the message is a reply; else empty
    std::string teamId, channelId;
    std::string ruleId, ruleName, severity;
    std::vector<TextMatch> terms;  // byte ranges of `text`
    std::string reason;
    std::string authorId, authorName;
    std::string text;  // the message as plain text when flagged
    UnixMillis createdAt = 0, flaggedAt = 0;
    bool resolved = false;
    std::string tag;  // compliant | non-compliant | false-positive (when resolved)
    std::string comment;
    bool escalated = false;
    bool deleted = false;   // soft-deleted from the queue (undo is possible)
    bool pending = false;   // an action is on its way to Graph
    std::string lastError;  // the last action the server refused
    std::string groupKey;   // equal for near-duplicate messages
    // The shared queue (following nodes): who holds the item. Empty: nobody.
    std::string claimedBy;       // the database user holding the claim
    std::string claimedAccount;  // their Entra account, as their desk reported it
    UnixMillis claimExpires = 0;
};

// A moderator action on the shared queue, carried out by the database (pg/ desk functions)
// together with its audit row.
struct SharedReviewAction {
    enum class Kind { kClaim, kClaimNext, kRelease, kResolve, kTag, kEscalate, kNotice } kind;
    uint64_t id = 0;
    int count = 0;  // kClaimNext
    std::string tag, comment, result, requestId;
};

struct ReviewState {
    uint64_t version = 0;
    std::vector<ReviewItem> items;  // oldest first
    size_t pendingCount = 0;        // not resolved
    size_t droppedPending = 0;      // pending items that left a full queue (oldest first)
    size_t maxItems = 0;            // the queue's size limit
    std::vector<AuditRow> audit;    // the most recent audit rows, newest first
    std::string packName;
    int packVersion = 0;
    bool shared = false;     // the queue is the nodes' (PostgreSQL), claimed per moderator
    std::string sharedUser;  // this desk's database user, to tell our claims from others'
};
using ReviewStatePtr = std::shared_ptr<const ReviewState>;

// Folded text with digits and punctuation dropped and spaces collapsed, hashed: messages
// that differ only in numbers, case or spacing share a key.
std::string NearDuplicateKey(std::string_view text);

class ModerationEngine final : public StoreObserver {
  public:
    // The default queue held in memory; beyond it resolved items leave first, then the
    // oldest pending ones (counted in ReviewState::droppedPending).
    static constexpr size_t kMaxItems = 20000;
    struct Options {
        std::string actor = "moderator";  // who the audit log names
        // Sends a Graph command (the sync engine's Submit); may be empty in tests.
        std::function<void(Command)> submit;
        std::function<void(const AuditRow&)> audit;  // the persister's AppendAudit
        std::function<UnixMillis()> clock;           // default NowMillis
        // Saves a moderator's decision on an item ("<message id>|<rule id>", JSON) so that
        // it survives a restart; the persister's SaveReviewState.
        std::function<void(const std::string& key, const std::string& json)> saveState;
        size_t maxItems =
            kMaxItems;  // the queue held in memory (config sync.memory_max_review_items)
        // Every flagged message (new, or edited and still matching), with the pack that
        // flagged it, on the writer's thread: the node writes them to the shared queue.
        std::function<void(const std::vector<ReviewItem>&, const RulePack&)> flagged;
        // Following nodes: review actions go to the shared queue through this (on the
        // caller's thread), and items arrive through ApplyShared; rules do not run here.
        std::function<Status(const SharedReviewAction&)> sharedAction;
        std::string sharedUser;
    };
    ModerationEngine(Store& store, RulePack pack, Options options);

    // StoreObserver: rules run here, on the writer's thread.
    void OnTeams(const std::vector<Team>&) override {}
    void OnChannels(const std::string&, const std::vector<Channel>&) override {}
    void OnMessages(const std::string& channelId,
                    const std::vector<StoredMessagePtr>& changed) override;
    void OnChannelSync(const std::string&, UnixMillis, bool, const std::string*) override {}

    // ---- moderator actions (any thread) ----
    enum class Tag { kCompliant, kNonCompliant, kFalsePositive };
    static const char* TagName(Tag t);
    void Resolve(const std::vector<uint64_t>& ids, Tag tag, const std::string& comment);
    void Unresolve(const std::vector<uint64_t>& ids);
    void Escalate(const std::vector<uint64_t>& ids);
    // Soft-deletes the messages in Graph; the items show deleted at once.
    void Delete(const std::vector<uint64_t>& ids);
    void Undo(const std::vector<uint64_t>& ids);
    // Replies in the item's thread with `text` (a notice from a template).
    void ReplyNotice(uint64_t id, const std::string& text);

    void SetPack(RulePack pack);
    // ---- the shared queue (following nodes) ----
    // Items as the database holds them now (new or changed since the last call).
    void ApplyShared(std::vector<ReviewItem> items);
    void Claim(const std::vector<uint64_t>& ids);
    void ClaimNext(int count);
    void Release(const std::vector<uint64_t>& ids);
    // A draft rule over everything the store holds now (see Backtest below).
    struct BacktestResult BacktestDraft(const std::string& ruleJson) const;
    // Decisions saved before (SaveReviewState rows): applied when their items reappear.
    void SeedStates(const std::vector<std::pair<std::string, std::string>>& states);
    // Evaluates every message already in the store (the cache loaded at start).
    void EvaluateExisting(const Snapshot& snapshot);
    // The audit rows already in the database (newest first), shown before any new ones.
    void SeedAudit(std::vector<AuditRow> rows);
    // Appends a row that is not about a review item (an acknowledged alert): shown in the
    // audit view and written through the audit sink. The actor is this engine's when empty.
    void RecordEvent(AuditRow row);
    static constexpr size_t kAuditShown = 1000;
    ReviewStatePtr State() const;

  private:
    void Publish();
    void Audit(const ReviewItem& item, const std::string& action, const std::string& result,
               const std::string& requestId, const std::string& detail);
    template <typename F>
    void Each(const std::vector<uint64_t>& ids, F f);
    void SendDelete(uint64_t id, bool undo);
    void SaveState(const ReviewItem& item);  // without m_mutex held
    void TrimItems();                        // with m_mutex held
    // Runs `make(id)` through the shared queue for each id; an item whose action the
    // database refused shows why. `apply` is the optimistic change on success.
    void SharedEach(const std::vector<uint64_t>& ids,
                    const std::function<SharedReviewAction(uint64_t)>& make,
                    const std::function<void(ReviewItem&)>& apply);

    Store& m_store;
    Options m_options;
    SurgeTracker m_surge;
    mutable std::mutex m_mutex;  // guards everything below
    std::shared_ptr<const RulePack> m_pack;
    std::vector<ReviewItem> m_items;
    std::vector<AuditRow> m_audit;                         // newest first, at most kAuditShown
    std::unordered_map<std::string, std::string> m_saved;  // decisions from the database
    std::unordered_map<std::string, std::vector<size_t>> m_byMessage;  // message id -> items
    uint64_t m_nextId = 1;
    uint64_t m_version = 0;
    size_t m_droppedPending = 0;
    size_t m_flaggedUnlogged = 0;
    UnixMillis m_flagLoggedAt = 0;
};

// A draft rule run over the cached history before it is enabled.
struct BacktestResult {
    Status status = OkStatus();  // a rule that does not parse: the parser's error
    size_t scanned = 0;          // messages and replies looked at
    size_t hits = 0;
    std::vector<std::pair<std::string, size_t>> perChannel;  // channel id, hits; most first
    struct Sample {
        std::string channelId, messageId, author, text, reason;
        std::vector<TextMatch> terms;
    };
    std::vector<Sample> samples;  // the newest hits, at most kSamples
    static constexpr size_t kSamples = 20;
};
// `ruleJson` is one rule object as it would appear in a pack's "rules" list. Surge
// conditions see the history as it arrived (messages replayed oldest first). Any thread.
BacktestResult Backtest(const std::string& ruleJson, const Snapshot& snapshot);

// Forwards every notification to several observers, in order (the persister first).
class ObserverList final : public StoreObserver {
  public:
    void Add(StoreObserver* o) { m_list.push_back(o); }
    void OnTeams(const std::vector<Team>& t) override {
        for (auto* o : m_list) o->OnTeams(t);
    }
    void OnChannels(const std::string& team, const std::vector<Channel>& c) override {
        for (auto* o : m_list) o->OnChannels(team, c);
    }
    void OnMessages(const std::string& ch, const std::vector<StoredMessagePtr>& m) override {
        for (auto* o : m_list) o->OnMessages(ch, m);
    }
    void OnChannelSync(const std::string& ch, UnixMillis at, bool backfilled,
                       const std::string* delta) override {
        for (auto* o : m_list) o->OnChannelSync(ch, at, backfilled, delta);
    }

  private:
    std::vector<StoreObserver*> m_list;
};

}  // namespace cdeck::core
