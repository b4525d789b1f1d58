#pragma once
// The audit log: every moderator action with when, who, what, where, the rule, the result
// and Graph's request-id, newest first. Filters by action and by text; exports what the
// filters show to CSV or JSON (written off the UI thread).
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "moderation/review.hpp"
#include "ui/view.hpp"

namespace cdeck::ui {

class AuditView final : public View {
  public:
    const char* WindowName() const override { return "Audit###audit"; }
    // Writes `content` to a new file named after `name`; calls `done` (any thread) with the
    // path written or "error: ...". Empty: exports are not offered.
    using WriteFn = std::function<void(const std::string& name, std::string content,
                                       std::function<void(std::string)> done)>;
    void SetWriter(WriteFn write) { m_write = std::move(write); }
    // The rows shown last frame.
    const std::vector<core::AuditRow>& Shown() const { return m_shown; }
    const std::string& ExportStatus() const { return m_status; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    void Export(const UiContext& ctx, bool csv);
    WriteFn m_write;
    std::vector<core::AuditRow> m_shown;
    core::ReviewStatePtr m_from;
    core::ReviewStatePtr m_actionsFrom;
    std::set<std::string> m_actions;
    char m_text[128] = {};
    std::string m_action;
    bool m_dirty = true;
    std::string m_status;
};

}  // namespace cdeck::ui
