// The shared review queue (a desk following the nodes, SERVER.md "Review queue"): items
// come from PostgreSQL, and actions go back to it through Options::sharedAction, which
// claims, resolves, tags, escalates and records notices together with their audit rows.
#include <algorithm>
#include <unordered_map>

#include "moderation/review.hpp"

namespace cdeck::core {

void ModerationEngine::ApplyShared(std::vector<ReviewItem> items) {
    {
        std::lock_guard lock(m_mutex);
        std::unordered_map<uint64_t, size_t> byId;
        byId.reserve(m_items.size());
        for (size_t i = 0; i < m_items.size(); ++i) byId.emplace(m_items[i].id, i);
        for (auto& item : items) {
            auto it = byId.find(item.id);
            if (it == byId.end()) {
                byId.emplace(item.id, m_items.size());
                m_byMessage[item.messageId].push_back(m_items.size());
                m_items.push_back(std::move(item));
                continue;
            }
            ReviewItem& old = m_items[it->second];
            // What the desk did locally and is still waiting on stays visible.
            item.pending = old.pending;
            item.deleted = old.deleted;
            if (old.pending) item.lastError = old.lastError;
            old = std::move(item);
        }
        if (m_items.size() > std::max<size_t>(1, m_options.maxItems)) TrimItems();
    }
    Publish();
}

void ModerationEngine::SharedEach(const std::vector<uint64_t>& ids,
                                  const std::function<SharedReviewAction(uint64_t)>& make,
                                  const std::function<void(ReviewItem&)>& apply) {
    for (uint64_t id : ids) {
        Status st = m_options.sharedAction(make(id));
        std::lock_guard lock(m_mutex);
        for (auto& item : m_items) {
            if (item.id != id) continue;
            if (st) {
                apply(item);
                item.lastError.clear();
            } else {
                item.lastError = st.error().message;
            }
        }
    }
    Publish();
}

void ModerationEngine::Claim(const std::vector<uint64_t>& ids) {
    if (!m_options.sharedAction) return;
    std::string me = m_options.sharedUser;
    SharedEach(
        ids,
        [](uint64_t id) {
            return SharedReviewAction{SharedReviewAction::Kind::kClaim, id};
        },
        [&](ReviewItem& i) { i.claimedBy = me; });
}

void ModerationEngine::ClaimNext(int count) {
    if (!m_options.sharedAction) return;
    SharedReviewAction a{SharedReviewAction::Kind::kClaimNext};
    a.count = count;
    (void)m_options.sharedAction(a);  // the claimed items come back through ApplyShared
}

void ModerationEngine::Release(const std::vector<uint64_t>& ids) {
    if (!m_options.sharedAction) return;
    SharedEach(
        ids,
        [](uint64_t id) {
            return SharedReviewAction{SharedReviewAction::Kind::kRelease, id};
        },
        [](ReviewItem& i) { i.claimedBy.clear(); });
}

}  // namespace cdeck::core
