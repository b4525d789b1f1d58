// Headless UI tests of the wall, the navigation and the thread reader.
#include <algorithm>

#include "ui/ui_rig.hpp"

using namespace cdeck;
using test::HeadlessImGui;
using test::Msg;
using test::Seed;
using test::WallRig;

TEST_CASE("clicking a channel on the wall opens it in the reader, Escape goes back") {
    WallRig rig(/*demoTenant=*/true);
    rig.Frame();
    CHECK(rig.app.Dashboard().LastChannelRowsDrawn() == 3);
    CHECK(rig.app.Reader().LastDrawnMessageIds().empty());
    auto rects = rig.app.Dashboard().LastRowRects();
    REQUIRE(rects.count("c-beta") == 1);

    rig.ClickRect(test::RectOf(rects.at("c-beta")));
    CHECK(rig.app.GetSelection().channelId == "c-beta");
    CHECK(rig.app.GetSelection().teamId == "t1");
    CHECK(rig.app.GetSelection().page == ui::Page::kReader);
    rig.Frame();
    CHECK(rig.app.Reader().ShownChannelId() == "c-beta");
    CHECK(rig.app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"b1", "b2"});
    // Selecting asks the engine to refresh that channel now.
    REQUIRE(rig.Count(core::Command::Kind::kRefreshChannel) == 1);

    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Escape]);
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    rig.Frame();
    rig.ClickRect(test::RectOf(rig.app.Dashboard().LastRowRects().at("c-gamma")));
    rig.Frame();
    CHECK(rig.app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"g1"});
}

TEST_CASE("the keyboard walks the channel list and switches pages") {
    WallRig rig(false);
    rig.Frame();
    REQUIRE(rig.app.Nav().Order() == std::vector<std::string>{"c-alpha", "c-beta", "c-gamma"});
    const int down = ImGui::GetIO().KeyMap[ImGuiKey_DownArrow];
    const int up = ImGui::GetIO().KeyMap[ImGuiKey_UpArrow];
    rig.Key(down, /*ctrl=*/true);
    CHECK(rig.app.GetSelection().channelId == "c-alpha");
    CHECK(rig.app.GetSelection().page == ui::Page::kReader);
    rig.Key(down, true);
    rig.Key(down, true);
    CHECK(rig.app.GetSelection().channelId == "c-gamma");
    CHECK(rig.app.GetSelection().teamId == "t2");
    rig.Key(down, true);  // stays on the last
    CHECK(rig.app.GetSelection().channelId == "c-gamma");
    rig.Key(up, true);
    CHECK(rig.app.GetSelection().channelId == "c-beta");
    // Without Ctrl the arrows do not change the channel.
    rig.Key(down);
    CHECK(rig.app.GetSelection().channelId == "c-beta");

    rig.Key(ui::keys::kDigit1 + 3, true);  // Ctrl+4
    CHECK(rig.app.GetSelection().page == ui::Page::kMetrics);
    rig.Key(ui::keys::kDigit1, true);
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    // Ctrl+R refreshes the open channel.
    size_t before = rig.Count(core::Command::Kind::kRefreshChannel);
    rig.Key(ui::keys::kR, true);
    REQUIRE(rig.Count(core::Command::Kind::kRefreshChannel) == before + 1);
    CHECK(rig.submitted.back().channelId == "c-beta");
}

TEST_CASE("the page tabs and the tree respond to the mouse") {
    WallRig rig(false);
    rig.Frame();
    rig.ClickRect(rig.app.TabRect(ui::Page::kActivity));
    CHECK(rig.app.GetSelection().page == ui::Page::kActivity);
    auto rects = rig.app.Nav().RowRects();
    REQUIRE(rects.count("c-gamma") == 1);
    rig.ClickRect(rects.at("c-gamma"));
    CHECK(rig.app.GetSelection().channelId == "c-gamma");
    CHECK(rig.app.GetSelection().page == ui::Page::kReader);
    rig.Frame();
    CHECK(rig.app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"g1"});
}

TEST_CASE("the filter narrows the tree and what the keyboard walks") {
    WallRig rig(false);
    rig.Frame();
    rig.Key(ui::keys::kF, /*ctrl=*/true);  // focus the filter
    rig.Type("GAM");
    CHECK(rig.app.Nav().Filter() == "gam");
    rig.Frame();
    CHECK(rig.app.Nav().Order() == std::vector<std::string>{"c-gamma"});
    CHECK(rig.app.Nav().RowRects().count("c-alpha") == 0);
    // A team name matches all of its channels.
    for (int i = 0; i < 3; ++i) rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Backspace]);
    rig.Type("operations");
    rig.Frame();
    CHECK(rig.app.Nav().Order() == std::vector<std::string>{"c-alpha", "c-beta"});
    rig.Type("zzz");
    rig.Frame();
    CHECK(rig.app.Nav().Order().empty());
    // Escape in the box clears it.
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Escape]);
    rig.Frame();
    CHECK(rig.app.Nav().Order().size() == 3);
}

TEST_CASE("unread counts grow with new messages and clear when the channel is read") {
    WallRig rig(false);
    rig.Frame();
    CHECK(rig.app.Nav().UnreadShown("c-gamma") == 0);  // first seen this session: read
    rig.store.MergeMessages(
        "c-gamma",
        {Msg("g2", rig.now - 1000, "Gus", "more"), Msg("g3", rig.now - 500, "Gus", "and more")},
        true);
    rig.Frame();
    CHECK(rig.app.Nav().UnreadShown("c-gamma") == 2);
    CHECK(rig.app.Nav().UnreadShown("c-alpha") == 0);
    rig.ClickRect(rig.app.Nav().RowRects().at("c-gamma"));
    rig.Frame();
    rig.Frame();
    CHECK(rig.app.Nav().UnreadShown("c-gamma") == 0);
}

TEST_CASE("the reader follows new snapshots without a click") {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection().OpenChannel("t1", "c-alpha");
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"a1"});
    store.MergeMessages("c-alpha", {Msg("a2", now - 1000, "Ann", "newer")}, false);
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"a1", "a2"});
}

TEST_CASE("the reader submits only the visible rows of a 100k-message channel") {
    HeadlessImGui imgui(ImVec2(1920, 1080));
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    std::vector<core::ChatMessage> many;
    const int kCount = 100000;
    many.reserve(kCount);
    for (int i = 0; i < kCount; ++i)
        many.push_back(
            Msg("m" + std::to_string(i), now - kCount * 1000LL + i * 1000LL, "X", "row"));
    store.MergeMessages("c-gamma", std::move(many), true);
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection().OpenChannel("t2", "c-gamma");
    imgui.Frame(app, store.Current(), now);
    imgui.Frame(app, store.Current(), now);
    const auto& drawn = app.Reader().LastDrawnMessageIds();
    CHECK(app.Reader().RowCount() == kCount + 1);
    CHECK(drawn.size() > 5);
    CHECK(drawn.size() < 40);  // only what fits on a 1080-pixel screen
    // Newest at the bottom, and the reader starts scrolled there.
    CHECK(drawn.back() == "m99999");

    // Scrolling up shows older rows, still only a screenful, and stops following.
    ImGuiIO& io = ImGui::GetIO();
    io.MousePos = ImVec2(1000, 600);
    for (int i = 0; i < 5; ++i) {
        io.MouseWheel = 10.0f;
        imgui.Frame(app, store.Current(), now);
    }
    io.MouseWheel = 0;
    imgui.Frame(app, store.Current(), now);
    CHECK(drawn.size() < 40);
    REQUIRE_FALSE(drawn.empty());
    CHECK(drawn.back() != "m99999");
    std::string lastBefore = drawn.back();
    store.MergeMessages("c-gamma", {Msg("newest", now, "X", "new")}, false);
    imgui.Frame(app, store.Current(), now);
    imgui.Frame(app, store.Current(), now);
    CHECK(drawn.back() == lastBefore);  // not yanked to the bottom while reading history
}

TEST_CASE("replies stay collapsed until their thread is expanded") {
    WallRig rig(false);
    core::ChatMessage root = Msg("r1", rig.now - 9000, "Ann", "<p>root</p>");
    root.replies.push_back(Msg("r1a", rig.now - 8000, "Ben", "first reply"));
    root.replies.push_back(Msg("r1b", rig.now - 7000, "Bo", "second reply"));
    for (auto& r : root.replies) r.replyToId = "r1";
    rig.store.MergeMessages("c-alpha", {root}, true);
    rig.app.GetSelection().OpenChannel("t1", "c-alpha");
    rig.Frame();
    CHECK(rig.app.Reader().LastDrawnMessageIds() == std::vector<std::string>{"a1", "r1"});
    rig.app.Reader().SetExpanded("r1", true);
    rig.Frame();
    CHECK(rig.app.Reader().LastDrawnMessageIds() ==
          std::vector<std::string>{"a1", "r1", "r1a", "r1b"});
    rig.app.Reader().SetExpanded("r1", false);
    rig.Frame();
    CHECK(rig.app.Reader().RowCount() == 2);
}

TEST_CASE("the STALE banner shows when data is old, signed out or offline") {
    WallRig rig(false);
    rig.store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.signedIn = true;
        s.phase = "live";
        s.lastSyncOk = rig.now - 10000;
    });
    rig.Frame();
    CHECK_FALSE(rig.app.StaleShown());
    // An idle frame loop is told when the banner is due, so it goes up on time.
    CHECK(rig.app.SecondsUntilDue(rig.now) == doctest::Approx(50.05).epsilon(0.01));
    CHECK(rig.app.SecondsUntilDue(rig.now + 70000) == 0.0);
    rig.imgui.Frame(rig.app, rig.store.Current(), rig.now + 120000);
    CHECK(rig.app.StaleShown());

    core::SyncStatus s;
    s.signedIn = true;
    s.phase = "live";
    s.lastSyncOk = rig.now;
    CHECK(ui::StaleReason(s, rig.now + 30000, 60).empty());
    CHECK(ui::StaleReason(s, rig.now + 61000, 60).find("no successful sync") == 0);
    s.signedIn = false;
    s.lastError = "signed out";
    CHECK(ui::StaleReason(s, rig.now, 60) == "not signed in: signed out");
    s.signedIn = true;
    s.lastError = "could not connect";
    s.phase = "error";
    CHECK(ui::StaleReason(s, rig.now, 60) == "offline: could not connect");
    // Still starting with nothing to be stale about: no banner.
    core::SyncStatus starting;
    CHECK(ui::StaleReason(starting, rig.now, 60).empty());
}

TEST_CASE("kiosk mode rotates its playlist, pauses on Space and pages with the arrows") {
    ui::AppUiOptions o;
    o.kiosk = true;
    o.config.ui.kioskPages = {"wall", "activity", "metrics"};
    o.config.ui.kioskIntervalSeconds = 5;
    WallRig rig(false, o);
    auto frameAt = [&](core::UnixMillis t) { rig.imgui.Frame(rig.app, rig.store.Current(), t); };
    frameAt(rig.now);
    CHECK(rig.app.Kiosk());
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    frameAt(rig.now + 4000);
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    frameAt(rig.now + 5001);
    CHECK(rig.app.GetSelection().page == ui::Page::kActivity);
    frameAt(rig.now + 10002);
    CHECK(rig.app.GetSelection().page == ui::Page::kMetrics);
    frameAt(rig.now + 15003);
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    // The chrome is hidden: no navigation tree is drawn in kiosk mode.
    CHECK(rig.app.Nav().RowRects().empty());

    rig.now += 15003;
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Space]);
    CHECK(rig.app.KioskPaused());
    frameAt(rig.now + 60000);
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_RightArrow]);
    CHECK(rig.app.GetSelection().page == ui::Page::kActivity);
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_LeftArrow]);
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_LeftArrow]);
    CHECK(rig.app.GetSelection().page == ui::Page::kMetrics);
    // F11 leaves kiosk mode and the tree comes back.
    rig.Key(ui::keys::kF11);
    CHECK_FALSE(rig.app.Kiosk());
    rig.Frame();
    CHECK(rig.app.Nav().RowRects().size() == 3);
}

TEST_CASE("the wall tells the engine which channels are on screen, once per change") {
    WallRig rig(false);
    rig.Frame();
    auto visible = [&] {
        std::vector<core::Command> v;
        for (const auto& c : rig.submitted)
            if (c.kind == core::Command::Kind::kSetVisible) v.push_back(c);
        return v;
    };
    REQUIRE(visible().size() == 1);
    CHECK(visible()[0].channelIds == std::vector<std::string>{"c-alpha", "c-beta", "c-gamma"});
    rig.Frame();
    rig.imgui.Frame(rig.app, rig.store.Current(), rig.now + 1000);
    CHECK(visible().size() == 1);  // unchanged: not sent again
}

TEST_CASE("wall tiles show throttling: gated scopes and recent 429s") {
    WallRig rig(false);
    auto m = std::make_shared<core::MetricsSnapshot>();
    m->at = rig.now;
    m->gatedScopes = {"team:t2"};
    m->recentThrottles = {{rig.now - 1000, "t1", "c-alpha", 3.0},
                          {rig.now - 2000, "t1", "c-alpha", 0.0},
                          {rig.now - 600000, "t1", "c-beta", 1.0}};  // too old to count
    rig.store.UpdateSyncStatus([&](core::SyncStatus& s) { s.metrics = m; });
    rig.Frame();
    auto snap = rig.store.Current();
    auto alpha = rig.app.Dashboard().ThrottleOf(*snap->FindChannel("c-alpha"));
    auto beta = rig.app.Dashboard().ThrottleOf(*snap->FindChannel("c-beta"));
    auto gamma = rig.app.Dashboard().ThrottleOf(*snap->FindChannel("c-gamma"));
    CHECK(alpha.recent429 == 2);
    CHECK_FALSE(alpha.gated);
    CHECK(beta.recent429 == 0);
    CHECK(gamma.gated);
    CHECK(rig.app.Strip().LastRecent429() == 2);
}

TEST_CASE("the activity page ranks channels and fills the team x hour heatmap") {
    WallRig rig(false);
    rig.Key(ui::keys::kDigit1 + 1, true);  // Ctrl+2
    REQUIRE(rig.app.GetSelection().page == ui::Page::kActivity);
    rig.Frame();
    const auto& active = rig.app.Activity().MostActive();
    REQUIRE(active.size() == 3);
    CHECK(active[0].channelId == "c-beta");  // two messages in the last 15 minutes
    CHECK(active[0].last15 == 2);
    const auto& heat = rig.app.Activity().Heat();
    REQUIRE(heat.size() == 2);
    uint32_t ops = 0, support = 0;
    for (int h = 0; h < 24; ++h) {
        ops += heat[0].hours[h];
        support += heat[1].hours[h];
    }
    CHECK(heat[0].team == "Operations");
    CHECK(ops == 3);
    CHECK(support == 1);
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

TEST_CASE("the reader stays at the bottom while older history arrives above") {
    HeadlessImGui imgui(ImVec2(1920, 1080));
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection().OpenChannel("t2", "c-gamma");
    imgui.Frame(app, store.Current(), now);
    for (int page = 0; page < 8; ++page) {
        std::vector<core::ChatMessage> older;
        for (int i = 0; i < 20; ++i)
            older.push_back(Msg("p" + std::to_string(page) + "-" + std::to_string(i),
                                now - 1000000 * (page + 1) + i * 1000, "X", "older"));
        store.MergeMessages("c-gamma", std::move(older), false);
        imgui.Frame(app, store.Current(), now);
        imgui.Frame(app, store.Current(), now);
        const auto& drawn = app.Reader().LastDrawnMessageIds();
        CHECK(std::find(drawn.begin(), drawn.end(), "g1") != drawn.end());
        CHECK(std::find(drawn.begin(), drawn.end(), "p0-0") == drawn.end());
        // And a new message at the bottom is followed too.
        store.MergeMessages("c-gamma",
                            {Msg("new" + std::to_string(page), now + page + 1, "X", "new")}, false);
        imgui.Frame(app, store.Current(), now);
        imgui.Frame(app, store.Current(), now);
        CHECK(std::find(drawn.begin(), drawn.end(), "new" + std::to_string(page)) != drawn.end());
    }
}

TEST_CASE("the wall fits every team on screen, with one-line rows when it must") {
    HeadlessImGui imgui(ImVec2(1920, 1080));
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    std::vector<core::Team> teams;
    for (int t = 0; t < 7; ++t)
        teams.push_back({"t" + std::to_string(t), "Team " + std::to_string(t), "", "", "", false});
    store.UpsertTeams(teams);
    for (int t = 0; t < 7; ++t) {
        std::vector<core::Channel> cs;
        for (int k = 0; k < 6; ++k) {
            core::Channel c;
            c.id = "c" + std::to_string(t) + "-" + std::to_string(k);
            c.displayName = "Channel " + std::to_string(k);
            cs.push_back(c);
        }
        store.UpsertChannels(teams[t].id, cs);
    }
    ui::AppUiOptions o;
    o.config.ui.fontScale = 1.6;  // distance viewing: two-line rows no longer fit
    ui::AppUi app(o);
    imgui.Frame(app, store.Current(), now);
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Dashboard().LastChannelRowsDrawn() == 42);
    CHECK(app.Dashboard().Dense());
    for (const auto& [id, r] : app.Dashboard().LastRowRects()) CHECK(r.max.y <= 1080.0f);

    // A small tenant keeps the full two-line rows.
    WallRig rig(false);
    rig.Frame();
    CHECK_FALSE(rig.app.Dashboard().Dense());
}

namespace {
// A store shaped like the demo tenant: 7 teams with 6, 5, 5, 6, 4, 5 and 5 channels.
void SeedDemoShape(core::Store& store, int teams = 7, int channelsEach = 0) {
    const int demo[] = {6, 5, 5, 6, 4, 5, 5};
    std::vector<core::Team> ts;
    for (int t = 0; t < teams; ++t)
        ts.push_back({"t" + std::to_string(t), "Team " + std::to_string(t), "", "", "", false});
    store.UpsertTeams(ts);
    for (int t = 0; t < teams; ++t) {
        std::vector<core::Channel> cs;
        int n = channelsEach > 0 ? channelsEach : demo[t % 7];
        for (int k = 0; k < n; ++k) {
            core::Channel c;
            c.id = "c" + std::to_string(t) + "-" + std::to_string(k);
            c.displayName = "Channel " + std::to_string(k);
            cs.push_back(c);
        }
        store.UpsertChannels(ts[t].id, cs);
    }
}

// Every channel row and every card of the page shown lies inside the screen.
void CheckAllOnScreen(const ui::AppUi& app, ImVec2 screen, size_t rows) {
    CHECK(app.Dashboard().LastChannelRowsDrawn() == static_cast<int>(rows));
    CHECK(app.Dashboard().LastRowRects().size() == rows);
    for (const auto& [id, r] : app.Dashboard().LastRowRects()) {
        CAPTURE(id);
        CHECK(r.min.x >= 0.0f);
        CHECK(r.min.y >= 0.0f);
        CHECK(r.max.x <= screen.x);
        CHECK(r.max.y <= screen.y);
    }
}
}  // namespace

TEST_CASE("the demo tenant's wall fits a 1366x768 laptop and the 1600x900 window") {
    for (ImVec2 screen : {ImVec2(1366, 768), ImVec2(1600, 900)}) {
        CAPTURE(screen.x);
        HeadlessImGui imgui(screen);
        // The app draws with a 17 px font where ImGui's built-in one is 13 px: lay out at the
        // app's line height, or the wall would fit here and not in the real window.
        ImGui::GetIO().FontGlobalScale = 17.0f / 13.0f;
        core::Store store;
        SeedDemoShape(store);
        ui::AppUi app(ui::AppUiOptions{});
        core::UnixMillis now = core::NowMillis();
        imgui.Frame(app, store.Current(), now);
        imgui.Frame(app, store.Current(), now);
        CHECK_FALSE(app.Dashboard().Layout().Paged());
        CheckAllOnScreen(app, screen, 36);
        // Every team's card is drawn, none scrolled away.
        CHECK(app.Dashboard().Layout().pages.front().cards.size() == 7);
    }
}

TEST_CASE("a wall too big for the screen pages through its teams and says how many are off") {
    HeadlessImGui imgui(ImVec2(1366, 768));
    core::Store store;
    SeedDemoShape(store, 50, 10);  // 500 channels
    ui::AppUi app(ui::AppUiOptions{});
    core::UnixMillis now = core::NowMillis();
    imgui.Frame(app, store.Current(), now);
    imgui.Frame(app, store.Current(), now);
    const ui::WallLayout& layout = app.Dashboard().Layout();
    REQUIRE(layout.Paged());
    CHECK(layout.dense);
    size_t teams = 0;
    for (const auto& p : layout.pages) teams += p.cards.size();
    CHECK(teams == 50);  // every team is on exactly one page
    size_t first = layout.pages.front().cards.size();
    CheckAllOnScreen(app, ImVec2(1366, 768), first * 10);
    std::string screen = test::ScreenText(app, store.Current(), now);
    CHECK(screen.find(std::to_string(50 - first) + " teams off screen") != std::string::npos);
    CHECK(screen.find("page 1 of " + std::to_string(layout.pages.size())) != std::string::npos);
    // The next page comes up on time, and the UI asks to be drawn then.
    CHECK(app.SecondsUntilDue(now) <= 15.0);
    now += ui::DashboardView::kPageMillis;
    imgui.Frame(app, store.Current(), now);
    CHECK(app.Dashboard().PageShown() == 1);
    CHECK(app.Dashboard().LastRowRects().count("c" + std::to_string(first) + "-0") == 1);
}

TEST_CASE("hostile message bodies render as bounded plain text in the reader") {
    HeadlessImGui imgui(ImVec2(1920, 1080));
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    Seed(store, now);
    std::string nested;
    for (int i = 0; i < 10000; ++i) nested += "<div><span>";
    nested += "deep";
    std::string huge(5 << 20, 'x');
    std::string badUtf8 = std::string("ok \xff\xfe\xc3 done");
    store.MergeMessages("c-gamma",
                        {Msg("h1", now - 4000, "X", "<script>alert(1)</script><p>visible</p>"),
                         Msg("h2", now - 3000, "X", nested), Msg("h3", now - 2000, "X", huge),
                         Msg("h4", now - 1000, "X", badUtf8)},
                        false);
    auto snap = store.Current();
    for (const auto& m : snap->FindChannel("c-gamma")->messages) {
        CHECK(m->text.text.size() <= 16 * 1024 + 8);  // bounded, whatever came in
        CHECK(core::SanitizeUtf8(m->text.text) == m->text.text);
        CHECK(m->text.text.find("alert") == std::string::npos);  // script bodies are dropped
    }
    ui::AppUi app(ui::AppUiOptions{});
    app.GetSelection().OpenChannel("t2", "c-gamma");
    imgui.Frame(app, snap, now);
    imgui.Frame(app, snap, now);
    const auto& drawn = app.Reader().LastDrawnMessageIds();
    for (const char* id : {"h1", "h2", "h3", "h4"})
        CHECK(std::find(drawn.begin(), drawn.end(), id) != drawn.end());
}

TEST_CASE("following nodes: STALE when no node commits, none runs, or the database is gone") {
    core::SyncStatus s;
    s.following = true;
    s.followConnected = true;
    s.followNodes = 2;
    s.followStaleAfter = 30;
    s.phase = "live";
    core::UnixMillis now = 1'800'000'000'000;
    s.lastNodeCommit = s.lastSyncOk = now - 5000;
    // The desk's own Graph sign-in does not matter for reading.
    s.signedIn = false;
    CHECK(ui::StaleReason(s, now, 60).empty());
    // Past the server threshold (30 s), not the UI's 60 s.
    CHECK(ui::StaleReason(s, now + 40000, 60).find("no node has committed for") == 0);
    s.followNodes = 0;
    CHECK(ui::StaleReason(s, now, 60) == "no channeldeck-node is running");
    s.followNodes = 2;
    s.followConnected = false;
    s.lastError = "database unreachable: connection refused";
    CHECK(ui::StaleReason(s, now, 60) == "database unreachable: connection refused");

    WallRig rig(false);
    rig.store.UpdateSyncStatus([&](core::SyncStatus& st) {
        st = s;
        st.lastNodeCommit = st.lastSyncOk = rig.now - 1000;
    });
    rig.Frame();
    CHECK(rig.app.StaleShown());  // the database is unreachable
    rig.store.UpdateSyncStatus([&](core::SyncStatus& st) { st.followConnected = true; });
    rig.Frame();
    CHECK_FALSE(rig.app.StaleShown());
}
