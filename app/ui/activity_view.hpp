#pragma once
// Activity: a team x hour-of-day heatmap (UTC, all history the store holds) and a "most
// active now" table (channels by messages in the last 15 minutes). Both are derived
// caches rebuilt only when the snapshot version changes. Clicking a table row or a heatmap
// row opens that channel or team.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <array>
#include <string>
#include <vector>

#include "ui/view.hpp"

namespace cdeck::ui {

class ActivityView final : public View {
  public:
    const char* WindowName() const override { return "Activity###activity"; }

    struct Active {
        std::string teamId, channelId, team, channel;
        int last15 = 0;
        double perMinute = 0;
        core::UnixMillis lastActivity = 0;
    };
    // What the table showed last frame, busiest first (tests read it).
    const std::vector<Active>& MostActive() const { return m_active; }
    // Team rows of the heatmap: name and 24 hourly totals.
    struct HeatRow {
        std::string teamId, team;
        std::array<uint32_t, 24> hours{};
    };
    const std::vector<HeatRow>& Heat() const { return m_heat; }

    static constexpr size_t kMostActiveRows = 10;

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void Rebuild(const core::Snapshot& s);
    void DrawHeatmap(const UiContext& ctx, float height);
    void DrawMostActive(const UiContext& ctx);

    uint64_t m_version = ~0ull;
    std::vector<Active> m_active;
    std::vector<HeatRow> m_heat;
    uint32_t m_heatMax = 1;
};

}  // namespace cdeck::ui
