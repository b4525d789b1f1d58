#pragma once
// Measures the text ImGui is about to draw, from its draw data alone: every glyph quad is
// matched to its glyph in the font atlas, and its height on screen against the glyph's
// baked height gives the size it is drawn at. Independent of the code that drew it, so
// the kiosk wall's size promise is checked, not restated. Threads: the thread that owns
// the ImGui context, after ImGui::Render().
#include <cstddef>

struct ImDrawData;

namespace cdeck::ui {

struct TextSizes {
    size_t glyphs = 0;  // glyph quads found
    float minPx = 0;    // the smallest size any was drawn at (0: none)
    float maxPx = 0;
};

// Glyphs from every font in the current context's atlas; only quads wholly inside
// [minY, maxY) on screen count (pass the whole screen for everything).
TextSizes MeasureDrawnText(const ImDrawData* data, float minY = -1e9f, float maxY = 1e9f);

}  // namespace cdeck::ui
