#pragma once
// The shortcut list, over everything (? or F1). Escape or another ? closes it.
// Threads: UI thread only, like every view.
#include "ui/ui_context.hpp"

namespace cdeck::ui {

class HelpOverlay {
  public:
    void Toggle() { m_open = !m_open; }
    void Close() { m_open = false; }
    bool IsOpen() const { return m_open; }
    void Draw(const UiContext& ctx);

  private:
    bool m_open = false;
};

}  // namespace cdeck::ui
