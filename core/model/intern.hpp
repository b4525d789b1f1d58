#pragma once
// Interning for the values many stored messages repeat: who wrote them (an IdentitySet), the
// channel they belong to, and their webUrl's shape. One process serves one tenant, so the
// pools are process-wide: every message by the same author points at the same IdentitySet.
//
// Threads: any thread may intern or read. The pools are append-only; an interned value is
// never changed or freed, so a returned pointer stays valid for the life of the process
// and may be read without a lock.
#include <cstddef>
#include <string>
#include <string_view>

#include "model/types.hpp"

namespace cdeck::core {

// Null for a set with no identity in it.
const IdentitySet* InternIdentitySet(const IdentitySet& set);
// Null when both ids are empty.
const ChannelIdentity* InternChannelIdentity(const ChannelIdentity& channel);
// Interned text that many messages share (webUrl templates). Returns null, so that the
// caller keeps the text itself, once kMaxInternedTexts distinct texts are held: text that
// turns out unique per message must not grow the pool without bound.
const std::string* InternSharedText(const std::string& text);
inline constexpr size_t kMaxInternedTexts = 100000;

// An empty IdentitySet, for callers that want a reference where there is no author.
const IdentitySet& NoIdentity();

struct InternStats {
    size_t identitySets = 0;
    size_t channels = 0;
    size_t texts = 0;
};
InternStats InternedCounts();

}  // namespace cdeck::core
