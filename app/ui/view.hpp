#pragma once
// Base class of every view (ImHex style): the base owns the Begin/End pair so a view can
// never leave a window open, and each view keeps its own state in members, never in
// function-local statics. Views live on the UI thread only.
#include <imgui.h>

#include "ui/ui_context.hpp"

namespace cdeck::ui {

class View {
  public:
    virtual ~View() = default;
    // Stable ImGui window name ("Title###id" so the title may change).
    virtual const char* WindowName() const = 0;
    // Draws the view as a child region of the given size inside the host window.
    void DrawChild(const UiContext& ctx, ImVec2 size) {
        ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0, 0, 0, 0));
        if (ImGui::BeginChild(WindowName(), size, false, ChildFlags())) DrawContent(ctx);
        ImGui::EndChild();
        ImGui::PopStyleColor();
    }

  protected:
    virtual void DrawContent(const UiContext& ctx) = 0;
    virtual ImGuiWindowFlags ChildFlags() const { return 0; }
};

}  // namespace cdeck::ui
