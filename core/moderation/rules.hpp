#pragma once
// Moderation rules: JSON rule packs, their conditions, and evaluation of a message.
//
// A pack is parsed once (ParseRulePack validates everything and names the offending rule
// and key) into immutable Rules that any thread may evaluate concurrently. Regular
// expressions go through RE2, which runs in time linear in the input whatever the pattern,
// with a cap on pattern length and compiled program size. Surge conditions need history,
// which the caller keeps in a SurgeTracker (thread-safe) and passes in.
//
// Pack format (assets/rules/default.json):
//   {"name": "...", "version": 3, "rules": [
//     {"id": "credentials", "name": "...", "severity": "high", "enabled": true,
//      "exempt_users": ["<aad id>"], "exempt_channels": ["<channel id>"],
//      "when": CONDITION}]}
//   CONDITION is one of
//     {"keywords": ["password", "secret*", "*coin", "*leak*"]}   whole word, prefix, suffix,
//     anywhere
//     {"regex": "pattern", "case_sensitive": false}
//     {"mentions_at_least": 5}  {"team_or_channel_mention": true}
//     {"link_domains": {"deny": ["evil.example"], "allow": ["contoso.com"]}}
//     {"attachment_types": [".exe", "application/zip"]}
//     {"surge": {"per": "author"|"channel", "window_minutes": 5, "baseline_hours": 24,
//                "factor": 4, "min_count": 8}}
//     {"all": [CONDITION...]}  {"any": [CONDITION...]}  {"not": CONDITION}
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "moderation/text_match.hpp"
#include "model/compact.hpp"
#include "model/types.hpp"
#include "util/result.hpp"

namespace re2 {
class RE2;
}

namespace cdeck::core {

inline constexpr size_t kMaxRegexLength = 1000;

struct Condition {
    enum class Kind {
        kKeywords,
        kRegex,
        kMentions,
        kLinkDomains,
        kAttachmentTypes,
        kSurge,
        kAll,
        kAny,
        kNot
    };
    Kind kind = Kind::kKeywords;
    std::vector<Keyword> keywords;
    std::string pattern;
    std::shared_ptr<const re2::RE2> regex;
    int mentionsAtLeast = 0;  // 0: not checked
    bool teamOrChannelMention = false;
    std::vector<std::string> allowDomains, denyDomains;  // lower-case
    std::vector<std::string> attachmentTypes;            // lower-case ".ext" or content type
    bool surgePerAuthor = true;
    double windowMinutes = 5, baselineHours = 24, factor = 4;
    int minCount = 8;
    std::vector<Condition> children;
};

struct Rule {
    std::string id, name;
    std::string severity = "medium";  // low, medium, high, critical
    bool enabled = true;
    Condition when;
    std::vector<std::string> exemptUsers, exemptChannels;
};

struct RulePack {
    std::string name;
    int version = 1;
    std::vector<Rule> rules;
};

// Parses and validates a pack; errors name the rule and the key.
Result<RulePack> ParseRulePack(const std::string& json);
int SeverityRank(const std::string& severity);  // low 1 .. critical 4; 0 unknown

// Per-author and per-channel message counts per minute, for surge conditions. Any thread.
// Counts are kept for kHorizonHours past the newest message seen, so memory stays bounded
// however long the app runs; a surge's baseline is at most that long.
class SurgeTracker {
  public:
    static constexpr int kHorizonHours = 48;
    // Counts a message once (by id). Returns false when it was already counted.
    bool Add(const std::string& messageId, const std::string& authorId,
             const std::string& channelId, UnixMillis at);
    // Messages by `key` ("a:<author>" or "c:<channel>") in [from, to).
    int Count(const std::string& key, UnixMillis from, UnixMillis to) const;
    // The start of the oldest minute counted (0 before any message): a baseline cannot
    // reach further back than what has been seen.
    UnixMillis ObservedSince() const;

  private:
    void Prune(int64_t newestMinute);  // with m_mutex held

    mutable std::mutex m_mutex;
    // key -> (minute, count), in minute order
    std::unordered_map<std::string, std::deque<std::pair<int64_t, int>>> m_perMinute;
    std::unordered_map<uint64_t, int64_t> m_seen;  // hash of message id -> its minute
    int64_t m_newestMinute = 0;
    int64_t m_prunedAt = 0;
    int64_t m_oldestMinute = 0;  // the oldest minute counted (kept by Add and Prune)
};

// What a message looks like to the rules.
struct RuleInput {
    RuleInput(const CompactMessage* m, std::string_view t, std::string channel,
              const SurgeTracker* s)
        : message(m), text(t), channelId(std::move(channel)), surge(s) {}
    // A parsed message (rule tests, tools): compacted once, here.
    RuleInput(const ChatMessage* m, std::string_view t, std::string channel, const SurgeTracker* s)
        : owned(m ? std::make_shared<const CompactMessage>(*m) : nullptr),
          message(owned.get()),
          text(t),
          channelId(std::move(channel)),
          surge(s) {}

  private:
    std::shared_ptr<const CompactMessage> owned;

  public:
    const CompactMessage* message = nullptr;
    std::string_view text;  // the body as plain text (HTML already converted)
    std::string channelId;
    const SurgeTracker* surge = nullptr;  // may be null: surge conditions never match
};

struct RuleHit {
    std::string ruleId, ruleName, severity;
    std::vector<TextMatch> terms;  // byte ranges of the text that matched, for highlighting
    std::string reason;            // one line: what matched
};

// Every enabled rule the message matches (exemptions applied), in pack order.
std::vector<RuleHit> Evaluate(const RulePack& pack, const RuleInput& input);
// One rule, exemptions applied (for backtests of a draft rule).
bool EvaluateRule(const Rule& rule, const RuleInput& input, RuleHit& hit);

// The domains of every link in a message body (href targets and bare URLs), lower-case.
std::vector<std::string> LinkDomains(std::string_view html);

}  // namespace cdeck::core
