#include "platform/window.hpp"

#include "ui/keys.hpp"

// glad first: it provides the GL declarations; GLFW must not pull in its own.
#include <glad/gl.h>
#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_opengl3.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

// app/ui names the keys it reads without including GLFW (ui/keys.hpp).
static_assert(cdeck::ui::keys::kK == GLFW_KEY_K && cdeck::ui::keys::kA == GLFW_KEY_A &&
              cdeck::ui::keys::kF == GLFW_KEY_F && cdeck::ui::keys::kP == GLFW_KEY_P &&
              cdeck::ui::keys::kR == GLFW_KEY_R && cdeck::ui::keys::kDigit1 == GLFW_KEY_1 &&
              cdeck::ui::keys::kSlash == GLFW_KEY_SLASH && cdeck::ui::keys::kF1 == GLFW_KEY_F1 &&
              cdeck::ui::keys::kF5 == GLFW_KEY_F5 && cdeck::ui::keys::kF9 == GLFW_KEY_F9 &&
              cdeck::ui::keys::kF11 == GLFW_KEY_F11);

namespace cdeck::platform {
namespace {}  // namespace

Window::~Window() {
    if (m_imguiReady) {
        ImGui_ImplOpenGL3_Shutdown();
        ImGui_ImplGlfw_Shutdown();
        ImGui::DestroyContext();
    }
    if (m_window) glfwDestroyWindow(m_window);
    glfwTerminate();
}

std::string Window::Open(const WindowOptions& o) {
    const char* display = std::getenv("DISPLAY");
    const char* wayland = std::getenv("WAYLAND_DISPLAY");
    if ((!display || !*display) && (!wayland || !*wayland))
        return "no display: DISPLAY is not set (run under a desktop session or xvfb-run, or use "
               "--headless)";
    glfwSetErrorCallback([](int, const char*) {});
    if (!glfwInit())
        return std::string("cannot open the display '") + (display ? display : "") +
               "' (GLFW init failed)";
    glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
    glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
    glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
    glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
    glfwWindowHint(GLFW_SCALE_TO_MONITOR, GLFW_TRUE);
    glfwWindowHint(GLFW_VISIBLE, o.visible ? GLFW_TRUE : GLFW_FALSE);
    GLFWmonitor* monitor = o.fullscreen ? glfwGetPrimaryMonitor() : nullptr;
    int w = o.width, h = o.height;
    if (monitor) {
        const GLFWvidmode* mode = glfwGetVideoMode(monitor);
        w = mode->width;
        h = mode->height;
    }
    m_window = glfwCreateWindow(w, h, o.title.c_str(), monitor, nullptr);
    if (!m_window) return "cannot create an OpenGL 3.3 window on this display";
    glfwMakeContextCurrent(m_window);
    if (!gladLoadGL(glfwGetProcAddress)) return "cannot load OpenGL functions";
    glfwSwapInterval(1);

    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGuiIO& io = ImGui::GetIO();
    io.IniFilename = nullptr;  // layout is code-defined; nothing to persist yet
    io.ConfigFlags |= ImGuiConfigFlags_NavEnableKeyboard;
    // Input and window events stamp the time of the last interaction (the frame loop idles
    // after a while without one). Installed before ImGui's backend, which chains to them.
    glfwSetWindowUserPointer(m_window, this);
    glfwSetCursorPosCallback(m_window, [](GLFWwindow* w, double, double) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetMouseButtonCallback(m_window, [](GLFWwindow* w, int, int, int) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetScrollCallback(m_window, [](GLFWwindow* w, double, double) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetKeyCallback(m_window, [](GLFWwindow* w, int, int, int, int) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetCharCallback(m_window, [](GLFWwindow* w, unsigned int) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetWindowFocusCallback(m_window, [](GLFWwindow* w, int) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_lastInput = glfwGetTime();
    });
    glfwSetWindowRefreshCallback(m_window, [](GLFWwindow* w) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_mustDraw = true;
    });
    glfwSetFramebufferSizeCallback(m_window, [](GLFWwindow* w, int, int) {
        static_cast<Window*>(glfwGetWindowUserPointer(w))->m_mustDraw = true;
    });
    m_lastInput = glfwGetTime();
    ImGui_ImplGlfw_InitForOpenGL(m_window, true);
    ImGui_ImplOpenGL3_Init("#version 330 core");
    m_imguiReady = true;
    return {};
}

bool Window::ShouldClose() const {
    return glfwWindowShouldClose(m_window);
}
bool Window::Focused() const {
    return glfwGetWindowAttrib(m_window, GLFW_FOCUSED) != 0;
}
void Window::WaitEvents(double seconds) {
    glfwWaitEventsTimeout(seconds);
}
void Window::PollEvents() {
    glfwPollEvents();
}
void Window::Wake() {
    glfwPostEmptyEvent();
}

void Window::BeginFrame() {
    ImGui_ImplOpenGL3_NewFrame();
    ImGui_ImplGlfw_NewFrame();
    ImGui::NewFrame();
}

double Window::SecondsSinceInput() const {
    return glfwGetTime() - m_lastInput;
}

bool Window::TakeMustDraw() {
    bool d = m_mustDraw;
    m_mustDraw = false;
    return d;
}

namespace {
// A 64-bit hash of what ImGui asks the GPU to draw: every vertex, index and command.
uint64_t HashDrawData(const ImDrawData* dd) {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const void* data, size_t bytes) {
        const unsigned char* p = static_cast<const unsigned char*>(data);
        size_t i = 0;
        for (; i + 8 <= bytes; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            h = (h ^ w) * 0x100000001b3ull;
            h ^= h >> 29;
        }
        for (; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    };
    mix(&dd->DisplaySize, sizeof dd->DisplaySize);
    for (int n = 0; n < dd->CmdListsCount; ++n) {
        const ImDrawList* l = dd->CmdLists[n];
        mix(l->VtxBuffer.Data, static_cast<size_t>(l->VtxBuffer.Size) * sizeof(ImDrawVert));
        mix(l->IdxBuffer.Data, static_cast<size_t>(l->IdxBuffer.Size) * sizeof(ImDrawIdx));
        for (const ImDrawCmd& c : l->CmdBuffer) {
            mix(&c.ClipRect, sizeof c.ClipRect);
            mix(&c.TextureId, sizeof c.TextureId);
            mix(&c.ElemCount, sizeof c.ElemCount);
        }
    }
    return h;
}
}  // namespace

bool Window::EndFrame(bool force) {
    ImGui::Render();
    // A frame identical to the one on screen is not drawn again: rasterising 1080p costs
    // far more than building the frame did (tens of ms on a software renderer).
    uint64_t hash = HashDrawData(ImGui::GetDrawData());
    if (!force && m_hasDrawn && hash == m_lastHash) return false;
    m_lastHash = hash;
    m_hasDrawn = true;
    int w, h;
    glfwGetFramebufferSize(m_window, &w, &h);
    glViewport(0, 0, w, h);
    glClearColor(0.07f, 0.08f, 0.10f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
    return true;
}

void Window::Present() {
    glfwSwapBuffers(m_window);
}
void Window::FramebufferSize(int& w, int& h) const {
    glfwGetFramebufferSize(m_window, &w, &h);
}

float Window::ContentScale() const {
    float x = 1, y = 1;
    glfwGetWindowContentScale(m_window, &x, &y);
    return x > 0 ? x : 1.0f;
}

}  // namespace cdeck::platform
