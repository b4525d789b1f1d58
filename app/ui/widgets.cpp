#include "ui/widgets.hpp"

#include <algorithm>
#include <cfloat>
#include <cstdio>
#include <vector>

#include <imgui_internal.h>

#include "ui/theme.hpp"

namespace cdeck::ui {

void Sparkline(const char* id, const float* values, int n, ImVec2 size, ImVec4 color) {
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(size);
    if (!ImGui::IsItemVisible() || n <= 0) return;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    float maxV = 1.0f;
    for (int i = 0; i < n; ++i) maxV = std::max(maxV, values[i]);
    float w = size.x / static_cast<float>(n);
    ImU32 col = ImGui::GetColorU32(color);
    ImU32 base = ImGui::GetColorU32(ImVec4(1, 1, 1, 0.06f));
    dl->AddRectFilled(p, ImVec2(p.x + size.x, p.y + size.y), base, 2.0f);
    for (int i = 0; i < n; ++i) {
        if (values[i] <= 0) continue;
        float h = std::max(1.5f, size.y * values[i] / maxV);
        dl->AddRectFilled(ImVec2(p.x + i * w, p.y + size.y - h),
                          ImVec2(p.x + (i + 1) * w - 0.5f, p.y + size.y), col);
    }
    (void)id;
}

void Dot(ImVec4 color, float radius) {
    ImVec2 p = ImGui::GetCursorScreenPos();
    float lh = ImGui::GetTextLineHeight();
    ImGui::Dummy(ImVec2(radius * 2, lh));
    ImGui::GetWindowDrawList()->AddCircleFilled(ImVec2(p.x + radius, p.y + lh * 0.5f), radius,
                                                ImGui::GetColorU32(color));
}

Level FreshnessLevel(const core::ChannelData& c, core::UnixMillis now, double expectedSeconds,
                     double amber, double red) {
    if (c.lastSyncOk == 0) return Level::kNone;
    double age = static_cast<double>(now - c.lastSyncOk) / 1000.0;
    if (age > red * expectedSeconds) return Level::kBad;
    if (age > amber * expectedSeconds) return Level::kWarn;
    return Level::kGood;
}

void LevelMarker(Level level, float r) {
    ImVec2 p = ImGui::GetCursorScreenPos();
    float lh = ImGui::GetTextLineHeight();
    ImGui::Dummy(ImVec2(r * 2, lh));
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImU32 col = ImGui::GetColorU32(LevelColor(level));
    ImVec2 c(p.x + r, p.y + lh * 0.5f);
    switch (level) {
        case Level::kGood:
            dl->AddCircleFilled(c, r, col);
            break;
        case Level::kWarn:
            dl->AddTriangleFilled(ImVec2(c.x, c.y - r * 1.15f), ImVec2(c.x + r * 1.15f, c.y + r),
                                  ImVec2(c.x - r * 1.15f, c.y + r), col);
            break;
        case Level::kBad:
            dl->AddRectFilled(ImVec2(c.x - r, c.y - r), ImVec2(c.x + r, c.y + r), col);
            break;
        case Level::kNone:
            dl->AddCircle(c, r, col, 0, 1.5f);
            break;
    }
}

namespace {
// Lays out (and, with `draw`, draws at `origin`) wrapped rich text; returns the lines used.
// Measuring and drawing share this walk, so a row measured ahead is exactly as tall as the
// text drawn in it.
int LayoutRichText(const core::PlainText& pt, float width, int maxLines, ImVec4 color, bool draw,
                   ImVec2 origin) {
    ImFont* font = ImGui::GetFont();
    float size = ImGui::GetFontSize();
    float lh = ImGui::GetTextLineHeight();
    ImDrawList* dl = draw ? ImGui::GetWindowDrawList() : nullptr;
    const std::string& t = pt.text;
    auto colorAt = [&](size_t i) -> ImU32 {
        for (const auto& sp : pt.spans)
            if (i >= sp.begin && i < sp.end) {
                switch (sp.kind) {
                    case core::TextSpan::Kind::kMention:
                        return ImGui::GetColorU32(colors::kMention);
                    case core::TextSpan::Kind::kLink:
                        return ImGui::GetColorU32(colors::kAccent);
                    case core::TextSpan::Kind::kEmoji:
                        return ImGui::GetColorU32(colors::kWarn);
                    case core::TextSpan::Kind::kCode:
                        return ImGui::GetColorU32(colors::kDim);
                    case core::TextSpan::Kind::kMatch:
                        return ImGui::GetColorU32(colors::kBad);
                }
            }
        return ImGui::GetColorU32(color);
    };
    float x = 0;
    int line = 0;
    size_t i = 0;
    // Walk words (a run of non-space bytes plus its trailing spaces); a word that does not
    // fit goes to the next line, and a word wider than the line is cut by characters.
    while (i < t.size() && line < maxLines) {
        if (t[i] == '\n') {
            x = 0;
            ++line;
            ++i;
            continue;
        }
        size_t end = i;
        while (end < t.size() && t[end] != ' ' && t[end] != '\n') ++end;
        while (end < t.size() && t[end] == ' ') ++end;
        // Split the word where its colour changes, so a mention inside text is its own run.
        float wordW = font->CalcTextSizeA(size, FLT_MAX, 0, t.data() + i, t.data() + end).x;
        if (x > 0 && x + wordW > width) {
            x = 0;
            if (++line >= maxLines) break;
        }
        size_t run = i;
        while (run < end) {
            ImU32 col = colorAt(run);
            size_t runEnd = run + 1;
            while (runEnd < end && colorAt(runEnd) == col) ++runEnd;
            const char* b = t.data() + run;
            const char* e = t.data() + runEnd;
            float w = font->CalcTextSizeA(size, FLT_MAX, 0, b, e).x;
            if (x + w > width && x == 0) {  // longer than a whole line: cut it
                const char* cut = font->CalcWordWrapPositionA(1.0f, b, e, width);
                if (cut == b) cut = b + 1;
                if (draw)
                    dl->AddText(font, size, ImVec2(origin.x, origin.y + line * lh), col, b, cut);
                run = static_cast<size_t>(cut - t.data());
                if (++line >= maxLines) break;
                continue;
            }
            if (draw)
                dl->AddText(font, size, ImVec2(origin.x + x, origin.y + line * lh), col, b, e);
            x += w;
            run = runEnd;
        }
        i = end;
    }
    return std::min(maxLines, line + 1);
}
}  // namespace

int RichTextLines(const core::PlainText& text, float width, int maxLines) {
    return LayoutRichText(text, width, maxLines, ImVec4(), false, ImVec2());
}

float RichText(const core::PlainText& pt, float width, int maxLines, ImVec4 color) {
    int used = LayoutRichText(pt, width, maxLines, color, true, ImGui::GetCursorScreenPos());
    float lh = ImGui::GetTextLineHeight();
    ImGui::Dummy(ImVec2(width, lh * static_cast<float>(used)));
    return lh * static_cast<float>(used);
}

bool Chip(const char* label, ImVec4 color) {
    ImVec2 ts = ImGui::CalcTextSize(label);
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImVec2 size(ts.x + 14, ImGui::GetTextLineHeight() + 2);
    bool clicked = ImGui::InvisibleButton(label, size);
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImVec4 bg = color;
    bg.w = ImGui::IsItemHovered() ? 0.35f : 0.2f;
    dl->AddRectFilled(p, ImVec2(p.x + size.x, p.y + size.y), ImGui::GetColorU32(bg), size.y * 0.5f);
    dl->AddText(ImVec2(p.x + 7, p.y + 1), ImGui::GetColorU32(colors::kText), label);
    return clicked;
}

void TimeChart(const char* id, const ChartSeries* series, int count, float yMax, ImVec2 size,
               const char* yUnit) {
    ImGui::PushID(id);
    ImVec2 p = ImGui::GetCursorScreenPos();
    ImGui::Dummy(size);
    if (ImGui::IsItemVisible()) {
        ImDrawList* dl = ImGui::GetWindowDrawList();
        ImVec2 q(p.x + size.x, p.y + size.y);
        dl->AddRectFilled(p, q, ImGui::GetColorU32(ImVec4(1, 1, 1, 0.03f)), 3.0f);
        yMax = std::max(yMax, 1e-6f);
        char buf[48];
        std::snprintf(buf, sizeof buf, "%.3g %s", yMax, yUnit);
        dl->AddText(ImVec2(p.x + 4, p.y + 2), ImGui::GetColorU32(colors::kDim), buf);
        float legendX = p.x + size.x;
        for (int s = count - 1; s >= 0; --s) {
            float w = ImGui::CalcTextSize(series[s].label).x;
            legendX -= w + 22;
            dl->AddRectFilled(ImVec2(legendX, p.y + 7), ImVec2(legendX + 10, p.y + 10),
                              ImGui::GetColorU32(series[s].color));
            dl->AddText(ImVec2(legendX + 14, p.y + 2), ImGui::GetColorU32(colors::kDim),
                        series[s].label);
        }
        std::vector<ImVec2> pts;
        for (int s = 0; s < count; ++s) {
            const ChartSeries& cs = series[s];
            if (cs.n < 2) continue;
            ImU32 col = ImGui::GetColorU32(cs.color);
            float dx = size.x / static_cast<float>(cs.n - 1);
            auto y = [&](float v) {
                return q.y - std::clamp(v / yMax, 0.0f, 1.0f) * (size.y - 16);
            };
            if (cs.dashed) {
                for (int i = 1; i < cs.n; i += 2)
                    dl->AddLine(ImVec2(p.x + (i - 1) * dx, y(cs.values[i - 1])),
                                ImVec2(p.x + i * dx, y(cs.values[i])), col, 1.5f);
                continue;
            }
            // One polyline per series: far fewer vertices than a segment per point.
            pts.clear();
            for (int i = 0; i < cs.n; ++i) pts.push_back(ImVec2(p.x + i * dx, y(cs.values[i])));
            dl->AddPolyline(pts.data(), cs.n, col, 0, 1.5f);
        }
    }
    ImGui::PopID();
}

bool FilterCombo(const char* label, std::string& value, const std::set<std::string>& options,
                 float width) {
    bool changed = false;
    ImGui::TextDisabled("%s", label);
    ImGui::SameLine();
    ImGui::SetNextItemWidth(width);
    ImGui::PushID(label);
    bool open = ImGui::BeginCombo("##filter", value.empty() ? "all" : value.c_str());
    ImGui::PopID();
    if (!open) return false;
    if (ImGui::Selectable("all", value.empty())) {
        value.clear();
        changed = true;
    }
    for (const auto& o : options)
        if (ImGui::Selectable(o.c_str(), o == value)) {
            value = o;
            changed = true;
        }
    ImGui::EndCombo();
    return changed;
}

std::string FormatAge(double s) {
    char buf[32];
    if (s < 0) s = 0;
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
    else if (s < 86400)
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    else
        std::snprintf(buf, sizeof buf, "%.1f d", s / 86400);
    return buf;
}

void TextClipped(const std::string& text, float maxWidth, ImVec4 color) {
    ImVec2 p = ImGui::GetCursorScreenPos();
    float lh = ImGui::GetTextLineHeight();
    ImGui::Dummy(ImVec2(maxWidth, lh));
    if (!ImGui::IsItemVisible()) return;
    ImGui::PushStyleColor(ImGuiCol_Text, color);
    ImGui::RenderTextEllipsis(ImGui::GetWindowDrawList(), p, ImVec2(p.x + maxWidth, p.y + lh),
                              p.x + maxWidth, p.x + maxWidth, text.c_str(),
                              text.c_str() + text.size(), nullptr);
    ImGui::PopStyleColor();
}

void Banner(const char* text, ImVec4 background, ImFont* font, float height) {
    ImVec2 p = ImGui::GetCursorScreenPos();
    float w = ImGui::GetContentRegionAvail().x;
    ImGui::GetWindowDrawList()->AddRectFilled(p, ImVec2(p.x + w, p.y + height),
                                              ImGui::GetColorU32(background), 4.0f);
    if (font) ImGui::PushFont(font);
    ImVec2 ts = ImGui::CalcTextSize(text);
    ImGui::SetCursorScreenPos(ImVec2(p.x + (w - ts.x) * 0.5f, p.y + (height - ts.y) * 0.5f));
    ImGui::TextUnformatted(text);
    if (font) ImGui::PopFont();
    ImGui::SetCursorScreenPos(ImVec2(p.x, p.y + height + ImGui::GetStyle().ItemSpacing.y));
    ImGui::Dummy(ImVec2(0, 0));
}

}  // namespace cdeck::ui
