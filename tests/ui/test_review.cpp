// Headless UI tests of the review queue, driven from the keyboard.
#include "moderation/review.hpp"
#include "ui/ui_rig.hpp"

using namespace cdeck;
using test::Msg;
using test::WallRig;

namespace {

// A wall rig with a moderation engine on its store; moderator actions run at once.
struct ReviewRig {
    std::unique_ptr<core::ModerationEngine> mod;
    std::vector<core::Command> graph;  // commands the engine sent towards Graph
    std::unique_ptr<WallRig> rig;
    ReviewRig() {
        ui::AppUiOptions o;
        o.moderate = [this](std::function<void(core::ModerationEngine&)> f) { f(*mod); };
        rig = std::make_unique<WallRig>(false, o);
        auto pack = core::ParseRulePack(R"({"name":"t","version":2,"rules":[
            {"id":"secret","severity":"high","when":{"keywords":["password"]}},
            {"id":"money","severity":"low","when":{"keywords":["wire*"]}}]})");
        REQUIRE(pack.ok());
        core::ModerationEngine::Options mo;
        mo.submit = [this](core::Command c) { graph.push_back(std::move(c)); };
        mod = std::make_unique<core::ModerationEngine>(rig->store, std::move(pack.value()), mo);
        rig->store.SetObserver(mod.get());
        test::SignIn(rig->store, {"ChannelMessage.Read.All", "ChannelMessage.ReadWrite",
                                  "ChannelMessage.Send"});
        core::UnixMillis now = rig->now;
        rig->store.MergeMessages("c-alpha", {Msg("p1", now - 9000, "Ann", "my password is x")},
                                 true);
        rig->store.MergeMessages("c-beta",
                                 {Msg("p2", now - 8000, "Bo", "send the password 123 now"),
                                  Msg("p3", now - 7000, "Bo", "send the PASSWORD 456 now")},
                                 true);
        rig->store.MergeMessages("c-gamma", {Msg("w1", now - 1000, "Gus", "wire the money")}, true);
        rig->Key(ui::keys::kDigit1 + 6, /*ctrl=*/true);  // Ctrl+7: Review
        rig->Frame();
    }
    ~ReviewRig() { rig->store.SetObserver(nullptr); }
    const ui::ReviewView& View() const { return rig->app.Review(); }
    const core::ReviewItem& Item(const std::string& messageId) const {
        for (const auto& i : rig->store.Current()->review->items)
            if (i.messageId == messageId) return i;
        FAIL("no item for " << messageId);
        static core::ReviewItem none;
        return none;
    }
    std::string CurrentMessage() const {
        const auto& r = View().Rows()[static_cast<size_t>(View().Cursor())];
        return rig->store.Current()->review->items[r.first].messageId;
    }
};

}  // namespace

TEST_CASE("the review queue groups near-duplicates and moves with j and k") {
    ReviewRig r;
    REQUIRE(r.rig->app.GetSelection().page == ui::Page::kReview);
    // Newest first; p2 and p3 differ only in their numbers and case: one row.
    REQUIRE(r.View().Rows().size() == 3);
    CHECK(r.CurrentMessage() == "w1");
    CHECK(r.View().Rows()[1].ids.size() == 2);
    r.rig->Key('J');
    CHECK(r.CurrentMessage() == "p2");
    r.rig->Key('J');
    r.rig->Key('J');  // stays on the last
    CHECK(r.CurrentMessage() == "p1");
    r.rig->Key('K');
    CHECK(r.CurrentMessage() == "p2");
    // The strip counts what is pending.
    CHECK(r.rig->store.Current()->review->pendingCount == 4);
}

TEST_CASE("r resolves, x selects for bulk actions, e escalates, space expands") {
    ReviewRig r;
    r.rig->Key('X');  // select w1
    r.rig->Key('J');
    r.rig->Key('X');  // and the p2/p3 group
    CHECK(r.View().Selected().size() == 3);
    r.rig->Key('E');
    CHECK(r.Item("w1").escalated);
    CHECK(r.Item("p2").escalated);
    CHECK(r.Item("p3").escalated);
    CHECK_FALSE(r.Item("p1").escalated);
    CHECK(r.View().Selected().empty());  // an action clears the selection
    // r on the current row resolves the whole group as compliant.
    r.rig->Key('R');
    r.rig->Frame();
    CHECK(r.Item("p2").resolved);
    CHECK(r.Item("p3").tag == "compliant");
    CHECK(r.View().Rows().size() == 2);  // the pending tab no longer shows it
    // Tab shows the resolved ones; r there reopens.
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Tab]);
    r.rig->Frame();
    REQUIRE(r.View().ShowingResolved());
    REQUIRE(r.View().Rows().size() == 1);
    r.rig->Key('R');
    r.rig->Frame();
    CHECK_FALSE(r.Item("p2").resolved);
    CHECK(r.View().Rows().empty());
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Tab]);
    r.rig->Frame();
    CHECK(r.View().Rows().size() == 3);
    // space shows the thread and the author's history under the current row.
    uint64_t first =
        r.rig->store.Current()->review->items[r.View().Rows()[r.View().Cursor()].first].id;
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Space]);
    CHECK(r.View().Expanded(first));
}

TEST_CASE("d asks first, then deletes through Graph, u undoes, t tags with a comment") {
    ReviewRig r;
    r.rig->Key('D');
    r.rig->Frame();
    CHECK(r.graph.empty());  // nothing sent before the confirmation
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
    REQUIRE(r.graph.size() == 1);
    CHECK(r.graph[0].kind == core::Command::Kind::kSoftDelete);
    CHECK(r.graph[0].channelId == "c-gamma");
    CHECK(r.Item("w1").deleted);
    r.graph[0].finished(core::Command::Outcome{});
    r.rig->Frame();
    r.rig->Key('U');
    REQUIRE(r.graph.size() == 2);
    CHECK(r.graph[1].kind == core::Command::Kind::kUndoDelete);
    // Escape cancels a delete.
    r.rig->Key('D');
    r.rig->Frame();
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Escape]);
    r.rig->Frame();
    CHECK(r.graph.size() == 2);
    // t: pick "false positive" with 3, type a comment, Enter.
    r.rig->Key('T');
    r.rig->Frame();
    r.rig->Type("test account");
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
    r.rig->Frame();
    CHECK(r.Item("w1").resolved);
    CHECK(r.Item("w1").tag == "non-compliant");  // the default tag
    CHECK(r.Item("w1").comment == "test account");
}

TEST_CASE("without the permission, d and u do nothing") {
    ReviewRig r;
    r.rig->store.UpdateSyncStatus([](core::SyncStatus& s) { s.delegated = false; });
    r.rig->Frame();
    r.rig->Key('D');
    r.rig->Frame();
    r.rig->Key(ImGui::GetIO().KeyMap[ImGuiKey_Enter]);
    r.rig->Key('U');
    CHECK(r.graph.empty());
    CHECK_FALSE(r.Item("w1").deleted);
}
