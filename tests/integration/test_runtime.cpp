// The app's runtime (config -> demo graphsim -> sign-in -> store -> sync engine) driven as
// the GUI drives it, over HTTPS on loopback.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "app_runtime.hpp"
#include "moderation/review.hpp"
#include "support/test_util.hpp"

using namespace cdeck;
using test::WaitFor;

TEST_CASE("sign-out forgets the user and stops syncing, signing in again resumes, data kept") {
    test::TempDir dir;
    app::AppRuntime rt;
    // Every published status, to see the signed-out state however briefly it lasts.
    std::mutex mu;
    std::vector<std::pair<bool, std::string>> states;  // (signedIn, lastError)
    rt.Store().SetWakeCallback([&] {
        auto s = rt.Store().Current();
        std::lock_guard lock(mu);
        if (states.empty() || states.back() != std::make_pair(s->sync.signedIn, s->sync.lastError))
            states.push_back({s->sync.signedIn, s->sync.lastError});
    });
    app::RuntimeOptions ro;
    ro.stateDir = dir.path.string();
    ro.demoAuthMode = "device_code";  // the demo tenant approves its own device codes
    ro.scenarioPath = std::string(CDECK_ASSETS_DIR) + "/scenarios/demo.json";
    auto started = rt.Start(ro);
    REQUIRE_MESSAGE(started.ok(), test::ErrText(started));
    REQUIRE(rt.CanSignOut());
    REQUIRE(WaitFor(
        [&] {
            auto s = rt.Store().Current();
            return s->sync.signedIn && s->totalMessages > 0;
        },
        60));
    CHECK_FALSE(rt.Store().Current()->sync.account.empty());
    CHECK_FALSE(rt.Store().Current()->sync.grantedScopes.empty());
    // The default rule pack flags some of the scenario's messages into the review queue.
    REQUIRE(WaitFor(
        [&] {
            auto r = rt.Store().Current()->review;
            return r && !r->items.empty();
        },
        60));
    {
        auto snap = rt.Store().Current();
        const auto& item = snap->review->items.front();
        CHECK(snap->review->packName == "ChannelDeck default rules");
        CHECK(snap->FindChannel(item.channelId) != nullptr);
        CHECK_FALSE(item.terms.empty());
    }
    uint64_t before = rt.Store().Current()->totalMessages;
    size_t mark;
    {
        std::lock_guard lock(mu);
        mark = states.size();
    }
    rt.SignOut();
    // Signed out (the tokens forgotten), then a new device-code sign-in that succeeds.
    auto sawSignedOut = [&] {
        std::lock_guard lock(mu);
        for (size_t i = mark; i < states.size(); ++i)
            if (!states[i].first && states[i].second == "signed out") return true;
        return false;
    };
    REQUIRE(WaitFor(sawSignedOut, 30));
    REQUIRE(WaitFor([&] { return rt.Store().Current()->sync.signedIn; }, 60));
    CHECK(rt.Store().Current()->totalMessages >= before);  // nothing on screen was lost
    CHECK_FALSE(rt.Store().Current()->sync.account.empty());
    rt.Stop();
}

TEST_CASE("discovery lists each team's members into the store, for the @-mention picker") {
    test::TempDir dir;
    app::AppRuntime rt;
    app::RuntimeOptions ro;
    ro.stateDir = dir.path.string();
    ro.scenarioPath = std::string(CDECK_ASSETS_DIR) + "/scenarios/demo.json";
    auto started = rt.Start(ro);
    REQUIRE_MESSAGE(started.ok(), test::ErrText(started));
    REQUIRE(WaitFor(
        [&] {
            auto s = rt.Store().Current();
            if (s->teams.empty()) return false;
            for (const auto& t : s->teams)
                if (!t->members) return false;
            return true;
        },
        60));
    // Every team's members arrived, and some member of some team has never written there:
    // the picker can offer people the authors alone would miss.
    auto snap = rt.Store().Current();
    bool silentMember = false;
    for (const auto& t : snap->teams) {
        REQUIRE_FALSE(t->members->empty());
        std::set<std::string> authors;
        for (const auto& id : t->channelIds)
            if (const auto* c = snap->FindChannel(id))
                for (const auto& m : c->messages)
                    if (m->message.From().user) authors.insert(m->message.From().user->id);
        for (const auto& m : *t->members) silentMember |= authors.count(m.userId) == 0;
    }
    CHECK(silentMember);
    rt.Stop();
}
