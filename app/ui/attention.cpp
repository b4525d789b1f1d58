#include "ui/attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "moderation/review.hpp"

namespace cdeck::ui {

namespace {
constexpr core::UnixMillis kMinute = 60000;
constexpr core::UnixMillis kBaselineSpan = 6 * 60 * kMinute;

std::string Duration(double seconds) {
    char buf[32];
    if (seconds < 120)
        std::snprintf(buf, sizeof buf, "%.0f s", seconds);
    else if (seconds < 7200)
        std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
    else
        std::snprintf(buf, sizeof buf, "%.0f h", seconds / 3600);
    return buf;
}

int Score(const AttentionItem& a) {
    int s = 0;
    if (a.reasons & kReasonCritical) s += 1000 + 10 * std::min(a.critical, 50);
    if (a.reasons & kReasonGated) s += 600;
    if (a.reasons & kReasonStale) s += 400 + static_cast<int>(std::min(a.staleSeconds / 60, 99.0));
    if (a.reasons & kReasonThrottled) s += 200 + std::min(a.recent429, 99);
    if (a.reasons & kReasonSurge) s += 100 + std::min(a.last15, 99);
    return s;
}
}  // namespace

double Baseline15(const core::ChannelData& c, core::UnixMillis now) {
    if (!c.activity) return 0;
    const core::UnixMillis end = now - 15 * kMinute;
    int sum = c.activity->Sum(core::ActivityRing::kMessages, end - kBaselineSpan, end) +
              c.activity->Sum(core::ActivityRing::kReplies, end - kBaselineSpan, end);
    return static_cast<double>(sum) / static_cast<double>(kBaselineSpan / (15 * kMinute));
}

double BaselineCache::Get(const core::ChannelData& c, core::UnixMillis now) {
    Entry& e = m_entries[c.channel.id];
    const int64_t minute = now / kMinute;
    if (e.minute != minute) {
        e.minute = minute;
        e.value = Baseline15(c, now);
    }
    return e.value;
}

std::unordered_map<std::string, int> CriticalByChannel(const core::ReviewState* review) {
    std::unordered_map<std::string, int> out;
    if (!review) return out;
    for (const auto& item : review->items)
        if (!item.resolved && !item.deleted && item.severity == "critical") ++out[item.channelId];
    return out;
}

Attention ComputeAttention(const core::Snapshot& snap, const AttentionOptions& o,
                           const std::function<ThrottleFacts(const core::ChannelData&)>& throttle,
                           const std::unordered_map<std::string, int>& critical) {
    Attention out;
    for (const auto& team : snap.teams)
        for (const auto& id : team->channelIds) {
            const core::ChannelData* c = snap.FindChannel(id);
            if (!c) continue;
            ++out.channels;
            AttentionItem a;
            a.channelId = id;
            a.teamId = team->team.id;
            if (!c->paused && c->lastSyncOk > 0) {
                a.staleSeconds = static_cast<double>(o.now - c->lastSyncOk) / 1000.0;
                if (a.staleSeconds > o.expectedSeconds * o.redFactor) a.reasons |= kReasonStale;
            }
            ThrottleFacts t = throttle ? throttle(*c) : ThrottleFacts{};
            if (t.gated) a.reasons |= kReasonGated;
            a.recent429 = t.recent429;
            if (t.recent429 > 0) a.reasons |= kReasonThrottled;
            a.last15 = c->last15Min;
            if (a.last15 >= o.surgeMin) {
                a.baseline15 = o.baseline ? o.baseline(*c) : Baseline15(*c, o.now);
                if (a.last15 >= o.surgeFactor * std::max(1.0, a.baseline15))
                    a.reasons |= kReasonSurge;
            }
            if (auto it = critical.find(id); it != critical.end() && it->second > 0) {
                a.critical = it->second;
                a.reasons |= kReasonCritical;
            }
            if (!a.reasons) continue;
            a.score = Score(a);
            out.byTeam[a.teamId]++;
            out.items.push_back(std::move(a));
        }
    std::stable_sort(
        out.items.begin(), out.items.end(),
        [](const AttentionItem& x, const AttentionItem& y) { return x.score > y.score; });
    for (size_t i = 0; i < out.items.size(); ++i) out.byChannel[out.items[i].channelId] = i;
    return out;
}

std::string DescribeAttention(const AttentionItem& a) {
    std::string out;
    auto add = [&out](const std::string& part) {
        if (!out.empty()) out += " \xC2\xB7 ";
        out += part;
    };
    char buf[96];
    if (a.reasons & kReasonCritical) {
        std::snprintf(buf, sizeof buf, "%d critical", a.critical);
        add(buf);
    }
    if (a.reasons & kReasonGated) add("gated");
    if (a.reasons & kReasonStale) add("stale " + Duration(a.staleSeconds));
    if (a.reasons & kReasonThrottled) {
        std::snprintf(buf, sizeof buf,
                      "%d\xC3\x97"
                      "429",
                      a.recent429);
        add(buf);
    }
    if (a.reasons & kReasonSurge) {
        std::snprintf(buf, sizeof buf, "surge %d (usual %.0f)", a.last15, a.baseline15);
        add(buf);
    }
    return out;
}

std::string AttentionLabel(const core::Snapshot& snap, const AttentionItem& a) {
    const core::ChannelData* c = snap.FindChannel(a.channelId);
    return "# " + (c ? c->channel.displayName : a.channelId) + "  " + DescribeAttention(a);
}

std::vector<size_t> TeamOrder(const core::Snapshot& snap, const Attention& attention) {
    std::vector<size_t> order(snap.teams.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (attention.AllQuiet()) return order;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return attention.TeamCount(snap.teams[a]->team.id) >
               attention.TeamCount(snap.teams[b]->team.id);
    });
    return order;
}

}  // namespace cdeck::ui
