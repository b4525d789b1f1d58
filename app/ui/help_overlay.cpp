#include "ui/help_overlay.hpp"

#include "ui/theme.hpp"

namespace cdeck::ui {

void HelpOverlay::Draw(const UiContext& ctx) {
    if (!m_open) return;
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(
        ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.5f, vp->WorkPos.y + vp->WorkSize.y * 0.5f),
        ImGuiCond_Always, ImVec2(0.5f, 0.5f));
    ImGui::SetNextWindowBgAlpha(0.96f);
    ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
                             ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoMove;
    if (ImGui::Begin("Keyboard shortcuts###help", nullptr, flags)) {
        if (ctx.fonts.large) ImGui::PushFont(ctx.fonts.large);
        ImGui::TextUnformatted("Keyboard shortcuts");
        if (ctx.fonts.large) ImGui::PopFont();
        ImGui::Separator();
        static const char* const kRows[][2] = {
            {"Ctrl+K", "Quick switcher: find a channel or team by name"},
            {"Ctrl+F", "Filter the channel list"},
            {"Ctrl+Down / Ctrl+Up", "Next / previous channel in the list"},
            {"Ctrl+1 .. Ctrl+8",
             "Wall, Activity, Reader, Metrics, Account, Settings, Review, Audit"},
            {"j / k (review)", "Next / previous item; x selects, space expands"},
            {"r t d u e n (review)", "Resolve, tag, delete, undo, escalate, reply with a notice"},
            {"Ctrl+R or F5", "Refresh the open channel now"},
            {"F11", "Kiosk mode on / off (full screen, chrome hidden, pages rotate)"},
            {"Space (kiosk)", "Pause / resume the page rotation"},
            {"Left / Right (kiosk)", "Previous / next page"},
            {"Escape", "Close this, the switcher or a popup; leave the reader"},
            {"? or F1", "This list"},
        };
        if (ImGui::BeginTable("keys", 2, ImGuiTableFlags_SizingFixedFit | ImGuiTableFlags_RowBg)) {
            for (const auto& r : kRows) {
                ImGui::TableNextRow();
                ImGui::TableNextColumn();
                ImGui::TextColored(colors::kAccent, "%s", r[0]);
                ImGui::TableNextColumn();
                ImGui::TextUnformatted(r[1]);
            }
            ImGui::EndTable();
        }
        ImGui::TextDisabled("Right-click a wall row to refresh, pin or pause a channel.");
    }
    ImGui::End();
}

}  // namespace cdeck::ui
