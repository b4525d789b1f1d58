#pragma once
// The wall in kiosk mode, read from across a room (issue: big-type wall). Problems lead: a
// "needs attention" strip, then one card per team, most troubled first. Every card shows
// its team's 15-minute count, freshness and throttling as big numbers; the type is the
// largest that fits every card (ui/wall_layout.hpp FitKiosk) and never smaller than
// kKioskMinPx at 1080p (scaled with the screen's height). Channel rows are drawn only
// where they still fit at that size. When there are more teams than fit, pages of teams
// take turns; a channel newly needing attention brings the first page (the most troubled
// teams) back at once. Threads: UI thread only.
#include <algorithm>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ui/attention.hpp"
#include "ui/view.hpp"
#include "ui/wall_layout.hpp"

namespace cdeck::ui {

class KioskWall {
  public:
    struct Rect {
        ImVec2 min, max;
    };
    struct Inputs {
        const Attention* attention = nullptr;
        const std::vector<size_t>* order = nullptr;  // team indices, wall order
        std::function<ThrottleFacts(const core::ChannelData&)> throttle;
        std::function<ThrottleFacts(const std::string& teamId)> teamThrottle;
    };
    // Draws into the current window's remaining space. Cards drawn go to `cards` (by team
    // id); channels on screen to `visible`.
    void Draw(const UiContext& ctx, const Inputs& in, std::unordered_map<std::string, Rect>& cards,
              std::vector<std::string>& visible);

    float MinPx() const { return m_minPx; }  // the smallest type allowed this frame
    const KioskFit& Fit() const { return m_fit; }
    size_t PageShown() const { return m_page; }
    size_t Pages() const { return m_pages; }
    static constexpr core::UnixMillis kPageMillis = 15000;
    // Seconds until the next page of teams is due (a large number when not paged).
    double SecondsUntilNextPage(core::UnixMillis now) const {
        if (m_pages <= 1 || m_pageSince == 0) return 1e9;
        return std::max(0.0, (kPageMillis - (now - m_pageSince)) / 1000.0);
    }

  private:
    struct Type {  // the faces in use this frame
        ImFont* body;
        ImFont* bold;
        ImFont* display;
    };
    float DrawStrip(const UiContext& ctx, const Inputs& in, ImVec2 at, float width);
    void DrawCard(const UiContext& ctx, const Inputs& in, const core::TeamData& team, ImVec2 at,
                  std::vector<std::string>& visible);
    void DrawChannels(const UiContext& ctx, const Inputs& in, const core::TeamData& team, ImVec2 at,
                      float width, float height, std::vector<std::string>& visible);
    void Measure();  // the card's unit size, from the faces

    Type m_type{};
    float m_minPx = kKioskMinPx;
    float m_unitW = 24, m_unitH = 6;
    KioskFit m_fit;
    size_t m_page = 0, m_pages = 1;
    core::UnixMillis m_pageSince = 0;
    std::unordered_set<std::string> m_troubled;  // channels needing attention at the last look
    uint64_t m_attentionSeen = ~0ull;            // the attention generation last looked at
};

}  // namespace cdeck::ui
