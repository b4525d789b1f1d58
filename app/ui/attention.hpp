#pragma once
// What on the wall needs attention: channels that are stale, gated or throttled, surging
// against their own baseline, or holding critical review items, worst first, and how many
// of each team's channels are among them. Pure over a snapshot (no ImGui), so it is tested
// directly. Threads: any; the wall rebuilds it on the UI thread.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"

namespace cdeck::ui {

enum AttentionReason : uint8_t {
    kReasonStale = 1,      // freshness red: no successful sync for red x the expected interval
    kReasonGated = 2,      // waiting out a Retry-After
    kReasonThrottled = 4,  // 429s in the last minute
    kReasonSurge = 8,      // far above its usual 15-minute count
    kReasonCritical = 16,  // pending review items of critical severity
};

struct AttentionItem {
    std::string channelId, teamId;
    uint8_t reasons = 0;
    int score = 0;            // higher is worse; the strip is sorted by it
    double staleSeconds = 0;  // since the last successful sync (when stale)
    int recent429 = 0;
    int last15 = 0;         // messages and replies in the last 15 minutes
    double baseline15 = 0;  // its usual 15-minute count (the six hours before)
    int critical = 0;       // pending critical review items
};

struct AttentionOptions {
    core::UnixMillis now = 0;
    double expectedSeconds = 5;  // the expected sync interval
    double redFactor = 5;        // stale past this many expected intervals
    double surgeFactor = 3;      // a surge: at least this many times the baseline...
    int surgeMin = 10;           // ...and at least this many messages in 15 minutes
    // A channel's baseline (Baseline15 when empty); the wall passes a cached one.
    std::function<double(const core::ChannelData&)> baseline;
};

// Baseline15 per channel, recomputed once a minute (the six hours it covers move by the
// minute; a frame need not sum them again). UI thread.
class BaselineCache {
  public:
    double Get(const core::ChannelData& c, core::UnixMillis now);

  private:
    struct Entry {
        int64_t minute = -1;
        double value = 0;
    };
    std::unordered_map<std::string, Entry> m_entries;
};

struct ThrottleFacts {
    bool gated = false;
    int recent429 = 0;
};

struct Attention {
    std::vector<AttentionItem> items;                   // worst first
    std::unordered_map<std::string, int> byTeam;        // team id -> channels needing attention
    std::unordered_map<std::string, size_t> byChannel;  // channel id -> index in items
    size_t channels = 0;                                // channels looked at
    uint64_t generation = 0;  // set by whoever rebuilds it; readers cache against it
    bool AllQuiet() const { return items.empty(); }
    const AttentionItem* Find(const std::string& channelId) const {
        auto it = byChannel.find(channelId);
        return it == byChannel.end() ? nullptr : &items[it->second];
    }
    int TeamCount(const std::string& teamId) const {
        auto it = byTeam.find(teamId);
        return it == byTeam.end() ? 0 : it->second;
    }
};

// A channel's usual 15-minute count: the mean over the six hours before the last 15
// minutes (0 with no history).
double Baseline15(const core::ChannelData& c, core::UnixMillis now);

// Pending (unresolved, not deleted) critical review items per channel id.
std::unordered_map<std::string, int> CriticalByChannel(const core::ReviewState* review);

Attention ComputeAttention(const core::Snapshot& snap, const AttentionOptions& options,
                           const std::function<ThrottleFacts(const core::ChannelData&)>& throttle,
                           const std::unordered_map<std::string, int>& critical);

// "stale 4 min · 3×429 · surge 42 (usual 5)": the reasons in words.
std::string DescribeAttention(const AttentionItem& item);
// "# Deployments  surge 12 (usual 2)": the channel's name and the reasons, as the strips show it.
std::string AttentionLabel(const core::Snapshot& snap, const AttentionItem& item);

// The team indices of `snap.teams` in wall order: most channels needing attention first,
// otherwise Graph's order.
std::vector<size_t> TeamOrder(const core::Snapshot& snap, const Attention& attention);

}  // namespace cdeck::ui
