#include "ui/status_strip.hpp"

#include "moderation/review.hpp"

#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

double MessagesPerMinute(const core::Snapshot& s) {
    double n = 0;
    for (const auto& [id, c] : s.channels) n += c->last15Min;
    return n / 15.0;
}

int Recent429s(const core::MetricsSnapshot* m, core::UnixMillis now, double seconds) {
    if (!m) return 0;
    int n = 0;
    for (const auto& e : m->recentThrottles)
        if (e.at >= now - static_cast<core::UnixMillis>(seconds * 1000)) ++n;
    return n;
}

void StatusStrip::Draw(const UiContext& ctx) {
    const core::Snapshot& s = *ctx.snapshot;
    const core::SyncStatus& st = s.sync;
    Level phaseLevel = st.phase == "live"    ? Level::kGood
                       : st.phase == "error" ? Level::kBad
                                             : Level::kWarn;
    LevelMarker(phaseLevel, 5.0f);
    ImGui::SameLine();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextColored(LevelColor(phaseLevel), "%s", st.phase.c_str());
    if (ctx.fonts.bold) ImGui::PopFont();
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
    ImGui::Text("%.1f msg/min", MessagesPerMinute(s));
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
    if (st.following)  // the nodes read Graph; this desk sends only its moderator's writes
        ImGui::TextDisabled("reads from the shared store");
    else if (limit > 0 && st.policy != "sdk")
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
    if (!ctx.kiosk && !st.following) DrawControls(ctx);
    m_recent429 = Recent429s(st.metrics.get(), ctx.now, 60);
    ImGui::SameLine(0, 24);
    ImGui::TextColored(m_recent429 ? colors::kWarn : colors::kDim, "429s: %d last min, %llu total",
                       m_recent429, static_cast<unsigned long long>(st.throttled));
    if (st.failures) {
        ImGui::SameLine(0, 24);
        ImGui::TextColored(colors::kWarn, "%llu failed",
                           static_cast<unsigned long long>(st.failures));
    }
    if (s.review) {
        ImGui::SameLine(0, 24);
        ImGui::TextColored(s.review->pendingCount ? colors::kWarn : colors::kDim,
                           "%zu pending review%s", s.review->pendingCount,
                           s.review->pendingCount == 1 ? "" : "s");
    }
    if (st.metrics && st.metrics->freshnessAll.count > 0) {
        ImGui::SameLine(0, 24);
        ImGui::TextDisabled("fresh p50 %.1f s  p95 %.1f s", st.metrics->freshnessAll.p50,
                            st.metrics->freshnessAll.p95);
    }
    ImGui::SameLine(0, 24);
    if (st.following)
        ImGui::TextDisabled(
            "following %d node%s, last commit %s", st.followNodes, st.followNodes == 1 ? "" : "s",
            st.lastNodeCommit ? core::FormatAgo(st.lastNodeCommit, ctx.now).c_str() : "never");
    else if (st.fromCache && st.phase != "live")
        ImGui::TextColored(
            colors::kWarn, "cached \xE2\x80\x94 last synced %s",
            st.lastSyncOk ? core::FormatAgo(st.lastSyncOk, ctx.now).c_str() : "never");
    else if (st.lastSyncOk)
        ImGui::TextDisabled("last sync %s", core::FormatAgo(st.lastSyncOk, ctx.now).c_str());
    if (st.etiquette && !st.following) {
        ImGui::SameLine(0, 24);
        double s = st.backgroundRefreshSeconds;
        ImGui::TextDisabled(
            "off-screen channels refresh every %s; live push needs a "
            "channeldeck-node",
            s < 120 ? (std::to_string(static_cast<int>(s)) + " s").c_str()
                    : (std::to_string(static_cast<int>(s / 60)) + " min").c_str());
    }
    // Channels whose last sync failed (cleared by their next success): how many, and why.
    int failing = 0;
    const core::ChannelData* newest = nullptr;
    for (const auto& [id, c] : s.channels)
        if (!c->lastError.empty()) {
            ++failing;
            if (!newest || c->lastSyncAttempt > newest->lastSyncAttempt) newest = c.get();
        }
    if (failing) {
        ImGui::SameLine(0, 24);
        ImGui::TextColored(colors::kWarn, "%d channel%s failing: %.90s", failing,
                           failing == 1 ? "" : "s", newest->lastError.c_str());
    }
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

void StatusStrip::DrawControls(const UiContext& ctx) {
    const core::SyncStatus& st = ctx.snapshot->sync;
    if (!ctx.submit) return;
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
        ImGui::TextDisabled("Saved with Settings (Ctrl+6) to keep it.");
        ImGui::EndPopup();
    }
}

}  // namespace cdeck::ui
