// The fault matrix (issue 9). The whole app runtime -- sign-in, sync engine, store, SQLite
// persister, rules and review queue -- runs against graphsim over HTTPS on loopback while a
// fault is injected. In every case the runtime must keep running, show the fault (in the
// snapshot the UI draws, on the rendered screen, and in the metrics), lose nothing (cached
// messages, drafts, audit rows, a moderation action queued during the fault) and recover on
// its own when the fault clears: no duplicate messages, every message graphsim created
// arrives, and the delta rounds continue (no resync, except after a graphsim restart).
// Every log line of every case is searched for tokens and secrets.
#include <doctest/doctest.h>
#include <imgui.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "app_runtime.hpp"
#include "integration/sim_fixture.hpp"
#include "moderation/review.hpp"
#include "persist/persister.hpp"
#include "support/screen_text.hpp"
#include "ui/app_ui.hpp"
#include "util/log.hpp"

using namespace cdeck;
using core::SnapshotPtr;
using test::WaitFor;

namespace {

// Runs a read-only query that returns one integer.
int64_t Scalar(const std::string& dbPath, const std::string& sql) {
    sqlite3* db = nullptr;
    int64_t v = -1;
    if (sqlite3_open_v2(dbPath.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

// Everything the real UI renders as text in one frame for this snapshot.
std::string ScreenText(ui::AppUi& app, const SnapshotPtr& snap) {
    return test::ScreenText(app, snap, core::NowMillis());
}

struct Counts {
    int64_t messages = 0, drafts = 0, audit = 0;
};

struct Rig {
    test::SimFixture sim;
    test::TempDir dir;
    std::string dbDir, dbPath;
    std::unique_ptr<app::AppRuntime> rt;
    std::mutex logMu;
    std::vector<std::string> logs;
    core::LogSink oldSink;
    core::LogLevel oldLevel;
    ImGuiContext* imgui = nullptr;
    std::unique_ptr<ui::AppUi> ui;
    std::set<std::string> errorsSeen;  // every lastError / channel error / persist error shown
    std::mutex seenMu;

    static test::SimOptions Options() {
        test::SimOptions o;
        o.traffic = true;
        o.trafficScale = 6;  // about 2.4 new messages a second across the demo tenant
        o.autoApprove = true;
        return o;
    }

    explicit Rig(std::string dbDirectory = {}) : sim(Options()) {
        oldLevel = core::GetLogLevel();
        core::SetLogLevel(core::LogLevel::kDebug);
        oldSink = core::SetLogSink([this](core::LogLevel, std::string_view l) {
            std::lock_guard lock(logMu);
            logs.emplace_back(l);
            // CDECK_TEST_LOGS=1 echoes the runtime's log while a case runs (for diagnosis).
            if (std::getenv("CDECK_TEST_LOGS"))
                std::fprintf(stderr, "%.*s\n", int(l.size()), l.data());
        });
        dbDir = dbDirectory.empty() ? dir.path.string() : dbDirectory;
        dbPath = dbDir + "/channeldeck.db";
        Start();
        imgui = ImGui::CreateContext();
        ImGuiIO& io = ImGui::GetIO();
        io.IniFilename = nullptr;
        io.DisplaySize = ImVec2(1600, 900);
        io.DeltaTime = 1.0f / 60.0f;
        unsigned char* px;
        int w, h;
        io.Fonts->GetTexDataAsRGBA32(&px, &w, &h);
        ui::AppUiOptions uo;
        ui = std::make_unique<ui::AppUi>(uo);
    }

    void Start() {
        core::Config c;
        c.graphUrl = sim.info.graphUrl;
        c.authorityUrl = sim.info.authorityUrl;
        c.tenant = sim.info.tenant;
        c.clientId = sim.info.clientId;
        c.caFile = sim.info.caFile;
        c.authMode = "device_code";
        c.dbPath = dbPath;
        c.sync.minPollIntervalSeconds = 0.5;
        c.sync.maxPollIntervalSeconds = 3;
        app::RuntimeOptions ro;
        ro.config = c;
        ro.stateDir = dir.path.string();
        rt = std::make_unique<app::AppRuntime>();
        rt->Store().SetWakeCallback([this] { Observe(); });
        auto st = rt->Start(ro);
        REQUIRE_MESSAGE(st.ok(), test::ErrText(st));
        REQUIRE_MESSAGE(WaitFor([&] { return Live(); }, 90), "the runtime did not go live");
        // Every channel holds a delta token: what "the delta continues" is about, and the
        // state a graphsim restart takes away.
        REQUIRE(WaitFor(
            [&] {
                auto snap = Snap();
                for (const auto& [id, c] : snap->channels)
                    if (c->deltaLink.empty()) return false;
                return true;
            },
            60));
    }

    // Security: no token, secret, refresh token or auth code in any log line of the case.
    void CheckNoSecrets() {
        std::string cache = test::ReadFile(dir.path / "tokens.json");
        auto j = nlohmann::json::parse(cache, nullptr, false);
        std::vector<std::string> refresh;
        if (j.is_object() && j.contains("entries") && j["entries"].is_object())
            for (const auto& [k, v] : j["entries"].items())
                if (v.is_object() && v.contains("refresh_token"))
                    refresh.push_back(v["refresh_token"].get<std::string>());
        CHECK_FALSE(refresh.empty());  // the user's refresh token, to look for
        std::lock_guard lock(logMu);
        REQUIRE(logs.size() >= 4);  // sign-in, cache, rules and the fault's own lines at least
        for (const auto& l : logs) {
            CAPTURE(l);
            CHECK(l.find("eyJ") == std::string::npos);          // no JWT (access or id token)
            CHECK(l.find("0.graphsim.") == std::string::npos);  // graphsim's refresh tokens
            for (const auto& rt : refresh) CHECK(l.find(rt) == std::string::npos);
            CHECK(l.find(sim.info.clientSecret) == std::string::npos);
            CHECK(l.find("Bearer ") == std::string::npos);
            CHECK(l.find("refresh_token=") == std::string::npos);
            CHECK(l.find("device_code=") == std::string::npos);
            CHECK(l.find("code_verifier") == std::string::npos);
        }
    }

    ~Rig() {
        if (rt) rt->Stop();
        rt.reset();
        ui.reset();
        ImGui::DestroyContext(imgui);
        core::SetLogSink(std::move(oldSink));
        core::SetLogLevel(oldLevel);
        core::SetClockSkewForTesting(0);
    }

    SnapshotPtr Snap() const { return rt->Store().Current(); }

    bool Live() const {
        auto s = Snap();
        return s->sync.signedIn && s->sync.phase == "live" && s->sync.channelsTotal > 0 &&
               s->sync.channelsBackfilled == s->sync.channelsTotal && s->totalMessages > 0;
    }

    // Called on every publish: what the UI would show as an error right now.
    void Observe() {
        auto s = rt->Store().Current();
        std::lock_guard lock(seenMu);
        if (!s->sync.lastError.empty()) errorsSeen.insert("sync: " + s->sync.lastError);
        if (!s->sync.persistError.empty()) errorsSeen.insert("db: " + s->sync.persistError);
        if (!s->sync.signInUserCode.empty()) errorsSeen.insert("sign-in prompt");
        for (const auto& [id, c] : s->channels)
            if (!c->lastError.empty()) errorsSeen.insert("channel: " + c->lastError.substr(0, 60));
    }
    bool Saw(const std::string& prefix) {
        std::lock_guard lock(seenMu);
        for (const auto& e : errorsSeen)
            if (e.rfind(prefix, 0) == 0) return true;
        return false;
    }
    std::string LogTail(size_t n) {
        std::lock_guard lock(logMu);
        std::string out;
        for (size_t i = logs.size() > n ? logs.size() - n : 0; i < logs.size(); ++i)
            out += "\n    " + logs[i];
        return out;
    }
    std::string Seen() {
        std::lock_guard lock(seenMu);
        std::string out;
        for (const auto& e : errorsSeen) out += e + " | ";
        return out;
    }
    void ForgetSeen() {
        std::lock_guard lock(seenMu);
        errorsSeen.clear();
    }

    std::string Screen() { return ScreenText(*ui, Snap()); }

    std::set<std::string> StoreIds() const {
        std::set<std::string> ids;
        auto s = Snap();
        for (const auto& [id, c] : s->channels)
            for (const auto& m : c->messages) {
                ids.insert(m->message.id);
                for (const auto& r : m->replies) ids.insert(r->message.id);
            }
        return ids;
    }
    // The store holds each message once.
    size_t StoreDuplicates() const {
        size_t all = 0;
        auto s = Snap();
        for (const auto& [id, c] : s->channels)
            for (const auto& m : c->messages) all += 1 + m->replies.size();
        return all - StoreIds().size();
    }
    Counts Db() const {
        return {Scalar(dbPath, "SELECT count(*) FROM messages"),
                Scalar(dbPath, "SELECT count(*) FROM drafts"),
                Scalar(dbPath, "SELECT count(*) FROM audit_log")};
    }
    // Every message graphsim has created in the channels the signed-in user can see (the
    // channels the store holds: the user's joined teams) is in the store.
    size_t MissingFromStore() const {
        auto ids = StoreIds();
        auto snap = Snap();
        size_t missing = 0, looked = 0;
        const nlohmann::json stats = sim.Stats();  // held: the loop reads into it
        for (const auto& m : stats["messages"]) {
            if (!snap->FindChannel(m["channelId"].get<std::string>())) continue;
            ++looked;
            missing += ids.count(m["id"].get<std::string>()) ? 0 : 1;
        }
        return looked == 0 ? 1 : missing;  // nothing to compare would prove nothing
    }
    uint64_t Metric(uint64_t core::MetricsSnapshot::*field) const {
        auto s = Snap();
        return s->sync.metrics ? (*s->sync.metrics).*field : 0;
    }

    // A draft and an audit row of this case, in the database before the fault.
    void Seed(const std::string& name) {
        core::Draft d;
        d.key = "channel:fault-" + name;
        d.channelId = "fault-" + name;
        d.body = "draft written before the fault: " + name;
        d.updatedAt = core::NowMillis();
        rt->SaveDraft(d, false);
        uint64_t item = FlaggedItem(false);
        REQUIRE(item != 0);
        rt->Moderate([item](core::ModerationEngine& m) { m.Escalate({item}); });
        Counts before = Db();
        REQUIRE(WaitFor(
            [&] {
                Counts c = Db();
                return c.drafts >= 1 && c.audit >= 1 && c.drafts >= before.drafts &&
                       Scalar(dbPath, "SELECT count(*) FROM drafts WHERE key = 'channel:fault-" +
                                          name + "'") == 1;
            },
            30));
    }
    // Seeds the case's draft and audit row, then takes what must not be lost or change.
    struct Baseline {
        Counts db;
        std::set<std::string> ids;
        uint64_t resyncs = 0;
    };
    Baseline Begin(const std::string& name) {
        Seed(name);
        return {Db(), StoreIds(), Metric(&core::MetricsSnapshot::resyncs)};
    }
    // A flagged message in the review queue that is neither deleted nor busy; 0 if none.
    uint64_t FlaggedItem(bool rootOnly) const {
        auto s = Snap();
        if (!s->review) return 0;
        for (const auto& i : s->review->items)
            if (!i.deleted && !i.pending && (!rootOnly || i.rootId.empty())) return i.id;
        return 0;
    }
    const core::ReviewItem* Item(const SnapshotPtr& s, uint64_t id) const {
        if (!s->review) return nullptr;
        for (const auto& i : s->review->items)
            if (i.id == id) return &i;
        return nullptr;
    }
    // Graph's view of a message: deleted or not.
    bool DeletedInGraph(const core::ReviewItem& i) const {
        std::string url = "/teams/" + i.teamId + "/channels/" + i.channelId + "/messages/" +
                          (i.rootId.empty() ? i.messageId : i.rootId + "/replies/" + i.messageId);
        auto j = test::Get(sim, url);
        return j.contains("deletedDateTime") && !j["deletedDateTime"].is_null();
    }
};

// What every case checks after the fault has cleared.
void CheckRecovered(Rig& r, const Counts& before, const std::set<std::string>& idsBefore,
                    uint64_t resyncsBefore, bool resyncExpected) {
    // Recovers on its own: live again, with everything graphsim created since it started.
    REQUIRE_MESSAGE(WaitFor([&] { return r.Live(); }, 90),
                    "not live again: phase "
                        << r.Snap()->sync.phase << ", signed in " << r.Snap()->sync.signedIn << ", "
                        << r.Snap()->sync.channelsBackfilled << "/" << r.Snap()->sync.channelsTotal
                        << " backfilled; saw: " << r.Seen() << "; log:" << r.LogTail(40));
    size_t missing = 0;
    CHECK_MESSAGE(WaitFor(
                      [&] {
                          missing = r.MissingFromStore();
                          return missing == 0;
                      },
                      90),
                  missing << " messages graphsim created are not in the store");
    // Nothing lost: every message cached before is still there, in memory and on disk.
    auto ids = r.StoreIds();
    size_t lost = 0;
    for (const auto& id : idsBefore) lost += ids.count(id) ? 0 : 1;
    CHECK(lost == 0);
    CHECK(r.StoreDuplicates() == 0);
    CHECK(WaitFor([&] { return r.Snap()->sync.persistQueue == 0; }, 60));
    Counts after = r.Db();
    CHECK(after.messages >= before.messages);
    CHECK(after.drafts >= before.drafts);
    CHECK(after.audit >= before.audit);
    CHECK(Scalar(r.dbPath,
                 "SELECT count(*) - count(DISTINCT channel_id || '/' || id) FROM messages") == 0);
    // The database holds what the store holds.
    CHECK(
        WaitFor([&] { return r.Db().messages >= static_cast<int64_t>(r.StoreIds().size()); }, 60));
    if (resyncExpected)  // counted in the metrics as each channel's next poll is refused
        CHECK(
            WaitFor([&] { return r.Metric(&core::MetricsSnapshot::resyncs) > resyncsBefore; }, 60));
    else
        CHECK_MESSAGE(r.Metric(&core::MetricsSnapshot::resyncs) == resyncsBefore,
                      "the delta rounds were restarted");
}

// A delete from the review queue sent while the fault is on: it must reach Graph once the
// fault clears (or at once, if the fault spared it), and be audited as done.
struct QueuedDelete {
    uint64_t item = 0;
    void Send(Rig& r) {
        item = r.FlaggedItem(true);
        REQUIRE(item != 0);
        uint64_t id = item;
        r.rt->Moderate([id](core::ModerationEngine& m) { m.Delete({id}); });
    }
    void CheckDone(Rig& r) {
        CHECK_MESSAGE(WaitFor(
                          [&] {
                              auto s = r.Snap();
                              auto* i = r.Item(s, item);
                              return i && i->deleted && !i->pending;
                          },
                          120),
                      "the delete did not finish");
        auto s = r.Snap();
        auto* i = r.Item(s, item);
        REQUIRE(i);
        CHECK(i->deleted);
        CHECK(r.DeletedInGraph(*i));
        CHECK(WaitFor(
            [&] {
                return Scalar(r.dbPath,
                              "SELECT count(*) FROM audit_log WHERE action = 'soft-delete' AND "
                              "result = 'ok' AND message_id = '" +
                                  i->messageId + "'") == 1;
            },
            30));
    }
};

// Samples the rendered screen for `seconds`; true once it contained `text`.
bool ScreenShows(Rig& r, const std::string& text, double seconds) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    bool shown = false;
    while (std::chrono::steady_clock::now() < until) {
        if (!shown && r.Screen().find(text) != std::string::npos) shown = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return shown;
}

// One network fault: injected through /_sim/faults, held for `seconds`, then cleared.
// `counter` is the metric that must count it (null: the total of failures).
void NetworkFault(const std::string& name, const nlohmann::json& faults, double seconds,
                  uint64_t core::MetricsSnapshot::*counter) {
    Rig r;
    auto [before, idsBefore, resyncs] = r.Begin(name);
    uint64_t counted = counter ? r.Metric(counter) : 0;
    uint64_t failed = r.Snap()->sync.failures;
    r.ForgetSeen();
    r.sim.Control("/_sim/faults", faults);
    QueuedDelete del;
    del.Send(r);
    // Shown: the status strip names the failing channels and why, while the runtime keeps
    // publishing; the metric counts the fault.
    bool onScreen = ScreenShows(r, "failing: ", seconds);
    CHECK_MESSAGE(onScreen, "no error on screen during " << name << "; saw: " << r.Seen());
    CHECK(r.Saw("channel: "));
    if (counter)
        CHECK(r.Metric(counter) > counted);
    else  // the failure's kind varies (a timeout, or a connection given up): any counts
        CHECK(r.Snap()->sync.failures > failed);
    CHECK(r.sim.Stats()["faults_injected"].get<int64_t>() > 0);
    r.sim.Control("/_sim/faults", nlohmann::json::object());  // cleared
    CheckRecovered(r, before, idsBefore, resyncs, false);
    del.CheckDone(r);
    r.CheckNoSecrets();
}

}  // namespace

TEST_CASE("fault: connection resets") {
    NetworkFault("resets", {{"rate_reset", 0.5}}, 8, &core::MetricsSnapshot::otherErrors);
}

TEST_CASE("fault: a storm of 500s and 503s") {
    NetworkFault("storm", {{"rate_500", 0.35}, {"rate_503", 0.35}}, 8,
                 &core::MetricsSnapshot::server5xx);
}

TEST_CASE("fault: 429s without Retry-After") {
    NetworkFault("429", {{"rate_429_no_retry_after", 0.6}}, 8,
                 &core::MetricsSnapshot::throttled429);
}

TEST_CASE("fault: truncated and malformed JSON") {
    NetworkFault("json", {{"rate_truncate", 0.3}, {"rate_malformed", 0.3}}, 8,
                 &core::MetricsSnapshot::otherErrors);
}

TEST_CASE("fault: slow-drip responses") {
    // A dripping response is given up after 10 s below 1 KB/s (or at the 30 s timeout).
    NetworkFault("drip", {{"rate_drip", 1.0}}, 30, nullptr);
}

TEST_CASE("fault: the token revoked mid-sync leads to a sign-in prompt") {
    Rig r;
    r.Seed("revoke");
    Counts before = r.Db();
    auto idsBefore = r.StoreIds();
    r.ForgetSeen();
    // Every access and refresh token graphsim issued is refused from now on: the next
    // request gets 401, the refresh is refused, and the user is asked to sign in again. The
    // demo tenant approves the new device code by itself.
    r.sim.Control("/_sim/tokens/revoke", nlohmann::json::object());
    QueuedDelete del;  // refused with the revoked token; sent again after the new sign-in
    del.Send(r);
    CHECK_MESSAGE(WaitFor([&] { return r.Saw("sign-in prompt"); }, 90), "saw: " << r.Seen());
    CHECK(r.Saw("sync: sign-in revoked or expired"));
    CheckRecovered(r, before, idsBefore, 0, false);
    del.CheckDone(r);
    CHECK_FALSE(r.Snap()->sync.account.empty());
    // The sign-in prompt is what the Account page shows while it is up.
    {
        std::lock_guard lock(r.logMu);
        bool prompted = false;
        for (const auto& l : r.logs)
            prompted = prompted || l.find("sign in again") != std::string::npos;
        CHECK(prompted);
    }
    // The engine built for the new sign-in owns its per-call facts: the old engine's Stop()
    // once cleared the shared client's hook and left the new one blind for the session.
    // 1. The delete it sent is audited with Graph's request-id.
    {
        auto s = r.Snap();
        const core::ReviewItem* i = r.Item(s, del.item);
        REQUIRE(i);
        CHECK(Scalar(r.dbPath,
                     "SELECT count(*) FROM audit_log WHERE action = 'soft-delete' AND result = "
                     "'ok' AND coalesce(request_id, '') <> '' AND message_id = '" +
                         i->messageId + "'") == 1);
    }
    // 2. Its metrics keep counting.
    uint64_t requests = r.Metric(&core::MetricsSnapshot::requests);
    CHECK_MESSAGE(
        WaitFor([&] { return r.Metric(&core::MetricsSnapshot::requests) > requests + 5; }, 30),
        "the request count stopped after the re-sign-in");
    // 3. A 429 is counted and closes its scope: graphsim's GET-message limits drop below
    // what the engine paces at (it still believes the documented ones) for a while.
    uint64_t throttled = r.Metric(&core::MetricsSnapshot::throttled429);
    const nlohmann::json limits = r.sim.Stats()["limits"];
    r.sim.Control("/_sim/limits",
                  {{"limits", {{"get_message", 1.0}, {"per_team", 0.5}, {"per_channel", 0.5}}}});
    bool gated = WaitFor(
        [&] {
            auto s = r.Snap();
            return s->sync.metrics && !s->sync.metrics->gatedScopes.empty() &&
                   s->sync.metrics->throttled429 > throttled;
        },
        30);
    r.sim.Control("/_sim/limits", {{"limits", limits}});
    CHECK_MESSAGE(gated, "no 429 counted, or no scope closed, after the re-sign-in");
    r.CheckNoSecrets();
}

TEST_CASE("fault: the database file made read-only") {
    Rig r;
    auto [before, idsBefore, resyncs] = r.Begin("readonly");
    std::string files = "'" + r.dbPath + "' '" + r.dbPath + "-wal'";
    // The immutable attribute refuses writes even through descriptors already open, and
    // even for root (file modes do not stop root).
    if (std::system(("chattr +i " + files + " 2>/dev/null").c_str()) != 0) {
        // No immutable attribute on this file system (or no permission): reported as
        // skipped by CTest rather than passing without the fault.
        std::fprintf(stderr, "SKIPPED: chattr +i is not available for %s\n", r.dbPath.c_str());
        r.rt->Stop();
        std::_Exit(77);
    }
    struct Undo {
        std::string files;
        ~Undo() { (void)std::system(("chattr -i " + files).c_str()); }
    } undo{files};
    r.ForgetSeen();
    QueuedDelete del;  // Graph is fine; its audit row waits for the database
    del.Send(r);
    uint64_t total = r.Snap()->totalMessages;
    CHECK(ScreenShows(r, "not saving to disk", 10));
    CHECK(r.Saw("db: "));
    // Messages keep arriving in memory meanwhile.
    CHECK(WaitFor([&] { return r.Snap()->totalMessages > total; }, 30));
    CHECK(r.Snap()->sync.persistQueue > 0);
    (void)std::system(("chattr -i " + files).c_str());
    CheckRecovered(r, before, idsBefore, resyncs, false);
    CHECK(r.Snap()->sync.persistError.empty());
    del.CheckDone(r);
    r.CheckNoSecrets();
}

TEST_CASE("fault: the disk full (a small tmpfs)") {
    test::TempDir mnt;
    if (::mount("tmpfs", mnt.path.c_str(), "tmpfs", 0, "size=32m,mode=0700") != 0) {
        // Not allowed to mount here (no CAP_SYS_ADMIN): reported as skipped by CTest.
        std::fprintf(stderr, "SKIPPED: cannot mount a tmpfs here (%s)\n", std::strerror(errno));
        std::_Exit(77);
    }
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount{mnt.path.string()};
    {
        Rig r(mnt.path.string());
        auto [before, idsBefore, resyncs] = r.Begin("full");
        r.ForgetSeen();
        // Fill the file system to the last byte.
        std::string filler = (mnt.path / "filler").string();
        {
            std::ofstream out(filler, std::ios::binary);
            std::string block(64 * 1024, 'x');
            while (out.write(block.data(), static_cast<std::streamsize>(block.size()))) {
            }
        }
        {
            std::ofstream out(filler + "-tail", std::ios::binary);
            while (out.put('x')) {
            }
        }
        QueuedDelete del;
        del.Send(r);
        CHECK(ScreenShows(r, "not saving to disk", 15));
        CHECK_MESSAGE(r.Saw("db: "), "saw: " << r.Seen());
        std::filesystem::remove(filler);
        std::filesystem::remove(filler + "-tail");
        CheckRecovered(r, before, idsBefore, resyncs, false);
        CHECK(r.Snap()->sync.persistError.empty());
        del.CheckDone(r);
        r.CheckNoSecrets();
    }
}

TEST_CASE("fault: the system clock jumps forward and back") {
    Rig r;
    auto [before, idsBefore, resyncs] = r.Begin("clock");
    QueuedDelete del;
    // The app's wall clock and graphsim's jump together, as one machine's clock would:
    // two hours ahead, back to the true time, then an hour behind it.
    for (int hours : {2, 0, -1}) {
        core::SetClockSkewForTesting(core::UnixMillis{hours} * 3600000);
        r.sim.Control("/_sim/clock", {{"offset_seconds", hours * 3600}});
        if (hours == 0) del.Send(r);
        uint64_t total = r.Snap()->totalMessages;
        // Still syncing: new messages keep arriving at each setting of the clock.
        CHECK_MESSAGE(WaitFor([&] { return r.Snap()->totalMessages > total; }, 30),
                      "no new messages with the clock moved " << hours << " h");
        // What the screen shows stays sane: no negative ages.
        std::string screen = r.Screen();
        CHECK_FALSE(std::regex_search(screen, std::regex("-[0-9]+ ?(s|min|h|d) ago")));
    }
    core::SetClockSkewForTesting(0);
    r.sim.Control("/_sim/clock", {{"offset_seconds", 0}});
    CheckRecovered(r, before, idsBefore, resyncs, false);
    del.CheckDone(r);
    r.CheckNoSecrets();
}

TEST_CASE("fault: graphsim restarted, so every delta token is lost and channels resync") {
    Rig r;
    auto [before, idsBefore, resyncs] = r.Begin("restart");
    r.ForgetSeen();
    std::string err = "not run";
    // Down for 4 s (connections refused), then up on the same port with a new sync epoch.
    std::thread restart([&] { err = r.sim.sim.Restart(4000); });
    QueuedDelete del;
    del.Send(r);
    bool shown = ScreenShows(r, "failing: ", 4);
    restart.join();
    REQUIRE_MESSAGE(err.empty(), err);
    CHECK_MESSAGE(shown, "saw: " << r.Seen());
    CheckRecovered(r, before, idsBefore, resyncs, /*resyncExpected=*/true);
    del.CheckDone(r);
    r.CheckNoSecrets();
}

namespace {

// posix_spawn rather than fork: the test process has many threads (and sanitizers).
pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

}  // namespace

TEST_CASE("fault: SIGKILL during a burst of writes, then a restart that continues the delta") {
    test::SimOptions o = Rig::Options();
    o.trafficScale = 40;  // a burst: about 16 messages a second to write
    test::SimFixture sim(o);
    test::TempDir dir;
    std::string db = (dir.path / "channeldeck.db").string();
    std::string config = (dir.path / "config.json").string();
    {
        nlohmann::json c = {
            {"graph_url", sim.info.graphUrl},
            {"authority_url", sim.info.authorityUrl},
            {"tenant", sim.info.tenant},
            {"client_id", sim.info.clientId},
            {"client_secret", sim.info.clientSecret},
            {"ca_file", sim.info.caFile},
            {"auth_mode", "client_credentials"},
            {"db_path", db},
            {"sync", {{"min_poll_interval_seconds", 0.5}, {"max_poll_interval_seconds", 3}}}};
        int fd = ::open(config.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQUIRE(fd >= 0);
        std::string text = c.dump();
        REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
    std::string log = (dir.path / "app.log").string();
    ::setenv("XDG_STATE_HOME", dir.path.c_str(), 1);
    int64_t held = 0;
    bool seeded = false;
    for (int round = 0; round < 4; ++round) {
        pid_t pid =
            Spawn({CDECK_APP_BINARY, "--config", config, "--headless", "--duration", "120"}, log);
        REQUIRE(pid > 0);
        // Killed while it writes: once the database has grown by a few hundred rows.
        int64_t start = std::max<int64_t>(held, 0);
        bool grew =
            WaitFor([&] { return Scalar(db, "SELECT count(*) FROM messages") > start + 150; }, 60);
        std::this_thread::sleep_for(std::chrono::milliseconds(137 * (round + 1)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        REQUIRE(grew);
        CHECK(WIFSIGNALED(status));
        // After each kill: the database opens, is intact, and holds at least what it held.
        CHECK(Scalar(db,
                     "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'") ==
              0);
        int64_t now = Scalar(db, "SELECT count(*) FROM messages");
        CHECK(now >= held);
        held = now;
        if (!seeded) {
            // A draft and an audit row, as the desk would have left them: they must survive
            // the kills that follow.
            sqlite3* h = nullptr;
            REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
            REQUIRE(
                sqlite3_exec(h,
                             "INSERT INTO drafts(key, team_id, channel_id, reply_to_id, subject, "
                             "body, updated_ms) VALUES('channel:kill', '', 'kill', '', '', "
                             "'kept across kills', 1);"
                             "INSERT INTO audit_log(at_ms, actor, action, result) VALUES(1, "
                             "'tester', 'escalate', 'ok');",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
            sqlite3_close(h);
            seeded = true;
        }
    }
    // A last run to the end: it starts from the cache, continues each channel's delta (no
    // resync), and has every message graphsim created.
    std::string report = (dir.path / "report.json").string();
    pid_t pid = Spawn({CDECK_APP_BINARY, "--config", config, "--headless", "--duration", "15",
                       "--report", report},
                      log);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ::unsetenv("XDG_STATE_HOME");
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    auto r = nlohmann::json::parse(test::ReadFile(report));
    CHECK(r["metrics"]["delta_resyncs"] == 0);
    CHECK(r["messages"].get<int64_t>() >= held);
    CHECK(Scalar(db, "SELECT count(*) FROM drafts WHERE key = 'channel:kill'") == 1);
    CHECK(Scalar(db, "SELECT count(*) FROM audit_log WHERE actor = 'tester'") == 1);
    CHECK(Scalar(db, "SELECT count(*) - count(DISTINCT channel_id || '/' || id) FROM messages") ==
          0);
    // The app's own log (stderr) across the kills: no secret, no token.
    std::string text = test::ReadFile(log);
    CHECK(text.size() > 100);
    CHECK(text.find(sim.info.clientSecret) == std::string::npos);
    CHECK(text.find("eyJ") == std::string::npos);
    CHECK(text.find("Bearer ") == std::string::npos);
}
