#pragma once
// The wall: one card per team with a row per channel (sparkline, 15-minute count, last
// message, freshness). Clicking a row selects that channel for the reader.
#include <string>
#include <unordered_map>
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

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void DrawTeamCard(const UiContext& ctx, const core::TeamData& team, ImVec2 size);
    void DrawChannelRow(const UiContext& ctx, const core::ChannelData& channel, float width);

    void SendCommand(const UiContext& ctx, core::Command::Kind kind, const core::ChannelData& c,
                     bool flag = false);

    std::unordered_map<std::string, RowRect> m_rowRects;
    int m_rowsDrawn = 0;
    // Channels on screen this frame, and the set last told to the engine (it boosts them).
    std::vector<std::string> m_visibleNow, m_visibleSent;
};

}  // namespace cdeck::ui
