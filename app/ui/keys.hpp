#pragma once
// Key indices for io.KeysDown[] with ImGui 1.86, which has no named keys for letters or
// function keys. They are GLFW's key codes (letters and digits are their ASCII capitals);
// platform/window.cpp static_asserts that they match, so app/ui never includes GLFW.
// Headless tests press them by setting io.KeysDown[k].
// Threads: constants only; any thread.
namespace cdeck::ui::keys {
inline constexpr int kA = 'A';
inline constexpr int kF = 'F';
inline constexpr int kK = 'K';
inline constexpr int kP = 'P';
inline constexpr int kR = 'R';
inline constexpr int kDigit1 = '1';  // '1' .. '9' follow
inline constexpr int kSlash = 47;    // '/' (with Shift: '?')
inline constexpr int kF1 = 290;
inline constexpr int kF5 = 294;
inline constexpr int kF9 = 298;
inline constexpr int kF11 = 300;
}  // namespace cdeck::ui::keys
