#include "ui/metrics_view.hpp"

#include <algorithm>
#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {
namespace {

void Push(std::vector<float>& v, float x) {
    v.push_back(x);
    if (v.size() > MetricsHistory::kSeconds) v.erase(v.begin());
}

float MaxOf(const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, x);
    return m;
}

void QuantileRow(const char* name, const core::Quantiles& q, const char* unit) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(name);
    ImGui::TableNextColumn();
    ImGui::Text("%llu", static_cast<unsigned long long>(q.count));
    for (double v : {q.p50, q.p95, q.p99, q.max}) {
        ImGui::TableNextColumn();
        if (q.count)
            ImGui::Text("%.1f %s", v, unit);
        else
            ImGui::TextDisabled("\xE2\x80\x94");
    }
}

}  // namespace

void MetricsHistory::Sample(const core::Snapshot& s) {
    const core::MetricsSnapshot* m = s.sync.metrics.get();
    if (!m) return;
    int64_t sec = m->at / 1000;
    if (sec == m_lastSecond) return;
    m_lastSecond = sec;
    ++m_points;
    for (const auto& sc : m->scopes) {
        Series& se = m_scopes[sc.scope];
        // A scope that appears late starts with zeros so every series ends "now".
        while (se.sends.size() + 1 < std::min(m_points, kSeconds)) {
            Push(se.sends, 0);
            Push(se.paced, 0);
            Push(se.limit, static_cast<float>(sc.limit));
        }
        Push(se.sends, static_cast<float>(sc.sendsPerSecond));
        Push(se.paced, static_cast<float>(sc.pacedRate));
        Push(se.limit, static_cast<float>(sc.limit));
    }
    Push(m_ready, static_cast<float>(m->ready));
    Push(m_waiting, static_cast<float>(m->waiting));
    Push(m_inFlight, static_cast<float>(m->inFlight));
}

void MetricsView::DrawContent(const UiContext& ctx) {
    const core::MetricsSnapshot* m = ctx.snapshot->sync.metrics.get();
    if (!m) {
        ImGui::TextDisabled("No metrics yet: the sync engine has not started.");
        return;
    }
    float width = ImGui::GetContentRegionAvail().x;
    DrawSummary(ctx, *m);
    ImGui::Spacing();
    DrawThrottleTimeline(ctx, *m, width);
    ImGui::Spacing();
    DrawScopes(ctx, *m, width);
    ImGui::Spacing();
    DrawStaleness(ctx);
}

void MetricsView::DrawSummary(const UiContext& ctx, const core::MetricsSnapshot& m) {
    (void)ctx;
    ImGui::Text(
        "Policy %s  \xC2\xB7  %llu requests  \xC2\xB7  %llu 2xx  \xC2\xB7  %llu 429  "
        "\xC2\xB7  %llu 5xx  \xC2\xB7  %llu timeouts  \xC2\xB7  %llu retries  \xC2\xB7  %llu "
        "resyncs",
        m.policy.c_str(), static_cast<unsigned long long>(m.requests),
        static_cast<unsigned long long>(m.ok2xx), static_cast<unsigned long long>(m.throttled429),
        static_cast<unsigned long long>(m.server5xx), static_cast<unsigned long long>(m.timeouts),
        static_cast<unsigned long long>(m.retries), static_cast<unsigned long long>(m.resyncs));
    ImGui::Text(
        "Now: %.1f sends/s, %.1f ok/s, %.1f useful/s, %.2f 429/s  \xC2\xB7  queue: %d in "
        "flight, %d ready, %d waiting  \xC2\xB7  useful share of quota while busy %.2f",
        m.sendsPerSecond, m.okPerSecond, m.usefulPerSecond, m.throttledPerSecond, m.inFlight,
        m.ready, m.waiting, m.UsefulFractionOfQuota());
    ImGuiTableFlags flags =
        ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchSame;
    if (ImGui::BeginTable("quantiles", 6, flags)) {
        for (const char* h : {"", "count", "p50", "p95", "p99", "max"}) ImGui::TableSetupColumn(h);
        ImGui::TableHeadersRow();
        QuantileRow("Round trip", m.rttMs, "ms");
        QuantileRow("Freshness, all (created \xE2\x86\x92 on screen)", m.freshnessAll, "s");
        QuantileRow("Freshness, hot channels", m.freshnessHot, "s");
        QuantileRow("Freshness, cold channels", m.freshnessCold, "s");
        QuantileRow("Staleness per channel", m.staleness, "s");
        QuantileRow("Retry-After received", m.retryAfterSeconds, "s");
        ImGui::EndTable();
    }
}

void MetricsView::DrawThrottleTimeline(const UiContext& ctx, const core::MetricsSnapshot& m,
                                       float width) {
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("429s and Retry-After, last 5 minutes");
    if (ctx.fonts.bold) ImGui::PopFont();
    float h = ImGui::GetTextLineHeight() * 3.0f;
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(ImVec2(width, h));
    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->AddRectFilled(p, ImVec2(p.x + width, p.y + h), ImGui::GetColorU32(ImVec4(1, 1, 1, 0.03f)),
                      3);
    const double span = 300.0;
    double maxRa = 1;
    int shown = 0;
    for (const auto& e : m.recentThrottles) maxRa = std::max(maxRa, e.retryAfterSeconds);
    for (const auto& e : m.recentThrottles) {
        double age = (ctx.now - e.at) / 1000.0;
        if (age < 0 || age > span) continue;
        ++shown;
        float x = p.x + width * static_cast<float>(1.0 - age / span);
        float th = std::max(3.0f, (h - 4) * static_cast<float>(e.retryAfterSeconds / maxRa));
        dl->AddLine(ImVec2(x, p.y + h), ImVec2(x, p.y + h - th), ImGui::GetColorU32(colors::kBad),
                    2.0f);
    }
    for (int mins = 1; mins < 5; ++mins) {
        float x = p.x + width * (1.0f - mins / 5.0f);
        dl->AddLine(ImVec2(x, p.y), ImVec2(x, p.y + h), ImGui::GetColorU32(ImVec4(1, 1, 1, 0.08f)));
        char b[16];
        std::snprintf(b, sizeof b, "-%d min", mins);
        dl->AddText(ImVec2(x + 3, p.y + 1), ImGui::GetColorU32(colors::kDim), b);
    }
    char label[96];
    std::snprintf(label, sizeof label, "%d in view; bar height = Retry-After (max %.0f s)", shown,
                  maxRa);
    dl->AddText(ImVec2(p.x + 4, p.y + h - ImGui::GetTextLineHeight() - 1),
                ImGui::GetColorU32(shown ? colors::kWarn : colors::kDim), label);
}

void MetricsView::DrawScopes(const UiContext& ctx, const core::MetricsSnapshot& m, float width) {
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("Send rate against the limit, per scope (requests/s, last 5 minutes)");
    if (ctx.fonts.bold) ImGui::PopFont();
    float chartH = ImGui::GetTextLineHeight() * 4.5f;
    float colW = (width - ImGui::GetStyle().ItemSpacing.x) / 2;
    int i = 0;
    auto cell = [&](const std::string& title, const ChartSeries* series, int n, float yMax,
                    const char* unit) {
        if (i % 2) ImGui::SameLine();
        ImGui::BeginGroup();
        ImGui::TextDisabled("%s", title.c_str());
        TimeChart(title.c_str(), series, n, yMax, ImVec2(colW, chartH), unit);
        ImGui::EndGroup();
        ++i;
    };
    for (const auto& sc : m.scopes) {
        auto it = m_history.Scopes().find(sc.scope);
        if (it == m_history.Scopes().end()) continue;
        const auto& se = it->second;
        ChartSeries series[3] = {
            {se.limit.data(), static_cast<int>(se.limit.size()), colors::kBad, "limit", true},
            {se.paced.data(), static_cast<int>(se.paced.size()), colors::kGood, "paced", false},
            {se.sends.data(), static_cast<int>(se.sends.size()), colors::kAccent, "sent", false}};
        // Team scopes by name: a GUID means nothing on a wall.
        std::string scopeName = sc.scope;
        if (sc.scope.rfind("team:", 0) == 0)
            for (const auto& t : ctx.snapshot->teams)
                if (t->team.id == sc.scope.substr(5)) scopeName = "team: " + t->team.displayName;
        char title[200];
        std::snprintf(title, sizeof title,
                      "%s%s  \xC2\xB7  %llu sent, %llu throttled, gated %.0f s", scopeName.c_str(),
                      sc.closed ? "  GATED" : "", static_cast<unsigned long long>(sc.sends),
                      static_cast<unsigned long long>(sc.throttled), sc.gatedSeconds);
        float yMax = std::max({MaxOf(se.limit), MaxOf(se.sends), MaxOf(se.paced)}) * 1.1f;
        cell(title, series, 3, yMax, "req/s");
    }
    ChartSeries queue[3] = {
        {m_history.Ready().data(), static_cast<int>(m_history.Ready().size()), colors::kWarn,
         "ready", false},
        {m_history.Waiting().data(), static_cast<int>(m_history.Waiting().size()), colors::kDim,
         "waiting", false},
        {m_history.InFlight().data(), static_cast<int>(m_history.InFlight().size()),
         colors::kAccent, "in flight", false}};
    float qMax = std::max(
        {MaxOf(m_history.Ready()), MaxOf(m_history.Waiting()), MaxOf(m_history.InFlight())});
    cell("Queue depths", queue, 3, std::max(1.0f, qMax * 1.1f), "jobs");
}

void MetricsView::DrawStaleness(const UiContext& ctx) {
    const core::Snapshot& s = *ctx.snapshot;
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("Staleness per channel");
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    ImGui::TextDisabled("(time since the last successful sync; click a header to sort)");
    bool rebuild = s.version != m_staleVersion || ctx.now - m_staleAt >= 1000;
    if (rebuild) {
        m_staleVersion = s.version;
        m_staleAt = ctx.now;
        m_stale.clear();
        for (const auto& t : s.teams)
            for (const auto& id : t->channelIds)
                if (const auto* c = s.FindChannel(id))
                    m_stale.push_back({id, c->channel.displayName, t->team.displayName,
                                       c->lastError,
                                       c->lastSyncOk ? (ctx.now - c->lastSyncOk) / 1000.0 : -1.0,
                                       c->messages.size() + c->replyCount});
    }
    ImGuiTableFlags flags = ImGuiTableFlags_Sortable | ImGuiTableFlags_RowBg |
                            ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY |
                            ImGuiTableFlags_SizingStretchProp;
    float h = std::max(ImGui::GetTextLineHeightWithSpacing() * 6, ImGui::GetContentRegionAvail().y);
    if (!ImGui::BeginTable("staleness", 5, flags, ImVec2(0, h))) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("Channel", 0, 3.0f);
    ImGui::TableSetupColumn("Team", 0, 2.0f);
    ImGui::TableSetupColumn(
        "Staleness", ImGuiTableColumnFlags_DefaultSort | ImGuiTableColumnFlags_PreferSortDescending,
        1.2f);
    ImGui::TableSetupColumn("Messages", 0, 1.0f);
    ImGui::TableSetupColumn("Last error", 0, 3.0f);
    ImGui::TableHeadersRow();
    if (ImGuiTableSortSpecs* spec = ImGui::TableGetSortSpecs();
        spec && (spec->SpecsDirty || rebuild)) {
        if (spec->SpecsCount > 0) {
            m_sortColumn = spec->Specs[0].ColumnIndex;
            m_sortAscending = spec->Specs[0].SortDirection == ImGuiSortDirection_Ascending;
        }
        spec->SpecsDirty = false;
        auto key = [this](const StaleRow& a, const StaleRow& b) {
            switch (m_sortColumn) {
                case 0:
                    return a.channel < b.channel;
                case 1:
                    return a.team < b.team;
                case 3:
                    return a.messages < b.messages;
                case 4:
                    return a.error < b.error;
                default:
                    // Never synced sorts as the stalest.
                    return (a.staleness < 0 ? 1e18 : a.staleness) <
                           (b.staleness < 0 ? 1e18 : b.staleness);
            }
        };
        std::stable_sort(m_stale.begin(), m_stale.end(), [&](const StaleRow& a, const StaleRow& b) {
            return m_sortAscending ? key(a, b) : key(b, a);
        });
        m_staleOrder.clear();
        for (const auto& r : m_stale) m_staleOrder.push_back(r.id);
    }
    const core::UiSettings& us = *ctx.settings;
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(m_stale.size()));
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const StaleRow& r = m_stale[static_cast<size_t>(i)];
            ImGui::PushID(r.id.c_str());
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            std::string label = "# " + r.channel;
            if (ImGui::Selectable(label.c_str(), false, ImGuiSelectableFlags_SpanAllColumns) &&
                ctx.selection)
                for (const auto& t : s.teams)
                    for (const auto& id : t->channelIds)
                        if (id == r.id) ctx.selection->OpenChannel(t->team.id, id);
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", r.team.c_str());
            ImGui::TableNextColumn();
            Level lv = r.staleness < 0                                          ? Level::kNone
                       : r.staleness > us.redFactor * ctx.pollIntervalSeconds   ? Level::kBad
                       : r.staleness > us.amberFactor * ctx.pollIntervalSeconds ? Level::kWarn
                                                                                : Level::kGood;
            LevelMarker(lv, 4.0f);
            ImGui::SameLine();
            ImGui::TextColored(LevelColor(lv), "%s",
                               r.staleness < 0 ? "never" : FormatAge(r.staleness).c_str());
            ImGui::TableNextColumn();
            ImGui::Text("%zu", r.messages);
            ImGui::TableNextColumn();
            if (!r.error.empty()) ImGui::TextColored(colors::kBad, "%s", r.error.c_str());
            ImGui::PopID();
        }
    ImGui::EndTable();
}

}  // namespace cdeck::ui
