#pragma once
// The UI's fonts: Inter (DejaVu where it is missing, ImGui's built-in font last), baked
// into ImGui's atlas. Pure ImGui (no window), so headless tests load the same fonts.
// Threads: the thread that owns the current ImGui context, before its first frame.
#include "ui/ui_context.hpp"

namespace cdeck::ui {

// `scale`: the monitor's DPI scale. `kioskScale`: how much larger than 1080p the screen is
// (at least `scale`); the kiosk wall's fonts are baked at that size so that its type stays
// sharp at 4K. Builds the atlas.
Fonts LoadFonts(float scale, float kioskScale);

}  // namespace cdeck::ui
