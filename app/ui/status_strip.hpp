#pragma once
// The global strip across the top of every page: sync state, messages per minute, the
// request rate against the quota, 429s, and (outside kiosk mode) the sync controls.
// Draws inline in the host window. UI thread only.
#include "ui/ui_context.hpp"

namespace cdeck::ui {

class StatusStrip {
  public:
    void Draw(const UiContext& ctx);

    // 429s in the last minute, as shown last frame (tests read it).
    int LastRecent429() const { return m_recent429; }

  private:
    void DrawControls(const UiContext& ctx);
    float m_pendingPace = 0.9f;  // the budget slider while its popup is open
    int m_recent429 = 0;
};

// Messages and replies per minute across every channel, over the last 15 minutes.
double MessagesPerMinute(const core::Snapshot& s);
// 429s the engine received in the [now - seconds, now] window.
int Recent429s(const core::MetricsSnapshot* m, core::UnixMillis now, double seconds);

}  // namespace cdeck::ui
