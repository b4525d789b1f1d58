#include "ui/fonts.hpp"

#include <imgui.h>
#ifdef CDECK_HAVE_FREETYPE
#include <imgui_freetype.h>
#endif

#include <algorithm>
#include <filesystem>
#include <initializer_list>

namespace cdeck::ui {
namespace {

const char* FirstExisting(std::initializer_list<const char*> paths) {
    for (const char* p : paths) {
        std::error_code ec;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return nullptr;
}

}  // namespace

Fonts LoadFonts(float scale, float kioskScale) {
    ImGuiIO& io = ImGui::GetIO();
    Fonts fonts;
#ifdef CDECK_HAVE_FREETYPE
    io.Fonts->FontBuilderIO = ImGuiFreeType::GetBuilderForFreeType();
#endif
    static const ImWchar kRanges[] = {0x0020, 0x00FF, 0x0100, 0x017F, 0x2000,
                                      0x206F, 0x20A0, 0x20CF, 0x2190, 0x21FF,
                                      0x2500, 0x25FF, 0x2600, 0x26FF, 0};
    // The kiosk's display font needs digits, letters and a few marks only.
    static const ImWchar kDisplayRanges[] = {0x0020, 0x00FF, 0x2000, 0x206F, 0};
    const char* regular = FirstExisting({"/usr/share/fonts/opentype/inter/Inter-Regular.otf",
                                         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"});
    const char* bold = FirstExisting({"/usr/share/fonts/opentype/inter/Inter-SemiBold.otf",
                                      "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"});
    const char* symbols = FirstExisting({"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"});
    auto add = [&](const char* path, float px, const ImWchar* ranges) -> ImFont* {
        if (!path) return nullptr;
        ImFontConfig cfg;
        cfg.OversampleH = px < 40 ? 2 : 1;
        ImFont* f = io.Fonts->AddFontFromFileTTF(path, px, &cfg, ranges);
        if (f && symbols && symbols != path) {
            ImFontConfig merge;
            merge.MergeMode = true;  // glyphs Inter lacks (arrows, dingbats) come from DejaVu
            io.Fonts->AddFontFromFileTTF(symbols, px, &merge, ranges);
        }
        return f;
    };
    const float k = std::max(scale, kioskScale);
    fonts.regular = add(regular, 17.0f * scale, kRanges);
    fonts.bold = add(bold, 17.0f * scale, kRanges);
    fonts.large = add(bold, 26.0f * scale, kRanges);
    fonts.small = add(regular, 14.0f * scale, kRanges);
    fonts.kiosk = add(regular, kKioskMinPx * k, kRanges);
    fonts.kioskBold = add(bold, kKioskMinPx * k, kRanges);
    fonts.display = add(bold, 72.0f * k, kDisplayRanges);
    if (!fonts.regular) {
        io.Fonts->Clear();
        io.Fonts->AddFontDefault();
        fonts = Fonts{};
    }
    io.Fonts->Build();
    return fonts;
}

}  // namespace cdeck::ui
