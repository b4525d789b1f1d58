#include "ui/alerts.hpp"

#include <algorithm>
#include <cstdio>

#include "moderation/review.hpp"
#include "util/time.hpp"

namespace cdeck::ui {

const char* AlertKindName(Alert::Kind kind) {
    switch (kind) {
        case Alert::Kind::kCritical:
            return "critical";
        case Alert::Kind::kSurge:
            return "surge";
        case Alert::Kind::kStale:
            return "stale";
    }
    return "?";
}

std::string AlertCenter::ChannelName(const core::Snapshot& snap, const std::string& id) const {
    const core::ChannelData* c = snap.FindChannel(id);
    if (!c) return id;
    std::string name = "# " + c->channel.displayName;
    for (const auto& t : snap.teams)
        if (t->team.id == c->channel.teamId) name += " (" + t->team.displayName + ")";
    return name;
}

void AlertCenter::Update(const core::Snapshot& snap, const Attention& attention,
                         const std::unordered_map<std::string, int>& critical,
                         const std::string& staleReason, const core::UiSettings& settings,
                         core::UnixMillis now) {
    const auto window = static_cast<core::UnixMillis>(settings.alertRepeatMinutes * 60000);
    m_onNow.clear();
    // Critical rule hits: a channel's pending critical items went up.
    for (const auto& [channel, n] : critical) {
        auto it = m_critical.find(channel);
        const int before = it == m_critical.end() ? 0 : it->second;
        if (!m_primed || n <= before) continue;
        Alert a;
        a.kind = Alert::Kind::kCritical;
        a.key = "critical:" + channel;
        a.channelId = channel;
        a.title = "Critical rule hit in " + ChannelName(snap, channel);
        std::string rule;
        if (snap.review)
            for (auto r = snap.review->items.rbegin(); r != snap.review->items.rend(); ++r)
                if (r->channelId == channel && r->severity == "critical" && !r->resolved) {
                    rule = r->ruleName.empty() ? r->ruleId : r->ruleName;
                    a.teamId = r->teamId;
                    break;
                }
        char detail[160];
        std::snprintf(detail, sizeof detail, "%d new critical review item%s%s%s", n - before,
                      n - before == 1 ? "" : "s", rule.empty() ? "" : ": ", rule.c_str());
        a.detail = detail;
        m_onNow.insert(a.key);
        m_on.erase(a.key);  // every increase is a new start
        Condition(std::move(a), now, window);
    }
    if (critical != m_critical) m_critical = critical;
    m_primed = true;
    for (const AttentionItem& item : attention.items) {
        if (!(item.reasons & kReasonSurge)) continue;
        Alert a;
        a.kind = Alert::Kind::kSurge;
        a.key = "surge:" + item.channelId;
        a.teamId = item.teamId;
        a.channelId = item.channelId;
        a.title = "Surge in " + ChannelName(snap, item.channelId);
        char detail[96];
        std::snprintf(detail, sizeof detail, "%d messages in 15 minutes, usually %.0f", item.last15,
                      item.baseline15);
        a.detail = detail;
        m_onNow.insert(a.key);
        Condition(std::move(a), now, window);
    }
    // The wall going stale: only once it has had data (signing in is not going stale).
    if (!staleReason.empty() && snap.sync.lastSyncOk > 0) {
        Alert a;
        a.kind = Alert::Kind::kStale;
        a.key = "stale";
        a.title = "The wall is stale";
        a.detail = staleReason;
        m_onNow.insert(a.key);
        Condition(std::move(a), now, window);
    }
    m_on.swap(m_onNow);
}

void AlertCenter::Condition(Alert a, core::UnixMillis now, core::UnixMillis window) {
    if (m_on.count(a.key)) return;  // still the same episode
    for (Alert& up : m_active)
        if (up.key == a.key) {
            ++up.repeats;
            up.detail = a.detail;
            return;
        }
    auto last = m_lastRaised.find(a.key);
    if (last != m_lastRaised.end() && now - last->second < window) {
        ++m_suppressed;
        return;
    }
    a.id = m_nextId++;
    a.raisedAt = now;
    m_lastRaised[a.key] = now;
    ++m_raised;
    m_active.push_back(a);
    if (m_hooks.raised) m_hooks.raised(m_active.back());
}

bool AlertCenter::Acknowledge(uint64_t id, core::UnixMillis now) {
    auto it =
        std::find_if(m_active.begin(), m_active.end(), [id](const Alert& a) { return a.id == id; });
    if (it == m_active.end()) return false;
    if (m_hooks.audit) {
        core::AuditRow row;
        row.at = now;
        row.action = "alert-acknowledged";
        row.teamId = it->teamId;
        row.channelId = it->channelId;
        row.result = AlertKindName(it->kind);
        char held[160];
        std::snprintf(held, sizeof held, "; raised %s, acknowledged after %lld s, %d repeat%s",
                      core::FormatIso8601(it->raisedAt).c_str(),
                      static_cast<long long>((now - it->raisedAt) / 1000), it->repeats,
                      it->repeats == 1 ? "" : "s");
        row.detail = it->title + ": " + it->detail + held;
        m_hooks.audit(row);
    }
    m_active.erase(it);
    return true;
}

void AlertCenter::AcknowledgeAll(core::UnixMillis now) {
    while (!m_active.empty()) Acknowledge(m_active.front().id, now);
}

}  // namespace cdeck::ui
