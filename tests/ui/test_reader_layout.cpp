// Headless UI tests of the thread reader's variable-height rows: a row is as tall as its
// text, reactions sit inline, heights of unchanged rows are reused, and only the rows on
// screen are drawn, found through the prefix sum of the heights.
#include <string>

#include "ui/ui_rig.hpp"

using namespace cdeck;
using test::HeadlessImGui;
using test::Msg;

namespace {

struct ReaderRig {
    HeadlessImGui imgui{ImVec2(1600, 900)};
    core::Store store;
    core::UnixMillis now = core::NowMillis();
    ui::AppUi app{ui::AppUiOptions{}};
    ReaderRig() {
        store.UpsertTeams({core::Team{"t1", "Ops", "", "", "", false}});
        core::Channel c;
        c.id = "c1";
        c.displayName = "General";
        c.teamId = "t1";
        store.UpsertChannels("t1", {c});
        app.GetSelection().OpenChannel("t1", "c1");
    }
    void Frame() { imgui.Frame(app, store.Current(), now); }
    const ui::ChannelView& Reader() const { return app.Reader(); }
};

std::string Words(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "word" + std::to_string(i) + " ";
    return s;
}

}  // namespace

TEST_CASE("reader rows are as tall as their text, with reactions inline") {
    ReaderRig rig;
    core::ChatMessage shortMsg = Msg("short", rig.now - 50000, "Ann", "ok");
    core::ChatMessage liked = Msg("liked", rig.now - 40000, "Ann", "ok too");
    liked.reactions.push_back({"like", "", std::nullopt, {}});
    liked.reactions.push_back({"heart", "", std::nullopt, {}});
    core::ChatMessage longMsg = Msg("long", rig.now - 30000, "Ben", Words(60));
    core::ChatMessage huge = Msg("huge", rig.now - 20000, "Ben", Words(2000));
    rig.store.MergeMessages("c1", {shortMsg, liked, longMsg, huge}, true);
    rig.Frame();
    rig.Frame();
    const auto& h = rig.Reader().RowHeights();
    REQUIRE(h.size() == 4);
    const float line = ImGui::GetTextLineHeight();
    // Reactions add no line: the liked row is exactly as tall as the plain short one.
    CHECK(h[1] == h[0]);
    // 60 words wrap to a few lines; the row grows by whole lines.
    CHECK(h[2] >= h[0] + 2 * line);
    // Very long text stops at the cap.
    CHECK(h[3] ==
          doctest::Approx(h[0] + (ui::ChannelView::kMaxBodyLines - 1) * line).epsilon(0.01));
    CHECK(h[3] > h[2]);
    // The reactions are drawn on the header line.
    std::string text = test::ScreenText(rig.app, rig.store.Current(), rig.now);
    CHECK(text.find("heart 1") != std::string::npos);
    CHECK(text.find("like 1") != std::string::npos);
}

TEST_CASE("a row with replies has a footer line, one without has none") {
    ReaderRig rig;
    core::ChatMessage root = Msg("root", rig.now - 50000, "Ann", "question");
    core::ChatMessage plain = Msg("plain", rig.now - 40000, "Ann", "question");
    core::ChatMessage reply = Msg("r1", rig.now - 30000, "Bo", "answer");
    reply.replyToId = "root";
    root.replies.push_back(reply);
    rig.store.MergeMessages("c1", {root, plain}, true);
    rig.Frame();
    rig.Frame();
    const auto& h = rig.Reader().RowHeights();
    REQUIRE(h.size() == 2);
    CHECK(h[0] == doctest::Approx(h[1] + ImGui::GetFrameHeight() + ImGui::GetStyle().ItemSpacing.y)
                      .epsilon(0.02));
}

TEST_CASE("a new message measures one row, and only rows on screen are drawn") {
    ReaderRig rig;
    std::vector<core::ChatMessage> msgs;
    for (int i = 0; i < 20000; ++i)
        msgs.push_back(Msg("m" + std::to_string(i), rig.now - 4000000 + i * 100, "Ann",
                           i % 7 == 0 ? Words(60) : "short " + std::to_string(i)));
    rig.store.MergeMessages("c1", msgs, true);
    rig.Frame();
    CHECK(rig.Reader().RowsMeasuredLastLayout() == 20000);
    rig.Frame();
    // Following the bottom: the newest rows are the ones drawn, and only a screenful.
    auto drawn = rig.Reader().LastDrawnMessageIds();
    REQUIRE_FALSE(drawn.empty());
    CHECK(drawn.size() < 60);
    CHECK(drawn.back() == "m19999");
    // One more message: one row measured, the rest reused.
    rig.store.MergeMessages("c1", {Msg("new", rig.now, "Bo", "hello")}, false);
    rig.Frame();
    CHECK(rig.Reader().RowsMeasuredLastLayout() == 1);
    CHECK(rig.Reader().RowCount() == 20001);
    // Jump to row 7000: it is the first row drawn (found by binary search of the offsets).
    rig.app.Reader().ScrollToRow(7000);
    rig.Frame();
    rig.Frame();
    drawn = rig.Reader().LastDrawnMessageIds();
    REQUIRE_FALSE(drawn.empty());
    CHECK(drawn.front() == "m7000");
    CHECK(drawn.size() < 60);
    CHECK(rig.Reader().RowsMeasuredLastLayout() == 1);  // scrolling measures nothing
}
