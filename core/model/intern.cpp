#include "model/intern.hpp"

#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace cdeck::core {
namespace {

void Mix(size_t& h, std::string_view s) {
    h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
}

void MixIdentity(size_t& h, const std::optional<Identity>& id) {
    if (!id) {
        Mix(h, "\x01");
        return;
    }
    Mix(h, id->id);
    Mix(h, id->displayName);
    Mix(h, id->userIdentityType);
    Mix(h, id->tenantId);
}

bool Same(const std::optional<Identity>& a, const std::optional<Identity>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->id == b->id && a->displayName == b->displayName &&
                  a->userIdentityType == b->userIdentityType && a->tenantId == b->tenantId);
}

struct SetHash {
    size_t operator()(const IdentitySet& s) const {
        size_t h = 0;
        for (const auto* id : {&s.user, &s.application, &s.device, &s.conversation})
            MixIdentity(h, *id);
        return h;
    }
};
struct SetEq {
    bool operator()(const IdentitySet& a, const IdentitySet& b) const {
        return Same(a.user, b.user) && Same(a.application, b.application) &&
               Same(a.device, b.device) && Same(a.conversation, b.conversation);
    }
};
struct ChannelHash {
    size_t operator()(const ChannelIdentity& c) const {
        size_t h = 0;
        Mix(h, c.teamId);
        Mix(h, c.channelId);
        return h;
    }
};
struct ChannelEq {
    bool operator()(const ChannelIdentity& a, const ChannelIdentity& b) const {
        return a.teamId == b.teamId && a.channelId == b.channelId;
    }
};

// A read-mostly pool: lookups share the lock, only a new value takes it alone. Node-based
// sets keep every element's address fixed as they grow.
template <typename T, typename Hash, typename Eq>
class Pool {
  public:
    const T* Intern(const T& value, size_t cap) {
        {
            std::shared_lock lock(m_mutex);
            auto it = m_set.find(value);
            if (it != m_set.end()) return &*it;
        }
        std::unique_lock lock(m_mutex);
        auto it = m_set.find(value);
        if (it != m_set.end()) return &*it;
        if (m_set.size() >= cap) return nullptr;
        return &*m_set.insert(value).first;
    }
    size_t Size() const {
        std::shared_lock lock(m_mutex);
        return m_set.size();
    }

  private:
    mutable std::shared_mutex m_mutex;
    std::unordered_set<T, Hash, Eq> m_set;
};

// Leaked on purpose: interned pointers must outlive every static that holds a message.
auto& Identities() {
    static auto* pool = new Pool<IdentitySet, SetHash, SetEq>();
    return *pool;
}
auto& Channels() {
    static auto* pool = new Pool<ChannelIdentity, ChannelHash, ChannelEq>();
    return *pool;
}
auto& Texts() {
    static auto* pool = new Pool<std::string, std::hash<std::string>, std::equal_to<>>();
    return *pool;
}

}  // namespace

const IdentitySet* InternIdentitySet(const IdentitySet& set) {
    if (!set.user && !set.application && !set.device && !set.conversation) return nullptr;
    return Identities().Intern(set, static_cast<size_t>(-1));
}

const ChannelIdentity* InternChannelIdentity(const ChannelIdentity& channel) {
    if (channel.teamId.empty() && channel.channelId.empty()) return nullptr;
    return Channels().Intern(channel, static_cast<size_t>(-1));
}

const std::string* InternSharedText(const std::string& text) {
    return Texts().Intern(text, kMaxInternedTexts);
}

const IdentitySet& NoIdentity() {
    static const IdentitySet none;
    return none;
}

InternStats InternedCounts() {
    return {Identities().Size(), Channels().Size(), Texts().Size()};
}

}  // namespace cdeck::core
