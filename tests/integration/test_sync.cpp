#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "integration/sim_fixture.hpp"
#include "store/store.hpp"
#include "sync/sync_engine.hpp"
#include "util/log.hpp"

using namespace cdeck::core;
using cdeck::test::SimFixture;

namespace {

template <typename F>
bool WaitFor(F pred, double seconds) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

}  // namespace

TEST_CASE("the sync engine fills the store with the whole demo tenant") {
    SimFixture f(cdeck::test::Documented());
    auto stats = f.Stats();
    Store store;
    SyncSettings settings;
    settings.backfillMessages = 10000;
    settings.pollIntervalSeconds = 1.0;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    bool done = WaitFor(
        [&] {
            auto s = store.Current();
            return s->sync.channelsTotal > 0 && s->sync.channelsBackfilled == s->sync.channelsTotal;
        },
        60);
    engine.Stop();
    REQUIRE(done);
    auto snap = store.Current();
    CHECK(snap->teams.size() == 7);
    CHECK(snap->channels.size() == stats["channels"].size());
    CHECK(snap->totalMessages == stats["messages_created"].get<uint64_t>());
    CHECK(snap->sync.signedIn);
    CHECK(snap->sync.requests > 0);
    for (const auto& [id, c] : snap->channels) {
        CHECK(c->backfilled);
        CHECK(c->lastSyncOk > 0);
        CHECK(c->lastError.empty());
    }
}

TEST_CASE("new messages appear while the engine polls, and a post round-trips through a command") {
    SimFixture f(cdeck::test::Documented(true, 20.0));  // ~8 messages a second
    Store store;
    SyncSettings settings;
    settings.pollIntervalSeconds = 0.5;
    SyncEngine engine(f.client, store, settings, false);
    engine.Start();
    REQUIRE(WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60));
    uint64_t before = store.Current()->totalMessages;
    REQUIRE(WaitFor([&] { return store.Current()->totalMessages >= before + 5; }, 30));

    auto snap = store.Current();
    const auto& team = snap->teams.front();
    std::string channelId = team->channelIds.front();
    std::atomic<bool> done{false};
    std::string postedId;
    Command c;
    c.kind = Command::Kind::kPostMessage;
    c.teamId = team->team.id;
    c.channelId = channelId;
    c.message.content = "posted through the engine";
    c.message.contentType = "text";
    c.done = [&](const Result<ChatMessage>& r) {
        if (r.ok()) postedId = r->id;
        done = true;
    };
    engine.Submit(std::move(c));
    REQUIRE(WaitFor([&] { return done.load(); }, 20));
    REQUIRE_FALSE(postedId.empty());
    CHECK(WaitFor(
        [&] {
            const ChannelData* cd = store.Current()->FindChannel(channelId);
            for (const auto& m : cd->messages)
                if (m->message.id == postedId) return m->text.text == "posted through the engine";
            return false;
        },
        10));
    engine.Stop();
}

TEST_CASE("no token, secret or Authorization header reaches the log during sign-in and sync") {
    std::vector<std::string> lines;
    std::mutex m;
    LogLevel prev = GetLogLevel();
    SetLogLevel(LogLevel::kDebug);
    auto old = SetLogSink([&](LogLevel, std::string_view l) {
        std::lock_guard lock(m);
        lines.emplace_back(l);
    });
    {
        SimFixture f(cdeck::test::Documented());
        Store store;
        SyncSettings settings;
        SyncEngine engine(f.client, store, settings, false);
        engine.Start();
        WaitFor([&] { return store.Current()->sync.phase == "live"; }, 60);
        engine.Stop();
        auto token = f.tokens->Token(false);
        REQUIRE(token.ok());
        SetLogSink(std::move(old));
        SetLogLevel(prev);
        REQUIRE_FALSE(lines.empty());
        for (const auto& l : lines) {
            CAPTURE(l);
            CHECK(l.find(token->token) == std::string::npos);
            CHECK(l.find(token->token.substr(0, 24)) == std::string::npos);
            CHECK(l.find(f.info.clientSecret) == std::string::npos);
            CHECK(l.find("Bearer ey") == std::string::npos);
        }
    }
}
