// Graph collection pages (messages, teams, channels, members) from untrusted bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto page = cdeck::core::ParseMessagePage(body);
    if (page.ok()) {
        for (const auto& m : page->items) {
            (void)m.from.DisplayName();
            (void)m.VersionTime();
        }
    }
    (void)cdeck::core::ParseTeamPage(body);
    (void)cdeck::core::ParseChannelPage(body);
    auto members = cdeck::core::ParseMemberPage(body);
    if (members.ok())
        for (const auto& m : members->items)
            if (m.id.empty()) __builtin_trap();  // a member without an id must be an error
    return 0;
}
