#pragma once
// The wall: one card per team with a tile row per channel (sparkline of the last hour,
// 15-minute count, last message, freshness, throttle state). Every card is on screen:
// ui/wall_layout.hpp chooses columns and row height to fit, or, when nothing fits
// (hundreds of channels), pages of teams shown in turn with a line saying how many are off
// screen. Clicking a row opens the channel in the reader; right-clicking offers refresh,
// pin and pause.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ui/attention.hpp"
#include "ui/kiosk_wall.hpp"
#include "ui/view.hpp"
#include "ui/wall_layout.hpp"

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
    // Where each team card was drawn last frame (screen space), by team id.
    const std::unordered_map<std::string, RowRect>& LastCardRects() const { return m_cardRects; }
    // Whether the last frame used one-line rows to fit every team on screen.
    bool Dense() const { return m_layout.dense; }
    // The layout in use: its pages (one when every team fits), and the page on screen.
    const WallLayout& Layout() const { return m_layout; }
    size_t PageShown() const { return m_page; }
    // Seconds until the next page of a paged wall is due (a large number when not paged).
    double SecondsUntilNextPage(core::UnixMillis now) const;
    static constexpr core::UnixMillis kPageMillis = 15000;  // each page of teams is shown 15 s

    // Throttle state of a channel as the tiles show it (derived from the metrics).
    struct Throttle {
        bool gated = false;  // its channel, team or request class is waiting out a Retry-After
        int recent429 = 0;   // 429s for the channel or its team in the last minute
    };
    Throttle ThrottleOf(const core::ChannelData& c) const;
    ThrottleFacts TeamThrottle(const std::string& teamId) const;
    // Brings the throttle state and what needs attention up to date (cached: cheap when
    // nothing changed). AppUi calls it every frame, whatever the page, for the alerts.
    void Refresh(const UiContext& ctx);

    // What needs attention (ui/attention.hpp) as of the last frame, the order the teams
    // were shown in (indices into the snapshot's teams), and where each strip entry was drawn.
    const Attention& LastAttention() const { return m_attention; }
    const std::vector<size_t>& TeamOrderShown() const { return m_order; }
    const std::unordered_map<std::string, RowRect>& LastStripRects() const { return m_stripRects; }
    const KioskWall& Kiosk() const { return m_kiosk; }
    // Pending critical review items per channel, as of the last Refresh.
    const std::unordered_map<std::string, int>& CriticalCounts() const { return m_critical; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void UpdateLayout(const core::Snapshot& snap, ImVec2 avail);  // when sizes change
    void AdvancePage(const UiContext& ctx);
    void DrawPageLine(const UiContext& ctx, const WallPage& page);
    void DrawTeamCard(const UiContext& ctx, const core::TeamData& team, ImVec2 size);
    void DrawTeamStateLine(const core::TeamData& team, float width);
    void DrawChannelRow(const UiContext& ctx, const core::ChannelData& channel, float width);
    void RebuildThrottle(const UiContext& ctx);
    void RebuildAttention(const UiContext& ctx);
    void DrawAttentionStrip(const UiContext& ctx);
    void DrawKiosk(const UiContext& ctx);
    void TellVisible(const UiContext& ctx);

    void SendCommand(const UiContext& ctx, core::Command::Kind kind, const core::ChannelData& c,
                     bool flag = false);

    std::unordered_map<std::string, RowRect> m_rowRects;
    std::unordered_map<std::string, RowRect> m_cardRects;
    int m_rowsDrawn = 0;
    // The layout, rebuilt only when what it depends on changes.
    struct LayoutKey {
        std::vector<size_t> channels;  // rows per team card
        float width = 0, height = 0, rowHeight = 0;
    };
    LayoutKey m_layoutKey;
    std::vector<size_t> m_channelsNow;  // this frame's rows per card (kept: no allocation)
    WallLayout m_layout;
    size_t m_page = 0;                 // the page of teams on screen
    core::UnixMillis m_pageSince = 0;  // when it came up
    // Channels on screen this frame, and the set last told to the engine (it boosts them).
    std::vector<std::string> m_visibleNow, m_visibleSent;
    // Derived from the metrics snapshot; rebuilt when it changes (or a second passes).
    core::MetricsSnapshotPtr m_throttleFrom;  // held, so its address is not reused
    core::UnixMillis m_throttleAt = 0;
    bool m_classGated = false;
    std::unordered_set<std::string> m_gatedTeams, m_gatedChannels;
    std::unordered_map<std::string, int> m_429Team, m_429Channel;
    // Rebuilt when the snapshot or the review queue changes, or a second passes.
    Attention m_attention;
    uint64_t m_attentionSnap = ~0ull, m_reviewVersion = ~0ull;
    core::UnixMillis m_attentionAt = 0;
    std::unordered_map<std::string, int> m_critical;
    BaselineCache m_baselines;
    std::vector<size_t> m_order;  // team indices in wall order
    std::unordered_map<std::string, RowRect> m_stripRects;
    KioskWall m_kiosk;
    bool m_kioskShown = false;  // the last frame drew the kiosk wall
};

}  // namespace cdeck::ui
