#include "ui/fonts.hpp"

#include <imgui.h>
#ifdef CDECK_HAVE_FREETYPE
#include <imgui_freetype.h>
#endif

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "platform/os.hpp"
#include "util/log.hpp"

namespace cdeck::ui {
namespace {

// The fonts shipped next to the executable (the Windows archive's fonts folder) first, then
// the system's font folders. Names are relative to a font folder; the first found wins.
std::string FindFont(std::initializer_list<const char*> names) {
    static const std::vector<std::string> dirs = [] {
        std::vector<std::string> d;
        if (std::string exe = core::os::ExecutableDir(); !exe.empty()) d.push_back(exe + "/fonts");
        for (std::string& s : core::os::SystemFontDirs()) d.push_back(std::move(s));
        return d;
    }();
    for (const char* name : names)
        for (const std::string& dir : dirs) {
            std::error_code ec;
            std::filesystem::path p = core::os::PathFromUtf8(dir) / core::os::PathFromUtf8(name);
            if (std::filesystem::exists(p, ec)) return core::os::PathToUtf8(p);
            // Bundled fonts sit flat in the fonts folder.
            p = core::os::PathFromUtf8(dir) / core::os::PathFromUtf8(name).filename();
            if (std::filesystem::exists(p, ec)) return core::os::PathToUtf8(p);
        }
    return "";
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
    const std::string regular = FindFont(
        {"opentype/inter/Inter-Regular.otf", "truetype/dejavu/DejaVuSans.ttf", "segoeui.ttf"});
    const std::string bold = FindFont({"opentype/inter/Inter-SemiBold.otf",
                                       "truetype/dejavu/DejaVuSans-Bold.ttf", "segoeuib.ttf"});
    const std::string symbols = FindFont({"truetype/dejavu/DejaVuSans.ttf", "seguisym.ttf"});
    core::Log(core::LogLevel::kInfo, "ui",
              "fonts: " + (regular.empty() ? std::string("ImGui's built-in font") : regular) +
                  (bold.empty() ? "" : ", " + bold));
    auto add = [&](const std::string& path, float px, const ImWchar* ranges) -> ImFont* {
        if (path.empty()) return nullptr;
        ImFontConfig cfg;
        cfg.OversampleH = px < 40 ? 2 : 1;
        ImFont* f = io.Fonts->AddFontFromFileTTF(path.c_str(), px, &cfg, ranges);
        if (f && !symbols.empty() && symbols != path) {
            ImFontConfig merge;
            merge.MergeMode = true;  // glyphs Inter lacks (arrows, dingbats) come from DejaVu
            io.Fonts->AddFontFromFileTTF(symbols.c_str(), px, &merge, ranges);
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
