#include "ui/theme.hpp"

namespace cdeck::ui {

ImVec4 LevelColor(Level level) {
    switch (level) {
        case Level::kGood:
            return colors::kGood;
        case Level::kWarn:
            return colors::kWarn;
        case Level::kBad:
            return colors::kBad;
        case Level::kNone:
            break;
    }
    return colors::kDim;
}

void ApplyTheme(const ThemeOptions& o) {
    const bool contrast = o.theme == "high_contrast";
    colors::kText = contrast ? ImVec4(1, 1, 1, 1) : ImVec4(0.90f, 0.92f, 0.95f, 1.0f);
    colors::kDim = contrast ? ImVec4(0.80f, 0.82f, 0.86f, 1) : ImVec4(0.58f, 0.62f, 0.68f, 1.0f);
    colors::kCard = contrast ? ImVec4(0.02f, 0.02f, 0.03f, 1) : ImVec4(0.12f, 0.13f, 0.16f, 1.0f);
    colors::kBackground = contrast ? ImVec4(0, 0, 0, 1) : ImVec4(0.07f, 0.08f, 0.10f, 1.0f);
    colors::kHeatLow = contrast ? ImVec4(0.10f, 0.10f, 0.14f, 1) : ImVec4(0.12f, 0.16f, 0.24f, 1);
    if (o.palette == "colorblind") {
        // Okabe-Ito: bluish green, orange and vermilion stay distinct under the common
        // colour-vision deficiencies; the accent is sky blue, the heat ramps to yellow.
        colors::kGood = ImVec4(0.00f, 0.62f, 0.45f, 1);
        colors::kWarn = ImVec4(0.90f, 0.62f, 0.00f, 1);
        colors::kBad = ImVec4(0.84f, 0.37f, 0.00f, 1);
        colors::kAccent = ImVec4(0.34f, 0.71f, 0.91f, 1);
        colors::kMention = ImVec4(0.80f, 0.47f, 0.65f, 1);
        colors::kHeatHigh = ImVec4(0.94f, 0.89f, 0.26f, 1);
    } else {
        colors::kGood = ImVec4(0.30f, 0.78f, 0.47f, 1);
        colors::kWarn = ImVec4(0.98f, 0.72f, 0.20f, 1);
        colors::kBad = ImVec4(0.94f, 0.33f, 0.31f, 1);
        colors::kAccent = ImVec4(0.36f, 0.62f, 0.98f, 1);
        colors::kMention = ImVec4(0.55f, 0.75f, 1.0f, 1);
        colors::kHeatHigh = ImVec4(0.36f, 0.62f, 0.98f, 1);
    }
    if (contrast) {
        colors::kGood.w = colors::kWarn.w = colors::kBad.w = 1;
        colors::kAccent = o.palette == "colorblind" ? colors::kAccent : ImVec4(0.45f, 0.75f, 1, 1);
    }

    ImGuiStyle& s = ImGui::GetStyle();
    s = ImGuiStyle();
    ImGui::StyleColorsDark(&s);
    s.WindowRounding = 0.0f;
    s.ChildRounding = 6.0f;
    s.FrameRounding = 4.0f;
    s.GrabRounding = 4.0f;
    s.WindowBorderSize = 0.0f;
    s.ChildBorderSize = 1.0f;
    s.FrameBorderSize = contrast ? 1.0f : 0.0f;
    s.ItemSpacing = ImVec2(8, 5);
    s.WindowPadding = ImVec2(10, 8);
    ImVec4* c = s.Colors;
    c[ImGuiCol_WindowBg] = colors::kBackground;
    c[ImGuiCol_PopupBg] =
        contrast ? ImVec4(0.05f, 0.05f, 0.06f, 1) : ImVec4(0.10f, 0.11f, 0.14f, 0.98f);
    c[ImGuiCol_ChildBg] = colors::kCard;
    c[ImGuiCol_Border] = contrast ? ImVec4(0.85f, 0.85f, 0.85f, 1) : ImVec4(0.22f, 0.24f, 0.28f, 1);
    c[ImGuiCol_Text] = colors::kText;
    c[ImGuiCol_TextDisabled] = colors::kDim;
    c[ImGuiCol_Header] = ImVec4(0.20f, 0.30f, 0.45f, contrast ? 1.0f : 0.55f);
    c[ImGuiCol_HeaderHovered] = ImVec4(0.24f, 0.36f, 0.55f, contrast ? 1.0f : 0.70f);
    c[ImGuiCol_HeaderActive] = ImVec4(0.26f, 0.42f, 0.65f, contrast ? 1.0f : 0.85f);
    c[ImGuiCol_PlotHistogram] = colors::kAccent;
    c[ImGuiCol_PlotLines] = colors::kAccent;
    s.ScaleAllSizes(o.scale);
}

}  // namespace cdeck::ui
