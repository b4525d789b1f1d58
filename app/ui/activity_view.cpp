#include "ui/activity_view.hpp"

#include <algorithm>
#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

void ActivityView::Rebuild(const core::Snapshot& s) {
    m_active.clear();
    m_heat.clear();
    m_heatMax = 1;
    for (const auto& t : s.teams) {
        HeatRow row{t->team.id, t->team.displayName, {}};
        for (const auto& id : t->channelIds) {
            const core::ChannelData* c = s.FindChannel(id);
            if (!c) continue;
            if (c->activity)
                for (int h = 0; h < 24; ++h) row.hours[h] += c->activity->hourOfDay[h];
            if (c->last15Min > 0)
                m_active.push_back({t->team.id, id, t->team.displayName, c->channel.displayName,
                                    c->last15Min, c->rateEwma, c->lastActivity});
        }
        for (uint32_t v : row.hours) m_heatMax = std::max(m_heatMax, v);
        m_heat.push_back(std::move(row));
    }
    std::sort(m_active.begin(), m_active.end(), [](const Active& a, const Active& b) {
        if (a.last15 != b.last15) return a.last15 > b.last15;
        if (a.lastActivity != b.lastActivity) return a.lastActivity > b.lastActivity;
        return a.channelId < b.channelId;
    });
    if (m_active.size() > kMostActiveRows) m_active.resize(kMostActiveRows);
}

void ActivityView::DrawContent(const UiContext& ctx) {
    if (ctx.snapshot->version != m_version) {
        Rebuild(*ctx.snapshot);
        m_version = ctx.snapshot->version;
    }
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("Most active now");
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    ImGui::TextDisabled("(messages and replies in the last 15 minutes)");
    DrawMostActive(ctx);
    ImGui::Spacing();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("Team \xC3\x97 hour of day");
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    ImGui::TextDisabled("(UTC, all cached history)");
    DrawHeatmap(ctx, ImGui::GetContentRegionAvail().y);
}

void ActivityView::DrawMostActive(const UiContext& ctx) {
    ImGuiTableFlags flags =
        ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_SizingStretchProp;
    if (m_active.empty()) {
        ImGui::TextDisabled("Nothing in the last 15 minutes.");
        return;
    }
    if (!ImGui::BeginTable("most-active", 5, flags)) return;
    ImGui::TableSetupColumn("Channel", ImGuiTableColumnFlags_WidthStretch, 3.0f);
    ImGui::TableSetupColumn("Team", ImGuiTableColumnFlags_WidthStretch, 2.2f);
    ImGui::TableSetupColumn("15 min", ImGuiTableColumnFlags_WidthStretch, 0.9f);
    ImGui::TableSetupColumn("per min", ImGuiTableColumnFlags_WidthStretch, 0.9f);
    ImGui::TableSetupColumn("last", ImGuiTableColumnFlags_WidthStretch, 1.4f);
    ImGui::TableHeadersRow();
    int top = m_active.front().last15;
    for (const auto& a : m_active) {
        ImGui::PushID(a.channelId.c_str());
        ImGui::TableNextRow();
        ImGui::TableNextColumn();
        std::string label = "# " + a.channel;
        if (ImGui::Selectable(label.c_str(), false, ImGuiSelectableFlags_SpanAllColumns) &&
            ctx.selection)
            ctx.selection->OpenChannel(a.teamId, a.channelId);
        ImGui::TableNextColumn();
        ImGui::TextDisabled("%s", a.team.c_str());
        ImGui::TableNextColumn();
        // A bar behind the count makes the ranking readable across a room.
        ImVec2 p = ImGui::GetCursorScreenPos();
        float w = ImGui::GetContentRegionAvail().x;
        ImGui::GetWindowDrawList()->AddRectFilled(
            p, ImVec2(p.x + w * a.last15 / std::max(1, top), p.y + ImGui::GetTextLineHeight()),
            ImGui::GetColorU32(
                ImVec4(colors::kAccent.x, colors::kAccent.y, colors::kAccent.z, 0.25f)));
        ImGui::Text("%d", a.last15);
        ImGui::TableNextColumn();
        ImGui::Text("%.1f", a.perMinute);
        ImGui::TableNextColumn();
        ImGui::TextDisabled("%s", core::FormatAgo(a.lastActivity, ctx.now).c_str());
        ImGui::PopID();
    }
    ImGui::EndTable();
}

void ActivityView::DrawHeatmap(const UiContext& ctx, float height) {
    if (m_heat.empty()) return;
    float avail = ImGui::GetContentRegionAvail().x;
    float labelW = std::min(220.0f, avail * 0.3f);
    float lh = ImGui::GetTextLineHeight();
    float cellW = std::max(6.0f, (avail - labelW - 8) / 24.0f);
    float cellH =
        std::clamp((height - lh * 2) / static_cast<float>(m_heat.size()), lh * 0.8f, lh * 2.2f);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImVec2 origin = ImGui::GetCursorScreenPos();
    int nowHour = static_cast<int>((ctx.now / 3600000) % 24);
    for (int h = 0; h < 24; h += 3) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%02d", h);
        dl->AddText(ImVec2(origin.x + labelW + h * cellW, origin.y),
                    ImGui::GetColorU32(colors::kDim), buf);
    }
    float y0 = origin.y + lh + 4;
    for (size_t r = 0; r < m_heat.size(); ++r) {
        const HeatRow& row = m_heat[r];
        float y = y0 + r * cellH;
        ImGui::SetCursorScreenPos(ImVec2(origin.x, y + (cellH - lh) * 0.5f));
        TextClipped(row.team, labelW - 8, colors::kText);
        for (int h = 0; h < 24; ++h) {
            float t = static_cast<float>(row.hours[h]) / static_cast<float>(m_heatMax);
            ImVec4 c(colors::kHeatLow.x + (colors::kHeatHigh.x - colors::kHeatLow.x) * t,
                     colors::kHeatLow.y + (colors::kHeatHigh.y - colors::kHeatLow.y) * t,
                     colors::kHeatLow.z + (colors::kHeatHigh.z - colors::kHeatLow.z) * t, 1.0f);
            ImVec2 a(origin.x + labelW + h * cellW + 1, y + 1);
            ImVec2 b(a.x + cellW - 2, a.y + cellH - 2);
            dl->AddRectFilled(a, b, ImGui::GetColorU32(c), 2.0f);
            if (h == nowHour) dl->AddRect(a, b, ImGui::GetColorU32(colors::kText), 2.0f);
            if (ImGui::IsMouseHoveringRect(a, b))
                ImGui::SetTooltip("%s\n%02d:00\xE2\x80\x93%02d:00 UTC: %u messages",
                                  row.team.c_str(), h, (h + 1) % 24, row.hours[h]);
        }
    }
    ImGui::SetCursorScreenPos(ImVec2(origin.x, y0 + m_heat.size() * cellH + 4));
    ImGui::TextDisabled("outlined: the current hour  \xC2\xB7  darkest 0, brightest %u", m_heatMax);
}

}  // namespace cdeck::ui
