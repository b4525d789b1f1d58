#pragma once
// Small drawing helpers shared by views. UI thread only; no state of their own.
#include <imgui.h>

#include <string>

#include "store/store.hpp"

namespace cdeck::ui {

// A compact bar sparkline of `n` values in a box of `size`.
void Sparkline(const char* id, const float* values, int n, ImVec2 size, ImVec4 color);

// A filled dot, e.g. for freshness.
void Dot(ImVec4 color, float radius);

// Colour for a channel's freshness: good under 2x the expected interval, amber past 2x,
// red past 5x (or when it has never synced).
ImVec4 FreshnessColor(const core::ChannelData& c, core::UnixMillis now, double expectedSeconds);

// Text clipped with an ellipsis to fit `maxWidth`.
void TextClipped(const std::string& text, float maxWidth, ImVec4 color);

// A full-width coloured banner with centred text.
void Banner(const char* text, ImVec4 background, ImFont* font, float height);

}  // namespace cdeck::ui
