// Every chatMessage in ../shared/graph-examples survives the trip the store puts it through:
// Graph JSON -> ChatMessage -> CompactMessage (the stored form) -> JSON, the document the
// persisters write and read back. Each non-null field of the original must come back with
// the same value. Only OData annotations (@odata.type, @odata.context, replies@odata.count)
// are not kept, by design, and an empty string or array counts as no value.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "model/compact.hpp"
#include "model/parse.hpp"
#include "model/serialize.hpp"
#include "support/test_util.hpp"

using namespace cdeck::core;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool Annotation(const std::string& key) {
    return key.find("@odata.") != std::string::npos && key != "replies@odata.nextLink";
}

// The model keeps "" and [] as it keeps null: no value (Graph sends either).
bool Absent(const json& v) {
    return v.is_null() || (v.is_string() && v.get_ref<const std::string&>().empty()) ||
           (v.is_array() && v.empty());
}

bool SameScalar(const std::string& key, const json& a, const json& b) {
    if (a.is_string() && b.is_string() && key.ends_with("DateTime"))
        return ParseIso8601(a.get<std::string>()) == ParseIso8601(b.get<std::string>());
    // Raw JSON Graph sends as an object may come back as the same JSON in a string.
    if (a.is_structured() && b.is_string())
        return json::parse(b.get<std::string>(), nullptr, false) == a;
    return a == b;
}

// Records in `lost` every path of `orig` whose value `back` does not hold.
void Compare(const json& orig, const json& back, const std::string& path,
             std::vector<std::string>& lost) {
    if (orig.is_object() && back.is_object()) {
        for (const auto& [key, value] : orig.items()) {
            if (Absent(value) || Annotation(key) || (path.empty() && key == "replies")) continue;
            auto it = back.find(key);
            if (it == back.end() || it->is_null()) {
                lost.push_back(path + "/" + key);
                continue;
            }
            Compare(value, *it, path + "/" + key, lost);
        }
        return;
    }
    if (orig.is_array() && back.is_array() && orig.size() == back.size()) {
        for (size_t i = 0; i < orig.size(); ++i)
            Compare(orig[i], back[i], path + "/" + std::to_string(i), lost);
        return;
    }
    std::string key = path.substr(path.rfind('/') + 1);
    if (!SameScalar(key, orig, back)) lost.push_back(path + " (" + orig.dump() + ")");
}

// chatMessage objects: the page items, single responses, and inlined replies.
void FindMessages(const json& j, std::vector<const json*>& out) {
    if (j.is_array()) {
        for (const auto& x : j) FindMessages(x, out);
        return;
    }
    if (!j.is_object()) return;
    if (j.contains("messageType") && j.contains("id")) out.push_back(&j);
    for (const char* key : {"value", "replies", "body"})
        if (auto it = j.find(key);
            it != j.end() && it->is_structured() && key != std::string("body"))
            FindMessages(*it, out);
}

}  // namespace

TEST_CASE("every documented chatMessage survives the stored form field by field") {
    size_t files = 0, messages = 0;
    for (const auto& entry : fs::directory_iterator(cdeck::test::ExamplesDir())) {
        std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".json" || name.find(".request.") != std::string::npos)
            continue;
        json doc = json::parse(cdeck::test::ReadFile(entry.path()), nullptr, false);
        REQUIRE_MESSAGE(!doc.is_discarded(), name);
        std::vector<const json*> found;
        FindMessages(doc, found);
        if (found.empty()) continue;
        ++files;
        for (const json* original : found) {
            CAPTURE(name);
            CAPTURE((*original)["id"].dump());
            auto parsed = ParseChatMessage(*original);
            REQUIRE_MESSAGE(parsed.ok(), cdeck::test::ErrText(parsed));
            CompactMessage stored(std::move(parsed.value()));
            json back = ToJson(stored);
            std::vector<std::string> lost;
            Compare(*original, back, "", lost);
            for (const auto& l : lost) FAIL_CHECK("not kept: " << l);
            // And the way back to the full type loses nothing either.
            CHECK(ToJson(CompactMessage(ToChatMessage(stored))) == back);
            ++messages;
        }
    }
    // The examples hold messages in a dozen files; finding none would test nothing.
    CHECK(files >= 10);
    CHECK(messages >= 20);
    MESSAGE(messages << " messages in " << files << " example files");
}
