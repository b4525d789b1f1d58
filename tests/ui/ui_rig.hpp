#pragma once
// Headless UI test support: a real ImGui context with no window. Input goes through the
// ImGui 1.86 IO fields (DESIGN.md section 7); a click takes four frames. The key map is
// GLFW's, like the app's, so ui/keys.hpp indices mean the same here.
#include <doctest/doctest.h>
#include <imgui.h>

#include <string>
#include <vector>

#include "ui/app_ui.hpp"
#include "ui/keys.hpp"
#include "support/screen_text.hpp"

namespace cdeck::test {

struct HeadlessImGui {
    ImGuiContext* ctx;
    explicit HeadlessImGui(ImVec2 size = ImVec2(1600, 900)) {
        ctx = ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = size;
        io.DeltaTime = 1.0f / 60.0f;
        io.BackendFlags |= ImGuiBackendFlags_RendererHasVtxOffset;  // as the GL3 renderer does
        // GLFW's key codes, as the app's backend maps them.
        const std::pair<ImGuiKey_, int> map[] = {
            {ImGuiKey_Tab, 258},        {ImGuiKey_LeftArrow, 263},
            {ImGuiKey_RightArrow, 262}, {ImGuiKey_UpArrow, 265},
            {ImGuiKey_DownArrow, 264},  {ImGuiKey_PageUp, 266},
            {ImGuiKey_PageDown, 267},   {ImGuiKey_Home, 268},
            {ImGuiKey_End, 269},        {ImGuiKey_Insert, 260},
            {ImGuiKey_Delete, 261},     {ImGuiKey_Backspace, 259},
            {ImGuiKey_Space, 32},       {ImGuiKey_Enter, 257},
            {ImGuiKey_Escape, 256},     {ImGuiKey_KeyPadEnter, 335},
            {ImGuiKey_A, 65},           {ImGuiKey_C, 67},
            {ImGuiKey_V, 86},           {ImGuiKey_X, 88},
            {ImGuiKey_Y, 89},           {ImGuiKey_Z, 90}};
        for (auto [k, v] : map) io.KeyMap[k] = v;
        unsigned char* px;
        int w, h;
        io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);  // atlas before the first NewFrame
    }
    ~HeadlessImGui() { ImGui::DestroyContext(ctx); }
    HeadlessImGui(const HeadlessImGui&) = delete;
    HeadlessImGui& operator=(const HeadlessImGui&) = delete;

    void Frame(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now) {
        ImGui::NewFrame();
        app.Frame(snap, now);
        ImGui::Render();
    }
    // Layout, hover, press, release.
    void Click(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now, ImVec2 pos) {
        ImGuiIO& io = ImGui::GetIO();
        io.MousePos = pos;
        Frame(app, snap, now);
        Frame(app, snap, now);
        io.MouseDown[0] = true;
        Frame(app, snap, now);
        io.MouseDown[0] = false;
        Frame(app, snap, now);
    }
    void ClickRect(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now, ImVec4 r) {
        Click(app, snap, now, ImVec2((r.x + r.z) / 2, (r.y + r.w) / 2));
    }
    // One key press (down for a frame, then up), with Ctrl held when asked.
    void Key(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now, int key,
             bool ctrl = false) {
        ImGuiIO& io = ImGui::GetIO();
        io.KeyCtrl = ctrl;
        io.KeysDown[key] = true;
        Frame(app, snap, now);
        io.KeysDown[key] = false;
        Frame(app, snap, now);
        io.KeyCtrl = false;
    }
    void Type(ui::AppUi& app, const core::SnapshotPtr& snap, core::UnixMillis now,
              const char* text) {
        ImGui::GetIO().AddInputCharactersUTF8(text);
        Frame(app, snap, now);
        Frame(app, snap, now);
    }
};

inline core::ChatMessage Msg(const std::string& id, core::UnixMillis t, const std::string& who,
                             const std::string& html) {
    core::ChatMessage m;
    m.id = id;
    m.createdDateTime = t;
    m.lastModifiedDateTime = t;
    m.from.user = core::Identity{"u-" + who, who, "aadUser"};
    m.body.contentType = "html";
    m.body.content = html;
    return m;
}

// Two teams: Operations (Alpha, Beta) and Support (Gamma).
inline void Seed(core::Store& store, core::UnixMillis now) {
    core::Team t1{"t1", "Operations", "ops", "", "", false};
    core::Team t2{"t2", "Support", "desk", "", "", false};
    store.UpsertTeams({t1, t2});
    core::Channel a, b, c;
    a.id = "c-alpha";
    a.displayName = "Alpha";
    b.id = "c-beta";
    b.displayName = "Beta";
    c.id = "c-gamma";
    c.displayName = "Gamma";
    store.UpsertChannels("t1", {a, b});
    store.UpsertChannels("t2", {c});
    store.MergeMessages("c-alpha", {Msg("a1", now - 60000, "Ann", "<p>alpha one</p>")}, true);
    store.MergeMessages("c-beta",
                        {Msg("b1", now - 50000, "Ben", "<p>beta one</p>"),
                         Msg("b2", now - 40000, "Bo", "beta <at id=\"0\">two</at>")},
                        true);
    store.MergeMessages("c-gamma", {Msg("g1", now - 30000, "Gus", "gamma")}, true);
    store.RecordChannelSync("c-beta", true, {});
}

// A seeded store and an AppUi whose commands are collected, drawn headless.
struct WallRig {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    std::vector<core::Command> submitted;
    ui::AppUi app;
    explicit WallRig(bool demoTenant, ui::AppUiOptions o = {})
        : app(With(demoTenant, std::move(o))) {
        Seed(store, now);
    }
    void Frame() { imgui.Frame(app, store.Current(), now); }
    void Key(int key, bool ctrl = false) { imgui.Key(app, store.Current(), now, key, ctrl); }
    void Type(const char* text) { imgui.Type(app, store.Current(), now, text); }
    void ClickRect(ImVec4 r) { imgui.ClickRect(app, store.Current(), now, r); }
    // Opens a channel in the reader, presses New post and clicks into the body.
    void StartComposing(const std::string& teamId, const std::string& channelId) {
        app.GetSelection().OpenChannel(teamId, channelId);
        Frame();
        ClickRect(app.Reader().LastRects().newPost);
        Frame();
        ClickRect(app.Reader().LastRects().body);
    }
    size_t Count(core::Command::Kind kind) const {
        size_t n = 0;
        for (const auto& c : submitted) n += c.kind == kind;
        return n;
    }

  private:
    ui::AppUiOptions With(bool demoTenant, ui::AppUiOptions o) {
        o.demoTenant = demoTenant;
        o.submit = [this](core::Command c) { submitted.push_back(std::move(c)); };
        return o;
    }
};

// Signs a user in with these delegated scopes (what the engine would publish).
inline void SignIn(core::Store& store, std::vector<std::string> scopes) {
    store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.signedIn = true;
        s.delegated = true;
        s.grantedScopes = scopes;
    });
}

inline ImVec4 RectOf(const ui::DashboardView::RowRect& r) {
    return ImVec4(r.min.x, r.min.y, r.max.x, r.max.y);
}

}  // namespace cdeck::test
