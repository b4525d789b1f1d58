// Headless UI tests of the wall leading with what is wrong (the needs-attention strip, team
// order, the all-quiet state) and of the kiosk wall's type size, measured from the draw
// data with the real fonts.
#include <algorithm>
#include <memory>

#include "metrics/metrics.hpp"
#include "moderation/review.hpp"
#include "ui/attention.hpp"
#include "ui/fonts.hpp"
#include "ui/text_probe.hpp"
#include "ui/ui_rig.hpp"
#include "ui/wall_layout.hpp"

using namespace cdeck;
using test::HeadlessImGui;
using test::Msg;

namespace {

constexpr core::UnixMillis kMin = 60000;

// `teams` teams of `channels` channels each, every channel synced at `syncedAt`.
void SeedTeams(core::Store& store, int teams, int channels, core::UnixMillis syncedAt) {
    std::vector<core::Team> ts;
    for (int t = 0; t < teams; ++t)
        ts.push_back({"t" + std::to_string(t), "Team " + std::to_string(t), "", "", "", false});
    store.UpsertTeams(ts);
    for (int t = 0; t < teams; ++t) {
        std::vector<core::Channel> cs;
        for (int c = 0; c < channels; ++c) {
            core::Channel ch;
            ch.id = "c" + std::to_string(t) + "-" + std::to_string(c);
            ch.displayName = "Channel " + std::to_string(t) + "." + std::to_string(c);
            ch.teamId = "t" + std::to_string(t);
            cs.push_back(ch);
        }
        store.UpsertChannels("t" + std::to_string(t), cs);
        for (const auto& ch : cs) {
            store.MergeMessages(ch.id, {Msg(ch.id + "-m", syncedAt - 20 * kMin, "Ann", "hi")},
                                true);
            store.RecordChannelSync(ch.id, true, {});
        }
    }
}

struct Rig {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    ui::AppUi app;
    explicit Rig(bool kiosk, ImVec2 size = ImVec2(1600, 900)) : imgui(size), app(Options(kiosk)) {}
    static ui::AppUiOptions Options(bool kiosk) {
        ui::AppUiOptions o;
        o.kiosk = kiosk;
        o.submit = [](core::Command) {};
        return o;
    }
    void Frame() { imgui.Frame(app, store.Current(), now); }
    std::string Text() { return test::ScreenText(app, store.Current(), now); }
};

// Team 2's channel 0 surges, team 3's channel 1 is gated, team 4's channel 2 holds a
// critical review item; everything else is quiet.
void MakeTrouble(Rig& rig) {
    std::vector<core::ChatMessage> burst;
    for (int i = 0; i < 14; ++i)
        burst.push_back(Msg("s" + std::to_string(i), rig.now - i * 20000, "Sam", "busy"));
    rig.store.MergeMessages("c2-0", burst, false);
    auto metrics = std::make_shared<core::MetricsSnapshot>();
    metrics->gatedScopes = {"channel:c3-1"};
    rig.store.UpdateSyncStatus([&](core::SyncStatus& s) { s.metrics = metrics; });
    auto review = std::make_shared<core::ReviewState>();
    review->version = 1;
    core::ReviewItem item;
    item.id = 1;
    item.teamId = "t4";
    item.channelId = "c4-2";
    item.severity = "critical";
    review->items.push_back(item);
    item.id = 2;
    item.resolved = true;  // resolved: not counted
    review->items.push_back(item);
    rig.store.SetReview(review);
}

}  // namespace

TEST_CASE("the wall leads with what needs attention, worst first, and orders teams by it") {
    Rig rig(false);
    SeedTeams(rig.store, 6, 3, rig.now);
    MakeTrouble(rig);
    rig.Frame();
    const ui::Attention& att = rig.app.Dashboard().LastAttention();
    REQUIRE(att.items.size() == 3);
    CHECK(att.channels == 18);
    CHECK(att.items[0].channelId == "c4-2");  // critical first
    CHECK(att.items[0].critical == 1);
    CHECK(att.items[1].channelId == "c3-1");  // then gated
    CHECK(att.items[2].channelId == "c2-0");  // then the surge
    CHECK((att.items[2].reasons & ui::kReasonSurge) != 0);
    CHECK(att.items[2].last15 >= 14);
    // Teams with trouble come first, in their original order; the rest follow in order.
    CHECK(rig.app.Dashboard().TeamOrderShown() == std::vector<size_t>{2, 3, 4, 0, 1, 5});
    std::string text = rig.Text();
    CHECK(text.find("Needs attention: 3 of 18 channels") != std::string::npos);
    CHECK(text.find("# Channel 4.2  1 critical") != std::string::npos);
    CHECK(text.find("# Channel 3.1  gated") != std::string::npos);
    CHECK(text.find("surge 14 (usual 0)") != std::string::npos);
    CHECK(text.find("All quiet") == std::string::npos);
    // The strip's entries open their channel.
    rig.Frame();
    auto strip = rig.app.Dashboard().LastStripRects();
    REQUIRE(strip.count("c3-1") == 1);
    rig.imgui.ClickRect(rig.app, rig.store.Current(), rig.now, test::RectOf(strip.at("c3-1")));
    CHECK(rig.app.GetSelection().channelId == "c3-1");
    CHECK(rig.app.GetSelection().page == ui::Page::kReader);
}

TEST_CASE("a channel is stale past red x the expected interval, and all quiet is said plainly") {
    Rig rig(false);
    SeedTeams(rig.store, 2, 2, rig.now);
    rig.Frame();
    CHECK(rig.app.Dashboard().LastAttention().AllQuiet());
    std::string text = rig.Text();
    CHECK(text.find("All quiet") != std::string::npos);
    CHECK(text.find("4 channels fresh") != std::string::npos);
    // Five minutes on, with no sync since: every channel is stale (5 s x 5 is the limit).
    rig.now += 5 * kMin;
    rig.Frame();
    const ui::Attention& att = rig.app.Dashboard().LastAttention();
    REQUIRE(att.items.size() == 4);
    CHECK(att.items[0].reasons == ui::kReasonStale);
    CHECK(att.items[0].staleSeconds >= 299);
    CHECK(rig.Text().find("stale 5 min") != std::string::npos);
}

TEST_CASE("a surge is measured against the channel's own baseline") {
    core::Store store;
    const core::UnixMillis now = core::NowMillis();
    SeedTeams(store, 1, 1, now);
    std::vector<core::ChatMessage> msgs;
    // A busy channel: 12 messages in every 15 minutes of the last six hours...
    for (int i = 0; i < 6 * 4 * 12; ++i)
        msgs.push_back(Msg("h" + std::to_string(i), now - 15 * kMin - i * 75000, "Bo", "x"));
    // ...and 20 in the last 15: not three times its usual.
    for (int i = 0; i < 20; ++i)
        msgs.push_back(Msg("n" + std::to_string(i), now - i * 30000, "Bo", "x"));
    store.MergeMessages("c0-0", msgs, false);
    const core::ChannelData* c = store.Current()->FindChannel("c0-0");
    REQUIRE(c);
    CHECK(ui::Baseline15(*c, now) == doctest::Approx(12).epsilon(0.1));
    ui::AttentionOptions o;
    o.now = now;
    auto att = ui::ComputeAttention(*store.Current(), o, nullptr, {});
    CHECK(att.AllQuiet());
    o.surgeFactor = 1.5;  // 20 >= 1.5 x 12
    att = ui::ComputeAttention(*store.Current(), o, nullptr, {});
    REQUIRE(att.items.size() == 1);
    CHECK(att.items[0].reasons == ui::kReasonSurge);
}

TEST_CASE("FitKiosk picks the largest type that fits every card, else pages at the smallest") {
    // 7 cards of 20 x 6 units on 1920 x 900: two columns of four rows gives s = 900/4/6 = 37.
    ui::KioskFit f = ui::FitKiosk(7, 1920, 900, 0, 20, 6, 24, 100);
    CHECK(f.perPage == 7);
    CHECK(f.type >= 24);
    CHECK(f.columns * f.rows >= 7);
    CHECK(f.cardW >= 20 * f.type - 0.5f);
    CHECK(f.cardH >= 6 * f.type - 0.5f);
    // No layout of these seven does better than 85 % of the chosen type's best.
    float best = 0;
    for (int cols = 1; cols <= 7; ++cols) {
        int rows = (7 + cols - 1) / cols;
        best = std::max(best, std::min(1920.0f / cols / 20, 900.0f / rows / 6));
    }
    CHECK(f.type >= best * 0.85f - 0.01f);
    // 50 cards do not fit at 24 px: pages of as many as fit.
    f = ui::FitKiosk(50, 1920, 900, 12, 20, 6, 24, 36);
    CHECK(f.type == 24);
    CHECK(f.columns == 3);  // (1920 + 12) / (480 + 12)
    CHECK(f.rows == 5);     // (900 + 12) / (144 + 12)
    CHECK(f.perPage == 15);
    CHECK(f.Paged(50));
}

TEST_CASE("the kiosk wall draws no text below 24 px at 1080p, or 48 px at 2160p") {
    for (ImVec2 screen : {ImVec2(1920, 1080), ImVec2(3840, 2160)}) {
        for (int teams : {7, 50}) {
            CAPTURE(screen.y);
            CAPTURE(teams);
            Rig rig(true, screen);
            ImGui::GetIO().Fonts->Clear();
            ui::Fonts fonts = ui::LoadFonts(1.0f, screen.y / 1080.0f);
            REQUIRE(fonts.kiosk != nullptr);  // fonts-inter or fonts-dejavu-core
            rig.app.SetFonts(fonts);
            SeedTeams(rig.store, teams, 10, rig.now);
            MakeTrouble(rig);
            rig.Frame();
            rig.Frame();
            const ui::TextSizes sizes = ui::MeasureDrawnText(ImGui::GetDrawData());
            const float floor = ui::kKioskMinPx * screen.y / 1080.0f;
            CHECK(sizes.glyphs > 300);
            CHECK(sizes.minPx >= floor - 0.01f);
            CHECK(sizes.maxPx >= floor * 2);  // the big numbers
            // Every card on the page is drawn, wholly on screen.
            const auto& kiosk = rig.app.Dashboard().Kiosk();
            const auto& cards = rig.app.Dashboard().LastCardRects();
            CHECK(cards.size() == std::min<size_t>(teams, kiosk.Fit().perPage));
            for (const auto& [id, r] : cards) {
                CHECK(r.min.x >= 0);
                CHECK(r.max.x <= screen.x);
                CHECK(r.max.y <= screen.y);
            }
            CHECK(kiosk.Pages() ==
                  (teams == 7 ? 1u : (teams + kiosk.Fit().perPage - 1) / kiosk.Fit().perPage));
            // The strip leads, and the troubled teams fill the first page.
            std::string text = rig.Text();
            CHECK(text.find("NEEDS ATTENTION") != std::string::npos);
            CHECK(cards.count("t4") == 1);
            CHECK(cards.count("t2") == 1);
        }
    }
}

TEST_CASE("the text probe measures what was drawn, not what was meant") {
    Rig rig(false);
    ImGui::NewFrame();
    ImFont* font = ImGui::GetFont();
    ImGui::GetForegroundDrawList()->AddText(font, 40.0f, ImVec2(10, 10), 0xffffffff, "Hello");
    ImGui::GetForegroundDrawList()->AddText(font, 13.0f, ImVec2(10, 80), 0xffffffff, "small");
    ImGui::Render();
    ui::TextSizes all = ui::MeasureDrawnText(ImGui::GetDrawData());
    CHECK(all.minPx == doctest::Approx(13.0f).epsilon(0.02));
    CHECK(all.maxPx == doctest::Approx(40.0f).epsilon(0.02));
    ui::TextSizes top = ui::MeasureDrawnText(ImGui::GetDrawData(), 0, 70);
    CHECK(top.minPx == doctest::Approx(40.0f).epsilon(0.02));
}

namespace {

struct AlertRig {
    HeadlessImGui imgui;
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    struct Raised {
        std::string title;
        bool notify, sound;
    };
    std::vector<Raised> raised;
    std::vector<core::AuditRow> audit;
    ui::AppUi app;
    explicit AlertRig(bool kiosk, bool sound = false)
        : imgui(ImVec2(1600, 900)), app(Options(kiosk, sound)) {
        SeedTeams(store, 3, 2, now);
        store.UpdateSyncStatus([](core::SyncStatus& s) { s.signedIn = true; });
    }
    ui::AppUiOptions Options(bool kiosk, bool sound) {
        ui::AppUiOptions o;
        o.kiosk = kiosk;
        o.config.ui.alertRepeatMinutes = 30;
        o.config.ui.alertSound = sound;
        o.alertRaised = [this](const ui::Alert& a, bool notify, bool snd) {
            raised.push_back({a.title, notify, snd});
        };
        o.audit = [this](const core::AuditRow& r) { audit.push_back(r); };
        return o;
    }
    void Frame() { imgui.Frame(app, store.Current(), now); }
    void Key(int key) { imgui.Key(app, store.Current(), now, key); }
    void Burst(const std::string& channel, const std::string& prefix) {
        std::vector<core::ChatMessage> burst;
        for (int i = 0; i < 12; ++i)
            burst.push_back(Msg(prefix + std::to_string(i), now - i * 10000, "Sam", "busy"));
        store.MergeMessages(channel, burst, false);
    }
    void Synced() {
        const core::SnapshotPtr snap = store.Current();  // held: each sync publishes anew
        for (const auto& [id, c] : snap->channels) store.RecordChannelSync(id, true, {});
    }
};

size_t CountKey(const ui::AlertCenter& c, const std::string& key) {
    size_t n = 0;
    for (const auto& a : c.Active()) n += a.key == key;
    return n;
}

}  // namespace

TEST_CASE("a surge raises one alert that flashes until acknowledged, then is audited") {
    AlertRig rig(false);
    rig.Frame();
    CHECK(rig.app.Alerts().Active().empty());
    rig.Burst("c1-0", "a");
    rig.Frame();  // new data is looked at four times a second at most
    CHECK(rig.app.Alerts().Active().empty());
    rig.now += 300;
    rig.Frame();
    REQUIRE(rig.app.Alerts().Active().size() == 1);
    const ui::Alert alert = rig.app.Alerts().Active().front();
    CHECK(alert.kind == ui::Alert::Kind::kSurge);
    CHECK(alert.title == "Surge in # Channel 1.0 (Team 1)");
    // The desk asks for a desktop notification, without sound by default.
    REQUIRE(rig.raised.size() == 1);
    CHECK(rig.raised[0].notify);
    CHECK_FALSE(rig.raised[0].sound);
    // It stays up, frame after frame, and the wall is redrawn to flash it.
    for (int i = 0; i < 5; ++i) rig.Frame();
    CHECK(rig.app.Alerts().Active().size() == 1);
    CHECK(rig.raised.size() == 1);
    CHECK(rig.app.SecondsUntilDue(rig.now) <= 0.5);
    std::string text = test::ScreenText(rig.app, rig.store.Current(), rig.now);
    CHECK(text.find("ALERT  Surge in # Channel 1.0 (Team 1)") != std::string::npos);
    CHECK(text.find("12 messages in 15 minutes, usually 0") != std::string::npos);
    // Acknowledged with the button: down, and written to the audit log.
    rig.Frame();
    rig.imgui.ClickRect(rig.app, rig.store.Current(), rig.now, rig.app.AlertAckRect());
    CHECK(rig.app.Alerts().Active().empty());
    REQUIRE(rig.audit.size() == 1);
    CHECK(rig.audit[0].action == "alert-acknowledged");
    CHECK(rig.audit[0].channelId == "c1-0");
    CHECK(rig.audit[0].teamId == "t1");
    CHECK(rig.audit[0].result == "surge");
    CHECK(rig.audit[0].detail.find("Surge in # Channel 1.0") != std::string::npos);
    CHECK(rig.audit[0].detail.find("0 repeats") != std::string::npos);
    text = test::ScreenText(rig.app, rig.store.Current(), rig.now);
    CHECK(text.find("ALERT") == std::string::npos);
}

TEST_CASE("the same alert is rate-limited to once per alert_repeat_minutes") {
    AlertRig rig(false);
    auto synced = [&rig] {
        rig.store.UpdateSyncStatus([&](core::SyncStatus& s) { s.lastSyncOk = rig.now; });
    };
    synced();
    rig.Frame();
    CHECK(rig.app.Alerts().Active().empty());
    rig.now += 2 * 60000;  // past the 60 s STALE limit
    rig.Frame();
    REQUIRE(CountKey(rig.app.Alerts(), "stale") == 1);
    rig.Key(ui::keys::kF9);  // F9 acknowledges the oldest alert
    CHECK(rig.app.Alerts().Active().empty());
    REQUIRE(rig.audit.size() == 1);
    CHECK(rig.audit[0].result == "stale");
    // Fresh again, then stale again inside the 30-minute window: counted, not raised.
    synced();
    rig.Frame();
    rig.now += 2 * 60000;
    rig.Frame();
    CHECK(CountKey(rig.app.Alerts(), "stale") == 0);
    CHECK(rig.app.Alerts().Suppressed() == 1);
    // Staying stale is the same episode: nothing more.
    rig.now += 60000;
    rig.Frame();
    CHECK(rig.app.Alerts().Suppressed() == 1);
    // After the window, going stale again is a new alert.
    rig.now += 30 * 60000;
    synced();
    rig.Frame();
    rig.now += 2 * 60000;
    rig.Frame();
    CHECK(CountKey(rig.app.Alerts(), "stale") == 1);
    CHECK(rig.raised.size() == 2);
    CHECK(rig.app.Alerts().Raised() == 2);
}

TEST_CASE(
    "a new critical review item raises an alert naming its rule, and so does the wall going "
    "stale") {
    AlertRig rig(true, /*sound=*/true);
    auto review = std::make_shared<core::ReviewState>();
    review->version = 1;
    core::ReviewItem item;
    item.id = 1;
    item.teamId = "t2";
    item.channelId = "c2-1";
    item.severity = "critical";
    item.ruleName = "Card numbers";
    review->items.push_back(item);
    rig.store.SetReview(review);
    rig.Frame();  // what is pending at start is the baseline, not an alert
    CHECK(rig.app.Alerts().Active().empty());
    auto more = std::make_shared<core::ReviewState>(*review);
    more->version = 2;
    item.id = 2;
    more->items.push_back(item);
    rig.store.SetReview(more);
    rig.Frame();
    REQUIRE(rig.app.Alerts().Active().size() == 1);
    const ui::Alert& a = rig.app.Alerts().Active().front();
    CHECK(a.kind == ui::Alert::Kind::kCritical);
    CHECK(a.title == "Critical rule hit in # Channel 2.1 (Team 2)");
    CHECK(a.detail == "1 new critical review item: Card numbers");
    // On the wall (kiosk) there is no desktop notification; the sound was asked for.
    REQUIRE(rig.raised.size() == 1);
    CHECK_FALSE(rig.raised[0].notify);
    CHECK(rig.raised[0].sound);
    // The wall goes stale once it has had data: a second alert, behind the first.
    rig.store.UpdateSyncStatus([&](core::SyncStatus& s) { s.lastSyncOk = rig.now; });
    rig.Frame();
    CHECK(CountKey(rig.app.Alerts(), "stale") == 0);
    rig.now += 5 * 60000;
    rig.Frame();
    CHECK(CountKey(rig.app.Alerts(), "stale") == 1);
    CHECK(rig.app.Alerts().Active().size() == 2);
    std::string text = test::ScreenText(rig.app, rig.store.Current(), rig.now);
    CHECK(text.find("ALERT  Critical rule hit") != std::string::npos);
    CHECK(text.find("+1 more") != std::string::npos);
}

TEST_CASE("the kiosk wall turns its pages of teams, and new trouble brings the first page back") {
    Rig rig(true, ImVec2(1920, 1080));
    ImGui::GetIO().Fonts->Clear();
    rig.app.SetFonts(ui::LoadFonts(1.0f, 1.0f));
    SeedTeams(rig.store, 50, 10, rig.now);
    rig.store.UpdateSyncStatus([](core::SyncStatus& s) { s.signedIn = true; });
    rig.Frame();
    const auto& kiosk = rig.app.Dashboard().Kiosk();
    REQUIRE(kiosk.Pages() > 1);
    CHECK(kiosk.PageShown() == 0);
    rig.now += ui::KioskWall::kPageMillis + 1;
    rig.Frame();
    CHECK(kiosk.PageShown() == 1);
    // Team 30 starts surging (the store counts by the real clock): it leads the wall, and
    // the wall shows its first page now.
    std::vector<core::ChatMessage> burst;
    for (int i = 0; i < 14; ++i)
        burst.push_back(Msg("z" + std::to_string(i), core::NowMillis() - i * 20000, "Sam", "busy"));
    rig.store.MergeMessages("c30-4", burst, false);
    rig.now += 300;
    rig.Frame();
    CHECK(kiosk.PageShown() == 0);
    CHECK(rig.app.Dashboard().TeamOrderShown().front() == 30);
    CHECK(rig.app.Dashboard().LastCardRects().count("t30") == 1);
}

TEST_CASE("an idle kiosk wall wakes in time to turn its page of teams") {
    Rig rig(true, ImVec2(1920, 1080));
    ImGui::GetIO().Fonts->Clear();
    rig.app.SetFonts(ui::LoadFonts(1.0f, 1.0f));
    SeedTeams(rig.store, 50, 10, rig.now);
    rig.Frame();
    REQUIRE(rig.app.Dashboard().Kiosk().Pages() > 1);
    // The frame loop sleeps until SecondsUntilDue: the wall's next page must bound it.
    CHECK(rig.app.SecondsUntilDue(rig.now) <= ui::KioskWall::kPageMillis / 1000.0 + 0.01);
    CHECK(rig.app.SecondsUntilDue(rig.now + 10000) <= 5.01);
}
