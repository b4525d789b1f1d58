#pragma once
// Navigation: a team and channel tree with unread counts, a text filter and a "Pinned"
// group. Clicking a channel opens it in the reader; clicking a team shows its card on the
// wall. The order the channels are listed in (after filtering) is what Ctrl+Up/Down walk.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <string>
#include <unordered_map>
#include <vector>

#include "ui/view.hpp"

namespace cdeck::ui {

class NavView final : public View {
  public:
    const char* WindowName() const override { return "Navigation###nav"; }

    // The channel ids in listed order, after the filter (last frame).
    const std::vector<std::string>& Order() const { return m_order; }
    // The channel after (step 1) or before (step -1) `current` in that order.
    std::string Neighbour(const std::string& current, int step) const;
    // Keyboard focus on the filter box next frame (Ctrl+F).
    void FocusFilter() { m_focusFilter = true; }
    const std::string& Filter() const { return m_filter; }
    // Where each channel row was drawn last frame (screen space); tests click these.
    const std::unordered_map<std::string, ImVec4>& RowRects() const { return m_rects; }
    // Unread counts shown last frame.
    size_t UnreadShown(const std::string& channelId) const;

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    bool Matches(const std::string& team, const std::string& channel) const;
    void DrawChannel(const UiContext& ctx, const core::ChannelData& c, const char* idSuffix);

    char m_filterBuf[128] = {};
    std::string m_filter;  // lower-cased
    bool m_focusFilter = false;
    std::vector<std::string> m_order;
    std::unordered_map<std::string, ImVec4> m_rects;
    std::unordered_map<std::string, size_t> m_unread;
};

}  // namespace cdeck::ui
