#pragma once
// Colours and style. One place, so thresholds are coloured the same in every view.
//
// The colours are the current theme's: ApplyTheme() rewrites them (and ImGui's style)
// when the user changes theme or palette. UI thread only, like the ImGui style itself.
#include <imgui.h>

#include <string>

namespace cdeck::ui {

namespace colors {
inline ImVec4 kText{0.90f, 0.92f, 0.95f, 1.0f};
inline ImVec4 kDim{0.58f, 0.62f, 0.68f, 1.0f};
inline ImVec4 kAccent{0.36f, 0.62f, 0.98f, 1.0f};
// The three threshold levels. Every "good / amber / red" in the app uses exactly these.
inline ImVec4 kGood{0.30f, 0.78f, 0.47f, 1.0f};
inline ImVec4 kWarn{0.98f, 0.72f, 0.20f, 1.0f};  // amber
inline ImVec4 kBad{0.94f, 0.33f, 0.31f, 1.0f};
inline ImVec4 kDemo{0.47f, 0.30f, 0.75f, 1.0f};
inline ImVec4 kCard{0.12f, 0.13f, 0.16f, 1.0f};
inline ImVec4 kBackground{0.07f, 0.08f, 0.10f, 1.0f};
inline ImVec4 kMention{0.55f, 0.75f, 1.0f, 1.0f};
inline ImVec4 kHeatLow{0.12f, 0.16f, 0.24f, 1.0f};   // heatmap: no activity
inline ImVec4 kHeatHigh{0.36f, 0.62f, 0.98f, 1.0f};  // heatmap: the busiest cell
}  // namespace colors

// A threshold level. Levels are also told apart by shape (LevelMarker), never by colour alone.
enum class Level { kNone, kGood, kWarn, kBad };
ImVec4 LevelColor(Level level);

struct ThemeOptions {
    std::string theme = "dark";        // dark | high_contrast
    std::string palette = "standard";  // standard | colorblind
    float scale = 1.0f;                // DPI scale; sizes are multiplied by it
};

// Applies the theme to the current ImGui context (style sizes from a fresh default, so
// calling it again does not compound the scale).
void ApplyTheme(const ThemeOptions& options);
inline void ApplyDarkTheme(float scale = 1.0f) {
    ApplyTheme({"dark", "standard", scale});
}

}  // namespace cdeck::ui
