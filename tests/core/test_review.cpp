// The review queue without a network: items from ingest, one per message and rule,
// moderator actions, optimistic deletes rolled back on refusal, near-duplicate keys.
#include <doctest/doctest.h>

#include "moderation/review.hpp"
#include "moderation/export.hpp"
#include "persist/persister.hpp"

#include <nlohmann/json.hpp>

using namespace cdeck::core;

namespace {

ChatMessage Msg(const std::string& id, const std::string& text, const std::string& replyTo = {}) {
    ChatMessage m;
    m.id = id;
    m.replyToId = replyTo;
    m.createdDateTime = 1'700'000'000'000;
    m.lastModifiedDateTime = m.createdDateTime;
    m.from.user = Identity{"u-1", "Ann", "aadUser"};
    m.body.contentType = "text";
    m.body.content = text;
    return m;
}

struct Rig {
    Store store;
    std::vector<Command> sent;
    std::vector<AuditRow> audit;
    std::vector<std::pair<std::string, std::string>> states;
    std::unique_ptr<ModerationEngine> mod;
    explicit Rig(std::vector<std::pair<std::string, std::string>> seed = {}) {
        store.UpsertTeams({Team{"t1", "Ops", "", "", "", false}});
        Channel c;
        c.id = "c1";
        c.displayName = "General";
        store.UpsertChannels("t1", {c});
        auto pack = ParseRulePack(R"({"rules":[
            {"id":"secret","severity":"high","when":{"keywords":["password"]}},
            {"id":"money","severity":"low","when":{"keywords":["wire*"]}}]})");
        REQUIRE(pack.ok());
        ModerationEngine::Options o;
        o.actor = "mod";
        o.submit = [this](Command c) { sent.push_back(std::move(c)); };
        o.audit = [this](const AuditRow& r) { audit.push_back(r); };
        o.clock = [] { return UnixMillis{1'700'000'100'000}; };
        o.saveState = [this](const std::string& k, const std::string& j) {
            states.push_back({k, j});
        };
        mod = std::make_unique<ModerationEngine>(store, std::move(pack.value()), o);
        mod->SeedStates(seed);
        store.SetObserver(mod.get());
    }
    ~Rig() { store.SetObserver(nullptr); }
    ReviewStatePtr State() const { return store.Current()->review; }
};

}  // namespace

TEST_CASE("ingest flags each matching message once per rule, with terms and team") {
    Rig rig;
    REQUIRE(rig.State());
    CHECK(rig.State()->items.empty());
    rig.store.MergeMessages(
        "c1", {Msg("m1", "my password, then wire transfer"), Msg("m2", "lunch?")}, true);
    auto s = rig.State();
    REQUIRE(s->items.size() == 2);
    CHECK(s->pendingCount == 2);
    CHECK(s->items[0].messageId == "m1");
    CHECK(s->items[0].ruleId == "secret");
    CHECK(s->items[0].teamId == "t1");
    CHECK(s->items[0].authorName == "Ann");
    CHECK(s->items[1].ruleId == "money");
    CHECK(s->items[1].text.substr(s->items[1].terms[0].begin,
                                  s->items[1].terms[0].end - s->items[1].terms[0].begin) == "wire");
    // An edit that still matches updates the item rather than adding one.
    ChatMessage edited = Msg("m1", "my PASSWORD only");
    edited.lastModifiedDateTime = edited.createdDateTime + 1000;
    rig.store.MergeMessages("c1", {edited}, true);
    s = rig.State();
    CHECK(s->items.size() == 2);
    CHECK(s->items[0].text == "my PASSWORD only");
    // Replies are flagged with their thread's root.
    ChatMessage root = Msg("r1", "root");
    root.replies.push_back(Msg("r1a", "password in a reply", "r1"));
    rig.store.MergeMessages("c1", {root}, true);
    s = rig.State();
    REQUIRE(s->items.size() == 3);
    CHECK(s->items[2].messageId == "r1a");
    CHECK(s->items[2].rootId == "r1");
}

TEST_CASE("resolve, unresolve and escalate change the item and write the audit log") {
    Rig rig;
    rig.store.MergeMessages("c1", {Msg("m1", "password")}, true);
    uint64_t id = rig.State()->items[0].id;
    rig.mod->Resolve({id}, ModerationEngine::Tag::kFalsePositive, "test data");
    auto s = rig.State();
    CHECK(s->items[0].resolved);
    CHECK(s->items[0].tag == "false-positive");
    CHECK(s->pendingCount == 0);
    rig.mod->Unresolve({id});
    rig.mod->Escalate({id});
    s = rig.State();
    CHECK_FALSE(s->items[0].resolved);
    CHECK(s->items[0].escalated);
    REQUIRE(rig.audit.size() == 3);
    CHECK(rig.audit[0].action == "resolve");
    CHECK(rig.audit[0].result == "false-positive");
    CHECK(rig.audit[0].detail == "test data");
    CHECK(rig.audit[0].actor == "mod");
    CHECK(rig.audit[0].rule == "secret");
    CHECK(rig.audit[1].action == "unresolve");
    CHECK(rig.audit[2].action == "escalate");
}

TEST_CASE("a delete shows at once and rolls back with the error when Graph refuses") {
    Rig rig;
    ChatMessage root = Msg("r1", "root");
    root.replies.push_back(Msg("r1a", "password", "r1"));
    rig.store.MergeMessages("c1", {root}, true);
    uint64_t id = rig.State()->items[0].id;
    rig.mod->Delete({id});
    CHECK(rig.State()->items[0].deleted);
    CHECK(rig.State()->items[0].pending);
    REQUIRE(rig.sent.size() == 1);
    const Command& c = rig.sent[0];
    CHECK(c.kind == Command::Kind::kSoftDelete);
    CHECK(c.teamId == "t1");
    CHECK(c.messageId == "r1");  // a reply goes through its root
    CHECK(c.replyId == "r1a");
    // A second delete while the first is in flight is ignored.
    rig.mod->Delete({id});
    CHECK(rig.sent.size() == 1);
    Command::Outcome refused;
    Error e = MakeError(ErrorCode::kPermission, "Forbidden");
    e.requestId = "req-1";
    refused.status = e;
    refused.requestId = "req-1";
    c.finished(refused);
    auto item = rig.State()->items[0];
    CHECK_FALSE(item.deleted);
    CHECK_FALSE(item.pending);
    CHECK(item.lastError.find("Forbidden") != std::string::npos);
    REQUIRE(rig.audit.size() == 1);
    CHECK(rig.audit[0].action == "soft-delete");
    CHECK(rig.audit[0].result.rfind("failed", 0) == 0);
    CHECK(rig.audit[0].requestId == "req-1");
    // Accepted this time; then undo.
    rig.mod->Delete({id});
    REQUIRE(rig.sent.size() == 2);
    rig.sent[1].finished(Command::Outcome{});
    CHECK(rig.State()->items[0].deleted);
    CHECK(rig.State()->items[0].lastError.empty());
    rig.mod->Undo({id});
    REQUIRE(rig.sent.size() == 3);
    CHECK(rig.sent[2].kind == Command::Kind::kUndoDelete);
    rig.sent[2].finished(Command::Outcome{});
    CHECK_FALSE(rig.State()->items[0].deleted);
}

TEST_CASE("near-duplicates share a key whatever their numbers, case and spacing") {
    CHECK(NearDuplicateKey("Win a FREE iPhone 15 now!!") ==
          NearDuplicateKey("win a free iphone 16   now"));
    CHECK(NearDuplicateKey("Win a FREE iPhone") != NearDuplicateKey("Win a free Android"));
    CHECK(NearDuplicateKey("") == NearDuplicateKey("123 !!"));
}

TEST_CASE("the same text sent to different people is one near-duplicate group") {
    Rig rig;
    ChatMessage a = Msg("a", "");
    a.body.contentType = "html";
    a.body.content = "<at id=\"0\">Ann Lee</at> your password expired";
    ChatMessage b = Msg("b", "");
    b.body.contentType = "html";
    b.body.content = "<at id=\"0\">Bo</at> your password expired";
    ChatMessage c = Msg("c", "a different password story");
    rig.store.MergeMessages("c1", {a, b, c}, true);
    auto s = rig.State();
    REQUIRE(s->items.size() == 3);
    CHECK(s->items[0].groupKey == s->items[1].groupKey);
    CHECK(s->items[0].groupKey != s->items[2].groupKey);
}

TEST_CASE("CSV export quotes what needs quoting and defuses formulas") {
    CHECK(CsvCell("plain") == "plain");
    CHECK(CsvCell("a,b") == "\"a,b\"");
    CHECK(CsvCell("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(CsvCell("line\nbreak") == "\"line\nbreak\"");
    CHECK(CsvCell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"");
    CHECK(CsvCell("@Ann hi") == "'@Ann hi");
    CHECK(CsvCell("-1") == "'-1");
    AuditRow r;
    r.seq = 7;
    r.at = 1'700'000'000'000;
    r.actor = "mod";
    r.action = "soft-delete";
    r.requestId = "abc-123";
    r.detail = "bad \xff byte";
    std::string csv = AuditToCsv({r});
    CHECK(csv.rfind("seq,at,actor,action,", 0) == 0);
    CHECK(csv.find("7,2023-11-14T22:13:20.000Z,mod,soft-delete,,,,,,abc-123,") !=
          std::string::npos);
    auto json = nlohmann::json::parse(AuditToJson({r}));  // invalid UTF-8 replaced, not fatal
    REQUIRE(json.size() == 1);
    CHECK(json[0]["requestId"] == "abc-123");
}

TEST_CASE("decisions are saved and come back when the message is seen again after a restart") {
    std::vector<std::pair<std::string, std::string>> saved;
    {
        Rig rig;
        rig.store.MergeMessages("c1", {Msg("m1", "password"), Msg("m2", "wire it")}, true);
        auto s = rig.State();
        rig.mod->Resolve({s->items[0].id}, ModerationEngine::Tag::kNonCompliant, "warned");
        rig.mod->Escalate({s->items[1].id});
        saved = rig.states;
        REQUIRE(saved.size() == 2);
        CHECK(saved[0].first == "m1|secret");
    }
    // A new session: the same messages load from the cache and are evaluated again.
    Rig next(saved);
    next.mod->EvaluateExisting(*next.store.Current());  // nothing cached yet: no items
    CHECK(next.State()->items.empty());
    next.store.MergeMessages("c1", {Msg("m1", "password"), Msg("m2", "wire it")}, true);
    auto s = next.State();
    REQUIRE(s->items.size() == 2);
    CHECK(s->items[0].resolved);
    CHECK(s->items[0].tag == "non-compliant");
    CHECK(s->items[0].comment == "warned");
    CHECK(s->items[1].escalated);
    CHECK_FALSE(s->items[1].resolved);
    CHECK(s->pendingCount == 1);
}

TEST_CASE("messages already in the store are evaluated once on request") {
    Rig rig;
    rig.store.SetObserver(nullptr);  // as at start-up: loaded from the cache, unobserved
    rig.store.MergeMessages("c1", {Msg("m1", "password")}, true);
    rig.store.SetObserver(rig.mod.get());
    CHECK(rig.State()->items.empty());
    rig.mod->EvaluateExisting(*rig.store.Current());
    CHECK(rig.State()->items.size() == 1);
    rig.mod->EvaluateExisting(*rig.store.Current());  // idempotent
    CHECK(rig.State()->items.size() == 1);
}

TEST_CASE("a draft rule backtests over the cached history: hits per channel and samples") {
    Rig rig;
    Channel c2;
    c2.id = "c2";
    c2.displayName = "Other";
    rig.store.UpsertChannels("t1", {c2});
    std::vector<ChatMessage> batch;
    for (int i = 0; i < 30; ++i) {
        ChatMessage m = Msg("x" + std::to_string(i), i % 3 == 0 ? "invoice overdue" : "hello");
        m.createdDateTime += i * 1000;
        batch.push_back(m);
    }
    rig.store.MergeMessages("c1", batch, true);
    rig.store.MergeMessages("c2", {Msg("y1", "INVOICE attached")}, true);
    auto r = Backtest(R"({"id":"inv","severity":"low","when":{"keywords":["invoice"]}})",
                      *rig.store.Current());
    REQUIRE(r.status.ok());
    CHECK(r.scanned == 31);
    CHECK(r.hits == 11);
    REQUIRE(r.perChannel.size() == 2);
    CHECK(r.perChannel[0] == std::pair<std::string, size_t>{"c1", 10});
    CHECK(r.perChannel[1] == std::pair<std::string, size_t>{"c2", 1});
    REQUIRE(r.samples.size() == 11);
    CHECK(r.samples[0].messageId == "x27");  // newest first
    CHECK(r.samples[0].text.substr(r.samples[0].terms[0].begin, 7) == "invoice");
    // The backtest does not touch the queue, and a bad rule says why.
    CHECK(rig.State()->items.empty());
    auto bad = Backtest(R"({"when":{"keywords":[]}})", *rig.store.Current());
    CHECK_FALSE(bad.status.ok());
    CHECK(bad.status.error().message.find("keywords") != std::string::npos);
    CHECK_FALSE(Backtest("not json", *rig.store.Current()).status.ok());
}

TEST_CASE("a full queue lets resolved items go first, then the oldest pending, and says so") {
    Rig rig;
    const size_t cap = ModerationEngine::kMaxItems;  // the default Options::maxItems
    std::vector<ChatMessage> page;
    for (size_t i = 0; i < cap; ++i) page.push_back(Msg("m" + std::to_string(i), "password"));
    rig.store.MergeMessages("c1", page, true);
    auto s = rig.State();
    REQUIRE(s->items.size() == cap);
    // The first 100 are resolved; one more page overflows the queue.
    std::vector<uint64_t> ids;
    for (size_t i = 0; i < 100; ++i) ids.push_back(s->items[i].id);
    rig.mod->Resolve(ids, ModerationEngine::Tag::kCompliant, "");
    page.clear();
    for (size_t i = 0; i < 10; ++i) page.push_back(Msg("n" + std::to_string(i), "password"));
    rig.store.MergeMessages("c1", page, true);
    s = rig.State();
    CHECK(s->items.size() == cap - cap / 20);
    CHECK(s->pendingCount == s->items.size());  // every resolved item left first
    CHECK(s->droppedPending == cap / 20 + 10 - 100);
    // The newest stay, in order, and each message still maps to its own item.
    CHECK(s->items.back().messageId == "n9");
    CHECK(s->items.front().messageId == "m" + std::to_string(cap / 20 + 10));
    rig.mod->Escalate({s->items.back().id});
    CHECK(rig.State()->items.back().escalated);
    ChatMessage edit = Msg("n9", "password again");
    edit.lastModifiedDateTime = edit.createdDateTime + 1000;
    rig.store.MergeMessages("c1", {edit}, true);
    CHECK(rig.State()->items.back().text == "password again");
    CHECK(rig.State()->items.size() == s->items.size());
}

TEST_CASE("an event row (an acknowledged alert) is audited with the engine's actor and clock") {
    Rig rig;
    AuditRow row;
    row.action = "alert-acknowledged";
    row.channelId = "c1";
    row.result = "surge";
    row.detail = "Surge in # General";
    rig.mod->RecordEvent(row);
    REQUIRE(rig.audit.size() == 1);
    CHECK(rig.audit[0].actor == "mod");
    CHECK(rig.audit[0].at == 1'700'000'100'000);
    CHECK(rig.audit[0].action == "alert-acknowledged");
    auto s = rig.State();
    REQUIRE(s);
    REQUIRE_FALSE(s->audit.empty());
    CHECK(s->audit.front().detail == "Surge in # General");
    CHECK(s->audit.front().result == "surge");
}
