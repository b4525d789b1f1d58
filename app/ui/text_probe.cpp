#include "ui/text_probe.hpp"

#include <imgui.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <unordered_map>

namespace cdeck::ui {
namespace {

uint64_t Key(float u, float v) {
    uint32_t a, b;
    std::memcpy(&a, &u, 4);
    std::memcpy(&b, &v, 4);
    return (static_cast<uint64_t>(a) << 32) | b;
}

struct GlyphInfo {
    float u1, v1;  // the opposite corner, to confirm the quad
    float pxPerH;  // the font's size per unit of baked glyph height
    float bakedH;  // the glyph's height in baked pixels
};

}  // namespace

TextSizes MeasureDrawnText(const ImDrawData* data, float minY, float maxY) {
    TextSizes out;
    if (!data) return out;
    std::unordered_map<uint64_t, GlyphInfo> glyphs;
    for (const ImFont* font : ImGui::GetIO().Fonts->Fonts)
        for (const ImFontGlyph& g : font->Glyphs) {
            if (!g.Visible || g.Y1 - g.Y0 < 1.0f) continue;
            glyphs.emplace(Key(g.U0, g.V0), GlyphInfo{g.U1, g.V1, font->FontSize, g.Y1 - g.Y0});
        }
    for (int l = 0; l < data->CmdListsCount; ++l) {
        const ImDrawList* list = data->CmdLists[l];
        const ImDrawVert* v = list->VtxBuffer.Data;
        const int n = list->VtxBuffer.Size;
        // ImGui writes a glyph as four vertices: top-left, top-right, bottom-right,
        // bottom-left, with the glyph's UV rectangle.
        for (int i = 0; i + 3 < n; ++i) {
            auto it = glyphs.find(Key(v[i].uv.x, v[i].uv.y));
            if (it == glyphs.end()) continue;
            const GlyphInfo& g = it->second;
            if (v[i + 2].uv.x != g.u1 || v[i + 2].uv.y != g.v1) continue;
            if (v[i].pos.y < minY || v[i + 2].pos.y > maxY) continue;
            const float px = (v[i + 2].pos.y - v[i].pos.y) / g.bakedH * g.pxPerH;
            out.minPx = out.glyphs ? std::min(out.minPx, px) : px;
            out.maxPx = std::max(out.maxPx, px);
            ++out.glyphs;
            i += 3;
        }
    }
    return out;
}

}  // namespace cdeck::ui
