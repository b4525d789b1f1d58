#pragma once
// Small drawing helpers shared by views. UI thread only; no state of their own.
#include <imgui.h>

#include <set>
#include <string>

#include "store/store.hpp"
#include "ui/theme.hpp"

namespace cdeck::ui {

// A compact bar sparkline of `n` values in a box of `size`.
void Sparkline(const char* id, const float* values, int n, ImVec2 size, ImVec4 color);

// A filled dot, e.g. for freshness.
void Dot(ImVec4 color, float radius);

// A channel's freshness: good under amber x the expected interval, amber past it, red
// past red x (amber and red come from the settings: 2 and 5 by default); none before the
// first sync.
Level FreshnessLevel(const core::ChannelData& c, core::UnixMillis now, double expectedSeconds,
                     double amber = 2.0, double red = 5.0);

// A level marker that differs by shape as well as colour: a dot (good), a triangle (amber),
// a square (red), a ring (none). Occupies one text line.
void LevelMarker(Level level, float radius);

// Text with highlighted spans (mentions, links, emoji, code), wrapped at `width` and cut
// after `maxLines` lines. Draws straight to the window's draw list; returns the height used.
float RichText(const core::PlainText& text, float width, int maxLines, ImVec4 color);
// The lines RichText would use for `text` at `width` in the current font (at most maxLines).
int RichTextLines(const core::PlainText& text, float width, int maxLines);

// A rounded label, e.g. an attachment's name. Returns true when clicked.
bool Chip(const char* label, ImVec4 color);

// A time chart: each series is `n` values, oldest first, drawn as a line against a shared
// y range [0, yMax]; dashed when `dashed`. Labels go in the legend on top.
struct ChartSeries {
    const float* values = nullptr;
    int n = 0;
    ImVec4 color;
    const char* label = "";
    bool dashed = false;
};
void TimeChart(const char* id, const ChartSeries* series, int count, float yMax, ImVec2 size,
               const char* yUnit);

// A filter box: "all" (empty value) or one of `options`, with the label before it.
// Returns true when the choice changed.
bool FilterCombo(const char* label, std::string& value, const std::set<std::string>& options,
                 float width);

// "12 s", "4 min", "3 h": a compact age.
std::string FormatAge(double seconds);

// Text clipped with an ellipsis to fit `maxWidth`.
void TextClipped(const std::string& text, float maxWidth, ImVec4 color);

// A full-width coloured banner with centred text.
void Banner(const char* text, ImVec4 background, ImFont* font, float height);

}  // namespace cdeck::ui
