#pragma once
// The review queue, worked from the keyboard: j/k move, x selects, space expands (thread
// context and the author's recent messages), r resolves as compliant, t picks a tag and a
// comment, d deletes (after a confirmation), u undoes a delete, e escalates, n replies
// with a notice. Actions apply to the selection, else to the current row; a row groups
// near-duplicate messages and an action on it applies to all of them. Pending and
// resolved tabs; filters by rule, channel, severity and author.
//
// The rows are a derived cache rebuilt when the queue's version or a filter changes.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "moderation/review.hpp"
#include "ui/view.hpp"

namespace cdeck::ui {

class ReviewView final : public View {
  public:
    const char* WindowName() const override { return "Review###review"; }

    struct Row {
        std::vector<uint64_t> ids;  // the items grouped in this row (near-duplicates)
        size_t first = 0;           // index of the first item in the state
    };
    const std::vector<Row>& Rows() const { return m_rows; }
    int Cursor() const { return m_cursor; }
    const std::set<uint64_t>& Selected() const { return m_selected; }
    bool ConfirmingDelete() const { return m_confirmDelete; }
    const std::optional<core::BacktestResult>& LastBacktest() const { return m_backtest; }
    bool Expanded(uint64_t firstId) const { return m_expanded.count(firstId) > 0; }
    bool ShowingResolved() const { return m_resolvedTab; }
    // The items an action would apply to now.
    std::vector<uint64_t> Targets() const;

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void Rebuild(const core::ReviewState& s);
    void HandleKeys(const UiContext& ctx, const core::ReviewState& s);
    void Act(const UiContext& ctx,
             std::function<void(core::ModerationEngine&, std::vector<uint64_t>)> f);
    void DrawFilters(const core::ReviewState& s);
    void DrawRow(const UiContext& ctx, const core::ReviewState& s, int index);
    void DrawSharedBar(const UiContext& ctx, const core::ReviewState& s);
    void DrawContext(const UiContext& ctx, const core::ReviewItem& item);
    void DrawPopups(const UiContext& ctx);

    core::ReviewStatePtr m_state;  // the state m_rows was built from
    uint64_t m_builtVersion = 0;
    bool m_dirty = true;
    bool m_resolvedTab = false;
    std::string m_rule, m_channel, m_severity, m_author;  // filters; empty: all
    std::vector<Row> m_rows;
    struct FilterOptions {
        std::set<std::string> rules, channels, severities, authors;
    } m_options;
    int m_cursor = 0;
    std::set<uint64_t> m_selected;
    std::set<uint64_t> m_expanded;  // by the row's first item id
    bool m_confirmDelete = false;
    bool m_tagOpen = false, m_noticeOpen = false;
    int m_tag = 1;  // 0 compliant, 1 non-compliant, 2 false positive
    char m_comment[256] = {};
    int m_notice = 0;
    bool m_scrollToCursor = false;
    // Backtest of a draft rule (b): the JSON being edited, and the last result.
    void DrawBacktest(const UiContext& ctx);
    bool m_backtestOpen = false;
    bool m_backtestRunning = false;
    std::string m_ruleJson =
        "{\"id\": \"draft\", \"severity\": \"medium\",\n \"when\": {\"keywords\": [\"invoice\", "
        "\"urgent*\"]}}";
    std::optional<core::BacktestResult> m_backtest;
};

}  // namespace cdeck::ui
