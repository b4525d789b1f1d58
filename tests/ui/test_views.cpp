// Headless UI tests of the quick switcher, permissions, the composer, the metrics page and
// the help overlay, plus the pure pieces they rest on (fuzzy matching, permission rules).
#include <algorithm>

#include "ui/fuzzy.hpp"
#include "ui/permissions.hpp"
#include "ui/theme.hpp"
#include "ui/ui_rig.hpp"

using namespace cdeck;
using test::Msg;
using test::WallRig;

TEST_CASE("fuzzy matching finds names by scattered letters and ranks word starts first") {
    using ui::FuzzyScore;
    CHECK(FuzzyScore("pay dep", "Engineering - Payments / Deployments") > 0);
    CHECK(FuzzyScore("xyz", "Engineering - Payments / Deployments") == 0);
    CHECK(FuzzyScore("", "anything") == 0);
    CHECK(FuzzyScore("DEP", "deployments") > 0);  // case does not matter
    // Word starts and runs beat letters scattered inside words.
    CHECK(FuzzyScore("pd", "Payments / Deployments") > FuzzyScore("pd", "Spreadsheet"));
    CHECK(FuzzyScore("gen", "General") > FuzzyScore("gen", "Engineering"));
    // A shorter name wins a tie.
    CHECK(FuzzyScore("ops", "Ops") > FuzzyScore("ops", "Ops archive of old incidents 2019"));
    // Order matters.
    CHECK(FuzzyScore("ba", "ab") == 0);
}

TEST_CASE("permission rules follow Graph's delegated scopes and application roles") {
    using ui::Action;
    using ui::Check;
    CHECK_FALSE(Check(Action::kRead, false, true, {}).allowed);
    CHECK(Check(Action::kRead, true, false, {"ChannelMessage.Read.All"}).allowed);
    CHECK_FALSE(Check(Action::kRead, true, false, {"Team.ReadBasic.All"}).allowed);
    // Application permissions cannot post, edit or delete, whatever roles are granted.
    auto post =
        Check(Action::kPost, true, false, {"ChannelMessage.Read.All", "Teamwork.Migrate.All"});
    CHECK_FALSE(post.allowed);
    CHECK(post.why.find("signed-in user") != std::string::npos);
    // Delegated: by scope, with or without the resource prefix, in any case.
    CHECK(Check(Action::kPost, true, true, {"https://graph.microsoft.com/ChannelMessage.Send"})
              .allowed);
    CHECK(Check(Action::kReply, true, true, {"channelmessage.send"}).allowed);
    auto edit = Check(Action::kEdit, true, true, {"ChannelMessage.Send"});
    CHECK_FALSE(edit.allowed);
    CHECK(edit.why.find("ChannelMessage.ReadWrite") != std::string::npos);
    CHECK(Check(Action::kDelete, true, true, {"ChannelMessage.ReadWrite"}).allowed);
    // Unknown grants: Graph decides.
    CHECK(Check(Action::kRead, true, false, {}).allowed);
}

TEST_CASE("the quick switcher opens channels and teams by fuzzy name") {
    WallRig rig(false);
    rig.Frame();
    rig.Key(ui::keys::kK, /*ctrl=*/true);
    rig.Frame();
    REQUIRE(rig.app.Switcher().IsOpen());
    CHECK(rig.app.Switcher().Results().size() == 5);  // 2 teams + 3 channels, unfiltered
    rig.Type("sup gam");
    REQUIRE_FALSE(rig.app.Switcher().Results().empty());
    CHECK(rig.app.Switcher().Results()[0].channelId == "c-gamma");
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
    rig.Frame();
    CHECK_FALSE(rig.app.Switcher().IsOpen());
    CHECK(rig.app.GetSelection().channelId == "c-gamma");
    CHECK(rig.app.GetSelection().page == ui::Page::kReader);
    CHECK(rig.submitted.back().kind == core::Command::Kind::kRefreshChannel);

    // Arrows move the highlight; a team result goes to the wall.
    rig.Key(ui::keys::kK, true);
    rig.Frame();
    rig.Type("op");
    REQUIRE(rig.app.Switcher().Results().size() >= 1);
    CHECK(rig.app.Switcher().Results()[0].label == "Operations");
    CHECK(rig.app.Switcher().Results()[0].channelId.empty());
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
    rig.Frame();
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
    CHECK(rig.app.GetSelection().teamId == "t1");

    // Escape closes without choosing.
    rig.Key(ui::keys::kK, true);
    rig.Frame();
    rig.Type("beta");
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Escape]);
    rig.Frame();
    CHECK_FALSE(rig.app.Switcher().IsOpen());
    CHECK(rig.app.GetSelection().page == ui::Page::kWall);
}

TEST_CASE("New post stays disabled without ChannelMessage.Send, whatever is clicked") {
    WallRig rig(false);
    rig.store.UpdateSyncStatus([](core::SyncStatus& s) {
        s.signedIn = true;
        s.delegated = false;  // the demo tenant's default: the app itself
        s.grantedScopes = {"ChannelMessage.Read.All", "Team.ReadBasic.All"};
    });
    rig.app.GetSelection().OpenChannel("t1", "c-beta");
    rig.Frame();
    CHECK_FALSE(rig.app.Reader().PostEnabled());
    CHECK(rig.app.Reader().PostDisabledReason().find("signed-in user") != std::string::npos);
    rig.ClickRect(rig.app.Reader().LastRects().newPost);
    rig.Frame();
    CHECK_FALSE(rig.app.Reader().ComposerOpen());
    CHECK_FALSE(rig.app.Reader().PostEnabled());

    // A user without the scope: still disabled, and the reason names the scope.
    rig.store.UpdateSyncStatus([](core::SyncStatus& s) {
        s.delegated = true;
        s.grantedScopes = {"ChannelMessage.Read.All"};
    });
    rig.Frame();
    rig.ClickRect(rig.app.Reader().LastRects().newPost);
    CHECK_FALSE(rig.app.Reader().ComposerOpen());
    CHECK(rig.app.Reader().PostDisabledReason().find("ChannelMessage.Send") != std::string::npos);
    // The Account page lists the same verdicts.
    rig.Key(ui::keys::kDigit1 + 4, true);
    rig.Frame();
    CHECK_FALSE(rig.app.Account().SignOutEnabled());  // no sign-out function in this rig
}

TEST_CASE("the composer posts the text as plain text and closes when Graph accepts it") {
    WallRig rig(false);
    test::SignIn(rig.store, {"ChannelMessage.Read.All", "ChannelMessage.Send"});
    rig.app.GetSelection().OpenChannel("t1", "c-beta");
    rig.Frame();
    REQUIRE(rig.app.Reader().PostEnabled());
    rig.ClickRect(rig.app.Reader().LastRects().newPost);
    rig.Frame();
    REQUIRE(rig.app.Reader().ComposerOpen());
    rig.ClickRect(rig.app.Reader().LastRects().body);
    rig.Type("deploy <b>now</b> please");
    rig.ClickRect(rig.app.Reader().LastRects().send);
    REQUIRE(rig.Count(core::Command::Kind::kPostMessage) == 1);
    core::Command post;
    for (auto& c : rig.submitted)
        if (c.kind == core::Command::Kind::kPostMessage) post = c;
    CHECK(post.channelId == "c-beta");
    CHECK(post.teamId == "t1");
    // Typed HTML stays text: the body is escaped, then the light markup applied.
    CHECK(post.message.contentType == "html");
    CHECK(post.message.content == "deploy &lt;b&gt;now&lt;/b&gt; please");
    REQUIRE(post.finished);

    // A failure keeps the composer and the text, and offers to send again.
    core::Command::Outcome refused;
    refused.status = core::MakeError(core::ErrorCode::kPermission, "403 Forbidden");
    post.finished(refused);
    rig.Frame();
    CHECK(rig.app.Reader().ComposerOpen());
    CHECK(rig.app.Reader().ComposerStatus().find("Not sent") == 0);
    // Success closes it.
    post.finished(core::Command::Outcome{});
    rig.Frame();
    CHECK_FALSE(rig.app.Reader().ComposerOpen());
    CHECK(rig.app.Reader().ComposerStatus() == "Sent.");
}

TEST_CASE("drafts are saved a second after typing stops and come back in a new session") {
    std::vector<std::pair<core::Draft, bool>> saved;
    ui::AppUiOptions o;
    o.saveDraft = [&](const core::Draft& d, bool remove) { saved.push_back({d, remove}); };
    WallRig rig(false, o);
    test::SignIn(rig.store, {"ChannelMessage.Send"});
    rig.StartComposing("t1", "c-beta");
    rig.Type("half a thought");
    CHECK(saved.empty());  // not on every keystroke
    rig.imgui.Frame(rig.app, rig.store.Current(), rig.now + 1500);
    REQUIRE(saved.size() == 1);
    CHECK(saved[0].first.key == "channel:c-beta");
    CHECK(saved[0].first.body == "half a thought");
    CHECK_FALSE(saved[0].second);

    // The next session starts with that draft and restores it into the composer.
    ui::AppUiOptions o2;
    o2.drafts = {saved[0].first};
    WallRig next(false, o2);
    test::SignIn(next.store, {"ChannelMessage.Send"});
    next.app.GetSelection().OpenChannel("t1", "c-beta");
    next.Frame();
    next.ClickRect(next.app.Reader().LastRects().newPost);
    next.Frame();
    CHECK(next.app.Reader().ComposerOpen());
    CHECK(next.app.Reader().ComposerStatus() == "Draft restored.");
}

TEST_CASE("the metrics page sorts channels by staleness and keeps rate history") {
    WallRig rig(false);
    rig.store.RestoreChannelSync("c-alpha", rig.now - 100000, true);
    rig.store.RestoreChannelSync("c-beta", rig.now - 10000, true);
    rig.store.RestoreChannelSync("c-gamma", rig.now - 1000000, true);
    for (int i = 0; i < 3; ++i) {
        auto m = std::make_shared<core::MetricsSnapshot>();
        m->at = rig.now + i * 1000;
        core::ScopeMetrics sc;
        sc.scope = "class:get_message";
        sc.limit = 20;
        sc.pacedRate = 18;
        sc.sendsPerSecond = 5 + i;
        m->scopes.push_back(sc);
        rig.store.UpdateSyncStatus([&](core::SyncStatus& s) { s.metrics = m; });
        rig.Frame();
    }
    const auto& hist = rig.app.Metrics();
    (void)hist;
    rig.Key(ui::keys::kDigit1 + 3, true);  // Ctrl+4: Metrics
    rig.Frame();
    CHECK(rig.app.Metrics().StalenessOrder() ==
          std::vector<std::string>{"c-gamma", "c-alpha", "c-beta"});
}

TEST_CASE("? opens the shortcut list and Escape closes it") {
    WallRig rig(false);
    rig.Frame();
    rig.Type("?");
    CHECK(rig.app.Help().IsOpen());
    rig.Key(ImGui::GetIO().KeyMap[ImGuiKey_Escape]);
    CHECK_FALSE(rig.app.Help().IsOpen());
    rig.Key(ui::keys::kF1);
    CHECK(rig.app.Help().IsOpen());
    // Typing ? into a text field does not toggle it.
    rig.Key(ui::keys::kF1);
    rig.Key(ui::keys::kF, true);
    rig.Type("?");
    CHECK_FALSE(rig.app.Help().IsOpen());
}

TEST_CASE("theme and palette come from the settings and keep the three levels distinct") {
    ui::AppUiOptions o;
    o.config.ui.palette = "colorblind";
    o.config.ui.theme = "high_contrast";
    WallRig rig(false, o);
    rig.Frame();
    auto same = [](ImVec4 a, ImVec4 b) { return a.x == b.x && a.y == b.y && a.z == b.z; };
    // Okabe-Ito: bluish green, orange, vermilion.
    CHECK(same(ui::LevelColor(ui::Level::kGood), ImVec4(0.00f, 0.62f, 0.45f, 1)));
    CHECK_FALSE(same(ui::LevelColor(ui::Level::kWarn), ui::LevelColor(ui::Level::kBad)));
    CHECK(same(ImGui::GetStyle().Colors[ImGuiCol_WindowBg], ImVec4(0, 0, 0, 1)));
    CHECK(ImGui::GetStyle().FrameBorderSize == 1.0f);
    // Back to the defaults for the other tests in this process.
    ui::ApplyTheme({});
    CHECK(same(ui::LevelColor(ui::Level::kGood), ImVec4(0.30f, 0.78f, 0.47f, 1)));
}

TEST_CASE("sign-out is offered to a signed-in user and not to an app") {
    int signedOut = 0;
    ui::AppUiOptions o;
    o.signOut = [&] { ++signedOut; };
    WallRig rig(false, o);
    rig.store.UpdateSyncStatus([](core::SyncStatus& s) {
        s.signedIn = true;
        s.delegated = true;
    });
    rig.Key(ui::keys::kDigit1 + 4, true);
    rig.Frame();
    CHECK(rig.app.Account().SignOutEnabled());
    rig.store.UpdateSyncStatus([](core::SyncStatus& s) { s.delegated = false; });
    rig.Frame();
    CHECK_FALSE(rig.app.Account().SignOutEnabled());
    CHECK(signedOut == 0);
}

TEST_CASE("delete from the reader asks first, then offers undo in a toast and a list") {
    WallRig rig(false);
    test::SignIn(rig.store, {"ChannelMessage.ReadWrite"});
    rig.app.GetSelection().OpenChannel("t2", "c-gamma");
    rig.Frame();
    rig.ClickRect(rig.app.Reader().LastRects().lastDelete);
    rig.Frame();
    rig.Frame();  // an auto-sized popup is laid out on its second frame
    CHECK(rig.Count(core::Command::Kind::kSoftDelete) == 0);  // not before "yes"
    rig.ClickRect(rig.app.Reader().LastRects().confirmDelete);
    REQUIRE(rig.Count(core::Command::Kind::kSoftDelete) == 1);
    core::Command del;
    for (auto& c : rig.submitted)
        if (c.kind == core::Command::Kind::kSoftDelete) del = c;
    CHECK(del.messageId == "g1");
    CHECK(del.replyId.empty());
    CHECK(rig.app.Reader().DeletionCount() == 1);
    del.finished(core::Command::Outcome{});
    rig.Frame();
    rig.Frame();
    rig.ClickRect(rig.app.Reader().LastRects().toastUndo);
    REQUIRE(rig.Count(core::Command::Kind::kUndoDelete) == 1);
    // Without the permission there is no Delete button to press.
    rig.store.UpdateSyncStatus(
        [](core::SyncStatus& s) { s.grantedScopes = {"ChannelMessage.Read.All"}; });
    rig.Frame();
    rig.Frame();
    CHECK_FALSE(rig.app.Reader().PostEnabled());
}

TEST_CASE("the @-mention picker offers the team's people and sends matching tags") {
    WallRig rig(false);
    test::SignIn(rig.store, {"ChannelMessage.Send"});
    rig.StartComposing("t1", "c-beta");
    rig.Type("ping @Be");
    rig.Frame();
    rig.ClickRect(rig.app.Reader().LastRects().firstPerson);
    rig.Frame();
    CHECK(rig.app.Reader().ComposerText() == "ping @Ben ");
    rig.ClickRect(rig.app.Reader().LastRects().send);
    REQUIRE(rig.Count(core::Command::Kind::kPostMessage) == 1);
    core::Command post;
    for (auto& c : rig.submitted)
        if (c.kind == core::Command::Kind::kPostMessage) post = c;
    CHECK(post.message.content == "ping <at id=\"0\">Ben</at> ");
    REQUIRE(post.message.mentions.size() == 1);
    CHECK(post.message.mentions[0].first == "Ben");
    CHECK(post.message.mentions[0].second.id == "u-Ben");
}

TEST_CASE("with the team's member list, someone who has never written can be mentioned") {
    WallRig rig(false);
    test::SignIn(rig.store, {"ChannelMessage.Send"});
    core::TeamMember quiet;
    quiet.id = "membership-q";
    quiet.userId = "u-quinn";
    quiet.displayName = "Quinn Silent";
    quiet.email = "quinn@example.test";
    core::TeamMember ben;
    ben.id = "membership-b";
    ben.userId = "u-Ben";
    ben.displayName = "Ben";
    rig.store.SetTeamMembers("t1", {quiet, ben});
    rig.StartComposing("t1", "c-beta");
    rig.Type("hi @Qui");
    rig.Frame();
    rig.ClickRect(rig.app.Reader().LastRects().firstPerson);
    rig.Frame();
    CHECK(rig.app.Reader().ComposerText() == "hi @Quinn Silent ");
    rig.ClickRect(rig.app.Reader().LastRects().send);
    REQUIRE(rig.Count(core::Command::Kind::kPostMessage) == 1);
    core::Command post;
    for (auto& c : rig.submitted)
        if (c.kind == core::Command::Kind::kPostMessage) post = c;
    REQUIRE(post.message.mentions.size() == 1);
    CHECK(post.message.mentions[0].second.id == "u-quinn");
    // Bo wrote in the team but is not in the member list: the list is the team's members.
    rig.StartComposing("t1", "c-beta");
    rig.Type("@Bo");
    rig.Frame();
    std::string text = test::ScreenText(rig.app, rig.store.Current(), rig.now);
    CHECK(text.find("No one in this team matches \"@Bo\"") != std::string::npos);
}
