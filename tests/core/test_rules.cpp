// Moderation rules: conditions, composition, exemptions, Unicode folding and RE2's
// linear-time guarantee.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "moderation/rules.hpp"

using namespace cdeck::core;

namespace {

ChatMessage Message(const std::string& text, const std::string& author = "u-1") {
    ChatMessage m;
    m.id = "m-" + std::to_string(std::hash<std::string>{}(text + author));
    m.createdDateTime = 1'700'000'000'000;
    m.from.user = Identity{author, "Someone", "aadUser"};
    m.body.contentType = "text";
    m.body.content = text;
    return m;
}

std::vector<RuleHit> Run(const std::string& packJson, const ChatMessage& m,
                         const std::string& channel = "c-1", const SurgeTracker* surge = nullptr) {
    auto pack = ParseRulePack(packJson);
    REQUIRE_MESSAGE(pack.ok(), (pack.ok() ? "" : pack.error().message));
    RuleInput in{&m, m.body.content, channel, surge};
    return Evaluate(pack.value(), in);
}

std::string One(const std::string& when) {
    return R"({"rules":[{"id":"r","severity":"high","when":)" + when + "}]}";
}

std::string Matched(const ChatMessage& m, const RuleHit& h) {
    std::string out;
    for (const auto& t : h.terms)
        out += (out.empty() ? "" : "|") + m.body.content.substr(t.begin, t.end - t.begin);
    return out;
}

}  // namespace

TEST_CASE("keywords: whole word, prefix, suffix and anywhere, case-folded") {
    auto pack = One(R"({"keywords":["pass","secret*","*coin","*leak*"]})");
    auto m = Message("My PASS is here");
    auto h = Run(pack, m);
    REQUIRE(h.size() == 1);
    CHECK(Matched(m, h[0]) == "PASS");
    CHECK(Run(pack, Message("a passport is not a pass-word... wait")).size() ==
          1);                                            // "pass" before '-'
    CHECK(Run(pack, Message("passport only")).empty());  // whole word only
    m = Message("Secrets and SECRETIVE people");
    h = Run(pack, m);
    REQUIRE(h.size() == 1);
    CHECK(Matched(m, h[0]) == "Secrets|SECRETIVE");  // the whole word is highlighted
    CHECK(Run(pack, Message("topsecret")).empty());  // prefix must start a word
    m = Message("buy bitcoin now");
    CHECK(Matched(m, Run(pack, m)[0]) == "bitcoin");
    CHECK(Run(pack, Message("coinage")).empty());
    m = Message("data-LEAKAGE report");
    CHECK(Matched(m, Run(pack, m)[0]) == "LEAK");
}

TEST_CASE("keywords are Unicode-aware: folding and word boundaries beyond ASCII") {
    auto pack = One(R"({"keywords":["данные","straße","ÉTÉ"]})");
    auto m = Message("Утечка ДАННЫЕ клиентов");
    auto h = Run(pack, m);
    REQUIRE(h.size() == 1);
    CHECK(Matched(m, h[0]) == "ДАННЫЕ");
    CHECK(Run(pack, Message("ДАННЫЕX")).empty());  // a Latin letter after is still a word char
    CHECK(Run(pack, Message("ДАННЫЕЙ")).empty());
    CHECK(Run(pack, Message("Die STRASSE")).empty());  // no full case folding of ß, by design
    CHECK(Run(pack, Message("die STRAßE.")).size() == 1);
    CHECK(Run(pack, Message("l'été dernier")).size() == 1);
    CHECK(Run(pack, Message("“été”")).size() == 1);  // curly quotes are boundaries
    // Broken UTF-8 does not derail matching.
    const std::string broken = std::string("\xff\xfe") + " été " + "\xc3";
    CHECK(Run(pack, Message(broken)).size() == 1);
}

TEST_CASE("regex through RE2, case-insensitive unless asked, with length limits") {
    auto m = Message("key AKIAABCDEFGHIJKLMNOP and akiaabcdefghijklmnop");
    auto h = Run(One(R"({"regex":"AKIA[0-9A-Z]{16}","case_sensitive":true})"), m);
    REQUIRE(h.size() == 1);
    CHECK(Matched(m, h[0]) == "AKIAABCDEFGHIJKLMNOP");
    h = Run(One(R"({"regex":"AKIA[0-9A-Z]{16}"})"), m);
    CHECK(Matched(m, h[0]) == "AKIAABCDEFGHIJKLMNOP|akiaabcdefghijklmnop");
    // Bad patterns are refused with the rule and key named.
    auto bad = ParseRulePack(One(R"({"regex":"(unclosed"})"));
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().message.find("rule \"r\".when.regex") != std::string::npos);
    std::string longPattern(kMaxRegexLength + 1, 'a');
    CHECK_FALSE(ParseRulePack(One(R"({"regex":")" + longPattern + R"("})")).ok());
    // RE2 has no backreferences (they would need backtracking).
    CHECK_FALSE(ParseRulePack(One(R"({"regex":"(a)\\1"})")).ok());
}

TEST_CASE("patterns that are catastrophic for a backtracking engine finish in linear time") {
    // (a+)+$ and (a|aa)*b on a long run of a's without the ending: exponential for a
    // backtracking matcher, a single linear scan for RE2. A 1 MB input makes the
    // difference plain: a backtracking engine would not finish before the test's timeout.
    std::string text(1 << 20, 'a');
    text += "!";
    for (const char* p : {R"((a+)+$)", R"((a|aa)*b)", R"((.*a){20})"}) {
        nlohmann::json when = {{"regex", p}};
        auto h = Run(One(when.dump()), Message(text));
        if (std::string(p) == R"((.*a){20})")
            CHECK(h.size() == 1);
        else
            CHECK(h.empty());
    }
}

TEST_CASE("mention flood: at least N mentions, or a team or channel mention") {
    auto pack = One(R"({"any":[{"mentions_at_least":3},{"team_or_channel_mention":true}]})");
    auto m = Message("hi all");
    for (int i = 0; i < 2; ++i) m.mentions.push_back(Mention{i, "U", {}});
    CHECK(Run(pack, m).empty());
    m.mentions.push_back(Mention{2, "U", {}});
    auto h = Run(pack, m);
    REQUIRE(h.size() == 1);
    CHECK(h[0].reason == "3 mentions");
    auto team = Message("everyone");
    Mention t{0, "Sales", {}};
    t.mentioned.conversation = Identity{"19:abc", "Sales", "team"};
    team.mentions.push_back(t);
    CHECK(Run(pack, team).size() == 1);
}

TEST_CASE("link domains: deny lists match subdomains, allow lists refuse everything else") {
    auto deny = One(R"({"link_domains":{"deny":["bit.ly","evil.example"]}})");
    auto m = Message("see <a href=\"https://BIT.ly/x\">here</a>");
    m.body.contentType = "html";
    CHECK(Run(deny, m).size() == 1);
    CHECK(Run(deny, Message("https://cdn.evil.example/p.zip")).size() == 1);
    CHECK(Run(deny, Message("https://notevil.example/ok")).empty());
    CHECK(Run(deny, Message("http://user@evil.example:8080/")).size() == 1);
    auto allow = One(R"({"link_domains":{"allow":["contoso.com"]}})");
    CHECK(Run(allow, Message("https://wiki.contoso.com/page")).empty());
    auto h = Run(allow, Message("https://example.org/page"));
    REQUIRE(h.size() == 1);
    CHECK(h[0].reason == "link to example.org");
    CHECK(LinkDomains("x https://a.b/c and http://A.B?q and https://c.d#f") ==
          std::vector<std::string>{"a.b", "c.d"});
}

TEST_CASE("attachment types by extension or content type") {
    auto pack = One(R"({"attachment_types":[".exe","application/zip"]})");
    auto m = Message("see attached");
    Attachment a;
    a.contentType = "reference";
    a.name = "Setup.EXE";
    m.attachments.push_back(a);
    CHECK(Run(pack, m).size() == 1);
    m.attachments[0].name = "notes.txt";
    CHECK(Run(pack, m).empty());
    m.attachments[0].contentType = "application/zip";
    CHECK(Run(pack, m).size() == 1);
}

TEST_CASE("surge: an author well above their rolling baseline") {
    auto pack = One(
        R"({"surge":{"per":"author","window_minutes":5,"baseline_hours":2,"factor":3,"min_count":4}})");
    SurgeTracker surge;
    UnixMillis t0 = 1'700'000'000'000;
    // A steady baseline: one message every 10 minutes for two hours.
    for (int i = 0; i < 12; ++i)
        surge.Add("b" + std::to_string(i), "u-1", "c-1", t0 - 7200000 + i * 600000);
    auto m = Message("hello");
    m.createdDateTime = t0;
    surge.Add(m.id, "u-1", "c-1", t0);
    CHECK(Run(pack, m, "c-1", &surge).empty());  // one in the window: normal
    for (int i = 0; i < 5; ++i) surge.Add("s" + std::to_string(i), "u-1", "c-1", t0 - i * 30000);
    auto h = Run(pack, m, "c-1", &surge);
    REQUIRE(h.size() == 1);
    CHECK(h[0].reason.find("by this author") != std::string::npos);
    // Another author is unaffected; counting the same message twice is refused.
    CHECK(Run(pack, Message("hello", "u-2"), "c-1", &surge).empty());
    CHECK_FALSE(surge.Add(m.id, "u-1", "c-1", t0));
    // Without history, surge never fires.
    CHECK(Run(pack, m).empty());
}

TEST_CASE("AND, OR and NOT compose, and exemptions apply by user and channel") {
    std::string pack = R"({"rules":[{"id":"r","severity":"low",
        "exempt_users":["boss"],"exempt_channels":["c-free"],
        "when":{"all":[{"keywords":["deploy"]},{"not":{"keywords":["staging"]}},
                       {"any":[{"keywords":["friday"]},{"keywords":["night"]}]}]}}]})";
    CHECK(Run(pack, Message("deploy on friday")).size() == 1);
    CHECK(Run(pack, Message("deploy at night")).size() == 1);
    CHECK(Run(pack, Message("deploy to staging on friday")).empty());
    CHECK(Run(pack, Message("deploy on monday")).empty());
    CHECK(Run(pack, Message("deploy on friday", "boss")).empty());
    CHECK(Run(pack, Message("deploy on friday"), "c-free").empty());
    auto m = Message("Deploy on FRIDAY");
    auto h = Run(pack, m);
    REQUIRE(h.size() == 1);
    CHECK(Matched(m, h[0]) == "Deploy|FRIDAY");  // terms of the matching branches, in order
}

TEST_CASE("rule packs are validated and errors name the rule and key") {
    const std::pair<const char*, const char*> bad[] = {
        {R"({"rules":[{"id":"a","when":{"keywords":[]}}]})", "rule \"a\".when.keywords"},
        {R"({"rules":[{"id":"a","when":{"nonsense":1}}]})", "rule \"a\".when.nonsense"},
        {R"({"rules":[{"id":"a","severity":"huge","when":{"keywords":["x"]}}]})", "severity"},
        {R"({"rules":[{"id":"a","when":{"keywords":["x"]}},{"id":"a","when":{"keywords":["y"]}}]})",
         "used twice"},
        {R"({"rules":[{"when":{"keywords":["x"]}}]})", "rules[0].id"},
        {R"({"rules":[{"id":"a"}]})", "rule \"a\".when"},
        {R"({"rules":[{"id":"a","when":{"surge":{"per":"team"}}}]})", "surge.per"},
        {R"({"rules":[{"id":"a","when":{"link_domains":{}}}]})", "link_domains"},
        {R"({"rules":[{"id":"a","when":{"not":{"all":[]}}}]})", "when.not.all"},
        {"[]", "not a JSON object"},
    };
    for (auto [text, want] : bad) {
        auto r = ParseRulePack(text);
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().message.find(want) != std::string::npos, r.error().message);
    }
}

TEST_CASE("the default rule pack parses and catches what it is meant to") {
    std::ifstream in(std::string(CDECK_ASSETS_DIR) + "/rules/default.json");
    std::stringstream ss;
    ss << in.rdbuf();
    auto pack = ParseRulePack(ss.str());
    REQUIRE_MESSAGE(pack.ok(), (pack.ok() ? "" : pack.error().message));
    CHECK(pack->rules.size() >= 6);
    auto ids = [&](const ChatMessage& m) {
        std::string out;
        for (const auto& h : Evaluate(*pack, RuleInput{&m, m.body.content, "c", nullptr}))
            out += h.ruleId + " ";
        return out;
    };
    CHECK(ids(Message("the client secret is hunter2")) == "credentials ");
    CHECK(ids(Message("card 4111 1111 1111 1111 please")) == "card-numbers ");
    CHECK(ids(Message("grab it at https://bit.ly/abc")) == "risky-links ");
    CHECK(ids(Message("Urgent: click here to verify your account")) == "phishing-words ");
    CHECK(ids(Message("lunch at noon?")) == "");
}

TEST_CASE("surge: no verdict before an hour of history, and old minutes are forgotten") {
    auto pack = One(
        R"({"surge":{"per":"author","window_minutes":5,"baseline_hours":24,"factor":3,"min_count":4}})");
    SurgeTracker surge;
    UnixMillis t0 = 1'700'000'000'000;
    // A fresh start: ten messages in a minute, with nothing seen before. "Usual" is unknown.
    for (int i = 0; i < 10; ++i) surge.Add("a" + std::to_string(i), "u-1", "c-1", t0 + i * 1000);
    auto m = Message("hello");
    m.createdDateTime = t0 + 10000;
    surge.Add(m.id, "u-1", "c-1", m.createdDateTime);
    CHECK(Run(pack, m, "c-1", &surge).empty());
    CHECK(surge.ObservedSince() == t0 / 60000 * 60000);
    // Over an hour later, with one quiet message a quarter hour, the same burst is a surge.
    for (int i = 1; i <= 4; ++i) surge.Add("q" + std::to_string(i), "u-2", "c-2", t0 + i * 900000);
    UnixMillis t1 = t0 + 4'200'000;  // 70 minutes on
    for (int i = 0; i < 10; ++i) surge.Add("b" + std::to_string(i), "u-1", "c-1", t1 + i * 1000);
    m.id = "late";
    m.createdDateTime = t1 + 10000;
    surge.Add(m.id, "u-1", "c-1", m.createdDateTime);
    CHECK(Run(pack, m, "c-1", &surge).size() == 1);
    // The same id is counted once; counts older than the horizon are dropped.
    CHECK_FALSE(surge.Add("late", "u-1", "c-1", m.createdDateTime));
    UnixMillis far = t1 + UnixMillis{SurgeTracker::kHorizonHours + 2} * 3600000;
    CHECK(surge.Add("far", "u-3", "c-3", far));
    CHECK(surge.Count("a:u-1", t0, t1 + 60000) == 0);
    CHECK(surge.ObservedSince() == far / 60000 * 60000);
    CHECK_FALSE(surge.Add("ancient", "u-1", "c-1", t0));  // older than the horizon
    CHECK(ParseRulePack(One(R"({"surge":{"per":"author","baseline_hours":100}})"))
              .error()
              .message.find("at most 48") != std::string::npos);
}

TEST_CASE(
    "a pack whose name or version has the wrong type is an error, not a crash (found by fuzzing)") {
    auto p = ParseRulePack(R"({"name":5,"rules":[]})");
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("name") != std::string::npos);
    p = ParseRulePack(R"({"version":99999999999,"rules":[]})");
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().message.find("version") != std::string::npos);
}
