#include "store/store.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::core {
namespace {

bool IsNewer(const CompactMessage& incoming, const CompactMessage& stored) {
    if (incoming.VersionTime() != stored.VersionTime())
        return incoming.VersionTime() > stored.VersionTime();
    if (incoming.deletedDateTime.has_value() != stored.deletedDateTime.has_value())
        return incoming.deletedDateTime.has_value();
    // Same timestamp: etags in Teams are monotonically increasing numbers as strings.
    if (incoming.etag.size() != stored.etag.size())
        return incoming.etag.size() > stored.etag.size();
    return incoming.etag > stored.etag;
}

constexpr size_t kNotFound = static_cast<size_t>(-1);

bool CreatedBefore(const StoredMessagePtr& a, const StoredMessagePtr& b) {
    if (a->message.createdDateTime != b->message.createdDateTime)
        return a->message.createdDateTime < b->message.createdDateTime;
    return a->message.id < b->message.id;
}

// Finds a channel's roots by id without a per-message index. Roots are sorted by (created,
// id) and Graph never changes a message's creation time, so a binary search finds them.
// A sorted list of 32-bit id hashes (4 bytes a root, kept by the writer) tells whether a
// root that the search missed is held all the same (a server that moved a creation time);
// only then is the channel scanned. Roots appended by this merge are found in `m_appended`.
class RootFinder {
  public:
    RootFinder(std::vector<StoredMessagePtr>& roots, std::vector<uint32_t>& hashes)
        : m_roots(roots), m_hashes(hashes), m_sortedEnd(roots.size()) {
        if (m_hashes.size() != m_roots.size()) Rebuild();
    }

    size_t Find(const StoredMessagePtr& m) const {
        auto begin = m_roots.begin(), end = begin + static_cast<std::ptrdiff_t>(m_sortedEnd);
        auto at = std::lower_bound(begin, end, m, CreatedBefore);
        if (at != end && (*at)->message.id == m->message.id) return static_cast<size_t>(at - begin);
        if (auto it = m_appended.find(m->message.id); it != m_appended.end()) return it->second;
        if (!std::binary_search(m_hashes.begin(), m_hashes.end(), Hash(m->message.id)))
            return kNotFound;
        for (size_t i = 0; i < m_sortedEnd; ++i)
            if (m_roots[i]->message.id == m->message.id) return i;
        return kNotFound;  // a hash collision
    }
    void Append(const StoredMessagePtr& m) {
        m_appended.emplace(m->message.id, m_roots.size());
        m_roots.push_back(m);
    }
    // Adds the appended roots' hashes to the sorted list.
    void Commit() {
        if (m_appended.empty()) return;
        size_t old = m_hashes.size();
        m_hashes.reserve(m_roots.size());
        for (const auto& [id, pos] : m_appended) m_hashes.push_back(Hash(id));
        std::sort(m_hashes.begin() + static_cast<std::ptrdiff_t>(old), m_hashes.end());
        std::inplace_merge(m_hashes.begin(), m_hashes.begin() + static_cast<std::ptrdiff_t>(old),
                           m_hashes.end());
    }

  private:
    static uint32_t Hash(std::string_view id) {
        return static_cast<uint32_t>(std::hash<std::string_view>{}(id));
    }
    void Rebuild() {
        m_hashes.clear();
        m_hashes.reserve(m_roots.size());
        for (const auto& r : m_roots) m_hashes.push_back(Hash(r->message.id));
        std::sort(m_hashes.begin(), m_hashes.end());
    }

    std::vector<StoredMessagePtr>& m_roots;
    std::vector<uint32_t>& m_hashes;
    const size_t m_sortedEnd;
    std::unordered_map<std::string_view, size_t> m_appended;
};

// "#microsoft.graph.membersAddedEventMessageDetail" -> "System event: members added".
std::string DescribeSystemEvent(const std::string& eventDetailJson) {
    std::string out = "System event";
    const std::string key = "\"@odata.type\"";
    size_t k = eventDetailJson.find(key);
    if (k == std::string::npos) return out;
    size_t hash = eventDetailJson.find("#microsoft.graph.", k);
    size_t end = eventDetailJson.find("EventMessageDetail", hash == std::string::npos ? k : hash);
    if (hash == std::string::npos || end == std::string::npos || end - hash > 80) return out;
    std::string name = eventDetailJson.substr(hash + 17, end - hash - 17);
    std::string words;
    for (char c : name) {
        if (c >= 'A' && c <= 'Z') {
            words += ' ';
            words += static_cast<char>(c - 'A' + 'a');
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            words += c;
        }
    }
    return out + ": " + words;
}

// A newer version inherits the older one's edit history, plus the older body when it
// differs, capped at Store::kMaxHistory.
void CarryHistory(StoredMessage& newer, const StoredMessage& older) {
    newer.history = older.history;
    if (older.message.body.content != newer.message.body.content)
        newer.history.push_back({older.message.VersionTime(), older.message.body.content});
    if (newer.history.size() > Store::kMaxHistory)
        newer.history.erase(newer.history.begin(),
                            newer.history.end() - static_cast<std::ptrdiff_t>(Store::kMaxHistory));
}

std::string MakePreview(const std::string& text) {
    std::string p;
    size_t n = 0;
    for (size_t i = 0; i < text.size() && n < 160; ++i) {
        char c = text[i];
        if (c == '\n' || c == '\t') c = ' ';
        p.push_back(c);
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
    }
    // Do not cut a UTF-8 sequence in half.
    size_t end = p.size();
    if (end < text.size()) {
        while (end > 0 && (static_cast<unsigned char>(p[end - 1]) & 0xC0) == 0x80) --end;
        if (end > 0 && (static_cast<unsigned char>(p[end - 1]) & 0x80)) --end;
        p.resize(end);
        p += "\xE2\x80\xA6";
    }
    return p;
}

}  // namespace

Store::Store() {
    auto s = std::make_shared<Snapshot>();
    s->publishedAt = NowMillis();
    SetCurrent(std::move(s));
}

void Store::SetCurrent(SnapshotPtr next) {
#ifdef CDECK_STORE_MUTEX_POINTER
    std::lock_guard lock(m_currentMutex);
    m_current = std::move(next);
#else
    m_current.store(std::move(next), std::memory_order_release);
#endif
}

void Store::SetWakeCallback(std::function<void()> wake) {
    std::lock_guard lock(m_writeMutex);
    m_wake = std::move(wake);
}

namespace {

// A message with its text conversion and preview; no replies yet.
std::shared_ptr<StoredMessage> Convert(CompactMessage message) {
    auto s = std::make_shared<StoredMessage>();
    if (message.html) {
        s->text = HtmlToText(message.body.content);
    } else {
        s->text.text = SanitizeUtf8(std::string_view(message.body.content).substr(0, 16 * 1024));
        s->text.truncated = message.body.content.size() > 16 * 1024;
    }
    if (message.IsDeleted())
        s->text = PlainText{"This message has been deleted.", {}, false};
    else if (s->text.text.empty() && !message.EventDetailJson().empty())
        s->text = PlainText{DescribeSystemEvent(message.EventDetailJson()), {}, false};
    s->preview = MakePreview(s->text.text);
    s->message = std::move(message);
    return s;
}

StoredMessagePtr ToStored(CompactMessage m) {
    return Convert(std::move(m));
}
StoredMessagePtr ToStored(ChatMessage m) {
    return Store::MakeStored(std::move(m));
}

// Adds `replies`, each converted, to a thread and keeps them oldest first.
template <typename Message>
void AddReplies(StoredMessage& s, std::vector<Message> replies) {
    s.replies.reserve(s.replies.size() + replies.size());
    for (auto& r : replies) s.replies.push_back(ToStored(std::move(r)));
    std::sort(s.replies.begin(), s.replies.end(), CreatedBefore);
}

}  // namespace

StoredMessagePtr Store::MakeStored(ChatMessage message) {
    std::vector<ChatMessage> replies = std::move(message.replies);
    message.replies.clear();
    auto s = Convert(CompactMessage(std::move(message)));
    AddReplies(*s, std::move(replies));
    return s;
}

StoredMessagePtr Store::WithReplies(const StoredMessage& root, std::vector<ChatMessage> replies) {
    auto s = std::make_shared<StoredMessage>(root);  // its text is kept, not converted again
    s->replies.clear();
    AddReplies(*s, std::move(replies));
    return s;
}

StoredMessagePtr Store::MakeThread(CompactMessage root, std::vector<CompactMessage> replies) {
    auto s = Convert(std::move(root));
    AddReplies(*s, std::move(replies));
    return s;
}

void Store::Publish(const std::function<void(Snapshot&)>& edit) {
    std::function<void()> wake;
    {
        std::lock_guard lock(m_writeMutex);
        auto next = std::make_shared<Snapshot>(*Current());
        edit(*next);
        next->version += 1;
        next->publishedAt = NowMillis();
        uint64_t total = 0;
        for (const auto& [id, c] : next->channels) total += c->messages.size() + c->replyCount;
        if (m_memoryLimit > 0 && total > m_memoryLimit) total = Trim(*next, total);
        next->totalMessages = total;
        SetCurrent(std::move(next));
        wake = m_wake;
    }
    if (wake) wake();
}

void Store::SetMemoryLimit(size_t maxMessages) {
    std::lock_guard lock(m_writeMutex);
    m_memoryLimit = maxMessages;
}

// Called by Publish with the write lock held. Finds the creation time below which dropping
// every root (beyond each channel's newest kMinRootsKept) brings the total 2% under the
// limit, then drops those prefixes. Runs once per 2% of the limit in new messages.
uint64_t Store::Trim(Snapshot& s, uint64_t total) {
    uint64_t target = m_memoryLimit - m_memoryLimit / 50;
    // Each channel keeps its newest kMinRootsKept roots, but those floors never take more
    // than half the limit (a small limit over many channels).
    const size_t keep = std::max<size_t>(
        1, std::min<size_t>(kMinRootsKept,
                            m_memoryLimit / (2 * std::max<size_t>(1, s.channels.size()))));
    std::vector<std::pair<UnixMillis, size_t>> candidates;  // root created, roots+replies
    for (const auto& [id, c] : s.channels) {
        if (c->messages.size() <= keep) continue;
        for (size_t i = 0; i + keep < c->messages.size(); ++i)
            candidates.emplace_back(c->messages[i]->message.createdDateTime,
                                    1 + c->messages[i]->replies.size());
    }
    if (candidates.empty()) return total;
    std::sort(candidates.begin(), candidates.end());
    uint64_t dropping = 0;
    UnixMillis cutoff = candidates.front().first;
    for (const auto& [at, weight] : candidates) {
        if (total - dropping <= target) break;
        dropping += weight;
        cutoff = at;
    }
    uint64_t after = 0;
    for (auto& [id, cptr] : s.channels) {
        const auto& c = *cptr;
        size_t n = 0;
        while (n + keep < c.messages.size() && c.messages[n]->message.createdDateTime <= cutoff)
            ++n;
        if (n > 0) {
            auto cd = std::make_shared<ChannelData>(c);
            for (size_t i = 0; i < n; ++i) {
                const StoredMessage& m = *cd->messages[i];
                cd->trimmedBefore = std::max(cd->trimmedBefore, m.message.createdDateTime + 1);
                cd->replyCount -= std::min(cd->replyCount, m.replies.size());
                auto forget = [&](const CompactMessage& msg) {
                    if (msg.IsDeleted() && cd->deletedCount > 0) cd->deletedCount--;
                    cd->mentionCount -= std::min(cd->mentionCount, msg.Mentions().size());
                };
                forget(m.message);
                for (const auto& r : m.replies) forget(r->message);
            }
            cd->messages.erase(cd->messages.begin(), cd->messages.begin() + static_cast<long>(n));
            cd->trimmedRoots += n;
            m_rootHashes.erase(id);  // rebuilt by the next merge
            cd->version++;
            cptr = std::move(cd);
        }
        after += cptr->messages.size() + cptr->replyCount;
    }
    return after;
}

void Store::UpsertTeams(const std::vector<Team>& teams) {
    Publish([&](Snapshot& s) {
        for (const auto& t : teams) {
            auto it = std::find_if(s.teams.begin(), s.teams.end(),
                                   [&](const TeamDataPtr& p) { return p->team.id == t.id; });
            auto td = std::make_shared<TeamData>();
            td->team = t;
            if (it != s.teams.end()) {
                td->channelIds = (*it)->channelIds;
                td->members = (*it)->members;
                *it = td;
            } else {
                s.teams.push_back(td);
            }
        }
    });
    if (m_observer) m_observer->OnTeams(teams);
}

void Store::SetTeamMembers(const std::string& teamId, std::vector<TeamMember> members) {
    auto list = std::make_shared<const std::vector<TeamMember>>(std::move(members));
    Publish([&](Snapshot& s) {
        for (auto& t : s.teams)
            if (t->team.id == teamId) {
                auto td = std::make_shared<TeamData>(*t);
                td->members = list;
                t = td;
            }
    });
}

void Store::UpsertChannels(const std::string& teamId, const std::vector<Channel>& channels) {
    Publish([&](Snapshot& s) {
        auto it = std::find_if(s.teams.begin(), s.teams.end(),
                               [&](const TeamDataPtr& p) { return p->team.id == teamId; });
        if (it == s.teams.end()) return;
        auto td = std::make_shared<TeamData>(**it);
        td->channelIds.clear();
        for (const auto& c : channels) {
            td->channelIds.push_back(c.id);
            auto existing = s.channels.find(c.id);
            auto cd = existing == s.channels.end()
                          ? std::make_shared<ChannelData>()
                          : std::make_shared<ChannelData>(*existing->second);
            cd->channel = c;
            cd->channel.teamId = teamId;
            cd->version++;
            s.channels[c.id] = std::move(cd);
        }
        *it = std::move(td);
    });
    if (m_observer) m_observer->OnChannels(teamId, channels);
}

size_t Store::MergeMessages(const std::string& channelId, std::vector<ChatMessage> messages,
                            bool backfillDone, bool notifyObserver,
                            std::vector<UnixMillis>* arrivedOut) {
    return MergePrepared(channelId, Prepare(std::move(messages)), backfillDone, notifyObserver,
                         arrivedOut);
}

std::vector<StoredMessagePtr> Store::Prepare(std::vector<ChatMessage> messages) {
    std::vector<StoredMessagePtr> incoming;
    incoming.reserve(messages.size());
    for (auto& m : messages) incoming.push_back(MakeStored(std::move(m)));
    return incoming;
}

size_t Store::MergePrepared(const std::string& channelId, std::vector<StoredMessagePtr> incoming,
                            bool backfillDone, bool notifyObserver,
                            std::vector<UnixMillis>* arrivedOut) {
    size_t changed = 0;
    std::vector<StoredMessagePtr>
        rows;  // what changed, one entry per root or reply, for the observer
    bool backfilledNow = false;
    Publish([&](Snapshot& s) {
        auto it = s.channels.find(channelId);
        if (it == s.channels.end()) return;
        auto cd = std::make_shared<ChannelData>(*it->second);
        RootFinder roots(cd->messages, m_rootHashes[channelId]);
        bool needSort = false;
        auto ring = cd->activity ? std::make_shared<ActivityRing>(*cd->activity)
                                 : std::make_shared<ActivityRing>();
        UnixMillis now = NowMillis();
        int arrived = 0;  // new messages and replies, for the rate estimate
        auto countNew = [&](const CompactMessage& msg, bool reply) {
            ring->Add(msg.createdDateTime,
                      reply ? ActivityRing::kReplies : ActivityRing::kMessages);
            if (!msg.Mentions().empty()) {
                ring->Add(msg.createdDateTime, ActivityRing::kMentions,
                          static_cast<int>(msg.Mentions().size()));
                cd->mentionCount += msg.Mentions().size();
            }
            if (msg.IsDeleted()) {
                ring->Add(*msg.deletedDateTime, ActivityRing::kDeletes);
                cd->deletedCount++;
            }
            if (reply) cd->replyCount++;
            if (arrivedOut) arrivedOut->push_back(msg.createdDateTime);
            cd->lastActivity = std::max(cd->lastActivity, msg.createdDateTime);
            if (now - msg.createdDateTime < 60 * 60000) ++arrived;
        };
        auto countChange = [&](const CompactMessage& before, const CompactMessage& after) {
            if (!before.IsDeleted() && after.IsDeleted()) {
                ring->Add(*after.deletedDateTime, ActivityRing::kDeletes);
                cd->deletedCount++;
            } else if (before.IsDeleted() && !after.IsDeleted() && cd->deletedCount > 0) {
                cd->deletedCount--;  // undo: the delete stays in the per-minute history
            }
        };
        for (auto& m : incoming) {
            size_t pos = roots.Find(m);
            if (pos == kNotFound && m->message.createdDateTime < cd->trimmedBefore) {
                // A change to a root that left memory: the database takes it, memory does not.
                rows.push_back(m);
                rows.insert(rows.end(), m->replies.begin(), m->replies.end());
                continue;
            }
            if (pos == kNotFound) {
                if (!cd->messages.empty() && CreatedBefore(m, cd->messages.back())) needSort = true;
                roots.Append(m);
                rows.push_back(m);
                rows.insert(rows.end(), m->replies.begin(), m->replies.end());
                countNew(m->message, false);
                for (const auto& r : m->replies) countNew(r->message, true);
                ++changed;
                continue;
            }
            const auto& old = cd->messages[pos];
            bool newer = IsNewer(m->message, old->message);
            // Replies: the union, each reply at its newest version.
            std::vector<StoredMessagePtr> replies = old->replies;
            std::unordered_map<std::string, size_t> rindex;
            for (size_t i = 0; i < replies.size(); ++i) rindex.emplace(replies[i]->message.id, i);
            bool repliesChanged = false;
            for (const auto& r : m->replies) {
                auto rp = rindex.find(r->message.id);
                if (rp == rindex.end()) {
                    rindex.emplace(r->message.id, replies.size());
                    replies.push_back(r);
                    countNew(r->message, true);
                } else if (IsNewer(r->message, replies[rp->second]->message)) {
                    countChange(replies[rp->second]->message, r->message);
                    auto edited = std::make_shared<StoredMessage>(*r);
                    CarryHistory(*edited, *replies[rp->second]);
                    replies[rp->second] = edited;
                } else {
                    continue;
                }
                rows.push_back(replies[rindex[r->message.id]]);
                repliesChanged = true;
            }
            if (!newer && !repliesChanged) continue;
            auto merged = std::make_shared<StoredMessage>(newer ? *m : *old);
            if (newer) {
                // Graph never moves a message's creation time; if a server did, the order
                // (which the binary search relies on) is restored below.
                if (m->message.createdDateTime != old->message.createdDateTime) needSort = true;
                countChange(old->message, m->message);
                CarryHistory(*merged, *old);
                rows.push_back(merged);
            }
            std::sort(replies.begin(), replies.end(), CreatedBefore);
            merged->replies = std::move(replies);
            cd->messages[pos] = std::move(merged);
            ++changed;
        }
        roots.Commit();
        if (needSort) {
            std::stable_sort(cd->messages.begin(), cd->messages.end(), CreatedBefore);
        }
        if (backfillDone && !cd->backfilled) {
            cd->backfilled = true;
            backfilledNow = true;
            s.sync.channelsBackfilled++;
        }
        s.sync.messagesIngested += changed;
        // Event-rate EWMA with a 10-minute time constant, in messages per minute.
        constexpr double kTauMin = 10.0;
        double dtMin = cd->rateEwmaAt ? static_cast<double>(now - cd->rateEwmaAt) / 60000.0 : 0.0;
        cd->rateEwma = cd->rateEwma * std::exp(-std::max(0.0, dtMin) / kTauMin) + arrived / kTauMin;
        cd->rateEwmaAt = now;
        cd->activity = std::move(ring);
        Derive(*cd, now);
        cd->version++;
        it->second = std::move(cd);
    });
    if (notifyObserver && m_observer && !rows.empty()) m_observer->OnMessages(channelId, rows);
    (void)backfilledNow;
    return changed;
}

void ActivityRing::Add(UnixMillis at, Kind kind, int n) {
    if (at <= 0) return;
    int64_t m = at / 60000;
    size_t slot = static_cast<size_t>(m % kMinutes);
    auto& block = blocks[slot / kBlock];
    size_t i = slot % kBlock;
    int64_t held = block ? block->minute[i] : 0;
    if (held > m) {  // older than what the slot holds: outside the 24 h window
        if (kind != kMentions && kind != kDeletes)
            hourOfDay[static_cast<size_t>((at / 3600000) % 24)] += n;
        return;
    }
    // Copy on write: a block still shared with a published ring is cloned first.
    if (!block)
        block = std::make_shared<Block>();
    else if (block.use_count() > 1)
        block = std::make_shared<Block>(*block);
    if (held != m) {
        block->minute[i] = m;
        block->counts[i] = {};
    }
    auto& c = block->counts[i][kind];
    c = static_cast<uint16_t>(std::min(65535, c + n));
    if (kind == kMessages || kind == kReplies)
        hourOfDay[static_cast<size_t>((at / 3600000) % 24)] += n;
}

int ActivityRing::Sum(Kind kind, UnixMillis from, UnixMillis to) const {
    int total = 0;
    for (int64_t m = from / 60000; m < (to + 59999) / 60000; ++m) {
        size_t slot = static_cast<size_t>(((m % kMinutes) + kMinutes) % kMinutes);
        const auto& b = blocks[slot / kBlock];
        if (b && b->minute[slot % kBlock] == m) total += b->counts[slot % kBlock][kind];
    }
    return total;
}

void ActivityRing::PerMinute(UnixMillis now, float* out, int n) const {
    int64_t last = now / 60000;
    for (int i = 0; i < n; ++i) {
        int64_t m = last - (n - 1 - i);
        size_t slot = static_cast<size_t>(((m % kMinutes) + kMinutes) % kMinutes);
        const auto& b = blocks[slot / kBlock];
        size_t k = slot % kBlock;
        out[i] = b && b->minute[k] == m
                     ? static_cast<float>(b->counts[k][kMessages] + b->counts[k][kReplies])
                     : 0.0f;
    }
}

void Store::Derive(ChannelData& c, UnixMillis now) {
    c.sparkEnd = now;
    c.last = c.messages.empty() ? nullptr : c.messages.back();
    if (!c.activity) {
        c.sparkline.fill(0);
        c.last15Min = 0;
        return;
    }
    c.activity->PerMinute(now, c.sparkline.data(), static_cast<int>(c.sparkline.size()));
    c.last15Min = c.activity->Sum(ActivityRing::kMessages, now - 15 * 60000 + 1, now + 1) +
                  c.activity->Sum(ActivityRing::kReplies, now - 15 * 60000 + 1, now + 1);
}

void Store::SetObserver(StoreObserver* observer) {
    std::lock_guard lock(m_writeMutex);
    m_observer = observer;
}

void Store::RestoreChannelSync(const std::string& channelId, UnixMillis lastSyncOk, bool backfilled,
                               const std::string& deltaLink) {
    Publish([&](Snapshot& s) {
        auto it = s.channels.find(channelId);
        if (it == s.channels.end()) return;
        auto cd = std::make_shared<ChannelData>(*it->second);
        cd->lastSyncOk = lastSyncOk;
        cd->deltaLink = deltaLink;
        if (backfilled && !cd->backfilled) {
            cd->backfilled = true;
            s.sync.channelsBackfilled++;
        }
        s.sync.lastSyncOk = std::max(s.sync.lastSyncOk, lastSyncOk);
        s.sync.fromCache = true;
        it->second = std::move(cd);
    });
}

void Store::RecordChannelSync(const std::string& channelId, bool ok, const std::string& error,
                              const std::string* deltaLink) {
    bool backfilled = false;
    UnixMillis syncedAt = 0;
    Publish([&](Snapshot& s) {
        auto it = s.channels.find(channelId);
        if (it == s.channels.end()) return;
        auto cd = std::make_shared<ChannelData>(*it->second);
        UnixMillis now = NowMillis();
        cd->lastSyncAttempt = now;
        if (ok) {
            cd->lastSyncOk = now;
            cd->lastError.clear();
            s.sync.lastSyncOk = now;
            syncedAt = now;
            backfilled = cd->backfilled;
            if (deltaLink) cd->deltaLink = *deltaLink;
        } else {
            cd->lastError = error;
        }
        // Keep the sparkline moving even when nothing new arrives.
        Derive(*cd, now);
        it->second = std::move(cd);
    });
    if (m_observer && syncedAt)
        m_observer->OnChannelSync(channelId, syncedAt, backfilled, deltaLink);
}

void Store::SetChannelFlags(const std::string& channelId, const bool* pinned, const bool* paused) {
    Publish([&](Snapshot& s) {
        auto it = s.channels.find(channelId);
        if (it == s.channels.end()) return;
        auto cd = std::make_shared<ChannelData>(*it->second);
        if (pinned) cd->pinned = *pinned;
        if (paused) cd->paused = *paused;
        it->second = std::move(cd);
    });
}

void Store::SetReview(std::shared_ptr<const ReviewState> review) {
    Publish([&](Snapshot& s) { s.review = std::move(review); });
}

void Store::UpdateSyncStatus(const std::function<void(SyncStatus&)>& edit) {
    Publish([&](Snapshot& s) { edit(s.sync); });
}

}  // namespace cdeck::core
