#pragma once
// The GLFW window, the GL 3.3 core context and the ImGui platform/renderer backends.
// Main thread only (GLFW requires it). The wake function is the one thing other threads
// may call: it posts an empty event so that a waiting frame loop renders again.
#include <cstdint>
#include <string>

#include "ui/ui_context.hpp"

struct GLFWwindow;

namespace cdeck::platform {

struct WindowOptions {
    int width = 1600;
    int height = 900;
    bool fullscreen = false;
    bool visible = true;
    std::string title = "ChannelDeck";
};

class Window {
  public:
    Window() = default;
    ~Window();
    Window(const Window&) = delete;
    Window& operator=(const Window&) = delete;

    // Returns an empty string on success, else a one-line reason.
    std::string Open(const WindowOptions& options);

    bool ShouldClose() const;
    bool Focused() const;
    // Blocks for input or a wake, at most `seconds`.
    void WaitEvents(double seconds);
    void PollEvents();
    void BeginFrame();
    // Renders ImGui's draw data into the back buffer; returns false (and draws nothing)
    // when it is identical to the frame last drawn, unless `force`.
    bool EndFrame(bool force = false);
    void Present();  // swaps buffers
    // Seconds since the last mouse, key or focus event.
    double SecondsSinceInput() const;
    // True once after the window was exposed or resized (it must be redrawn).
    bool TakeMustDraw();
    void FramebufferSize(int& w, int& h) const;
    float ContentScale() const;

    // Thread-safe: wakes the main loop.
    static void Wake();

  private:
    GLFWwindow* m_window = nullptr;
    bool m_imguiReady = false;
    double m_lastInput = 0;  // glfwGetTime() of the last input event
    bool m_mustDraw = true;
    bool m_hasDrawn = false;
    uint64_t m_lastHash = 0;
};

// Reads the current back buffer and writes it as a PNG. Main thread, GL context current.
std::string SaveScreenshot(const std::string& path, int width, int height);

}  // namespace cdeck::platform
