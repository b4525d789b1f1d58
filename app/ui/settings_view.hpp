#pragma once
// Settings: budgets, the refresh floor, thresholds, font scale, theme, palette and the
// kiosk playlist. Looks apply at once; Save writes them to the config file (off the UI
// thread; the outcome comes back through the post queue). Sync budgets that the engine
// reads only at start say so.
#include <functional>
#include <string>

#include "ui/view.hpp"

namespace cdeck::ui {

class SettingsView final : public View {
  public:
    const char* WindowName() const override { return "Settings###settings"; }

    // apply: the app takes the edited settings now (theme, thresholds, budgets).
    // save: writes them; calls `done` (any thread) with an empty string or the error.
    using SaveFn = std::function<void(const core::Config&, std::function<void(std::string)> done)>;
    void Init(const core::Config& current, std::function<void(const core::Config&)> apply,
              SaveFn save) {
        m_edit = m_saved = current;
        m_apply = std::move(apply);
        m_save = std::move(save);
    }
    const core::Config& Editing() const { return m_edit; }
    const std::string& Status() const { return m_status; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    core::Config m_edit, m_saved;
    std::function<void(const core::Config&)> m_apply;
    SaveFn m_save;
    std::string m_status;
    bool m_saving = false;
};

}  // namespace cdeck::ui
