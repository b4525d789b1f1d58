#include "ui/audit_view.hpp"

#include <set>

#include "moderation/export.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

void AuditView::Export(const UiContext& ctx, bool csv) {
    if (!m_write) return;
    std::string content = csv ? core::AuditToCsv(m_shown) : core::AuditToJson(m_shown);
    m_status = "Exporting\xE2\x80\xA6";
    auto post = ctx.post;
    m_write(csv ? "audit.csv" : "audit.json", std::move(content), [this, post](std::string result) {
        auto show = [this, result] {
            m_status = result.rfind("error", 0) == 0 ? result : "Exported to " + result;
        };
        post ? post(show) : show();
    });
}

void AuditView::DrawContent(const UiContext& ctx) {
    const core::ReviewStatePtr& s = ctx.snapshot->review;
    if (!s) {
        ImGui::TextDisabled("Moderation is not running (no rule pack).");
        return;
    }
    if (s != m_actionsFrom) {  // the action filter's choices, when the log changes
        m_actionsFrom = s;
        m_actions.clear();
        for (const auto& r : s->audit) m_actions.insert(r.action);
    }
    if (FilterCombo("action", m_action, m_actions, 200)) m_dirty = true;
    ImGui::SameLine();
    ImGui::SetNextItemWidth(300);
    if (ImGui::InputTextWithHint("##text", "message, channel, rule, request-id\xE2\x80\xA6", m_text,
                                 sizeof m_text))
        m_dirty = true;
    if (m_dirty || s != m_from) {
        m_from = s;
        m_dirty = false;
        m_shown.clear();
        std::string needle = m_text;
        for (const auto& r : s->audit) {
            if (!m_action.empty() && r.action != m_action) continue;
            if (!needle.empty()) {
                std::string hay = r.messageId + " " + r.channelId + " " + r.rule + " " +
                                  r.requestId + " " + r.result + " " + r.detail + " " + r.actor;
                if (hay.find(needle) == std::string::npos) continue;
            }
            m_shown.push_back(r);
        }
    }
    ImGui::SameLine();
    ImGui::BeginDisabled(!m_write || m_shown.empty());
    if (ImGui::Button("Export CSV")) Export(ctx, true);
    ImGui::SameLine();
    if (ImGui::Button("Export JSON")) Export(ctx, false);
    ImGui::EndDisabled();
    if (!m_status.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(m_status.rfind("error", 0) == 0 ? colors::kBad : colors::kDim, "%s",
                           m_status.c_str());
    }
    ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH |
                            ImGuiTableFlags_ScrollY | ImGuiTableFlags_SizingStretchProp |
                            ImGuiTableFlags_Resizable;
    if (!ImGui::BeginTable("audit", 8, flags)) return;
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const char* h :
         {"when", "who", "action", "channel", "message", "rule", "result", "request-id"})
        ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(m_shown.size()));
    while (clipper.Step())
        for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i) {
            const core::AuditRow& r = m_shown[static_cast<size_t>(i)];
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(core::FormatAgo(r.at, ctx.now).c_str());
            if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", core::FormatIso8601(r.at).c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(r.actor.c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(r.action.c_str());
            ImGui::TableNextColumn();
            const core::ChannelData* c = ctx.snapshot->FindChannel(r.channelId);
            ImGui::TextUnformatted(c ? ("# " + c->channel.displayName).c_str()
                                     : r.channelId.c_str());
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", r.messageId.c_str());
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(r.rule.c_str());
            ImGui::TableNextColumn();
            ImGui::TextColored(r.result.rfind("failed", 0) == 0 ? colors::kBad : colors::kText,
                               "%s", r.result.c_str());
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", r.requestId.c_str());
        }
    ImGui::EndTable();
}

}  // namespace cdeck::ui
