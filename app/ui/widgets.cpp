#include "ui/widgets.hpp"

#include <algorithm>

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

ImVec4 FreshnessColor(const core::ChannelData& c, core::UnixMillis now, double expectedSeconds) {
    if (c.lastSyncOk == 0) return colors::kDim;
    double age = static_cast<double>(now - c.lastSyncOk) / 1000.0;
    if (age > 5 * expectedSeconds) return colors::kBad;
    if (age > 2 * expectedSeconds) return colors::kWarn;
    return colors::kGood;
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
