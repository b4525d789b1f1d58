#include "ui/app_ui.hpp"

#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

AppUi::AppUi(AppUiOptions options) : m_options(std::move(options)) {}

void AppUi::Post(std::function<void()> fn) {
    std::lock_guard lock(m_postMutex);
    m_posted.push_back(std::move(fn));
}

void AppUi::Frame(const core::SnapshotPtr& snapshot, core::UnixMillis now) {
    std::vector<std::function<void()>> posted;
    {
        std::lock_guard lock(m_postMutex);
        posted.swap(m_posted);
    }
    for (auto& fn : posted) fn();

    UiContext ctx;
    ctx.snapshot = snapshot;
    ctx.now = now;
    ctx.demoTenant = m_options.demoTenant;
    ctx.pollIntervalSeconds = m_options.pollIntervalSeconds;
    ctx.fonts = m_fonts;
    ctx.selection = &m_selection;
    ctx.submit = m_options.submit;

    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(vp->WorkPos);
    ImGui::SetNextWindowSize(vp->WorkSize);
    ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                             ImGuiWindowFlags_NoSavedSettings |
                             ImGuiWindowFlags_NoBringToFrontOnFocus;
    ImGui::Begin("ChannelDeck###host", nullptr, flags);

    const core::SyncStatus& sync = snapshot->sync;
    float bannerH = ImGui::GetTextLineHeight() * 1.9f;
    if (m_options.demoTenant)
        Banner(
            "DEMO TENANT (simulated)  \xC2\xB7  data comes from graphsim on this machine, not "
            "Microsoft Teams",
            colors::kDemo, m_fonts.bold, bannerH);
    // STALE: signed out, failing, or nothing synced recently once we have data.
    double age = sync.lastSyncOk ? static_cast<double>(now - sync.lastSyncOk) / 1000.0 : 0.0;
    m_staleShown = (!sync.signedIn && sync.phase == "error") ||
                   (sync.lastSyncOk && age > m_options.staleAfterSeconds);
    if (m_staleShown) {
        char text[256];
        if (!sync.signedIn)
            std::snprintf(text, sizeof text, "STALE \xE2\x80\x94 not signed in: %s",
                          sync.lastError.c_str());
        else
            std::snprintf(text, sizeof text, "STALE \xE2\x80\x94 no successful sync for %.0f s",
                          age);
        Banner(text, colors::kBad, m_fonts.large, bannerH * 1.4f);
    }
    DrawStatusStrip(ctx);
    if (!sync.signInUserCode.empty() || !sync.signInUrl.empty()) DrawSignInPrompt(sync);
    ImGui::Separator();

    float avail = ImGui::GetContentRegionAvail().x;
    float readerW = avail * 0.36f;
    float spacing = ImGui::GetStyle().ItemSpacing.x;
    m_dashboard.DrawChild(ctx, ImVec2(avail - readerW - spacing, 0));
    ImGui::SameLine();
    ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
    ImGui::BeginChild("reader-frame", ImVec2(readerW, 0), true);
    m_channel.DrawChild(ctx, ImVec2(0, 0));
    ImGui::EndChild();
    ImGui::PopStyleColor();
    ImGui::End();
}

void AppUi::DrawSignInPrompt(const core::SyncStatus& s) {
    // Device code sign-in: the code and the address, large, each with a copy button.
    ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
    float h = ImGui::GetTextLineHeightWithSpacing() * 4.5f;
    if (ImGui::BeginChild("sign-in", ImVec2(0, h), true)) {
        ImGui::TextColored(colors::kWarn, "Sign in to start syncing");
        ImGui::TextWrapped("%s", s.signInMessage.c_str());
        if (!s.signInUserCode.empty()) {
            if (m_fonts.large) ImGui::PushFont(m_fonts.large);
            ImGui::TextUnformatted(s.signInUserCode.c_str());
            if (m_fonts.large) ImGui::PopFont();
            ImGui::SameLine();
            if (ImGui::Button("Copy code")) ImGui::SetClipboardText(s.signInUserCode.c_str());
            ImGui::SameLine();
        }
        if (ImGui::Button("Copy address")) ImGui::SetClipboardText(s.signInUrl.c_str());
        ImGui::SameLine();
        ImGui::TextDisabled("%s", s.signInUrl.c_str());
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

void AppUi::DrawStatusStrip(const UiContext& ctx) {
    const core::Snapshot& s = *ctx.snapshot;
    const core::SyncStatus& st = s.sync;
    ImVec4 phaseColor = st.phase == "live"    ? colors::kGood
                        : st.phase == "error" ? colors::kBad
                                              : colors::kWarn;
    if (m_fonts.bold) ImGui::PushFont(m_fonts.bold);
    ImGui::TextColored(phaseColor, "%s", st.phase.c_str());
    if (m_fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    if (st.channelsTotal > 0 && st.channelsBackfilled < st.channelsTotal) {
        char label[64];
        std::snprintf(label, sizeof label, "%d / %d channels", st.channelsBackfilled,
                      st.channelsTotal);
        ImGui::ProgressBar(
            static_cast<float>(st.channelsBackfilled) / static_cast<float>(st.channelsTotal),
            ImVec2(220, 0), label);
    } else {
        ImGui::TextDisabled("%d channels", st.channelsTotal);
    }
    ImGui::SameLine(0, 24);
    ImGui::Text("%llu messages", static_cast<unsigned long long>(s.totalMessages));
    ImGui::SameLine(0, 24);
    // What the engine spends against the GET-message limit it paces to (Microsoft asks
    // apps to poll with care, so the spend is always on screen).
    double paced = 0, limit = 0;
    if (st.metrics)
        for (const auto& sc : st.metrics->scopes)
            if (sc.scope == "class:get_message") {
                paced = sc.pacedRate;
                limit = sc.limit;
            }
    if (limit > 0 && st.policy != "sdk")
        ImGui::Text("%.1f req/s (pacing %.1f of %.0f)", st.requestsPerSecond, paced, limit);
    else
        ImGui::Text("%.1f req/s", st.requestsPerSecond);
    if (!st.policy.empty() && st.policy != "adaptive") {
        ImGui::SameLine(0, 12);
        ImGui::TextColored(colors::kWarn, "policy: %s", st.policy.c_str());
    }
    if (st.pausedAll) {
        ImGui::SameLine(0, 12);
        ImGui::TextColored(colors::kWarn, "SYNC PAUSED");
    }
    if (ctx.submit) {
        ImGui::SameLine(0, 12);
        if (ImGui::SmallButton(st.pausedAll ? "Resume sync" : "Pause sync")) {
            core::Command c;
            c.kind = core::Command::Kind::kPauseAll;
            c.flag = !st.pausedAll;
            ctx.submit(std::move(c));
        }
        ImGui::SameLine();
        if (ImGui::SmallButton("Budget\xE2\x80\xA6")) {
            m_pendingPace = static_cast<float>(st.limits.paceFraction);
            ImGui::OpenPopup("budget");
        }
        if (ImGui::BeginPopup("budget")) {
            // Run-time budget: the share of each documented limit the engine paces to.
            ImGui::TextUnformatted("Share of Graph's limits to use");
            ImGui::SetNextItemWidth(260);
            ImGui::SliderFloat("##pace", &m_pendingPace, 0.05f, 1.0f, "%.2f x limit");
            if (ImGui::IsItemDeactivatedAfterEdit()) {
                core::Command c;
                c.kind = core::Command::Kind::kSetLimits;
                c.limits = st.limits;
                c.limits.paceFraction = m_pendingPace;
                ctx.submit(std::move(c));
            }
            ImGui::TextDisabled("GET messages: %.0f req/s limit, pacing from %.1f",
                                st.limits.getMessage, st.limits.getMessage * m_pendingPace);
            ImGui::EndPopup();
        }
    }
    ImGui::SameLine(0, 24);
    ImGui::TextColored(st.throttled ? colors::kWarn : colors::kDim, "%llu throttled",
                       static_cast<unsigned long long>(st.throttled));
    ImGui::SameLine(0, 24);
    ImGui::TextColored(st.failures ? colors::kWarn : colors::kDim, "%llu failed",
                       static_cast<unsigned long long>(st.failures));
    ImGui::SameLine(0, 24);
    ImGui::TextDisabled("RTT p50 %.0f ms  p95 %.0f ms", st.rttP50Ms, st.rttP95Ms);
    if (st.metrics && st.metrics->freshnessAll.count > 0) {
        ImGui::SameLine(0, 24);
        ImGui::TextDisabled("fresh p50 %.1f s  p95 %.1f s", st.metrics->freshnessAll.p50,
                            st.metrics->freshnessAll.p95);
    }
    ImGui::SameLine(0, 24);
    if (st.fromCache && st.phase != "live")
        ImGui::TextColored(
            colors::kWarn, "cached \xE2\x80\x94 last synced %s",
            st.lastSyncOk ? core::FormatAgo(st.lastSyncOk, ctx.now).c_str() : "never");
    else if (st.lastSyncOk)
        ImGui::TextDisabled("last sync %s", core::FormatAgo(st.lastSyncOk, ctx.now).c_str());
    if (!st.persistError.empty()) {
        ImGui::SameLine(0, 24);
        ImGui::TextColored(colors::kBad, "not saving to disk (%zu waiting): %s", st.persistQueue,
                           st.persistError.c_str());
    }
    if (!st.lastError.empty()) {
        ImGui::SameLine(0, 24);
        ImGui::TextColored(colors::kBad, "%s", st.lastError.c_str());
    }
}

}  // namespace cdeck::ui
