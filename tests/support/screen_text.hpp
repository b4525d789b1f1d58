#pragma once
// Everything ImGui draws as text in one frame of the real UI, through ImGui's
// log-to-clipboard hook. For headless UI tests and the fault matrix. Threads: the thread
// that owns the current ImGui context, between frames.
#include <imgui.h>

#include <string>

#include "ui/app_ui.hpp"

namespace cdeck::test {

inline std::string ScreenText(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now) {
    static std::string captured;
    ImGuiIO& io = ImGui::GetIO();
    io.SetClipboardTextFn = [](void*, const char* text) { captured = text; };
    captured.clear();
    ImGui::NewFrame();
    ImGui::LogToClipboard();
    app.Frame(snap, now);
    ImGui::LogFinish();
    ImGui::Render();
    return captured;
}

}  // namespace cdeck::test
