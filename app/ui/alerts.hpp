#pragma once
// Alerts: a critical rule hit, a channel surging, or the wall going stale. An alert is
// raised when its condition starts, stays up (the wall flashes) until a person acknowledges
// it, and the acknowledgement is written to the audit log. Each alert (kind and channel) is
// raised at most once per ui.alert_repeat_minutes; a repeat inside that window is counted,
// not shown. Pure logic (no ImGui); AppUi draws the flash and passes raised alerts on to
// the platform (sound, desktop notification). Threads: UI thread only.
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "model/records.hpp"
#include "store/store.hpp"
#include "ui/attention.hpp"

namespace cdeck::ui {

struct Alert {
    enum class Kind { kCritical, kSurge, kStale };
    uint64_t id = 0;
    Kind kind = Kind::kCritical;
    std::string key;  // "critical:<channel>", "surge:<channel>", "stale"
    std::string title, detail;
    std::string teamId, channelId;
    core::UnixMillis raisedAt = 0;
    int repeats = 0;  // the condition started again while this was up
};
const char* AlertKindName(Alert::Kind kind);  // "critical", "surge", "stale"

class AlertCenter {
  public:
    struct Hooks {
        std::function<void(const Alert&)> raised;          // sound, desktop notification
        std::function<void(const core::AuditRow&)> audit;  // acknowledgements
    };
    void SetHooks(Hooks hooks) { m_hooks = std::move(hooks); }

    // This frame's facts. `staleReason`: why the STALE banner is up (empty: it is not).
    // `critical`: pending critical review items per channel (CriticalByChannel).
    void Update(const core::Snapshot& snap, const Attention& attention,
                const std::unordered_map<std::string, int>& critical,
                const std::string& staleReason, const core::UiSettings& settings,
                core::UnixMillis now);
    // Takes an alert down and audits who saw it when. False when no such alert is up.
    bool Acknowledge(uint64_t id, core::UnixMillis now);
    void AcknowledgeAll(core::UnixMillis now);

    const std::vector<Alert>& Active() const { return m_active; }
    size_t Raised() const { return m_raised; }
    size_t Suppressed() const { return m_suppressed; }  // repeats inside the window

  private:
    void Condition(Alert candidate, core::UnixMillis now, core::UnixMillis window);
    std::string ChannelName(const core::Snapshot& snap, const std::string& id) const;

    Hooks m_hooks;
    std::vector<Alert> m_active;  // oldest first
    uint64_t m_nextId = 1;
    size_t m_raised = 0, m_suppressed = 0;
    std::unordered_map<std::string, core::UnixMillis> m_lastRaised;  // key -> when
    std::unordered_set<std::string> m_on, m_onNow;    // conditions true last frame / this one
    std::unordered_map<std::string, int> m_critical;  // channel -> pending critical items
    bool m_primed = false;  // the first frame's critical items are the baseline
};

}  // namespace cdeck::ui
