#pragma once
// AppUi: the top of the UI. Owns every view (listed in one place, below), the shared
// navigation state, the settings in effect, kiosk mode and a "do later on the UI thread"
// queue. The platform layer calls Frame() between ImGui::NewFrame() and ImGui::Render(),
// once per frame, on the UI thread.
//
// AppUi reads exactly one snapshot per frame (passed in by the caller) and talks back to
// core only through the submit callback. Post() is the one thread-safe entry point.
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ui/account_view.hpp"
#include "ui/activity_view.hpp"
#include "ui/alerts.hpp"
#include "ui/audit_view.hpp"
#include "ui/channel_view.hpp"
#include "ui/dashboard_view.hpp"
#include "ui/help_overlay.hpp"
#include "ui/metrics_view.hpp"
#include "ui/nav_view.hpp"
#include "ui/quick_switcher.hpp"
#include "ui/review_view.hpp"
#include "ui/settings_view.hpp"
#include "ui/status_strip.hpp"
#include "ui/ui_context.hpp"

namespace cdeck::ui {

struct AppUiOptions {
    bool demoTenant = false;
    bool kiosk = false;                // start in kiosk mode (--wall)
    double pollIntervalSeconds = 5.0;  // the expected sync interval, for freshness colours
    float dpiScale = 1.0f;             // the monitor's content scale
    core::Config config;               // the settings in effect (ui, limits, sync budgets)
    std::function<void(core::Command)> submit;
    std::function<void()> signOut;      // empty: this sign-in cannot sign out
    SettingsView::SaveFn saveSettings;  // empty: settings cannot be saved
    // Moderator actions, run off the UI thread; empty: no moderation.
    std::function<void(std::function<void(core::ModerationEngine&)>)> moderate;
    AuditView::WriteFn writeExport;   // empty: no exports
    std::vector<core::Draft> drafts;  // saved drafts, restored into the composers
    std::function<void(const core::Draft&, bool remove)> saveDraft;  // empty: not saved
    // An alert was raised (ui/alerts.hpp): show a desktop notification (`notify`: on the
    // desk, when ui.desktop_notifications) and/or play a sound (`sound`: ui.alert_sound).
    // Called only when one of them is asked for. Empty: neither.
    std::function<void(const Alert&, bool notify, bool sound)> alertRaised;
    // Writes an audit row (acknowledged alerts). Empty: not recorded.
    std::function<void(const core::AuditRow&)> audit;
};

// Why the STALE banner is up, or empty when it is not: signed out, offline (the last
// attempt failed), or no successful sync for longer than `staleAfterSeconds`.
std::string StaleReason(const core::SyncStatus& s, core::UnixMillis now, double staleAfterSeconds);

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
    ChannelView& Reader() { return m_channel; }
    const NavView& Nav() const { return m_nav; }
    const ActivityView& Activity() const { return m_activity; }
    const MetricsView& Metrics() const { return m_metrics; }
    const AccountView& Account() const { return m_account; }
    const QuickSwitcher& Switcher() const { return m_switcher; }
    const HelpOverlay& Help() const { return m_help; }
    const StatusStrip& Strip() const { return m_strip; }
    const ReviewView& Review() const { return m_review; }
    const AuditView& AuditLog() const { return m_audit; }
    const core::UiSettings& Settings() const { return m_config.ui; }

    // Alerts up (flashing) and raised so far; where last frame's Acknowledge button was.
    const AlertCenter& Alerts() const { return m_alerts; }
    ImVec4 AlertAckRect() const { return m_alertAckRect; }
    // True when the last frame showed the STALE banner.
    bool StaleShown() const { return m_staleShown; }
    // Kiosk mode: chrome hidden, playlist pages rotate.
    bool Kiosk() const { return m_kiosk; }
    void SetKiosk(bool on);
    bool KioskPaused() const { return m_kioskPaused; }
    // Seconds until the UI must draw again even if nothing changes (the next kiosk page);
    // a large number when nothing is scheduled. The frame loop idles up to this long.
    double SecondsUntilDue(core::UnixMillis now) const;
    // Where each page tab was drawn last frame (desk mode); tests click these.
    ImVec4 TabRect(Page p) const { return m_tabRects[static_cast<int>(p)]; }

  private:
    void HandleShortcuts(const UiContext& ctx);
    void AdvanceKiosk(core::UnixMillis now, int step);
    void DrawTabs();
    void DrawAlerts(const UiContext& ctx, float height);
    void OnAlert(const Alert& alert);
    void DrawPage(const UiContext& ctx);
    void ApplySettings(const core::Config& c);

    AppUiOptions m_options;
    core::Config m_config;  // what is in effect
    Fonts m_fonts;
    Selection m_selection;
    ReadState m_reads;
    std::unordered_map<std::string, core::Draft> m_drafts;
    bool m_themeDirty = true;
    // The views. One place lists them all.
    StatusStrip m_strip;
    NavView m_nav;
    DashboardView m_dashboard;
    ActivityView m_activity;
    ChannelView m_channel;
    MetricsView m_metrics;
    AccountView m_account;
    SettingsView m_settings;
    ReviewView m_review;
    AuditView m_audit;
    QuickSwitcher m_switcher;
    HelpOverlay m_help;
    AlertCenter m_alerts;
    ImVec4 m_alertAckRect{};

    bool m_kiosk = false;
    bool m_kioskPaused = false;
    size_t m_kioskIndex = 0;
    core::UnixMillis m_kioskPageSince = 0;
    ImVec4 m_tabRects[static_cast<int>(Page::kCount)] = {};

    std::mutex m_postMutex;  // guards m_posted
    std::vector<std::function<void()>> m_posted;
    bool m_staleShown = false;
    core::UnixMillis m_lastSyncOk = 0;  // as of the last frame, for SecondsUntilDue
};

}  // namespace cdeck::ui
