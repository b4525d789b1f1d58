#pragma once
// The quick switcher (Ctrl+K): a popup that finds channels and teams by fuzzy name.
// Up/Down move, Enter opens, Escape closes. A channel opens in the reader; a team shows
// its card on the wall. The candidate list is rebuilt when the snapshot version changes,
// the ranking when the query does.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <string>
#include <vector>

#include "ui/ui_context.hpp"

namespace cdeck::ui {

class QuickSwitcher {
  public:
    void Open() { m_openRequested = true; }
    bool IsOpen() const { return m_open; }
    void Draw(const UiContext& ctx);

    struct Candidate {
        std::string teamId, channelId;  // channelId empty: a team
        std::string label;              // "Team / Channel" or "Team"
        int score = 0;
    };
    // The ranked results shown last frame.
    const std::vector<Candidate>& Results() const { return m_results; }
    static constexpr size_t kMaxResults = 12;

  private:
    void Rank();
    void Choose(const UiContext& ctx, const Candidate& c);

    bool m_openRequested = false;
    bool m_open = false;
    char m_query[128] = {};
    std::string m_ranked;  // the query m_results were ranked for
    uint64_t m_version = ~0ull;
    std::vector<Candidate> m_all, m_results;
    int m_cursor = 0;
};

}  // namespace cdeck::ui
