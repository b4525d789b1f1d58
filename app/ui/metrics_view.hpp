#pragma once
// Metrics: what the sync engine spends and gets. Per scope, the send rate against its
// limit and paced rate over the last five minutes; a timeline of 429s with their
// Retry-After; queue depths; RTT and freshness percentiles; and per-channel staleness in a
// sortable table.
//
// The engine publishes a MetricsSnapshot about four times a second; Sample() keeps one
// point per second of it, every frame whatever page is shown, so the charts have history
// when the page is opened.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <map>
#include <string>
#include <vector>

#include "ui/view.hpp"

namespace cdeck::ui {

class MetricsHistory {
  public:
    static constexpr size_t kSeconds = 300;
    struct Series {
        std::vector<float> sends, paced, limit;
    };
    // Adds a point when the snapshot's metrics are from a new second.
    void Sample(const core::Snapshot& s);
    const std::map<std::string, Series>& Scopes() const { return m_scopes; }
    const std::vector<float>& Ready() const { return m_ready; }
    const std::vector<float>& Waiting() const { return m_waiting; }
    const std::vector<float>& InFlight() const { return m_inFlight; }
    size_t Points() const { return m_points; }

  private:
    int64_t m_lastSecond = -1;
    size_t m_points = 0;
    std::map<std::string, Series> m_scopes;
    std::vector<float> m_ready, m_waiting, m_inFlight;
};

class MetricsView final : public View {
  public:
    const char* WindowName() const override { return "Metrics###metrics"; }
    MetricsHistory& History() { return m_history; }

    // The staleness table's channel ids in the order shown last frame.
    const std::vector<std::string>& StalenessOrder() const { return m_staleOrder; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void DrawSummary(const UiContext& ctx, const core::MetricsSnapshot& m);
    void DrawScopes(const UiContext& ctx, const core::MetricsSnapshot& m, float width);
    void DrawThrottleTimeline(const UiContext& ctx, const core::MetricsSnapshot& m, float width);
    void DrawStaleness(const UiContext& ctx);

    MetricsHistory m_history;
    struct StaleRow {
        std::string id, channel, team, error;
        double staleness = -1;  // seconds; -1: never synced
        size_t messages = 0;
    };
    std::vector<StaleRow> m_stale;
    std::vector<std::string> m_staleOrder;
    uint64_t m_staleVersion = ~0ull;
    core::UnixMillis m_staleAt = 0;
    int m_sortColumn = 2;
    bool m_sortAscending = false;
};

}  // namespace cdeck::ui
