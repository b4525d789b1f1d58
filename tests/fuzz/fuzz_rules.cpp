// Moderation rules. The first byte picks the mode:
//  even: the rest is a rule pack; it parses or fails with kConfig, and a pack that parses
//        is evaluated against a few fixed messages without crashing;
//  odd:  the rest is a message body (text and HTML) run through a pack with every kind of
//        condition; matched ranges must lie inside the text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "moderation/rules.hpp"

namespace {

using namespace cdeck::core;

const RulePack& FullPack() {
    static const RulePack pack = *ParseRulePack(R"({"rules":[
      {"id":"k","when":{"keywords":["pass","secret*","*coin","*leak*","данные"]}},
      {"id":"r","when":{"regex":"(a+)+b|[0-9]{4}-[0-9]{4}"}},
      {"id":"m","when":{"any":[{"mentions_at_least":2},{"team_or_channel_mention":true}]}},
      {"id":"l","when":{"link_domains":{"deny":["bit.ly"],"allow":["contoso.com"]}}},
      {"id":"a","when":{"attachment_types":[".exe"]}},
      {"id":"s","when":{"surge":{"per":"channel","window_minutes":1,"baseline_hours":1,"factor":2,"min_count":1}}},
      {"id":"c","when":{"all":[{"keywords":["x*"]},{"not":{"keywords":["y"]}}]}}]})");
    return pack;
}

ChatMessage Fixed(const std::string& body) {
    ChatMessage m;
    m.id = "m";
    m.createdDateTime = 1700000000000;
    m.from.user = Identity{"u", "U", "aadUser"};
    m.body.contentType = "html";
    m.body.content = body;
    m.mentions.push_back(Mention{0, "U", {}});
    Attachment a;
    a.name = "run.exe";
    m.attachments.push_back(a);
    return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
    static SurgeTracker surge;
    if (data[0] % 2 == 0) {
        auto pack = ParseRulePack(rest);
        if (!pack.ok()) {
            if (pack.error().code != ErrorCode::kConfig) std::abort();
            return 0;
        }
        for (const char* body :
             {"pass secret coin leak https://bit.ly/x", "", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}) {
            ChatMessage m = Fixed(body);
            (void)Evaluate(*pack, RuleInput{&m, m.body.content, "c", &surge});
        }
        return 0;
    }
    ChatMessage m = Fixed(rest);
    surge.Add(std::to_string(size), "u", "c", m.createdDateTime);
    for (const auto& hit : Evaluate(FullPack(), RuleInput{&m, rest, "c", &surge}))
        for (const auto& t : hit.terms)
            if (t.begin > t.end || t.end > rest.size()) std::abort();
    (void)LinkDomains(rest);
    (void)FoldCase(rest);
    return 0;
}
