// Headless UI tests: a real ImGui context with no window. Input goes through the ImGui
// 1.86 IO fields (DESIGN.md section 7); a click takes four frames.
#include <doctest/doctest.h>
#include <imgui.h>

#include <algorithm>

#include "ui/app_ui.hpp"

using namespace cdeck;
using core::ChatMessage;

namespace {

struct HeadlessImGui {
    ImGuiContext* ctx;
    HeadlessImGui() {
        ctx = ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = ImVec2(1600, 900);
        io.DeltaTime = 1.0f / 60.0f;
        unsigned char* px;
        int w, h;
        io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);  // atlas before the first NewFrame
    }
    ~HeadlessImGui() { ImGui::DestroyContext(ctx); }

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
};

ChatMessage Msg(const std::string& id, core::UnixMillis t, const std::string& who,
                const std::string& html) {
    ChatMessage m;
    m.id = id;
    m.createdDateTime = t;
    m.lastModifiedDateTime = t;
    m.from.user = core::Identity{"u-" + who, who, "aadUser"};
    m.body.contentType = "html";
    m.body.content = html;
    return m;
}

void Seed(core::Store& store, core::UnixMillis now) {
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
    explicit WallRig(bool demoTenant) : app(Options(demoTenant)) { Seed(store, now); }

  private:
    ui::AppUiOptions Options(bool demoTenant) {
        ui::AppUiOptions o;
        o.demoTenant = demoTenant;
        o.submit = [this](core::Command c) { submitted.push_back(std::move(c)); };
        return o;
    }
};

}  // namespace

TEST_CASE("clicking a channel on the wall opens it in the reader") {
    WallRig rig(/*demoTenant=*/true);
    auto& [imgui, store, now, submitted, app] = rig;
    auto snap = store.Current();

    imgui.Frame(app, snap, now);
    CHECK(app.Dashboard().LastChannelRowsDrawn() == 3);
    CHECK(app.Reader().LastDrawnMessageIds().empty());
    auto rects = app.Dashboard().LastRowRects();
    REQUIRE(rects.count("c-beta") == 1);
    auto r = rects.at("c-beta");
    ImVec2 centre((r.min.x + r.max.x) / 2, (r.min.y + r.max.y) / 2);

    imgui.Click(app, snap, now, centre);
    CHECK(app.GetSelection().channelId == "c-beta");
    CHECK(app.GetSelection().teamId == "t1");
    imgui.Frame(app, snap, now);
    CHECK(app.Reader().ShownChannelId() == "c-beta");
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"b1", "b2"});
    // Selecting asks the engine to refresh that channel now.
    REQUIRE_FALSE(submitted.empty());
    CHECK(submitted.back().kind == core::Command::Kind::kRefreshChannel);
    CHECK(submitted.back().channelId == "c-beta");

    // Clicking another channel switches the reader.
    auto g = app.Dashboard().LastRowRects().at("c-gamma");
    imgui.Click(app, snap, now, ImVec2((g.min.x + g.max.x) / 2, (g.min.y + g.max.y) / 2));
    imgui.Frame(app, snap, now);
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"g1"});
}

TEST_CASE("the reader follows new snapshots without a click") {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection() = {"t1", "c-alpha"};
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"a1"});
    store.MergeMessages("c-alpha", {Msg("a2", now - 1000, "Ann", "newer")}, false);
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"a1", "a2"});
}

TEST_CASE("the reader clips long channels to the visible rows") {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    std::vector<ChatMessage> many;
    for (int i = 0; i < 5000; ++i)
        many.push_back(Msg("m" + std::to_string(i), now - 5000000 + i * 1000, "X", "row"));
    store.MergeMessages("c-gamma", std::move(many), true);
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection() = {"t2", "c-gamma"};
    imgui.Frame(app, store.Current(), now);
    imgui.Frame(app, store.Current(), now);
    size_t drawn = app.Reader().LastDrawnMessageIds().size();
    CHECK(app.Reader().RowCount() == 5001);
    CHECK(drawn > 0);
    CHECK(drawn < 40);  // only what fits on a 900-pixel screen
    // Newest at the bottom, and the reader starts scrolled there.
    CHECK(app.Reader().LastDrawnMessageIds().back() == "m4999");
}

TEST_CASE("the STALE banner shows when the last successful sync is old") {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.signedIn = true;
        s.lastSyncOk = now - 10000;
    });
    ui::AppUiOptions o;
    o.staleAfterSeconds = 60;
    ui::AppUi app(o);
    imgui.Frame(app, store.Current(), now);
    CHECK_FALSE(app.StaleShown());
    imgui.Frame(app, store.Current(), now + 120000);
    CHECK(app.StaleShown());
}

TEST_CASE("the wall tells the engine which channels are on screen, once per change") {
    WallRig rig(/*demoTenant=*/false);
    auto& [imgui, store, now, submitted, app] = rig;
    auto snap = store.Current();
    imgui.Frame(app, snap, now);
    auto visible = [&] {
        std::vector<core::Command> v;
        for (const auto& c : submitted)
            if (c.kind == core::Command::Kind::kSetVisible) v.push_back(c);
        return v;
    };
    REQUIRE(visible().size() == 1);
    CHECK(visible()[0].channelIds == std::vector<std::string>{"c-alpha", "c-beta", "c-gamma"});
    imgui.Frame(app, snap, now);
    imgui.Frame(app, snap, now + 1000);
    CHECK(visible().size() == 1);  // unchanged: not sent again
}

TEST_CASE("pin and pause flags live with the channel and survive later snapshots") {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    bool yes = true;
    store.SetChannelFlags("c-alpha", &yes, nullptr);
    store.SetChannelFlags("c-gamma", nullptr, &yes);
    auto snap = store.Current();
    CHECK(snap->FindChannel("c-alpha")->pinned);
    CHECK_FALSE(snap->FindChannel("c-alpha")->paused);
    CHECK(snap->FindChannel("c-gamma")->paused);
    // A later merge into the channel keeps its flags.
    store.MergeMessages("c-alpha", {Msg("a2", now - 1000, "Ann", "again")}, true);
    CHECK(store.Current()->FindChannel("c-alpha")->pinned);
    ui::AppUi app(ui::AppUiOptions{});
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Dashboard().LastChannelRowsDrawn() == 3);
}
