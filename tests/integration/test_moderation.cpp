// Moderation end to end: the real client and sync engine against graphsim over HTTPS, a
// rule flags a message into the review queue, the moderator deletes it (graphsim shows it
// deleted, the audit log holds Graph's request-id), and undo restores it.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "integration/sim_fixture.hpp"
#include "moderation/review.hpp"
#include "persist/persister.hpp"
#include "sync/sync_engine.hpp"

using namespace cdeck;
using test::WaitFor;
using namespace cdeck::core;

namespace {

const ReviewItem* Find(const ReviewStatePtr& s, const std::string& messageId) {
    if (!s) return nullptr;
    for (const auto& i : s->items)
        if (i.messageId == messageId) return &i;
    return nullptr;
}

}  // namespace

TEST_CASE("a flagged message is deleted from the queue, audited with its request-id, and undone") {
    test::Delegated d;
    // A message the rule will catch, posted before the sync starts so the backfill finds it.
    NewMessage bad;
    bad.contentType = "text";
    bad.content = "here is the client secret for staging: hunter2";
    auto posted = d.client->PostMessage(d.teamId, d.channelId, bad);
    REQUIRE(posted.ok());

    Store store;
    auto db = Database::Open((d.f.state.path / "moderation.db").string());
    REQUIRE(db.ok());
    Persister persister(std::move(db.value()));
    SyncSettings settings;
    settings.backfillMessages = 20;
    SyncEngine engine(d.client, store, settings, /*delegated=*/true);
    auto pack = ParseRulePack(
        R"({"name":"test","rules":[{"id":"secrets","severity":"high","when":{"keywords":["client secret"]}}]})");
    REQUIRE(pack.ok());
    ModerationEngine::Options mo;
    mo.actor = "tester";
    mo.submit = [&](Command c) { engine.Submit(std::move(c)); };
    mo.audit = [&](const AuditRow& r) { persister.AppendAudit(r); };
    ModerationEngine moderation(store, std::move(pack.value()), mo);
    ObserverList observers;
    observers.Add(&persister);
    observers.Add(&moderation);
    store.SetObserver(&observers);
    persister.Start();
    engine.Start();

    REQUIRE(WaitFor([&] { return Find(store.Current()->review, posted->id) != nullptr; }, 60));
    const ReviewItem item = *Find(store.Current()->review, posted->id);
    CHECK(item.ruleId == "secrets");
    CHECK(item.teamId == d.teamId);
    CHECK(item.channelId == d.channelId);
    REQUIRE(item.terms.size() == 1);
    CHECK(item.text.substr(item.terms[0].begin, item.terms[0].end - item.terms[0].begin) ==
          "client secret");
    CHECK(store.Current()->review->pendingCount >= 1);

    moderation.Delete({item.id});
    REQUIRE(WaitFor(
        [&] {
            auto snap = store.Current();  // keeps the item alive while it is read
            const ReviewItem* i = Find(snap->review, posted->id);
            return i && i->deleted && !i->pending;
        },
        30));
    CHECK(Find(store.Current()->review, posted->id)->lastError.empty());
    // graphsim has it soft-deleted: the app's view of the channel shows deletedDateTime.
    auto m = d.f.client->GetMessage(d.teamId, d.channelId, posted->id);
    REQUIRE(m.ok());
    CHECK(m->deletedDateTime.has_value());

    moderation.Undo({item.id});
    REQUIRE(WaitFor(
        [&] {
            auto snap = store.Current();  // keeps the item alive while it is read
            const ReviewItem* i = Find(snap->review, posted->id);
            return i && !i->deleted && !i->pending;
        },
        30));
    m = d.f.client->GetMessage(d.teamId, d.channelId, posted->id);
    REQUIRE(m.ok());
    CHECK_FALSE(m->deletedDateTime.has_value());

    moderation.Resolve({item.id}, ModerationEngine::Tag::kNonCompliant, "removed and restored");
    engine.Stop();
    persister.Flush(std::chrono::seconds(5));
    auto audit = persister.LoadAudit();
    persister.Stop();
    store.SetObserver(nullptr);
    // Newest first: resolve, undo-delete, soft-delete.
    REQUIRE(audit.size() >= 3);
    CHECK(audit[0].action == "resolve");
    CHECK(audit[0].result == "non-compliant");
    CHECK(audit[1].action == "undo-delete");
    CHECK(audit[2].action == "soft-delete");
    for (int k : {1, 2}) {
        CHECK(audit[k].result == "ok");
        CHECK(audit[k].actor == "tester");
        CHECK(audit[k].rule == "secrets");
        CHECK(audit[k].messageId == posted->id);
        CHECK(audit[k].channelId == d.channelId);
        CHECK_FALSE(audit[k].requestId.empty());  // Graph's request-id, for support
    }
    CHECK(audit[1].requestId != audit[2].requestId);
}

TEST_CASE("no double post: a post whose answer is lost is found, not sent again") {
    test::Delegated d;
    Store store;
    SyncSettings settings;
    settings.backfillMessages = 5;
    SyncEngine engine(d.client, store, settings, /*delegated=*/true);
    engine.Start();
    auto postAndWait = [&](const std::string& text) {
        std::mutex mu;
        std::optional<Command::Outcome> result;
        Command c;
        c.kind = Command::Kind::kPostMessage;
        c.teamId = d.teamId;
        c.channelId = d.channelId;
        c.message.contentType = "text";
        c.message.content = text;
        c.finished = [&](const Command::Outcome& o) {
            std::lock_guard lock(mu);
            result = o;
        };
        engine.Submit(std::move(c));
        REQUIRE(WaitFor(
            [&] {
                std::lock_guard lock(mu);
                return result.has_value();
            },
            30));
        std::lock_guard lock(mu);
        return *result;
    };
    auto copies = [&](const std::string& text) {
        auto page = d.client->ListMessagesPage(d.teamId, d.channelId, 50);
        REQUIRE(page.ok());
        int n = 0;
        for (const auto& m : page->items) n += m.body.content == text;
        return n;
    };

    // graphsim stores the message, then drops the connection instead of answering.
    d.f.Control("/_sim/faults", {{"drop_response_after_write", 1}});
    auto lost = postAndWait("deploy window moved to 14:00");
    REQUIRE_MESSAGE(lost.status.ok(),
                    (lost.status.ok() ? std::string() : lost.status.error().Describe()));
    CHECK(lost.reconciled);
    REQUIRE(lost.message.has_value());
    CHECK_FALSE(lost.message->id.empty());
    CHECK(copies("deploy window moved to 14:00") == 1);  // created exactly once

    // A gateway timeout before anything was stored: not found, so the caller may resend.
    // The scripted fault hits the next request of any kind, so polling stops first (a
    // paused engine sends only the user's own posts) and nothing may be in flight.
    Command pause;
    pause.kind = Command::Kind::kPauseAll;
    pause.flag = true;
    engine.Submit(std::move(pause));
    REQUIRE(WaitFor([&] { return engine.Metrics().inFlight == 0; }, 10));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(engine.Metrics().inFlight == 0);
    d.f.Control("/_sim/faults", {{"next_count", 1}, {"next_kind", "504"}});
    auto failed = postAndWait("second notice");
    CHECK_FALSE(failed.status.ok());
    CHECK(failed.sentButUnanswered);
    CHECK_FALSE(failed.reconciled);
    CHECK(copies("second notice") == 0);
    engine.Stop();
}
