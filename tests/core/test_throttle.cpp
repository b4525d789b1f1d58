// graphsim's throttling arithmetic with an injected clock: exact 429 and penalty counts
// for scripted request sequences.
#include <doctest/doctest.h>

#include <cmath>

#include "sim/throttle.hpp"

using namespace cdeck::sim;

TEST_CASE("a burst drains the per-channel bucket, then 429s carry whole Retry-After seconds") {
    Throttler t;
    int ok = 0, refused = 0;
    double lastRetry = 0;
    for (int i = 0; i < 6; ++i) {
        auto d = t.Charge(100.0, "app", RequestClass::kGetMessage, "", "chan");
        if (d.throttled) {
            ++refused;
            lastRetry = d.retryAfter;
            CHECK(d.scope.rfind("channel:", 0) == 0);
        } else {
            ++ok;
        }
    }
    CHECK(ok == 4);  // capacity: one second of the 4 rps channel limit
    CHECK(refused == 2);
    // Two requests over: a token is back after (1 + 2) / 4 s, stated as a whole second.
    CHECK(lastRetry == 1.0);
    const auto& st = t.Stats().at("channel:app:chan");
    CHECK(st.throttled == 2);
    CHECK(st.penalties == 1);  // the sixth arrived before the time the fifth was told
}

TEST_CASE("a client that honours Retry-After is served, only earlier requests extend the block") {
    // Regression: the deficit a 429 left behind was still there when the stated time came,
    // so a client that waited exactly Retry-After was refused again, forever (the Graph
    // SDKs' behaviour, and our sdk baseline).
    Throttler t;
    double now = 50.0;
    for (int i = 0; i < 4; ++i)
        CHECK_FALSE(t.Charge(now, "a", RequestClass::kGetMessage, "", "c").throttled);
    for (int round = 0; round < 20; ++round) {
        auto refused = t.Charge(now, "a", RequestClass::kGetMessage, "", "c");
        REQUIRE(refused.throttled);
        CHECK(refused.retryAfter == std::floor(refused.retryAfter));  // whole seconds
        CHECK(refused.retryAfter >= 1.0);
        now += refused.retryAfter;  // waits exactly as told, then sends one request
        auto next = t.Charge(now, "a", RequestClass::kGetMessage, "", "c");
        CHECK_FALSE(next.throttled);
        // It spends the rest of the bucket at once, so the next round's request is refused.
        for (int i = 0; i < 2; ++i)
            CHECK_FALSE(t.Charge(now, "a", RequestClass::kGetMessage, "", "c").throttled);
    }
    CHECK(t.TotalPenalties() == 0);  // nobody came back early
}

TEST_CASE("early retries extend the block (penalty), patient ones succeed") {
    Throttler t;
    for (int i = 0; i < 5; ++i) t.Charge(0.0, "a", RequestClass::kGetMessage, "", "c");  // 1 over
    // Closed until a token is back: (1 + 1) / 4 = 0.5 s, stated as 1 s.
    auto early = t.Charge(0.1, "a", RequestClass::kGetMessage, "", "c");
    CHECK(early.throttled);
    // At 0.1 s the deficit was -1 + 0.4 = -0.6; the early retry made it -1.6, so the scope
    // now opens 2.6 / 4 = 0.65 s later, at 0.75 s (stated: 1 s).
    CHECK(early.retryAfter == 1.0);
    CHECK(t.Stats().at("channel:a:c").penalties == 1);
    auto stillEarly = t.Charge(0.7, "a", RequestClass::kGetMessage, "", "c");
    CHECK(stillEarly.throttled);  // the scope had not opened again
    CHECK(t.Stats().at("channel:a:c").penalties == 2);
    auto patient = t.Charge(0.7 + stillEarly.retryAfter, "a", RequestClass::kGetMessage, "", "c");
    CHECK_FALSE(patient.throttled);
    CHECK(t.TotalPenalties() == 2);
}

TEST_CASE("a steady 3.6 rps on one channel is never throttled, 4.4 rps is") {
    for (auto [rate, expectThrottle] : {std::pair{3.6, false}, std::pair{4.4, true}}) {
        Throttler t;
        uint64_t throttled = 0;
        for (int i = 0; i < 200; ++i)
            throttled += t.Charge(i / rate, "a", RequestClass::kGetMessage, "", "c").throttled;
        CAPTURE(rate);
        CHECK((throttled > 0) == expectThrottle);
    }
}

TEST_CASE("every scope is charged: the class limit binds across channels") {
    Throttler t;
    int refused = 0;
    // 30 GETs at one instant spread over 10 channels: per-channel fine (3 each), but the
    // app+tenant GET-message limit is 20.
    for (int i = 0; i < 30; ++i)
        refused += t.Charge(5.0, "a", RequestClass::kGetMessage, "", "c" + std::to_string(i % 10))
                       .throttled;
    CHECK(refused == 10);
    CHECK(t.Stats().at("class:a:get_message").throttled == 10);
}

TEST_CASE("profiles and scaling change the limits") {
    CHECK(Limits::GraphStrict().getMessage == 5);
    CHECK(Limits::GraphStrict().postMessage == 2);
    CHECK(Limits::Graph2025().getMessage == 20);
    CHECK(Limits::Graph2025().Scaled(0.5).perChannel == 2);
    Throttler t(Limits::GraphStrict());
    int refused = 0;
    for (int i = 0; i < 4; ++i)
        refused +=
            t.Charge(0, "a", RequestClass::kPostMessage, "", "c" + std::to_string(i)).throttled;
    CHECK(refused == 2);
}

TEST_CASE("the daily per-channel post quota") {
    Limits l;
    l.postsPerChannelPerDay = 3;
    l.postMessage = 1000;
    l.perChannel = 1000;
    l.app = 1000;
    Throttler t(l);
    int refused = 0;
    for (int i = 0; i < 5; ++i) {
        auto d = t.Charge(86400.0 * 10 + i, "a", RequestClass::kPostMessage, "", "c");
        if (d.throttled) {
            ++refused;
            CHECK(d.dailyQuota);
        }
    }
    CHECK(refused == 2);
    CHECK_FALSE(t.Charge(86400.0 * 11 + 1, "a", RequestClass::kPostMessage, "", "c")
                    .throttled);  // next day
}
