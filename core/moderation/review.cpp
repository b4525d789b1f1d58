#include "moderation/review.hpp"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "persist/persister.hpp"
#include "util/log.hpp"

namespace cdeck::core {

std::string NearDuplicateKey(std::string_view text) {
    std::string folded = FoldCase(text);
    std::string norm;
    norm.reserve(folded.size());
    bool space = false;
    for (unsigned char c : folded) {
        if (c >= 0x80 || std::isalpha(c)) {
            if (space && !norm.empty()) norm += ' ';
            space = false;
            norm += static_cast<char>(c);
        } else {
            space = true;  // digits, punctuation and spaces all separate words
        }
        if (norm.size() >= 400) break;
    }
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : norm) h = (h ^ c) * 1099511628211ull;
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

const char* ModerationEngine::TagName(Tag t) {
    switch (t) {
        case Tag::kCompliant:
            return "compliant";
        case Tag::kNonCompliant:
            return "non-compliant";
        case Tag::kFalsePositive:
            return "false-positive";
    }
    return "?";
}

ModerationEngine::ModerationEngine(Store& store, RulePack pack, Options options)
    : m_store(store),
      m_options(std::move(options)),
      m_pack(std::make_shared<const RulePack>(std::move(pack))) {
    if (!m_options.clock) m_options.clock = NowMillis;
    Publish();
}

namespace {
std::string StateKey(const ReviewItem& i) {
    return i.messageId + "|" + i.ruleId;
}
}  // namespace

void ModerationEngine::SeedStates(const std::vector<std::pair<std::string, std::string>>& states) {
    std::lock_guard lock(m_mutex);
    for (const auto& [k, v] : states) m_saved[k] = v;
}

void ModerationEngine::EvaluateExisting(const Snapshot& snapshot) {
    for (const auto& [id, c] : snapshot.channels) {
        std::vector<StoredMessagePtr> rows;
        for (const auto& root : c->messages) {
            rows.push_back(root);
            rows.insert(rows.end(), root->replies.begin(), root->replies.end());
        }
        if (!rows.empty()) OnMessages(id, rows);
    }
}

void ModerationEngine::SaveState(const ReviewItem& i) {
    if (!m_options.saveState) return;
    nlohmann::json j = {{"resolved", i.resolved},
                        {"tag", i.tag},
                        {"comment", i.comment},
                        {"escalated", i.escalated},
                        {"deleted", i.deleted}};
    m_options.saveState(StateKey(i),
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ModerationEngine::SetPack(RulePack pack) {
    {
        std::lock_guard lock(m_mutex);
        m_pack = std::make_shared<const RulePack>(std::move(pack));
    }
    Publish();
}

ReviewStatePtr ModerationEngine::State() const {
    return m_store.Current()->review;
}

void ModerationEngine::OnMessages(const std::string& channelId,
                                  const std::vector<StoredMessagePtr>& changed) {
    std::shared_ptr<const RulePack> pack;
    {
        std::lock_guard lock(m_mutex);
        pack = m_pack;
    }
    std::string teamId;
    // Held: another writer may publish (and free the old snapshot) while we read it.
    SnapshotPtr snap = m_store.Current();
    if (const ChannelData* c = snap->FindChannel(channelId)) teamId = c->channel.teamId;
    std::vector<ReviewItem> found;
    for (const auto& sm : changed) {
        const CompactMessage& m = sm->message;
        if (m.kind != MessageKind::kMessage || m.IsDeleted()) continue;
        // Surge history counts every message once; a later edit is not a new message.
        m_surge.Add(m.id, m.From().Id(), channelId, m.createdDateTime);
        RuleInput in{&m, sm->text.text, channelId, &m_surge};
        for (auto& hit : Evaluate(*pack, in)) {
            ReviewItem item;
            item.messageId = m.id;
            item.rootId = m.replyToId;
            item.teamId = teamId;
            item.channelId = channelId;
            item.ruleId = hit.ruleId;
            item.ruleName = hit.ruleName;
            item.severity = hit.severity;
            item.terms = std::move(hit.terms);
            item.reason = std::move(hit.reason);
            item.authorId = m.From().Id();
            item.authorName = m.From().DisplayName();
            item.text = sm->text.text;
            item.createdAt = m.createdDateTime;
            item.flaggedAt = m_options.clock();
            // Mentions say who a message is for, not what it says: leave them out of the
            // near-duplicate key so the same text sent to different people groups together.
            std::string unaddressed;
            size_t at = 0;
            for (const auto& sp : sm->text.spans)
                if (sp.kind == TextSpan::Kind::kMention && sp.begin >= at &&
                    sp.end <= sm->text.text.size()) {
                    unaddressed.append(sm->text.text, at, sp.begin - at);
                    at = sp.end;
                }
            unaddressed.append(sm->text.text, std::min(at, sm->text.text.size()),
                               std::string::npos);
            item.groupKey = NearDuplicateKey(unaddressed);
            found.push_back(std::move(item));
        }
    }
    if (found.empty()) return;
    if (m_options.flagged) m_options.flagged(found, *pack);
    size_t added = 0;
    {
        std::lock_guard lock(m_mutex);
        for (auto& item : found) {
            // One item per message and rule; an edit that still matches updates the text.
            auto& slots = m_byMessage[item.messageId];
            auto same = std::find_if(slots.begin(), slots.end(),
                                     [&](size_t i) { return m_items[i].ruleId == item.ruleId; });
            if (same != slots.end()) {
                ReviewItem& old = m_items[*same];
                old.text = item.text;
                old.terms = item.terms;
                old.reason = item.reason;
                continue;
            }
            item.id = m_nextId++;
            // A decision taken in an earlier session comes back with the item.
            if (auto saved = m_saved.find(StateKey(item)); saved != m_saved.end()) {
                auto j = nlohmann::json::parse(saved->second, nullptr, false);
                if (j.is_object()) {
                    item.resolved = j.value("resolved", false);
                    item.tag = j.value("tag", std::string());
                    item.comment = j.value("comment", std::string());
                    item.escalated = j.value("escalated", false);
                    item.deleted = j.value("deleted", false);
                }
            }
            slots.push_back(m_items.size());
            m_items.push_back(std::move(item));
            ++added;
        }
        if (m_items.size() > std::max<size_t>(1, m_options.maxItems)) TrimItems();
        // One log line a minute at most, however busy the channels are.
        m_flaggedUnlogged += added;
        UnixMillis now = m_options.clock();
        if (m_flaggedUnlogged > 0 && now - m_flagLoggedAt >= 60000) {
            Log(LogLevel::kInfo, "moderation",
                std::to_string(m_flaggedUnlogged) + " message(s) flagged for review" +
                    (m_flagLoggedAt ? " in the last minute" : ""));
            m_flaggedUnlogged = 0;
            m_flagLoggedAt = now;
        }
    }
    Publish();
}

// With m_mutex held. Resolved items leave first (their decisions are in the database),
// oldest first, then the oldest pending ones, which are counted and shown. Items with an
// action on its way to Graph stay. Trims to 95% so that this runs once per 5% of growth.
void ModerationEngine::TrimItems() {
    const size_t cap = std::max<size_t>(1, m_options.maxItems);
    size_t excess = m_items.size() - cap + cap / 20;
    std::vector<bool> drop(m_items.size(), false);
    for (bool resolvedPass : {true, false})
        for (size_t i = 0; i < m_items.size() && excess > 0; ++i) {
            const ReviewItem& it = m_items[i];
            if (drop[i] || it.pending || it.resolved != resolvedPass) continue;
            drop[i] = true;
            --excess;
            if (!it.resolved) ++m_droppedPending;
        }
    std::vector<ReviewItem> kept;
    kept.reserve(m_items.size());
    for (size_t i = 0; i < m_items.size(); ++i)
        if (!drop[i]) kept.push_back(std::move(m_items[i]));
    m_items = std::move(kept);
    m_byMessage.clear();
    for (size_t i = 0; i < m_items.size(); ++i) m_byMessage[m_items[i].messageId].push_back(i);
}

void ModerationEngine::Publish() {
    auto state = std::make_shared<ReviewState>();
    {
        std::lock_guard lock(m_mutex);
        state->version = ++m_version;
        state->items = m_items;
        state->audit = m_audit;
        for (const auto& i : m_items) state->pendingCount += i.resolved ? 0 : 1;
        state->droppedPending = m_droppedPending;
        state->maxItems = m_options.maxItems;
        state->packName = m_pack->name;
        state->packVersion = m_pack->version;
        state->shared = static_cast<bool>(m_options.sharedAction);
        state->sharedUser = m_options.sharedUser;
    }
    m_store.SetReview(std::move(state));
}

void ModerationEngine::SeedAudit(std::vector<AuditRow> rows) {
    {
        std::lock_guard lock(m_mutex);
        rows.resize(std::min(rows.size(), kAuditShown));
        m_audit.insert(m_audit.end(), rows.begin(), rows.end());
    }
    Publish();
}

void ModerationEngine::RecordEvent(AuditRow row) {
    if (row.at == 0) row.at = m_options.clock();
    if (row.actor.empty()) row.actor = m_options.actor;
    {
        std::lock_guard lock(m_mutex);
        m_audit.insert(m_audit.begin(), row);
        if (m_audit.size() > kAuditShown) m_audit.pop_back();
    }
    if (m_options.audit) m_options.audit(row);
    Publish();
}

void ModerationEngine::Audit(const ReviewItem& item, const std::string& action,
                             const std::string& result, const std::string& requestId,
                             const std::string& detail) {
    AuditRow row;
    row.at = m_options.clock();
    row.actor = m_options.actor;
    row.action = action;
    row.teamId = item.teamId;
    row.channelId = item.channelId;
    row.messageId = item.messageId;
    row.rule = item.ruleId;
    row.result = result;
    row.requestId = requestId;
    row.detail = detail;
    RecordEvent(std::move(row));
}

template <typename F>
void ModerationEngine::Each(const std::vector<uint64_t>& ids, F f) {
    std::vector<ReviewItem> changed;
    {
        std::lock_guard lock(m_mutex);
        for (auto& item : m_items)
            if (std::find(ids.begin(), ids.end(), item.id) != ids.end() && f(item))
                changed.push_back(item);
    }
    for (const auto& i : changed) SaveState(i);
    Publish();
}

void ModerationEngine::Resolve(const std::vector<uint64_t>& ids, Tag tag,
                               const std::string& comment) {
    if (m_options.sharedAction) {
        std::string name = TagName(tag);
        SharedEach(
            ids,
            [&](uint64_t id) {
                return SharedReviewAction{SharedReviewAction::Kind::kResolve, id, 0, name, comment};
            },
            [&](ReviewItem& i) {
                i.resolved = true;
                i.tag = name;
                i.comment = comment;
                i.claimedBy.clear();
            });
        return;
    }
    std::vector<ReviewItem> done;
    Each(ids, [&](ReviewItem& i) {
        i.resolved = true;
        i.tag = TagName(tag);
        i.comment = comment;
        done.push_back(i);
        return true;
    });
    for (const auto& i : done) Audit(i, "resolve", i.tag, "", comment);
}

void ModerationEngine::Unresolve(const std::vector<uint64_t>& ids) {
    if (m_options.sharedAction) {
        Each(ids, [](ReviewItem& i) {
            i.lastError = "a resolved item on the shared queue cannot be reopened here";
            return true;
        });
        return;
    }
    std::vector<ReviewItem> done;
    Each(ids, [&](ReviewItem& i) {
        if (!i.resolved) return false;
        i.resolved = false;
        i.tag.clear();
        done.push_back(i);
        return true;
    });
    for (const auto& i : done) Audit(i, "unresolve", "ok", "", "");
}

void ModerationEngine::Escalate(const std::vector<uint64_t>& ids) {
    if (m_options.sharedAction) {
        SharedEach(
            ids,
            [](uint64_t id) {
                return SharedReviewAction{SharedReviewAction::Kind::kEscalate, id};
            },
            [](ReviewItem& i) { i.escalated = true; });
        return;
    }
    std::vector<ReviewItem> done;
    Each(ids, [&](ReviewItem& i) {
        i.escalated = true;
        done.push_back(i);
        return true;
    });
    for (const auto& i : done) Audit(i, "escalate", "ok", "", "");
}

void ModerationEngine::SendDelete(uint64_t id, bool undo) {
    ReviewItem item;
    {
        std::lock_guard lock(m_mutex);
        auto it = std::find_if(m_items.begin(), m_items.end(),
                               [&](const ReviewItem& i) { return i.id == id; });
        if (it == m_items.end() || it->pending || it->deleted == !undo) return;
        // Optimistic: the queue shows the result now and rolls back if Graph refuses.
        it->deleted = !undo;
        it->pending = true;
        it->lastError.clear();
        item = *it;
    }
    Publish();
    Command c;
    c.kind = undo ? Command::Kind::kUndoDelete : Command::Kind::kSoftDelete;
    c.teamId = item.teamId;
    c.channelId = item.channelId;
    // A reply is addressed through its root: .../messages/{root}/replies/{reply}.
    c.messageId = item.rootId.empty() ? item.messageId : item.rootId;
    c.replyId = item.rootId.empty() ? std::string() : item.messageId;
    c.finished = [this, id, undo](const Command::Outcome& out) {
        ReviewItem after;
        {
            std::lock_guard lock(m_mutex);
            auto it = std::find_if(m_items.begin(), m_items.end(),
                                   [&](const ReviewItem& i) { return i.id == id; });
            if (it == m_items.end()) return;
            it->pending = false;
            it->lastError.clear();
            if (!out.status) {
                it->deleted = undo;  // roll back
                it->lastError = std::string(undo ? "undo" : "delete") +
                                " refused: " + out.status.error().Describe();
            }
            after = *it;
        }
        SaveState(after);
        Publish();
        Audit(after, undo ? "undo-delete" : "soft-delete",
              out.status ? "ok" : "failed: " + out.status.error().Describe(), out.requestId, "");
    };
    c.retrying = [this, id, undo](const Error& e, double delay) {
        {
            std::lock_guard lock(m_mutex);
            auto it = std::find_if(m_items.begin(), m_items.end(),
                                   [&](const ReviewItem& i) { return i.id == id; });
            if (it == m_items.end()) return;
            char when[32];
            std::snprintf(when, sizeof when, "%.0f s", delay);
            it->lastError = std::string(undo ? "undo" : "delete") + " queued, sending again in " +
                            when + ": " + e.Describe();
        }
        Publish();
    };
    if (!m_options.submit) {
        Command::Outcome out;
        out.status = MakeError(ErrorCode::kInternal, "no connection to Graph");
        c.finished(out);
        return;
    }
    m_options.submit(std::move(c));
}

void ModerationEngine::Delete(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) SendDelete(id, false);
}

void ModerationEngine::Undo(const std::vector<uint64_t>& ids) {
    for (uint64_t id : ids) SendDelete(id, true);
}

void ModerationEngine::ReplyNotice(uint64_t id, const std::string& text) {
    ReviewItem item;
    {
        std::lock_guard lock(m_mutex);
        auto it = std::find_if(m_items.begin(), m_items.end(),
                               [&](const ReviewItem& i) { return i.id == id; });
        if (it == m_items.end()) return;
        item = *it;
    }
    Command c;
    c.kind = Command::Kind::kPostReply;
    c.teamId = item.teamId;
    c.channelId = item.channelId;
    c.messageId = item.rootId.empty() ? item.messageId : item.rootId;
    c.message.contentType = "text";
    c.message.content = text;
    c.finished = [this, id](const Command::Outcome& out) {
        ReviewItem after;
        {
            std::lock_guard lock(m_mutex);
            auto it = std::find_if(m_items.begin(), m_items.end(),
                                   [&](const ReviewItem& i) { return i.id == id; });
            if (it == m_items.end()) return;
            if (!out.status) it->lastError = "notice not sent: " + out.status.error().Describe();
            after = *it;
        }
        Publish();
        std::string result = out.status ? "ok" : "failed: " + out.status.error().Describe();
        if (m_options.sharedAction) {
            SharedReviewAction a{SharedReviewAction::Kind::kNotice, id};
            a.result = result;
            a.requestId = out.requestId;
            SharedEach(
                {id}, [&](uint64_t) { return a; }, [](ReviewItem&) {});
            return;
        }
        Audit(after, "reply-notice", result, out.requestId, "");
    };
    if (m_options.submit) m_options.submit(std::move(c));
}

BacktestResult ModerationEngine::BacktestDraft(const std::string& ruleJson) const {
    return Backtest(ruleJson, *m_store.Current());
}

BacktestResult Backtest(const std::string& ruleJson, const Snapshot& snapshot) {
    BacktestResult out;
    auto rule = nlohmann::json::parse(ruleJson, nullptr, false);
    if (rule.is_discarded() || !rule.is_object()) {
        out.status = MakeError(ErrorCode::kConfig, "the rule is not a JSON object");
        return out;
    }
    if (!rule.contains("id")) rule["id"] = "draft";
    auto pack = ParseRulePack(nlohmann::json({{"rules", {rule}}}).dump());
    if (!pack) {
        out.status = pack.error();
        return out;
    }
    const Rule& r = pack->rules.front();
    struct Entry {
        const StoredMessage* m;
        const std::string* channel;
    };
    std::vector<Entry> all;
    for (const auto& [id, c] : snapshot.channels)
        for (const auto& root : c->messages) {
            all.push_back({root.get(), &id});
            for (const auto& rep : root->replies) all.push_back({rep.get(), &id});
        }
    std::sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) {
        return a.m->message.createdDateTime < b.m->message.createdDateTime;
    });
    SurgeTracker surge;
    std::unordered_map<std::string, size_t> per;
    for (const auto& e : all) {
        const CompactMessage& m = e.m->message;
        if (m.kind != MessageKind::kMessage || m.IsDeleted()) continue;
        ++out.scanned;
        surge.Add(m.id, m.From().Id(), *e.channel, m.createdDateTime);
        RuleHit hit;
        if (!EvaluateRule(r, RuleInput{&m, e.m->text.text, *e.channel, &surge}, hit)) continue;
        ++out.hits;
        per[*e.channel]++;
        out.samples.push_back(
            {*e.channel, m.id, m.From().DisplayName(), e.m->text.text, hit.reason, hit.terms});
        if (out.samples.size() > BacktestResult::kSamples) out.samples.erase(out.samples.begin());
    }
    out.perChannel.assign(per.begin(), per.end());
    std::sort(out.perChannel.begin(), out.perChannel.end(), [](const auto& a, const auto& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
    });
    std::reverse(out.samples.begin(), out.samples.end());  // newest first
    return out;
}

}  // namespace cdeck::core
