#pragma once
// Colours and style. One place, so thresholds are coloured the same in every view.
#include <imgui.h>

namespace cdeck::ui {

namespace colors {
inline const ImVec4 kText{0.90f, 0.92f, 0.95f, 1.0f};
inline const ImVec4 kDim{0.58f, 0.62f, 0.68f, 1.0f};
inline const ImVec4 kAccent{0.36f, 0.62f, 0.98f, 1.0f};
inline const ImVec4 kGood{0.30f, 0.78f, 0.47f, 1.0f};
inline const ImVec4 kWarn{0.98f, 0.72f, 0.20f, 1.0f};  // amber
inline const ImVec4 kBad{0.94f, 0.33f, 0.31f, 1.0f};
inline const ImVec4 kDemo{0.47f, 0.30f, 0.75f, 1.0f};
inline const ImVec4 kCard{0.12f, 0.13f, 0.16f, 1.0f};
inline const ImVec4 kBackground{0.07f, 0.08f, 0.10f, 1.0f};
inline const ImVec4 kMention{0.55f, 0.75f, 1.0f, 1.0f};
}  // namespace colors

// Applies the dark theme to the current ImGui context.
void ApplyDarkTheme(float scale = 1.0f);

}  // namespace cdeck::ui
