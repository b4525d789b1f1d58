#include "ui/theme.hpp"

namespace cdeck::ui {

void ApplyDarkTheme(float scale) {
    ImGui::StyleColorsDark();
    ImGuiStyle& s = ImGui::GetStyle();
    s.WindowRounding = 0.0f;
    s.ChildRounding = 6.0f;
    s.FrameRounding = 4.0f;
    s.GrabRounding = 4.0f;
    s.WindowBorderSize = 0.0f;
    s.ChildBorderSize = 1.0f;
    s.ItemSpacing = ImVec2(8, 5);
    s.WindowPadding = ImVec2(10, 8);
    ImVec4* c = s.Colors;
    c[ImGuiCol_WindowBg] = colors::kBackground;
    c[ImGuiCol_ChildBg] = colors::kCard;
    c[ImGuiCol_Border] = ImVec4(0.22f, 0.24f, 0.28f, 1.0f);
    c[ImGuiCol_Text] = colors::kText;
    c[ImGuiCol_TextDisabled] = colors::kDim;
    c[ImGuiCol_Header] = ImVec4(0.20f, 0.30f, 0.45f, 0.55f);
    c[ImGuiCol_HeaderHovered] = ImVec4(0.24f, 0.36f, 0.55f, 0.70f);
    c[ImGuiCol_HeaderActive] = ImVec4(0.26f, 0.42f, 0.65f, 0.85f);
    c[ImGuiCol_PlotHistogram] = colors::kAccent;
    s.ScaleAllSizes(scale);
}

}  // namespace cdeck::ui
