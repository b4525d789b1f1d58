#include "ui/review_view.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "ui/keys.hpp"
#include "ui/permissions.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {
namespace {

const char* const kNotices[] = {
    "A moderator removed a message in this thread because it broke the channel's rules.",
    "Please do not share passwords, keys or other secrets in channels. Rotate the secret now.",
    "This thread is under review by the moderation team.",
};

Level SeverityLevel(const std::string& s) {
    int r = core::SeverityRank(s);
    return r >= 3 ? Level::kBad : r == 2 ? Level::kWarn : Level::kNone;
}

bool Pressed(int key) {
    return ImGui::IsKeyPressed(key, false);
}

}  // namespace

std::vector<uint64_t> ReviewView::Targets() const {
    if (!m_selected.empty()) return {m_selected.begin(), m_selected.end()};
    if (m_cursor >= 0 && m_cursor < static_cast<int>(m_rows.size())) return m_rows[m_cursor].ids;
    return {};
}

void ReviewView::Rebuild(const core::ReviewState& s) {
    m_rows.clear();
    // The filters' choices: every value in the queue (rebuilt with the rows, not per frame).
    for (auto* set :
         {&m_options.rules, &m_options.channels, &m_options.severities, &m_options.authors})
        set->clear();
    for (const auto& i : s.items) {
        m_options.rules.insert(i.ruleId);
        m_options.channels.insert(i.channelId);
        m_options.severities.insert(i.severity);
        m_options.authors.insert(i.authorName);
    }
    std::map<std::string, size_t> byGroup;  // group key -> row
    for (size_t i = 0; i < s.items.size(); ++i) {
        const core::ReviewItem& it = s.items[i];
        if (it.resolved != m_resolvedTab) continue;
        if (!m_rule.empty() && it.ruleId != m_rule) continue;
        if (!m_channel.empty() && it.channelId != m_channel) continue;
        if (!m_severity.empty() && it.severity != m_severity) continue;
        if (!m_author.empty() && it.authorName != m_author) continue;
        std::string key = it.groupKey + "|" + it.ruleId;
        if (auto g = byGroup.find(key); g != byGroup.end()) {
            m_rows[g->second].ids.push_back(it.id);
            continue;
        }
        byGroup[key] = m_rows.size();
        m_rows.push_back({{it.id}, i});
    }
    // Newest first, most severe first among equals.
    std::stable_sort(m_rows.begin(), m_rows.end(), [&](const Row& a, const Row& b) {
        const auto &x = s.items[a.first], &y = s.items[b.first];
        if (x.createdAt != y.createdAt) return x.createdAt > y.createdAt;
        return core::SeverityRank(x.severity) > core::SeverityRank(y.severity);
    });
    // Selected items that left the view are no longer selected.
    std::set<uint64_t> visible;
    for (const auto& r : m_rows) visible.insert(r.ids.begin(), r.ids.end());
    for (auto it = m_selected.begin(); it != m_selected.end();)
        it = visible.count(*it) ? std::next(it) : m_selected.erase(it);
    m_cursor = std::clamp(m_cursor, 0, std::max(0, static_cast<int>(m_rows.size()) - 1));
}

void ReviewView::Act(const UiContext& ctx,
                     std::function<void(core::ModerationEngine&, std::vector<uint64_t>)> f) {
    std::vector<uint64_t> ids = Targets();
    if (ids.empty() || !ctx.moderate) return;
    // Every near-duplicate grouped with a target goes with it.
    std::set<uint64_t> all(ids.begin(), ids.end());
    for (const auto& r : m_rows)
        for (uint64_t id : r.ids)
            if (all.count(id)) {
                all.insert(r.ids.begin(), r.ids.end());
                break;
            }
    std::vector<uint64_t> targets(all.begin(), all.end());
    ctx.moderate([f, targets](core::ModerationEngine& m) { f(m, targets); });
    m_selected.clear();
}

void ReviewView::HandleKeys(const UiContext& ctx, const core::ReviewState& s) {
    (void)s;
    if (ImGui::GetIO().WantTextInput || ImGui::GetIO().KeyCtrl) return;
    if (ImGui::IsPopupOpen(nullptr, ImGuiPopupFlags_AnyPopupId)) return;
    const core::SyncStatus& st = ctx.snapshot->sync;
    bool canDelete = Check(Action::kDelete, st.signedIn, st.delegated, st.grantedScopes).allowed;
    int n = static_cast<int>(m_rows.size());
    if (Pressed('J') || Pressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow))) {
        m_cursor = std::min(m_cursor + 1, n - 1);
        m_scrollToCursor = true;
    }
    if (Pressed('K') || Pressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow))) {
        m_cursor = std::max(m_cursor - 1, 0);
        m_scrollToCursor = true;
    }
    if (Pressed('B')) m_backtestOpen = true;
    // Tab switches between the Pending and Resolved tabs.
    if (Pressed(ImGui::GetKeyIndex(ImGuiKey_Tab))) {
        m_resolvedTab = !m_resolvedTab;
        m_dirty = true;
        m_cursor = 0;
        return;
    }
    if (n == 0) return;
    const Row& row = m_rows[static_cast<size_t>(std::clamp(m_cursor, 0, n - 1))];
    if (Pressed('X')) {
        bool on = !m_selected.count(row.ids.front());
        for (uint64_t id : row.ids) on ? (void)m_selected.insert(id) : (void)m_selected.erase(id);
    }
    if (Pressed(ImGui::GetKeyIndex(ImGuiKey_Space))) {
        uint64_t id = row.ids.front();
        m_expanded.count(id) ? (void)m_expanded.erase(id) : (void)m_expanded.insert(id);
    }
    // r resolves as compliant; on the Resolved tab it reopens (unresolves).
    if (Pressed('R') && m_resolvedTab)
        Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) { m.Unresolve(ids); });
    else if (Pressed('R'))
        Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) {
            m.Resolve(ids, core::ModerationEngine::Tag::kCompliant, "");
        });

    if (Pressed('E'))
        Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) { m.Escalate(ids); });
    // The shared queue: c claims the selection (or the next 10 when nothing is selected).
    if (s.shared && Pressed('C')) {
        if (m_selected.empty() && ctx.moderate)
            ctx.moderate([](core::ModerationEngine& m) { m.ClaimNext(10); });
        else
            Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) { m.Claim(ids); });
    }
    if (Pressed('T')) m_tagOpen = true;
    if (Pressed('N')) m_noticeOpen = true;
    if (Pressed('D') && canDelete) m_confirmDelete = true;
    if (Pressed('U') && canDelete)
        Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) { m.Undo(ids); });
}

void ReviewView::DrawFilters(const core::ReviewState& s) {
    const auto& [rules, channels, severities, authors] = m_options;
    auto combo = [&](const char* label, std::string& value, const std::set<std::string>& options) {
        ImGui::SameLine(0, 18);
        if (FilterCombo(label, value, options, 170)) m_dirty = true;
    };
    size_t resolved = s.items.size() - s.pendingCount;
    char label[64];
    std::snprintf(label, sizeof label, "Pending (%zu)", s.pendingCount);
    if (ImGui::Selectable(label, !m_resolvedTab, 0, ImVec2(ImGui::CalcTextSize(label).x + 8, 0))) {
        m_resolvedTab = false;
        m_dirty = true;
    }
    ImGui::SameLine();
    std::snprintf(label, sizeof label, "Resolved (%zu)", resolved);
    if (ImGui::Selectable(label, m_resolvedTab, 0, ImVec2(ImGui::CalcTextSize(label).x + 8, 0))) {
        m_resolvedTab = true;
        m_dirty = true;
    }
    combo("rule", m_rule, rules);
    combo("channel", m_channel, channels);
    combo("severity", m_severity, severities);
    combo("author", m_author, authors);
    if (s.droppedPending > 0)
        ImGui::TextColored(LevelColor(Level::kWarn),
                           "The queue is full: %zu older pending items left it (it holds %zu). "
                           "Backtest (b) finds them again in the cache.",
                           s.droppedPending, s.maxItems);
}

void ReviewView::DrawContent(const UiContext& ctx) {
    const core::ReviewStatePtr& state = ctx.snapshot->review;
    if (!state) {
        ImGui::TextDisabled("Moderation is not running (no rule pack).");
        return;
    }
    if (m_dirty || state != m_state) {
        m_state = state;
        Rebuild(*state);
        m_dirty = false;
    }
    // b works on an empty queue too: that is when a new rule is tried.
    HandleKeys(ctx, *state);
    if (m_dirty) {  // a key changed the tab or a filter
        Rebuild(*state);
        m_dirty = false;
    }
    ImGui::TextDisabled(
        "Rule pack \"%s\" v%d  \xC2\xB7  j/k move, x select, space expand, r resolve, "
        "t tag, d delete, u undo, e escalate, n notice, b backtest a rule, Tab resolved (r "
        "reopens)",
        state->packName.c_str(), state->packVersion);
    if (state->shared) DrawSharedBar(ctx, *state);
    DrawFilters(*state);
    if (!m_selected.empty()) {
        ImGui::SameLine(0, 20);
        ImGui::TextColored(colors::kAccent, "%zu selected", m_selected.size());
    }
    ImGui::Separator();
    if (m_rows.empty()) {
        ImGui::TextDisabled(m_resolvedTab ? "Nothing resolved yet." : "Nothing to review.");
    }
    ImGui::BeginChild("queue", ImVec2(0, 0), false);
    for (int i = 0; i < static_cast<int>(m_rows.size()); ++i) DrawRow(ctx, *state, i);
    ImGui::EndChild();
    DrawPopups(ctx);
}

void ReviewView::DrawRow(const UiContext& ctx, const core::ReviewState& s, int index) {
    const Row& row = m_rows[static_cast<size_t>(index)];
    const core::ReviewItem& it = s.items[row.first];
    ImGui::PushID(static_cast<int>(it.id));
    bool current = index == m_cursor;
    bool selected = m_selected.count(it.id) > 0;
    ImVec2 p = ImGui::GetCursorScreenPos();
    float w = ImGui::GetContentRegionAvail().x;
    if (current)
        ImGui::GetWindowDrawList()->AddRectFilled(
            p, ImVec2(p.x + w, p.y + ImGui::GetTextLineHeightWithSpacing() * 3.2f),
            ImGui::GetColorU32(
                ImVec4(colors::kAccent.x, colors::kAccent.y, colors::kAccent.z, 0.14f)),
            4);
    if (current && m_scrollToCursor) {
        ImGui::SetScrollHereY(0.3f);
        m_scrollToCursor = false;
    }
    if (ImGui::Checkbox("##sel", &selected)) {
        for (uint64_t id : row.ids)
            selected ? (void)m_selected.insert(id) : (void)m_selected.erase(id);
        m_cursor = index;
    }
    ImGui::SameLine();
    LevelMarker(SeverityLevel(it.severity), 5.0f);
    ImGui::SameLine();
    ImGui::TextColored(LevelColor(SeverityLevel(it.severity)), "%s", it.severity.c_str());
    ImGui::SameLine();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted(it.ruleName.c_str());
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    std::string where = it.channelId;
    if (const core::ChannelData* c = ctx.snapshot->FindChannel(it.channelId))
        where = "# " + c->channel.displayName;
    ImGui::TextDisabled("%s  \xC2\xB7  %s  \xC2\xB7  %s", where.c_str(), it.authorName.c_str(),
                        core::FormatAgo(it.createdAt, ctx.now).c_str());
    if (row.ids.size() > 1) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kWarn, "\xC3\x97%zu similar", row.ids.size());
    }
    if (it.deleted) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kBad,
                           it.pending ? "deleting\xE2\x80\xA6" : "DELETED (u undoes)");
    } else if (it.pending) {
        ImGui::SameLine();
        ImGui::TextDisabled("restoring\xE2\x80\xA6");
    }
    if (it.escalated) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kWarn, "ESCALATED");
    }
    if (s.shared && !it.resolved && !it.claimedBy.empty() && it.claimExpires > ctx.now) {
        ImGui::SameLine();
        if (it.claimedBy == s.sharedUser)
            ImGui::TextColored(colors::kAccent, "held by you");
        else
            ImGui::TextColored(colors::kWarn, "held by %s (%s)", it.claimedAccount.c_str(),
                               it.claimedBy.c_str());
    }
    if (it.resolved) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kGood, "resolved: %s%s%s", it.tag.c_str(),
                           it.comment.empty() ? "" : " \xE2\x80\x94 ", it.comment.c_str());
    }
    // The message with the matched terms highlighted.
    core::PlainText pt;
    pt.text = it.text;
    for (const auto& t : it.terms)
        pt.spans.push_back({t.begin, t.end, core::TextSpan::Kind::kMatch});
    ImGui::Indent(30);
    RichText(pt, w - 40, 2, colors::kText);
    ImGui::TextDisabled("%s", it.reason.c_str());
    if (!it.lastError.empty()) ImGui::TextColored(colors::kBad, "%s", it.lastError.c_str());
    if (m_expanded.count(it.id)) DrawContext(ctx, it);
    ImGui::Unindent(30);
    if (ImGui::IsMouseClicked(0) &&
        ImGui::IsMouseHoveringRect(p, ImVec2(p.x + w, ImGui::GetCursorScreenPos().y)) &&
        ImGui::IsWindowHovered())
        m_cursor = index;
    ImGui::Separator();
    ImGui::PopID();
}

void ReviewView::DrawSharedBar(const UiContext& ctx, const core::ReviewState& s) {
    size_t mine = 0, others = 0;
    for (const auto& it : s.items)
        if (!it.resolved && !it.claimedBy.empty() && it.claimExpires > ctx.now)
            ++(it.claimedBy == s.sharedUser ? mine : others);
    ImGui::TextColored(colors::kAccent, "Shared queue");
    ImGui::SameLine();
    ImGui::TextDisabled(
        "you hold %zu, others hold %zu  \xC2\xB7  c claims the selection or the "
        "next 10; acting on an item claims it",
        mine, others);
    ImGui::SameLine();
    if (ImGui::SmallButton("Claim next 10") && ctx.moderate)
        ctx.moderate([](core::ModerationEngine& m) { m.ClaimNext(10); });
}

void ReviewView::DrawContext(const UiContext& ctx, const core::ReviewItem& item) {
    const core::ChannelData* c = ctx.snapshot->FindChannel(item.channelId);
    if (!c) return;
    const std::string& rootId = item.rootId.empty() ? item.messageId : item.rootId;
    ImGui::TextColored(colors::kDim, "Thread:");
    for (const auto& root : c->messages) {
        if (root->message.id != rootId) continue;
        auto line = [&](const core::StoredMessage& m, bool reply) {
            bool self = m.message.id == item.messageId;
            ImGui::TextColored(self ? colors::kWarn : colors::kDim, "%s%s: %s",
                               reply ? "    \xE2\x86\xB3 " : "  ",
                               m.message.From().DisplayName().c_str(), m.preview.c_str());
        };
        line(*root, false);
        for (const auto& r : root->replies) line(*r, true);
    }
    // The author's recent messages in this channel, newest first.
    ImGui::TextColored(colors::kDim, "Recent from %s here:", item.authorName.c_str());
    int shown = 0;
    for (auto it = c->messages.rbegin(); it != c->messages.rend() && shown < 5; ++it)
        if ((*it)->message.From().Id() == item.authorId && (*it)->message.id != item.messageId) {
            ImGui::TextColored(colors::kDim, "  %s  %s",
                               core::FormatAgo((*it)->message.createdDateTime, ctx.now).c_str(),
                               (*it)->preview.c_str());
            ++shown;
        }
    if (!shown) ImGui::TextColored(colors::kDim, "  (nothing else)");
}

void ReviewView::DrawBacktest(const UiContext& ctx) {
    if (m_backtestOpen) {
        ImGui::OpenPopup("Backtest a draft rule");
        m_backtestOpen = false;
    }
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowSize(
        ImVec2(std::min(1100.0f, vp->WorkSize.x * 0.9f), vp->WorkSize.y * 0.75f));
    if (!ImGui::BeginPopupModal("Backtest a draft rule", nullptr, ImGuiWindowFlags_NoSavedSettings))
        return;
    ImGui::TextDisabled(
        "One rule, as in a rule pack's \"rules\" list. It runs over every cached message; "
        "the queue is not touched.");
    if (m_ruleJson.capacity() < 256) m_ruleJson.reserve(256);
    ImGui::InputTextMultiline(
        "##rule", m_ruleJson.data(), m_ruleJson.capacity() + 1,
        ImVec2(-1, ImGui::GetTextLineHeight() * 6), ImGuiInputTextFlags_CallbackResize,
        [](ImGuiInputTextCallbackData* d) {
            if (d->EventFlag == ImGuiInputTextFlags_CallbackResize) {
                auto* str = static_cast<std::string*>(d->UserData);
                str->resize(static_cast<size_t>(d->BufTextLen));
                d->Buf = str->data();
            }
            return 0;
        },
        &m_ruleJson);
    m_ruleJson.resize(std::strlen(m_ruleJson.c_str()));
    ImGui::BeginDisabled(m_backtestRunning || !ctx.moderate);
    if (ImGui::Button(m_backtestRunning ? "Running\xE2\x80\xA6" : "Run backtest")) {
        m_backtestRunning = true;
        auto post = ctx.post;
        std::string json = m_ruleJson;
        ctx.moderate([this, post, json](core::ModerationEngine& m) {
            core::BacktestResult r = m.BacktestDraft(json);
            auto show = [this, r] {
                m_backtest = r;
                m_backtestRunning = false;
            };
            post ? post(show) : show();
        });
    }
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("Close") ||
        (!ImGui::GetIO().WantTextInput && Pressed(ImGui::GetKeyIndex(ImGuiKey_Escape))))
        ImGui::CloseCurrentPopup();
    if (m_backtest) {
        const core::BacktestResult& r = *m_backtest;
        if (!r.status.ok()) {
            ImGui::TextColored(colors::kBad, "%s", r.status.error().message.c_str());
        } else {
            ImGui::Text("%zu of %zu cached messages match (%.1f%%)", r.hits, r.scanned,
                        r.scanned ? 100.0 * r.hits / r.scanned : 0.0);
            for (size_t i = 0; i < r.perChannel.size() && i < 8; ++i) {
                const core::ChannelData* c = ctx.snapshot->FindChannel(r.perChannel[i].first);
                ImGui::BulletText(
                    "%s: %zu",
                    c ? ("# " + c->channel.displayName).c_str() : r.perChannel[i].first.c_str(),
                    r.perChannel[i].second);
            }
            ImGui::Separator();
            ImGui::BeginChild("samples");
            for (const auto& smp : r.samples) {
                core::PlainText pt;
                pt.text = smp.text;
                for (const auto& t : smp.terms)
                    pt.spans.push_back({t.begin, t.end, core::TextSpan::Kind::kMatch});
                ImGui::TextDisabled("%s  \xC2\xB7  %s", smp.author.c_str(), smp.reason.c_str());
                RichText(pt, ImGui::GetContentRegionAvail().x, 2, colors::kText);
            }
            ImGui::EndChild();
        }
    }
    ImGui::EndPopup();
}

void ReviewView::DrawPopups(const UiContext& ctx) {
    DrawBacktest(ctx);
    if (m_confirmDelete) {
        ImGui::OpenPopup("Delete?");
        m_confirmDelete = false;
    }
    if (ImGui::BeginPopupModal("Delete?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        size_t n = Targets().size();
        ImGui::Text("Soft-delete %zu message(s) in Teams? Undo stays possible (u).", n);
        if (ImGui::Button("Delete (Enter)") || Pressed(ImGui::GetKeyIndex(ImGuiKey_Enter))) {
            Act(ctx, [](core::ModerationEngine& m, std::vector<uint64_t> ids) { m.Delete(ids); });
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Cancel (Esc)") || Pressed(ImGui::GetKeyIndex(ImGuiKey_Escape)))
            ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
    if (m_tagOpen) {
        ImGui::OpenPopup("Resolve with a tag");
        m_tagOpen = false;
        m_comment[0] = '\0';
    }
    if (ImGui::BeginPopupModal("Resolve with a tag", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::RadioButton("compliant (1)", &m_tag, 0);
        ImGui::SameLine();
        ImGui::RadioButton("non-compliant (2)", &m_tag, 1);
        ImGui::SameLine();
        ImGui::RadioButton("false positive (3)", &m_tag, 2);
        for (int k = 0; k < 3; ++k)
            if (!ImGui::GetIO().WantTextInput && Pressed(keys::kDigit1 + k)) m_tag = k;
        if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
        ImGui::SetNextItemWidth(420);
        bool enter =
            ImGui::InputTextWithHint("##comment", "comment (optional)", m_comment, sizeof m_comment,
                                     ImGuiInputTextFlags_EnterReturnsTrue);
        if (ImGui::Button("Resolve (Enter)") || enter) {
            auto tag = static_cast<core::ModerationEngine::Tag>(m_tag);
            std::string comment = m_comment;
            Act(ctx, [tag, comment](core::ModerationEngine& m, std::vector<uint64_t> ids) {
                m.Resolve(ids, tag, comment);
            });
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Cancel") || Pressed(ImGui::GetKeyIndex(ImGuiKey_Escape)))
            ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
    if (m_noticeOpen) {
        ImGui::OpenPopup("Reply with a notice");
        m_noticeOpen = false;
    }
    if (ImGui::BeginPopupModal("Reply with a notice", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        const core::SyncStatus& st = ctx.snapshot->sync;
        Permission reply = Check(Action::kReply, st.signedIn, st.delegated, st.grantedScopes);
        for (int k = 0; k < static_cast<int>(std::size(kNotices)); ++k)
            ImGui::RadioButton(kNotices[k], &m_notice, k);
        ImGui::BeginDisabled(!reply.allowed);
        if (ImGui::Button("Send in the thread")) {
            std::string text = kNotices[m_notice];
            std::vector<uint64_t> ids = Targets();
            if (!ids.empty() && ctx.moderate)
                ctx.moderate([id = ids.front(), text](core::ModerationEngine& m) {
                    m.ReplyNotice(id, text);
                });
            ImGui::CloseCurrentPopup();
        }
        ImGui::EndDisabled();
        if (!reply.allowed && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
            ImGui::SetTooltip("%s", reply.why.c_str());
        ImGui::SameLine();
        if (ImGui::Button("Cancel") || Pressed(ImGui::GetKeyIndex(ImGuiKey_Escape)))
            ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
}

}  // namespace cdeck::ui
