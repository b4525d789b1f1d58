#include "ui/app_ui.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ui/keys.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

namespace {
struct PageInfo {
    Page page;
    const char* title;
    const char* key;
};
constexpr PageInfo kPages[] = {
    {Page::kWall, "Wall", "wall"},          {Page::kActivity, "Activity", "activity"},
    {Page::kReader, "Reader", "reader"},    {Page::kMetrics, "Metrics", "metrics"},
    {Page::kAccount, "Account", "account"}, {Page::kSettings, "Settings", "settings"},
    {Page::kReview, "Review", "review"},    {Page::kAudit, "Audit", "audit"}};
static_assert(std::size(kPages) == static_cast<size_t>(Page::kCount));

bool Pressed(int key) {
    return ImGui::IsKeyPressed(key, false);
}
}  // namespace

const char* PageTitle(Page p) {
    return kPages[static_cast<int>(p)].title;
}
const char* PageKey(Page p) {
    return kPages[static_cast<int>(p)].key;
}
bool PageFromKey(const std::string& key, Page& out) {
    for (const auto& info : kPages)
        if (key == info.key) {
            out = info.page;
            return true;
        }
    return false;
}

std::string StaleReason(const core::SyncStatus& s, core::UnixMillis now, double staleAfter) {
    char text[256];
    double age = s.lastSyncOk ? static_cast<double>(now - s.lastSyncOk) / 1000.0 : 0.0;
    if (s.following) {  // reading the nodes' database: its state decides, not our sign-in
        if (!s.followConnected) return s.lastError.empty() ? "database unreachable" : s.lastError;
        if (s.followNodes == 0) return "no channeldeck-node is running";
        if (s.lastNodeCommit && age > s.followStaleAfter) {
            std::snprintf(text, sizeof text, "no node has committed for %s",
                          FormatAge(age).c_str());
            return text;
        }
        return {};
    }
    if (!s.signedIn && (s.phase == "error" || s.phase == "signing-in" || s.lastSyncOk)) {
        std::snprintf(text, sizeof text, "not signed in%s%s", s.lastError.empty() ? "" : ": ",
                      s.lastError.c_str());
        return text;
    }
    if (s.lastSyncOk && age > staleAfter) {
        std::snprintf(text, sizeof text, "no successful sync for %s%s%s", FormatAge(age).c_str(),
                      s.lastError.empty() ? "" : " \xE2\x80\x94 ", s.lastError.c_str());
        return text;
    }
    if (s.phase == "error" && !s.lastError.empty()) return "offline: " + s.lastError;
    return {};
}

AppUi::AppUi(AppUiOptions options)
    : m_options(std::move(options)), m_config(m_options.config), m_kiosk(m_options.kiosk) {
    m_account.SetSignOut(m_options.signOut);
    m_audit.SetWriter(m_options.writeExport);
    for (const auto& d : m_options.drafts) m_drafts[d.key] = d;
    m_settings.Init(
        m_config, [this](const core::Config& c) { ApplySettings(c); }, m_options.saveSettings);
    m_alerts.SetHooks({[this](const Alert& a) { OnAlert(a); }, m_options.audit});
}

void AppUi::OnAlert(const Alert& alert) {
    const bool notify = !m_kiosk && m_config.ui.desktopNotifications;
    const bool sound = m_config.ui.alertSound;
    if ((notify || sound) && m_options.alertRaised) m_options.alertRaised(alert, notify, sound);
}

void AppUi::DrawAlerts(const UiContext& ctx, float height) {
    m_alertAckRect = ImVec4();
    const auto& active = m_alerts.Active();
    if (active.empty()) return;
    const Alert& a = active.front();
    // Flashes (twice a second) until acknowledged; the marker keeps it legible in both phases.
    const bool bright = (ctx.now / 500) % 2 == 0;
    ImVec4 bg = a.kind == Alert::Kind::kSurge ? colors::kWarn : colors::kBad;
    if (!bright) bg = ImVec4(bg.x * 0.55f, bg.y * 0.55f, bg.z * 0.55f, 1.0f);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    const ImVec2 at = ImGui::GetCursorScreenPos();
    const float width = ImGui::GetContentRegionAvail().x;
    dl->AddRectFilled(at, ImVec2(at.x + width, at.y + height), ImGui::GetColorU32(bg));
    const float pad = (height - ImGui::GetTextLineHeight()) / 2;
    float x = at.x + pad;
    if (m_options.demoTenant) {  // the alert shares the demo banner's row; DEMO stays marked
        const char* demo = "DEMO TENANT (simulated)";
        const float w = ImGui::CalcTextSize(demo).x + pad * 2;
        dl->AddRectFilled(at, ImVec2(at.x + w, at.y + height), ImGui::GetColorU32(colors::kDemo));
        ImGui::SetCursorScreenPos(ImVec2(x, at.y + pad));
        ImGui::TextColored(ImVec4(1, 1, 1, 1), "%s", demo);
        x = at.x + w + pad;
    }
    ImGui::SetCursorScreenPos(ImVec2(x, at.y + pad));
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextColored(ImVec4(1, 1, 1, 1), "ALERT  %s", a.title.c_str());
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    std::string rest =
        "\xE2\x80\x94 " + a.detail + " \xC2\xB7 " + core::FormatAgo(a.raisedAt, ctx.now);
    if (a.repeats > 0) rest += " \xC2\xB7 again " + std::to_string(a.repeats) + "x";
    if (active.size() > 1) rest += " \xC2\xB7 +" + std::to_string(active.size() - 1) + " more";
    const char* ack = "Acknowledge (F9)";
    const float ackW = ImGui::CalcTextSize(ack).x + ImGui::GetStyle().FramePadding.x * 2;
    TextClipped(rest, at.x + width - ImGui::GetCursorScreenPos().x - ackW - pad * 2,
                ImVec4(1, 1, 1, 1));
    ImGui::SameLine(width - ackW - pad);
    ImGui::SetCursorScreenPos(
        ImVec2(ImGui::GetCursorScreenPos().x, at.y + (height - ImGui::GetFrameHeight()) / 2));
    if (ImGui::Button(ack)) m_alerts.Acknowledge(a.id, ctx.now);
    ImVec2 bmin = ImGui::GetItemRectMin(), bmax = ImGui::GetItemRectMax();
    m_alertAckRect = ImVec4(bmin.x, bmin.y, bmax.x, bmax.y);
    ImGui::SetCursorScreenPos(ImVec2(at.x, at.y + height + ImGui::GetStyle().ItemSpacing.y));
    ImGui::Dummy(ImVec2(0, 0));  // advances as Banner does
}

void AppUi::Post(std::function<void()> fn) {
    std::lock_guard lock(m_postMutex);
    m_posted.push_back(std::move(fn));
}

void AppUi::ApplySettings(const core::Config& c) {
    bool looks = c.ui.theme != m_config.ui.theme || c.ui.palette != m_config.ui.palette;
    bool pace = c.limits.paceFraction != m_config.limits.paceFraction;
    m_config = c;
    if (looks) m_themeDirty = true;
    if (pace && m_options.submit) {
        core::Command cmd;
        cmd.kind = core::Command::Kind::kSetLimits;
        cmd.limits = c.limits;
        m_options.submit(std::move(cmd));
    }
}

void AppUi::SetKiosk(bool on) {
    m_kiosk = on;
    m_kioskPaused = false;
    m_kioskPageSince = 0;  // restart the page timer on the next frame
    if (on) {
        m_kioskIndex = 0;
        Page p = Page::kWall;
        if (!m_config.ui.kioskPages.empty()) PageFromKey(m_config.ui.kioskPages.front(), p);
        m_selection.page = p;
    }
}

double AppUi::SecondsUntilDue(core::UnixMillis now) const {
    double due = 1e9;
    if (m_kiosk && !m_kioskPaused && m_kioskPageSince != 0)
        due = m_config.ui.kioskIntervalSeconds - (now - m_kioskPageSince) / 1000.0;
    // A wall too big for the screen turns its pages on time.
    if (m_selection.page == Page::kWall) due = std::min(due, m_dashboard.SecondsUntilNextPage(now));
    // An alert flashes until it is acknowledged.
    if (!m_alerts.Active().empty()) due = std::min(due, 0.5 - (now % 500) / 1000.0);
    // The STALE banner must go up on time even when nothing else changes.
    if (!m_staleShown && m_lastSyncOk != 0)
        due = std::min(due, m_config.ui.staleAfterSeconds - (now - m_lastSyncOk) / 1000.0 + 0.05);
    return std::max(0.0, due);
}

void AppUi::AdvanceKiosk(core::UnixMillis now, int step) {
    const auto& pages = m_config.ui.kioskPages;
    if (pages.empty()) return;
    long n = static_cast<long>(pages.size());
    m_kioskIndex = static_cast<size_t>(((static_cast<long>(m_kioskIndex) + step) % n + n) % n);
    Page p = Page::kWall;
    PageFromKey(pages[m_kioskIndex], p);
    m_selection.page = p;
    m_kioskPageSince = now;
}

void AppUi::HandleShortcuts(const UiContext& ctx) {
    ImGuiIO& io = ImGui::GetIO();
    // Plain keys are left to a focused text field; Ctrl and function keys always work.
    bool typing = io.WantTextInput;
    if (io.KeyCtrl && Pressed(keys::kK)) m_switcher.Open();
    if (io.KeyCtrl && Pressed(keys::kF) && !m_kiosk) {
        m_nav.FocusFilter();
    }
    if (Pressed(keys::kF11)) SetKiosk(!m_kiosk);
    if (Pressed(keys::kF9) && !m_alerts.Active().empty())
        m_alerts.Acknowledge(m_alerts.Active().front().id, ctx.now);
    if (Pressed(keys::kF1)) m_help.Toggle();
    if (!typing)
        for (int i = 0; i < io.InputQueueCharacters.Size; ++i)
            if (io.InputQueueCharacters[i] == '?') m_help.Toggle();
    if (io.KeyCtrl)
        for (int i = 0; i < static_cast<int>(Page::kCount); ++i)
            if (Pressed(keys::kDigit1 + i)) m_selection.page = static_cast<Page>(i);
    if (io.KeyCtrl && (Pressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow)) ||
                       Pressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow)))) {
        int step = ImGui::IsKeyDown(ImGui::GetKeyIndex(ImGuiKey_DownArrow)) ? 1 : -1;
        std::string next = m_nav.Neighbour(m_selection.channelId, step);
        if (const core::ChannelData* c = ctx.snapshot->FindChannel(next))
            m_selection.OpenChannel(c->channel.teamId, next);
    }
    if (((io.KeyCtrl && Pressed(keys::kR)) || Pressed(keys::kF5)) && ctx.submit &&
        !m_selection.channelId.empty()) {
        core::Command cmd;
        cmd.kind = core::Command::Kind::kRefreshChannel;
        cmd.teamId = m_selection.teamId;
        cmd.channelId = m_selection.channelId;
        ctx.submit(std::move(cmd));
    }
    if (m_kiosk && !typing) {
        if (Pressed(ImGui::GetKeyIndex(ImGuiKey_Space))) m_kioskPaused = !m_kioskPaused;
        if (Pressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) AdvanceKiosk(ctx.now, 1);
        if (Pressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow))) AdvanceKiosk(ctx.now, -1);
    }
    if (Pressed(ImGui::GetKeyIndex(ImGuiKey_Escape)) && !typing && !m_switcher.IsOpen()) {
        if (m_help.IsOpen())
            m_help.Close();
        else if (m_selection.page == Page::kReader && !m_kiosk)
            m_selection.page = Page::kWall;
    }
}

void AppUi::Frame(const core::SnapshotPtr& snapshot, core::UnixMillis now) {
    std::vector<std::function<void()>> posted;
    {
        std::lock_guard lock(m_postMutex);
        posted.swap(m_posted);
    }
    for (auto& fn : posted) fn();
    if (m_themeDirty) {
        ApplyTheme({m_config.ui.theme, m_config.ui.palette, m_options.dpiScale});
        m_themeDirty = false;
    }
    // The kiosk never draws below its readable size, whatever the font scale.
    ImGui::GetIO().FontGlobalScale =
        static_cast<float>(m_kiosk ? std::max(1.0, m_config.ui.fontScale) : m_config.ui.fontScale);
    m_metrics.History().Sample(*snapshot);

    UiContext ctx;
    ctx.snapshot = snapshot;
    ctx.now = now;
    ctx.demoTenant = m_options.demoTenant;
    ctx.kiosk = m_kiosk;
    ctx.pollIntervalSeconds = m_options.pollIntervalSeconds;
    ctx.settings = &m_config.ui;
    ctx.fonts = m_fonts;
    const bool bigType = m_kiosk && m_fonts.kiosk;
    if (bigType) {  // every view in kiosk mode draws in the kiosk's faces
        ctx.fonts.regular = ctx.fonts.small = m_fonts.kiosk;
        ctx.fonts.bold = ctx.fonts.large = m_fonts.kioskBold;
        ImGui::PushFont(m_fonts.kiosk);
    }
    ctx.selection = &m_selection;
    ctx.reads = &m_reads;
    ctx.submit = m_options.submit;
    ctx.post = [this](std::function<void()> fn) { Post(std::move(fn)); };
    ctx.moderate = m_options.moderate;
    ctx.drafts = &m_drafts;
    ctx.saveDraft = m_options.saveDraft;
    ctx.writeExport = m_options.writeExport;

    HandleShortcuts(ctx);
    const std::string stale = StaleReason(snapshot->sync, now, m_config.ui.staleAfterSeconds);
    m_dashboard.Refresh(ctx);
    m_alerts.Update(*snapshot, m_dashboard.LastAttention(), m_dashboard.CriticalCounts(), stale,
                    m_config.ui, now);
    if (m_kiosk) {
        if (m_kioskPageSince == 0) m_kioskPageSince = now;
        if (!m_kioskPaused &&
            now - m_kioskPageSince >=
                static_cast<core::UnixMillis>(m_config.ui.kioskIntervalSeconds * 1000))
            AdvanceKiosk(now, 1);
    }

    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->WorkPos);
    ImGui::SetNextWindowSize(vp->WorkSize);
    ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                             ImGuiWindowFlags_NoSavedSettings |
                             ImGuiWindowFlags_NoBringToFrontOnFocus;
    ImGui::Begin("ChannelDeck###host", nullptr, flags);

    const core::SyncStatus& sync = snapshot->sync;
    float bannerH = ImGui::GetTextLineHeight() * 1.9f;
    if (!m_alerts.Active().empty())  // the alert takes the demo banner's row while it is up
        DrawAlerts(ctx, m_kiosk || m_options.demoTenant ? bannerH * (m_kiosk ? 1.6f : 1.0f)
                                                        : ImGui::GetFrameHeight() + 4.0f);
    else if (m_options.demoTenant)
        Banner(
            "DEMO TENANT (simulated)  \xC2\xB7  data comes from graphsim on this machine, not "
            "Microsoft Teams",
            colors::kDemo, ctx.fonts.bold, bannerH);
    m_staleShown = !stale.empty();
    m_lastSyncOk = sync.lastSyncOk;
    if (m_staleShown) {
        std::string text = "STALE \xE2\x80\x94 " + stale;
        Banner(text.c_str(), colors::kBad, ctx.fonts.large, bannerH * (m_kiosk ? 2.2f : 1.4f));
    }
    m_strip.Draw(ctx);
    DrawSignInPrompt(ctx);
    if (!m_kiosk) DrawTabs();
    ImGui::Separator();

    if (m_kiosk) {
        float footer = ImGui::GetTextLineHeightWithSpacing();
        ImGui::BeginChild("kiosk-page", ImVec2(0, -footer), false);
        DrawPage(ctx);
        ImGui::EndChild();
        const auto& pages = m_config.ui.kioskPages;
        // No countdown: a clock ticking every second would redraw an idle wall every second.
        char every[48];
        std::snprintf(every, sizeof every, "next page every %s",
                      FormatAge(m_config.ui.kioskIntervalSeconds).c_str());
        ImGui::TextDisabled(
            "KIOSK  \xC2\xB7  %s (%zu of %zu)  \xC2\xB7  %s  \xC2\xB7  Space pauses, "
            "\xE2\x86\x90 \xE2\x86\x92 change page, F11 leaves, ? shortcuts",
            PageTitle(m_selection.page), m_kioskIndex + 1, pages.size(),
            m_kioskPaused ? "PAUSED" : every);
    } else {
        float navW = std::clamp(ImGui::GetContentRegionAvail().x * 0.15f, 200.0f, 320.0f);
        ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
        ImGui::BeginChild("nav-frame", ImVec2(navW, 0), true);
        m_nav.DrawChild(ctx, ImVec2(0, 0));
        ImGui::EndChild();
        ImGui::PopStyleColor();
        ImGui::SameLine();
        ImGui::BeginChild("page", ImVec2(0, 0), false);
        DrawPage(ctx);
        ImGui::EndChild();
    }
    ImGui::End();
    m_switcher.Draw(ctx);
    m_help.Draw(ctx);
    if (bigType) ImGui::PopFont();
}

void AppUi::DrawTabs() {
    for (int i = 0; i < static_cast<int>(Page::kCount); ++i) {
        Page p = static_cast<Page>(i);
        if (i) ImGui::SameLine();
        char label[64];
        std::snprintf(label, sizeof label, "%s  \xC2\xB7 %d###tab%d", PageTitle(p), i + 1, i);
        ImVec2 size(ImGui::CalcTextSize(label, nullptr, true).x + 24, 0);
        if (ImGui::Selectable(label, m_selection.page == p, 0, size)) m_selection.page = p;
        ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
        m_tabRects[i] = ImVec4(a.x, a.y, b.x, b.y);
    }
    ImGui::SameLine(0, 30);
    ImGui::TextDisabled("Ctrl+K find  \xC2\xB7  ? shortcuts  \xC2\xB7  F11 kiosk");
}

void AppUi::DrawPage(const UiContext& ctx) {
    switch (m_selection.page) {
        case Page::kWall: {
            float avail = ImGui::GetContentRegionAvail().x;
            if (avail >= 1300 && !m_kiosk) {  // the kiosk wall takes the whole width
                float side = std::floor(avail * 0.30f);
                m_dashboard.DrawChild(ctx,
                                      ImVec2(avail - side - ImGui::GetStyle().ItemSpacing.x, 0));
                ImGui::SameLine();
                ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
                ImGui::BeginChild("activity-side", ImVec2(0, 0), true);
                m_activity.DrawChild(ctx, ImVec2(0, 0));
                ImGui::EndChild();
                ImGui::PopStyleColor();
            } else {
                m_dashboard.DrawChild(ctx, ImVec2(0, 0));
            }
            break;
        }
        case Page::kActivity:
            m_activity.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kReader:
            m_channel.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kMetrics:
            m_metrics.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kAccount:
            m_account.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kSettings:
            m_settings.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kReview:
            m_review.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kAudit:
            m_audit.DrawChild(ctx, ImVec2(0, 0));
            break;
        case Page::kCount:
            break;
    }
}

}  // namespace cdeck::ui
