#pragma once
// The wall: one card per team with a tile row per channel (sparkline of the last hour,
// 15-minute count, last message, freshness, throttle state). Cards flow into as many
// columns as fit; cards off screen are skipped. Clicking a row opens the channel in the
// reader; right-clicking offers refresh, pin and pause.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ui/view.hpp"

namespace cdeck::ui {

class DashboardView final : public View {
  public:
    const char* WindowName() const override { return "Wall###wall"; }

    // Where each channel row was drawn last frame (screen space); tests click these.
    struct RowRect {
        ImVec2 min, max;
    };
    const std::unordered_map<std::string, RowRect>& LastRowRects() const { return m_rowRects; }
    int LastChannelRowsDrawn() const { return m_rowsDrawn; }
    // Whether the last frame used one-line rows to fit every team on screen.
    bool Dense() const { return m_dense; }

    // Throttle state of a channel as the tiles show it (derived from the metrics).
    struct Throttle {
        bool gated = false;  // its channel, team or request class is waiting out a Retry-After
        int recent429 = 0;   // 429s for the channel or its team in the last minute
    };
    Throttle ThrottleOf(const core::ChannelData& c) const;

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void DrawTeamCard(const UiContext& ctx, const core::TeamData& team, ImVec2 size);
    void DrawChannelRow(const UiContext& ctx, const core::ChannelData& channel, float width);
    void RebuildThrottle(const UiContext& ctx);

    void SendCommand(const UiContext& ctx, core::Command::Kind kind, const core::ChannelData& c,
                     bool flag = false);

    std::unordered_map<std::string, RowRect> m_rowRects;
    int m_rowsDrawn = 0;
    bool m_dense = false;  // rows of one line, to fit the screen
    // Channels on screen this frame, and the set last told to the engine (it boosts them).
    std::vector<std::string> m_visibleNow, m_visibleSent;
    // Derived from the metrics snapshot; rebuilt when it changes (or a second passes).
    core::MetricsSnapshotPtr m_throttleFrom;  // held, so its address is not reused
    core::UnixMillis m_throttleAt = 0;
    bool m_classGated = false;
    std::unordered_set<std::string> m_gatedTeams, m_gatedChannels;
    std::unordered_map<std::string, int> m_429Team, m_429Channel;
};

}  // namespace cdeck::ui
