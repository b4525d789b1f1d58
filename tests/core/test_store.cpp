#include <doctest/doctest.h>

#include <atomic>
#include <random>
#include <map>
#include <set>
#include <thread>

#include "store/store.hpp"

using namespace cdeck::core;

namespace {

ChatMessage Msg(const std::string& id, UnixMillis created, UnixMillis modified,
                const std::string& html) {
    ChatMessage m;
    m.id = id;
    m.etag = std::to_string(modified);
    m.createdDateTime = created;
    m.lastModifiedDateTime = modified;
    m.body.contentType = "html";
    m.body.content = html;
    return m;
}

void Seed(Store& s) {
    Team t;
    t.id = "team-1";
    t.displayName = "Ops";
    s.UpsertTeams({t});
    Channel c;
    c.id = "chan-1";
    c.displayName = "General";
    s.UpsertChannels("team-1", {c});
}

}  // namespace

TEST_CASE("snapshots are immutable and versioned") {
    Store s;
    SnapshotPtr before = s.Current();
    Seed(s);
    SnapshotPtr after = s.Current();
    CHECK(after->version > before->version);
    CHECK(before->teams.empty());  // the old snapshot did not change under its reader
    REQUIRE(after->teams.size() == 1);
    CHECK(after->teams[0]->channelIds == std::vector<std::string>{"chan-1"});
    CHECK(after->FindChannel("chan-1")->channel.teamId == "team-1");
}

TEST_CASE("merge is keyed by id, ordered by time, and never goes back to an older version") {
    Store s;
    Seed(s);
    CHECK(s.MergeMessages("chan-1",
                          {Msg("2", 2000, 2000, "<p>two</p>"), Msg("1", 1000, 1000, "one")},
                          false) == 2);
    auto snap = s.Current();
    const ChannelData* c = snap->FindChannel("chan-1");
    REQUIRE(c->messages.size() == 2);
    CHECK(c->messages[0]->message.id == "1");   // oldest first
    CHECK(c->messages[1]->text.text == "two");  // HTML converted at merge, not in the UI
    CHECK(c->last->message.id == "2");

    // An edit replaces; a stale copy of the old version is ignored; the same page twice is a no-op.
    CHECK(s.MergeMessages("chan-1", {Msg("2", 2000, 3000, "edited")}, false) == 1);
    CHECK(s.MergeMessages("chan-1", {Msg("2", 2000, 2000, "<p>two</p>")}, false) == 0);
    CHECK(s.MergeMessages("chan-1", {Msg("2", 2000, 3000, "edited")}, false) == 0);
    c = s.Current()->FindChannel("chan-1");
    CHECK(c->messages[1]->text.text == "edited");
    CHECK(s.Current()->totalMessages == 2);
}

TEST_CASE("replies inlined later are unioned into the root") {
    Store s;
    Seed(s);
    ChatMessage root = Msg("r", 1000, 1000, "root");
    ChatMessage reply1 = Msg("a", 1100, 1100, "first");
    reply1.replyToId = "r";
    root.replies = {reply1};
    s.MergeMessages("chan-1", {root}, false);
    ChatMessage again = Msg("r", 1000, 1000, "root");
    ChatMessage reply2 = Msg("b", 1200, 1200, "second");
    reply2.replyToId = "r";
    again.replies = {reply2, reply1};
    s.MergeMessages("chan-1", {again}, false);
    const ChannelData* c = s.Current()->FindChannel("chan-1");
    REQUIRE(c->messages.size() == 1);
    REQUIRE(c->messages[0]->replies.size() == 2);
    CHECK(c->messages[0]->replies[0]->message.id == "a");
    CHECK(c->messages[0]->replies[1]->message.id == "b");
    CHECK(c->replyCount == 2);
}

TEST_CASE("unchanged channels are shared between snapshots, not copied") {
    Store s;
    Seed(s);
    Channel other;
    other.id = "chan-2";
    s.UpsertChannels("team-1", {s.Current()->FindChannel("chan-1")->channel, other});
    s.MergeMessages("chan-1", {Msg("1", 1000, 1000, "x")}, false);
    auto a = s.Current();
    s.MergeMessages("chan-2", {Msg("2", 1000, 1000, "y")}, false);
    auto b = s.Current();
    CHECK(a->channels.at("chan-1").get() == b->channels.at("chan-1").get());
    CHECK(a->channels.at("chan-2").get() != b->channels.at("chan-2").get());
}

TEST_CASE("publishing wakes the UI and backfill progress is counted once") {
    Store s;
    std::atomic<int> wakes{0};
    s.SetWakeCallback([&] { wakes++; });
    Seed(s);
    int before = wakes.load();
    s.MergeMessages("chan-1", {Msg("1", 1000, 1000, "x")}, true);
    s.MergeMessages("chan-1", {Msg("2", 2000, 2000, "y")}, true);
    CHECK(wakes.load() == before + 2);
    CHECK(s.Current()->sync.channelsBackfilled == 1);
}

TEST_CASE("derived activity: 15-minute count and sparkline") {
    Store s;
    Seed(s);
    UnixMillis now = NowMillis();
    s.MergeMessages("chan-1",
                    {Msg("old", now - 3 * 3600 * 1000, now - 3 * 3600 * 1000, "o"),
                     Msg("a", now - 20 * 60 * 1000, now - 20 * 60 * 1000, "a"),
                     Msg("b", now - 60 * 1000, now - 60 * 1000, "b")},
                    false);
    const ChannelData* c = s.Current()->FindChannel("chan-1");
    CHECK(c->last15Min == 1);
    float sum = 0;
    for (float v : c->sparkline) sum += v;
    CHECK(sum == 2.0f);  // the 3-hour-old message is outside the 60-minute window
}

TEST_CASE("readers see consistent snapshots while writers merge") {
    Store s;
    Seed(s);
    std::atomic<bool> stop{false};
    std::thread reader([&] {
        uint64_t lastVersion = 0;
        while (!stop.load()) {
            auto snap = s.Current();
            REQUIRE(snap->version >= lastVersion);
            lastVersion = snap->version;
            if (const ChannelData* c = snap->FindChannel("chan-1")) {
                for (size_t i = 1; i < c->messages.size(); ++i)
                    REQUIRE(c->messages[i - 1]->message.createdDateTime <=
                            c->messages[i]->message.createdDateTime);
            }
        }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
        writers.emplace_back([&, w] {
            for (int i = 0; i < 200; ++i) {
                UnixMillis t = 1000 + (i * 7 + w * 13) % 500;
                s.MergeMessages(
                    "chan-1", {Msg(std::to_string(w) + "-" + std::to_string(i), t, t, "m")}, false);
            }
        });
    for (auto& t : writers) t.join();
    stop = true;
    reader.join();
    CHECK(s.Current()->FindChannel("chan-1")->messages.size() == 600);
}

TEST_CASE("system events are described instead of showing an empty body") {
    ChatMessage m = Msg("s", 1000, 1000, "<systemEventMessage/>");
    m.messageType = "unknownFutureValue";
    m.eventDetailJson =
        R"({"@odata.type":"#microsoft.graph.membersAddedEventMessageDetail","members":[]})";
    auto stored = Store::MakeStored(m);
    CHECK(stored->text.text == "System event: members added");
    CHECK(stored->preview == "System event: members added");
}

TEST_CASE("activity counters: per-minute buckets over 24 h, hour-of-day totals, rate EWMA") {
    Store s;
    Seed(s);
    UnixMillis now = NowMillis();
    ChatMessage root = Msg("r", now - 5 * 60000, now - 5 * 60000, "root");
    root.mentions.push_back(Mention{0, "Bo", {}});
    ChatMessage reply = Msg("a", now - 2 * 60000, now - 2 * 60000, "reply");
    reply.replyToId = "r";
    root.replies = {reply};
    ChatMessage old = Msg("old", now - 30 * 3600000LL, now - 30 * 3600000LL, "day-old");
    s.MergeMessages("chan-1", {root, old}, false);
    const ChannelData* c = s.Current()->FindChannel("chan-1");
    REQUIRE(c->activity);
    CHECK(c->activity->Sum(ActivityRing::kMessages, now - 60 * 60000, now + 1) == 1);
    CHECK(c->activity->Sum(ActivityRing::kReplies, now - 60 * 60000, now + 1) == 1);
    CHECK(c->activity->Sum(ActivityRing::kMentions, now - 60 * 60000, now + 1) == 1);
    uint32_t hours = 0;
    for (auto h : c->activity->hourOfDay) hours += h;
    CHECK(hours == 3);  // the day-old message counts for the heatmap, not for the last 24 h
    CHECK(c->activity->Sum(ActivityRing::kMessages, now - 24 * 3600000LL, now + 1) == 1);
    CHECK(c->rateEwma == doctest::Approx(0.2));  // two recent arrivals / 10-minute constant
    CHECK(c->replyCount == 1);
    CHECK(c->mentionCount == 1);

    ChatMessage gone = Msg("r", now - 5 * 60000, now, "root");
    gone.deletedDateTime = now;
    s.MergeMessages("chan-1", {gone}, false);
    c = s.Current()->FindChannel("chan-1");
    CHECK(c->deletedCount == 1);
    CHECK(c->activity->Sum(ActivityRing::kDeletes, now - 60000, now + 1) == 1);
}

TEST_CASE("4 writers merging random pages while a reader checks every snapshot's invariants") {
    Store s;
    Seed(s);
    Channel second;
    second.id = "chan-2";
    s.UpsertChannels("team-1", {s.Current()->FindChannel("chan-1")->channel, second});
    std::atomic<bool> stop{false};
    std::atomic<int> checked{0};
    std::thread reader([&] {
        uint64_t lastVersion = 0;
        while (!stop.load()) {
            SnapshotPtr snap = s.Current();
            CHECK(snap->version >= lastVersion);
            lastVersion = snap->version;
            uint64_t total = 0;
            for (const auto& [id, c] : snap->channels) {
                size_t replies = 0;
                std::set<std::string> ids;
                for (size_t i = 0; i < c->messages.size(); ++i) {
                    const auto& m = c->messages[i];
                    if (i > 0)
                        CHECK(c->messages[i - 1]->message.createdDateTime <=
                              m->message.createdDateTime);
                    CHECK(ids.insert(m->message.id).second);  // no duplicate ids
                    replies += m->replies.size();
                    for (const auto& r : m->replies) CHECK(r->message.replyToId == m->message.id);
                }
                CHECK(replies == c->replyCount);
                total += c->messages.size() + c->replyCount;
            }
            CHECK(total == snap->totalMessages);
            checked++;
        }
    });
    std::vector<std::thread> writers;
    std::vector<std::map<std::string, UnixMillis>> newest(
        4);  // per writer: channel/id -> newest version sent
    for (int w = 0; w < 4; ++w)
        writers.emplace_back([&, w] {
            std::mt19937 rng(static_cast<unsigned>(w));
            for (int page = 0; page < 60; ++page) {
                std::vector<ChatMessage> batch;
                for (int k = 0; k < 10; ++k) {
                    int id = static_cast<int>(rng() % 300);  // overlapping ids across writers
                    UnixMillis t = 1000 + id;
                    UnixMillis mod = t + static_cast<UnixMillis>(rng() % 5);
                    ChatMessage m = Msg(std::to_string(id), t, mod, "v" + std::to_string(mod));
                    if (rng() % 3 == 0) {
                        ChatMessage r = Msg(std::to_string(id) + "-r" + std::to_string(rng() % 3),
                                            t + 1, t + 1, "reply");
                        r.replyToId = m.id;
                        m.replies.push_back(r);
                    }
                    batch.push_back(std::move(m));
                }
                std::string channel = rng() % 2 ? "chan-1" : "chan-2";
                for (const auto& m : batch) {
                    UnixMillis& v = newest[w][channel + "/" + m.id];
                    v = std::max(v, *m.lastModifiedDateTime);
                }
                s.MergeMessages(channel, std::move(batch), false);
            }
        });
    for (auto& t : writers) t.join();
    stop = true;
    reader.join();
    CHECK(checked.load() > 0);
    // Every id's newest version won, whatever the order of the writers.
    std::map<std::string, UnixMillis> expected;
    for (const auto& w : newest)
        for (const auto& [k, v] : w) expected[k] = std::max(expected[k], v);
    size_t seen = 0;
    for (const auto& [id, c] : s.Current()->channels)
        for (const auto& m : c->messages) {
            CHECK(*m->message.lastModifiedDateTime == expected.at(id + "/" + m->message.id));
            ++seen;
        }
    CHECK(seen == expected.size());
}

TEST_CASE("the memory limit drops the oldest roots, keeps each channel's newest, and holds") {
    Store s;
    Seed(s);
    Channel quiet;
    quiet.id = "chan-2";
    quiet.displayName = "Quiet";
    s.UpsertChannels("team-1", {quiet});
    s.SetMemoryLimit(500);
    // The quiet channel's 100 roots are the oldest of all, but each channel keeps its newest
    // kMinRootsKept, so they stay.
    std::vector<ChatMessage> old;
    for (int i = 0; i < 100; ++i) old.push_back(Msg("q" + std::to_string(i), 1000 + i, 1000 + i, "q"));
    s.MergeMessages("chan-2", old, true);
    int next = 0;
    for (int page = 0; page < 40; ++page) {
        std::vector<ChatMessage> batch;
        for (int i = 0; i < 50; ++i, ++next) {
            ChatMessage m = Msg("m" + std::to_string(next), 100000 + next, 100000 + next, "x");
            if (next % 10 == 0) {  // every tenth root arrives with a reply
                m.replies.push_back(Msg("r" + std::to_string(next), 100000 + next, 100000 + next, "r"));
                m.replies.back().replyToId = m.id;
            }
            batch.push_back(m);
        }
        s.MergeMessages("chan-1", batch, true);
        CHECK(s.Current()->totalMessages <= 500);
    }
    auto snap = s.Current();
    const ChannelData* busy = snap->FindChannel("chan-1");
    const ChannelData* q = snap->FindChannel("chan-2");
    CHECK(q->messages.size() == 100);
    CHECK(q->trimmedRoots == 0);
    REQUIRE(busy->messages.size() >= Store::kMinRootsKept);
    // What is left in the busy channel is its newest roots, in order, ending with the last.
    CHECK(busy->messages.back()->message.id == "m1999");
    CHECK(busy->trimmedRoots + busy->messages.size() == 2000);
    CHECK(busy->messages.front()->message.createdDateTime >= busy->trimmedBefore);
    uint64_t counted = 0;
    for (const auto& m : busy->messages) counted += 1 + m->replies.size();
    CHECK(busy->replyCount + busy->messages.size() == counted);
    CHECK(snap->totalMessages == counted + 100);

    // An edit to a root that left memory goes to the observer (the database) but not back
    // into memory; an edit to a kept root is merged as usual.
    struct Rows : StoreObserver {
        std::vector<std::string> ids;
        void OnTeams(const std::vector<Team>&) override {}
        void OnChannels(const std::string&, const std::vector<Channel>&) override {}
        void OnMessages(const std::string&, const std::vector<StoredMessagePtr>& c) override {
            for (const auto& m : c) ids.push_back(m->message.id);
        }
        void OnChannelSync(const std::string&, UnixMillis, bool, const std::string*) override {}
    } rows;
    s.SetObserver(&rows);
    size_t before = busy->messages.size();
    CHECK(s.MergeMessages("chan-1", {Msg("m3", 100003, 900000, "edited long ago")}, true) == 0);
    CHECK(rows.ids == std::vector<std::string>{"m3"});
    CHECK(s.Current()->FindChannel("chan-1")->messages.size() == before);
    CHECK(s.MergeMessages("chan-1", {Msg("m1999", 101999, 900000, "edited now")}, true) == 1);
    CHECK(s.Current()->FindChannel("chan-1")->messages.back()->text.text == "edited now");
    s.SetObserver(nullptr);
}
