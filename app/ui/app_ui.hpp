#pragma once
// AppUi: the top of the UI. Owns every view (listed in one place, below), the shared
// selection, and a "do later on the UI thread" queue. The platform layer calls Frame()
// between ImGui::NewFrame() and ImGui::Render(), once per frame, on the UI thread.
//
// AppUi reads exactly one snapshot per frame (passed in by the caller) and talks back to
// core only through the submit callback. Post() is the one thread-safe entry point.
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ui/channel_view.hpp"
#include "ui/dashboard_view.hpp"
#include "ui/ui_context.hpp"

namespace cdeck::ui {

struct AppUiOptions {
    bool demoTenant = false;
    double pollIntervalSeconds = 5.0;
    double staleAfterSeconds = 60.0;  // STALE banner threshold
    std::function<void(core::Command)> submit;
};

class AppUi {
  public:
    explicit AppUi(AppUiOptions options);

    void SetFonts(const Fonts& fonts) { m_fonts = fonts; }
    // Draws one frame from `snapshot`. `now` is wall-clock ms (injected for tests).
    void Frame(const core::SnapshotPtr& snapshot, core::UnixMillis now);

    // Thread-safe: runs `fn` on the UI thread at the start of the next frame.
    void Post(std::function<void()> fn);

    Selection& GetSelection() { return m_selection; }
    const DashboardView& Dashboard() const { return m_dashboard; }
    const ChannelView& Reader() const { return m_channel; }
    // True when the last frame showed the STALE banner.
    bool StaleShown() const { return m_staleShown; }

  private:
    void DrawStatusStrip(const UiContext& ctx);
    void DrawSignInPrompt(const core::SyncStatus& status);

    AppUiOptions m_options;
    Fonts m_fonts;
    Selection m_selection;
    float m_pendingPace = 0.9f;  // the budget slider while it is open
    // The views. One place lists them all.
    DashboardView m_dashboard;
    ChannelView m_channel;

    std::mutex m_postMutex;  // guards m_posted
    std::vector<std::function<void()>> m_posted;
    bool m_staleShown = false;
};

}  // namespace cdeck::ui
