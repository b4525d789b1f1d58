#include "ui/channel_view.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "model/markup.hpp"
#include "moderation/export.hpp"
#include "ui/fuzzy.hpp"
#include "ui/permissions.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {
namespace {

constexpr float kRowPad = 4.0f;  // above a row's header
constexpr float kReplyIndent = 28.0f;

ImVec4 LastItemRect() {
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    return ImVec4(a.x, a.y, b.x, b.y);
}

int ResizeCallback(ImGuiInputTextCallbackData* data) {
    if (data->EventFlag == ImGuiInputTextFlags_CallbackResize) {
        auto* s = static_cast<std::string*>(data->UserData);
        s->resize(static_cast<size_t>(data->BufTextLen));
        data->Buf = s->data();
    }
    return 0;
}

}  // namespace

void ChannelView::SetExpanded(const std::string& rootId, bool on) {
    if (on)
        m_expanded.insert(rootId);
    else
        m_expanded.erase(rootId);
    m_dirty = true;
}

void ChannelView::Rebuild(const core::ChannelData& c) {
    m_layoutDirty = true;
    m_rows.clear();
    m_rows.reserve(c.messages.size() + (m_expanded.empty() ? 0 : c.replyCount));
    for (const auto& root : c.messages) {
        m_rows.push_back({root, false});
        if (!root->replies.empty() && m_expanded.count(root->message.id))
            for (const auto& r : root->replies) m_rows.push_back({r, true});
    }
}

void ChannelView::DrawContent(const UiContext& ctx) {
    m_drawnIds.clear();
    const std::string selected = ctx.selection ? ctx.selection->channelId : std::string();
    auto it = ctx.snapshot->channels.find(selected);
    if (selected.empty() || it == ctx.snapshot->channels.end()) {
        ImGui::Spacing();
        ImGui::TextDisabled(
            "Select a channel on the wall or in the list, or press Ctrl+K to find one.");
        m_channelId.clear();
        m_rows.clear();
        m_cachedData.reset();
        return;
    }
    const core::ChannelDataPtr& data = it->second;
    if (selected != m_channelId) {
        m_channelId = selected;
        m_scrollToBottom = true;
        m_cachedVersion = 0;
        m_expanded.clear();
    }
    if (m_dirty || m_cachedVersion != data->version || m_cachedData != data) {
        Rebuild(*data);
        m_cachedVersion = data->version;
        m_cachedData = data;
        m_dirty = false;
    }
    if (ctx.reads) ctx.reads->MarkRead(*data);
    {
        const core::SyncStatus& st = ctx.snapshot->sync;
        m_canReply = Check(Action::kReply, st.signedIn, st.delegated, st.grantedScopes).allowed;
        m_canEdit = Check(Action::kEdit, st.signedIn, st.delegated, st.grantedScopes).allowed &&
                    !st.userId.empty();
        m_canDelete = Check(Action::kDelete, st.signedIn, st.delegated, st.grantedScopes).allowed;
    }
    if (!m_composeRequest.empty()) {
        const core::SyncStatus& st = ctx.snapshot->sync;
        if (Check(Action::kPost, st.signedIn, st.delegated, st.grantedScopes).allowed) {
            OpenComposer(ctx, *data, {}, {});
            m_body = m_composeRequest;
            m_composeRequest.clear();
        }
    }
    if (!m_replyRequest.empty()) {
        OpenComposer(ctx, *data, m_replyRequest, m_replyRequestAuthor);
        m_replyRequest.clear();
    }
    if (!m_editBody.empty() || !m_editId.empty()) {
        if (!m_editBody.empty()) {  // an Edit button was clicked last frame
            std::string id = m_editId, root = m_editRoot, body = m_editBody,
                        subject = m_editSubject;
            OpenComposer(ctx, *data, {}, {});
            m_editId = id;
            m_editRoot = root;
            m_body = body;
            m_draftKey.clear();  // edits are not drafts
            std::snprintf(m_subject, sizeof m_subject, "%s", subject.c_str());
            m_composeStatus = "Editing your message (the text is sent as the new body).";
            m_editBody.clear();
        }
    }
    if (!m_undoRequest.first.empty()) {
        core::StoredMessage fake;
        fake.message.id = m_undoRequest.first;
        fake.message.replyToId = m_undoRequest.second;
        RequestDelete(ctx, *data, fake, /*undo=*/true);
        m_undoRequest = {};
    }
    DrawHeader(ctx, *data);
    if (data->trimmedRoots > 0)
        ImGui::TextDisabled(
            "%zu older threads are kept in the local database only (memory limit, "
            "sync.memory_max_messages); `channeldeck export` includes them.",
            data->trimmedRoots);
    if (m_composing && m_composeChannel == m_channelId) DrawComposer(ctx, *data);

    ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0, 0, 0, 0));
    if (ImGui::BeginChild("messages", ImVec2(0, 0), false)) {
        bool atBottom = ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 2.0f;
        float width = ImGui::GetContentRegionAvail().x;
        Layout(width);
        if (m_scrollToRow < m_rows.size()) {
            ImGui::SetScrollY(ImGui::GetCursorPosY() + m_offsets[m_scrollToRow]);
            atBottom = false;
            m_scrollToBottom = false;
        }
        m_scrollToRow = static_cast<size_t>(-1);
        DrawRows(ctx, width);
        // Follow new messages only when the reader was already at the bottom.
        if (m_scrollToBottom || atBottom) ImGui::SetScrollHereY(1.0f);
        m_scrollToBottom = false;
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

bool ChannelView::HasFooter(const Row& row) const {
    const core::CompactMessage& m = row.message->message;
    if (!row.isReply && !row.message->replies.empty()) return true;
    if (!row.isReply && !m.IsDeleted() && m_canReply) return true;
    return !m.Attachments().empty();
}

float ChannelView::MeasureRow(const Row& row, float width) const {
    const ImGuiStyle& st = ImGui::GetStyle();
    const float lh = ImGui::GetTextLineHeight();
    const core::StoredMessage& sm = *row.message;
    const float indent = row.isReply ? kReplyIndent : 0.0f;
    int lines = 1;
    if (!sm.message.IsDeleted())
        lines = std::max(1, RichTextLines(sm.text, width - indent - 8, kMaxBodyLines));
    float h = kRowPad + ImGui::GetFrameHeight() + st.ItemSpacing.y;  // the header line
    h += lh * static_cast<float>(lines) + st.ItemSpacing.y;
    if (HasFooter(row)) h += ImGui::GetFrameHeight() + st.ItemSpacing.y;
    return std::floor(h + 2.0f);
}

void ChannelView::Layout(float width) {
    const float font = ImGui::GetFontSize();
    const bool same =
        width == m_layoutWidth && font == m_layoutFont && m_canReply == m_layoutCanReply;
    if (!m_layoutDirty && same) return;
    // Reuse the heights of rows whose message (and place in a thread) did not change: the
    // rows are the old ones with some added, removed or replaced, so one walk pairs them.
    std::vector<float> heights(m_rows.size());
    size_t o = 0;
    m_measured = 0;
    for (size_t i = 0; i < m_rows.size(); ++i) {
        const core::StoredMessage* msg = m_rows[i].message.get();
        auto matches = [&](size_t k) {
            return k < m_laidRows.size() && m_laidRows[k] == msg &&
                   m_laidReply[k] == m_rows[i].isReply;
        };
        if (same && !matches(o)) {  // skip removed rows, if the match is just ahead
            for (size_t k = o + 1; k < std::min(m_laidRows.size(), o + 8); ++k)
                if (matches(k)) {
                    o = k;
                    break;
                }
        }
        if (same && matches(o)) {
            heights[i] = m_heights[o++];
        } else {
            heights[i] = MeasureRow(m_rows[i], width);
            ++m_measured;
        }
    }
    m_heights.swap(heights);
    m_offsets.assign(m_rows.size() + 1, 0.0f);
    for (size_t i = 0; i < m_rows.size(); ++i) m_offsets[i + 1] = m_offsets[i] + m_heights[i];
    m_laidRows.resize(m_rows.size());
    m_laidReply.resize(m_rows.size());
    for (size_t i = 0; i < m_rows.size(); ++i) {
        m_laidRows[i] = m_rows[i].message.get();
        m_laidReply[i] = m_rows[i].isReply;
    }
    m_layoutWidth = width;
    m_layoutFont = font;
    m_layoutCanReply = m_canReply;
    m_layoutDirty = false;
}

void ChannelView::DrawRows(const UiContext& ctx, float width) {
    const float top = ImGui::GetCursorPosY();
    const float scroll = ImGui::GetScrollY();
    const float view = ImGui::GetWindowHeight();
    // The first row whose bottom is below the top of the view, then rows until the bottom.
    size_t i =
        static_cast<size_t>(std::upper_bound(m_offsets.begin() + 1, m_offsets.end(), scroll - top) -
                            (m_offsets.begin() + 1));
    for (; i < m_rows.size() && top + m_offsets[i] < scroll + view; ++i) {
        ImGui::SetCursorPosY(top + m_offsets[i]);
        DrawRow(ctx, m_rows[i], width, m_heights[i]);
    }
    // The content's full height, so the scroll bar spans every row.
    ImGui::SetCursorPosY(top + m_offsets.back());
    ImGui::Dummy(ImVec2(0, 0));
}

void ChannelView::DrawHeader(const UiContext& ctx, const core::ChannelData& c) {
    std::string teamName;
    for (const auto& t : ctx.snapshot->teams)
        if (t->team.id == c.channel.teamId) teamName = t->team.displayName;
    if (ctx.fonts.large) ImGui::PushFont(ctx.fonts.large);
    ImGui::Text("# %s", c.channel.displayName.c_str());
    if (ctx.fonts.large) ImGui::PopFont();
    ImGui::SameLine();
    const core::SyncStatus& st = ctx.snapshot->sync;
    Permission post = Check(Action::kPost, st.signedIn, st.delegated, st.grantedScopes);
    m_postEnabled = post.allowed;
    m_postWhy = post.allowed ? std::string() : post.why;
    ImGui::BeginDisabled(!post.allowed || (m_composing && m_replyTo.empty()));
    if (ImGui::Button("New post")) OpenComposer(ctx, c, {}, {});
    m_rects.newPost = LastItemRect();
    ImGui::EndDisabled();
    if (!post.allowed && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("%s", post.why.c_str());
    if (!m_deletions.empty()) {
        ImGui::SameLine();
        char label[48];
        std::snprintf(label, sizeof label, "Recently deleted (%zu)", m_deletions.size());
        if (ImGui::Button(label)) ImGui::OpenPopup("recently-deleted");
    }
    DrawDeletions(ctx);
    ImGui::SameLine();
    if (ImGui::Button("Export\xE2\x80\xA6")) ImGui::OpenPopup("export-channel");
    if (ImGui::BeginPopup("export-channel")) {
        ImGui::TextDisabled("# %s from the local cache", c.channel.displayName.c_str());
        static const char* const kRanges[] = {"everything cached", "the last 24 hours",
                                              "the last 7 days"};
        static const double kDays[] = {0, 1, 7};
        ImGui::SetNextItemWidth(220);
        ImGui::Combo("range", &m_exportRange, kRanges, 3);
        for (bool csv : {true, false}) {
            if (!csv) ImGui::SameLine();
            ImGui::BeginDisabled(!ctx.writeExport);
            if (ImGui::Button(csv ? "CSV" : "JSON")) {
                core::UnixMillis since =
                    kDays[m_exportRange] > 0
                        ? ctx.now - static_cast<core::UnixMillis>(kDays[m_exportRange] * 86400000)
                        : 0;
                auto rows = core::MessagesBetween(c, since, 0);
                std::string content =
                    csv ? core::MessagesToCsv(c, rows) : core::MessagesToJson(c, rows);
                std::string name = "channel-" + c.channel.displayName + (csv ? ".csv" : ".json");
                for (auto& ch : name)
                    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '-')
                        ch = '_';
                m_exportStatus =
                    "Exporting " + std::to_string(rows.size()) + " messages\xE2\x80\xA6";
                auto post = ctx.post;
                ctx.writeExport(name, std::move(content), [this, post](std::string r) {
                    auto show = [this, r] {
                        m_exportStatus = r.rfind("error", 0) == 0 ? r : "Exported to " + r;
                    };
                    post ? post(show) : show();
                });
            }
            ImGui::EndDisabled();
        }
        if (!m_exportStatus.empty()) ImGui::TextDisabled("%s", m_exportStatus.c_str());
        ImGui::EndPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Expand all"))
        for (const auto& r : c.messages)
            if (!r->replies.empty()) SetExpanded(r->message.id, true);
    ImGui::SameLine();
    if (ImGui::Button("Collapse all")) {
        m_expanded.clear();
        m_dirty = true;
    }
    ImGui::TextDisabled("%s  \xC2\xB7  %zu messages, %zu replies  \xC2\xB7  synced %s",
                        teamName.c_str(), c.messages.size(), c.replyCount,
                        c.lastSyncOk ? core::FormatAgo(c.lastSyncOk, ctx.now).c_str() : "never");
    if (!c.lastError.empty())
        ImGui::TextColored(colors::kBad, "Last sync failed: %s", c.lastError.c_str());
    ImGui::Separator();
}

void ChannelView::OpenComposer(const UiContext& ctx, const core::ChannelData& c,
                               const std::string& replyTo, const std::string& replyToAuthor) {
    if (m_composing && !m_sending) SaveDraftIfDue(ctx, true);
    m_composing = true;
    m_editId.clear();
    m_editRoot.clear();
    m_composeChannel = c.channel.id;
    m_composeTeam = c.channel.teamId;
    m_replyTo = replyTo;
    m_replyToAuthor = replyToAuthor;
    m_composeStatus.clear();
    m_offerResend = false;
    m_draftKey =
        replyTo.empty() ? "channel:" + c.channel.id : "reply:" + c.channel.id + ":" + replyTo;
    m_picked.clear();
    m_people.clear();
    // The team's members (GET /teams/{id}/members), so that someone who has never written
    // can be mentioned; without that list (no TeamMember.Read.All), the people who write in
    // this team's channels (newest 200 messages of each). By name.
    std::set<std::string> seen;
    for (const auto& t : ctx.snapshot->teams) {
        if (t->team.id != c.channel.teamId) continue;
        if (t->members)
            for (const auto& m : *t->members)
                if (!m.userId.empty() && !m.displayName.empty() && seen.insert(m.userId).second)
                    m_people.push_back({m.userId, m.displayName});
        if (t->members && !t->members->empty()) continue;
        for (const auto& id : t->channelIds) {
            const core::ChannelData* ch = ctx.snapshot->FindChannel(id);
            if (!ch) continue;
            size_t from = ch->messages.size() > 200 ? ch->messages.size() - 200 : 0;
            for (size_t i = from; i < ch->messages.size(); ++i) {
                const auto& u = ch->messages[i]->message.From().user;
                if (u && !u->id.empty() && !u->displayName.empty() && seen.insert(u->id).second)
                    m_people.push_back({u->id, u->displayName});
            }
        }
    }
    std::sort(m_people.begin(), m_people.end(),
              [](const auto& a, const auto& b) { return a.displayName < b.displayName; });
    m_body.clear();
    m_subject[0] = '\0';
    m_importance = 0;
    m_editedAt = 0;
    // A saved draft comes back, after a restart or a crash too.
    if (ctx.drafts)
        if (auto it = ctx.drafts->find(m_draftKey); it != ctx.drafts->end()) {
            m_body = it->second.body;
            std::snprintf(m_subject, sizeof m_subject, "%s", it->second.subject.c_str());
            m_composeStatus = "Draft restored.";
        }
}

void ChannelView::SaveDraftIfDue(const UiContext& ctx, bool now) {
    if (m_editedAt == 0 || m_draftKey.empty()) return;
    // Debounced: a second after the last keystroke (or at once when leaving the composer).
    if (!now && ctx.now - m_editedAt < 1000) return;
    m_editedAt = 0;
    core::Draft d;
    d.key = m_draftKey;
    d.teamId = m_composeTeam;
    d.channelId = m_composeChannel;
    d.replyToId = m_replyTo;
    d.subject = m_subject;
    d.body = m_body;
    d.updatedAt = ctx.now;
    if (ctx.drafts) (*ctx.drafts)[d.key] = d;
    if (ctx.saveDraft) ctx.saveDraft(d, m_body.empty() && d.subject.empty());
}

void ChannelView::Send(const UiContext& ctx, const core::ChannelData& c) {
    if (!ctx.submit) return;
    SaveDraftIfDue(ctx, true);  // whatever happens next, the text is on disk
    core::Command cmd;
    bool reply = !m_replyTo.empty();
    cmd.kind = reply ? core::Command::Kind::kPostReply : core::Command::Kind::kPostMessage;
    if (!m_editId.empty()) {
        cmd.kind = core::Command::Kind::kEditMessage;
        cmd.messageId = m_editRoot.empty() ? m_editId : m_editRoot;
        cmd.replyId = m_editRoot.empty() ? std::string() : m_editId;
        cmd.edit.htmlBody = core::MarkupToHtml(m_body);
        if (m_editRoot.empty()) cmd.edit.subject = std::string(m_subject);
    }
    cmd.teamId = c.channel.teamId;
    cmd.channelId = c.channel.id;
    if (m_editId.empty()) cmd.messageId = m_replyTo;
    if (!reply) cmd.message.subject = m_subject;
    static const char* const kImportance[] = {"normal", "high", "urgent"};
    if (m_importance > 0) cmd.message.importance = kImportance[m_importance];
    cmd.message.contentType = "html";
    cmd.message.content = core::MarkupToHtml(m_body);  // the user's text, escaped
    if (!m_picked.empty()) {
        std::vector<core::MentionOut> outs;
        std::string html = core::ApplyMentions(cmd.message.content, m_picked, outs);
        std::vector<std::pair<std::string, core::MentionTarget>> mentions;
        for (const auto& o : outs)
            mentions.push_back({o.text, core::MentionTarget{core::MentionTarget::Kind::kUser,
                                                            o.userId, o.displayName}});
        cmd.message.content = html;
        cmd.message.mentions = mentions;
        if (cmd.kind == core::Command::Kind::kEditMessage) {
            cmd.edit.htmlBody = html;
            cmd.edit.mentions = mentions;
        }
    }
    m_sending = true;
    m_offerResend = false;
    m_composeStatus = "Sending\xE2\x80\xA6";
    auto post = ctx.post;
    auto saveDraft = ctx.saveDraft;
    auto* drafts = ctx.drafts;
    std::string key = m_draftKey;
    cmd.finished = [this, post, saveDraft, drafts, key](const core::Command::Outcome& o) {
        // A worker thread: hand the outcome to the UI thread.
        bool ok = o.status.ok();
        std::string why = ok ? std::string() : o.status.error().Describe();
        bool ambiguous = o.sentButUnanswered, reconciled = o.reconciled;
        if (!post) return;
        post([this, ok, why, ambiguous, reconciled, saveDraft, drafts, key] {
            m_sending = false;
            if (ok) {
                if (drafts) drafts->erase(key);
                core::Draft gone;
                gone.key = key;
                if (saveDraft) saveDraft(gone, true);
                if (m_draftKey == key) {
                    m_composing = false;
                    m_body.clear();
                    m_subject[0] = '\0';
                    m_editedAt = 0;
                }
                m_composeStatus = reconciled
                                      ? "Sent. (Graph's answer was lost; the message was found in "
                                        "the channel, so it was not sent twice.)"
                                      : "Sent.";
                m_scrollToBottom = true;
            } else {
                m_offerResend = true;
                m_composeStatus = ambiguous
                                      ? "Not sent: Graph did not answer, and the message is not in "
                                        "the channel. Your text is kept."
                                      : "Not sent (your text is kept): " + why;
            }
        });
    };
    ctx.submit(std::move(cmd));
}

void ChannelView::RequestDelete(const UiContext& ctx, const core::ChannelData& c,
                                const core::StoredMessage& m, bool undo) {
    if (!ctx.submit) return;
    core::Command cmd;
    cmd.kind = undo ? core::Command::Kind::kUndoDelete : core::Command::Kind::kSoftDelete;
    cmd.teamId = c.channel.teamId;
    cmd.channelId = c.channel.id;
    // A reply is addressed through its root.
    cmd.messageId = m.message.replyToId.empty() ? m.message.id : m.message.replyToId;
    cmd.replyId = m.message.replyToId.empty() ? std::string() : m.message.id;
    size_t index = m_deletions.size();
    if (!undo) {
        m_deletions.push_back(
            {c.channel.teamId, c.channel.id, cmd.messageId, cmd.replyId, m.preview, ctx.now});
        m_toastUntil = ctx.now + 10000;
    } else {
        for (size_t i = 0; i < m_deletions.size(); ++i)
            if (m_deletions[i].messageId == cmd.messageId && m_deletions[i].replyId == cmd.replyId)
                index = i;
    }
    auto post = ctx.post;
    cmd.finished = [this, post, index, undo](const core::Command::Outcome& o) {
        bool ok = o.status.ok();
        std::string why = ok ? std::string() : o.status.error().Describe();
        if (!post) return;
        post([this, index, undo, ok, why] {
            if (index >= m_deletions.size()) return;
            Deletion& d = m_deletions[index];
            d.pending = false;
            if (!ok)
                d.error = std::string(undo ? "undo failed: " : "delete failed: ") + why;
            else if (undo)
                d.undone = true;
        });
    };
    ctx.submit(std::move(cmd));
}

void ChannelView::DrawDeletions(const UiContext& ctx) {
    const core::ChannelData* c = ctx.snapshot->FindChannel(m_channelId);
    // The confirmation before a delete.
    if (m_openConfirm) {
        ImGui::OpenPopup("Delete message?");
        m_openConfirm = false;
    }
    if (ImGui::BeginPopupModal("Delete message?", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
        ImGui::TextWrapped("Soft-delete \"%s\"? It can be undone.", m_confirmPreview.c_str());
        bool yes = ImGui::Button("Delete");
        m_rects.confirmDelete = LastItemRect();
        if (yes && c) {
            core::StoredMessage target;
            target.message.id = m_confirmId;
            target.message.replyToId = m_confirmRoot;
            target.preview = m_confirmPreview;
            RequestDelete(ctx, *c, target, false);
            ImGui::CloseCurrentPopup();
        }
        ImGui::SameLine();
        if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
        ImGui::EndPopup();
    }
    // The persistent list of this session's deletions, each with its undo.
    if (ImGui::BeginPopup("recently-deleted")) {
        for (size_t i = m_deletions.size(); i-- > 0;) {
            Deletion& d = m_deletions[i];
            ImGui::PushID(static_cast<int>(i));
            const core::ChannelData* dc = ctx.snapshot->FindChannel(d.channelId);
            ImGui::Text("%s  # %s  \"%s\"", core::FormatAgo(d.at, ctx.now).c_str(),
                        dc ? dc->channel.displayName.c_str() : "?", d.preview.c_str());
            ImGui::SameLine();
            if (d.undone) {
                ImGui::TextColored(colors::kGood, "restored");
            } else if (!d.pending && dc && ImGui::SmallButton("Undo")) {
                core::StoredMessage target;
                target.message.id = d.replyId.empty() ? d.messageId : d.replyId;
                target.message.replyToId = d.replyId.empty() ? std::string() : d.messageId;
                d.pending = true;
                RequestDelete(ctx, *dc, target, true);
            }
            if (!d.error.empty()) ImGui::TextColored(colors::kBad, "%s", d.error.c_str());
            ImGui::PopID();
        }
        ImGui::EndPopup();
    }
    // The undo toast, for ten seconds after a delete.
    if (!m_deletions.empty() && ctx.now < m_toastUntil) {
        Deletion& d = m_deletions.back();
        const ImGuiViewport* vp = ImGui::GetMainViewport();
        ImGui::SetNextWindowPos(
            ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.5f, vp->WorkPos.y + vp->WorkSize.y - 40),
            ImGuiCond_Always, ImVec2(0.5f, 1.0f));
        ImGui::SetNextWindowBgAlpha(0.95f);
        if (ImGui::Begin("##toast", nullptr,
                         ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_AlwaysAutoResize |
                             ImGuiWindowFlags_NoSavedSettings |
                             ImGuiWindowFlags_NoFocusOnAppearing)) {
            if (!d.error.empty())
                ImGui::TextColored(colors::kBad, "%s", d.error.c_str());
            else
                ImGui::Text(d.pending  ? "Deleting \"%s\"\xE2\x80\xA6"
                            : d.undone ? "Restored \"%s\"."
                                       : "Deleted \"%s\".",
                            d.preview.c_str());
            const core::ChannelData* dc = ctx.snapshot->FindChannel(d.channelId);
            if (!d.pending && !d.undone && d.error.empty() && dc) {
                ImGui::SameLine();
                bool undo = ImGui::Button("Undo");
                m_rects.toastUndo = LastItemRect();
                if (undo) {
                    core::StoredMessage target;
                    target.message.id = d.replyId.empty() ? d.messageId : d.replyId;
                    target.message.replyToId = d.replyId.empty() ? std::string() : d.messageId;
                    d.pending = true;
                    RequestDelete(ctx, *dc, target, true);
                }
            }
        }
        ImGui::End();
    }
}

void ChannelView::DrawMentionPicker(const UiContext& ctx) {
    // An "@query" being typed at the end of the text: no space or newline since the @.
    size_t at = m_body.rfind('@');
    if (at == std::string::npos || (at > 0 && m_body[at - 1] != ' ' && m_body[at - 1] != '\n'))
        return;
    std::string query = m_body.substr(at + 1);
    if (query.size() > 30 || query.find_first_of(" \n") != std::string::npos) return;
    std::vector<std::pair<int, const core::PickedMention*>> ranked;
    for (const auto& p : m_people) {
        int score = query.empty() ? 1 : FuzzyScore(query, p.displayName);
        if (score > 0) ranked.push_back({score, &p});
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    if (ranked.empty()) {
        ImGui::TextDisabled("No one in this team matches \"@%s\".", query.c_str());
        return;
    }
    ImGui::TextDisabled("Mention:");
    for (size_t i = 0; i < ranked.size() && i < 6; ++i) {
        ImGui::SameLine();
        const core::PickedMention& p = *ranked[i].second;
        ImGui::PushID(p.id.c_str());
        bool pick = ImGui::SmallButton(("@" + p.displayName).c_str());
        if (i == 0) m_rects.firstPerson = LastItemRect();
        ImGui::PopID();
        if (pick) {
            m_body = m_body.substr(0, at) + "@" + p.displayName + " ";
            m_picked.push_back(p);
            m_editedAt = ctx.now;
        }
    }
}

void ChannelView::DrawComposer(const UiContext& ctx, const core::ChannelData& c) {
    ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
    float h = ImGui::GetTextLineHeightWithSpacing() * 9;
    if (ImGui::BeginChild("composer", ImVec2(0, h), true)) {
        if (!m_replyTo.empty()) {
            ImGui::TextColored(colors::kAccent, "Reply to %s", m_replyToAuthor.c_str());
        } else {
            ImGui::SetNextItemWidth(ImGui::GetContentRegionAvail().x * 0.6f);
            if (ImGui::InputTextWithHint("##subject", "Subject (optional)", m_subject,
                                         sizeof m_subject))
                m_editedAt = ctx.now;
            ImGui::SameLine();
            ImGui::SetNextItemWidth(150);
            ImGui::Combo("##importance", &m_importance, "normal\0high\0urgent\0");
        }
        if (m_body.capacity() < 64) m_body.reserve(64);
        if (ImGui::InputTextMultiline("##body", m_body.data(), m_body.capacity() + 1,
                                      ImVec2(-1, ImGui::GetTextLineHeight() * 4),
                                      ImGuiInputTextFlags_CallbackResize, ResizeCallback, &m_body))
            m_editedAt = ctx.now;
        m_rects.body = LastItemRect();
        // The buffer may be longer than the text after a resize; keep the string exact.
        m_body.resize(std::strlen(m_body.c_str()));
        DrawMentionPicker(ctx);
        SaveDraftIfDue(ctx, false);
        bool empty = m_body.find_first_not_of(" \t\r\n") == std::string::npos;
        ImGui::BeginDisabled(empty || m_sending);
        if (ImGui::Button(m_sending       ? "Sending\xE2\x80\xA6"
                          : m_offerResend ? "Send again"
                                          : "Send"))
            Send(ctx, c);
        m_rects.send = LastItemRect();
        ImGui::EndDisabled();
        ImGui::SameLine();
        if (ImGui::Button("Close")) {
            SaveDraftIfDue(ctx, true);
            m_composing = false;  // the draft stays for next time
        }
        ImGui::SameLine();
        ImGui::TextDisabled("**bold** *italic* `code` [link](https://...)");
        if (!m_composeStatus.empty())
            ImGui::TextColored(m_composeStatus.rfind("Not", 0) == 0 ? colors::kBad : colors::kDim,
                               "%s", m_composeStatus.c_str());
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

void ChannelView::DrawRow(const UiContext& ctx, const Row& row, float width, float height) {
    const core::StoredMessage& sm = *row.message;
    const core::CompactMessage& m = sm.message;
    ImGui::PushID(m.id.c_str());
    m_drawnIds.push_back(m.id);
    ImVec2 p = ImGui::GetCursorScreenPos();
    float indent = row.isReply ? kReplyIndent : 0.0f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    if (!row.isReply)
        dl->AddLine(ImVec2(p.x, p.y), ImVec2(p.x + width, p.y),
                    ImGui::GetColorU32(ImVec4(1, 1, 1, 0.06f)));
    else
        dl->AddRectFilled(ImVec2(p.x + 12, p.y + 4), ImVec2(p.x + 14, p.y + height - 4),
                          ImGui::GetColorU32(colors::kDim));
    ImGui::SetCursorScreenPos(ImVec2(p.x + indent, p.y + kRowPad));

    // Header: author, time, markers, copy link
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    std::string who = m.From().DisplayName();
    if (m.IsSystemEvent()) who = "System";
    ImGui::TextColored(colors::kAccent, "%s", who.empty() ? "(unknown sender)" : who.c_str());
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    ImGui::TextDisabled("%s", core::FormatAgo(m.createdDateTime, ctx.now).c_str());
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%s", core::FormatIso8601(m.createdDateTime).c_str());
    if (m.importance == core::ImportanceKind::kUrgent) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kBad, "URGENT");
    } else if (m.importance == core::ImportanceKind::kHigh) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kWarn, "IMPORTANT");
    }
    if (m.lastEditedDateTime) {
        ImGui::SameLine();
        ImGui::TextDisabled("(edited)");
        if (ImGui::IsItemHovered() && !sm.history.empty())
            ImGui::SetTooltip("%zu earlier version(s) kept", sm.history.size());
    }
    if (m.IsDeleted()) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kBad, "(deleted)");
    }
    if (!m.Subject().empty()) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kText, "\xE2\x80\x94 %s", m.Subject().c_str());
    }
    // Reactions and mentions inline, on the header: no line of their own.
    if (!m.Reactions().empty()) {
        std::map<std::string, int> counts;
        for (const auto& r : m.Reactions()) counts[r.reactionType]++;
        for (const auto& [type, n] : counts) {
            ImGui::SameLine();
            ImGui::TextColored(colors::kDim, "%s %d", type.c_str(), n);
        }
    }
    if (!m.Mentions().empty()) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kMention, "@%zu", m.Mentions().size());
    }
    float linkW = ImGui::CalcTextSize("Copy link").x + ImGui::GetStyle().FramePadding.x * 2;
    // Edit (own messages only), delete or undo, then the link.
    bool own = !ctx.snapshot->sync.userId.empty() && m.From().Id() == ctx.snapshot->sync.userId;
    float actionsW = ImGui::CalcTextSize("Edit  Delete  Undo delete").x + 40;
    ImGui::SameLine(width - linkW - actionsW);
    if (own && m_canEdit && !m.IsDeleted()) {
        if (ImGui::SmallButton("Edit")) {
            m_editId = m.id;
            m_editRoot = row.isReply ? m.replyToId : std::string();
            m_editBody = sm.text.text;
            m_editSubject = m.Subject();
        }
        ImGui::SameLine();
    }
    if (m_canDelete) {
        if (!m.IsDeleted()) {
            if (ImGui::SmallButton("Delete")) {
                m_confirmId = m.id;
                m_confirmRoot = row.isReply ? m.replyToId : std::string();
                m_confirmPreview = sm.preview;
                m_openConfirm = true;
            }
        } else if (ImGui::SmallButton("Undo delete")) {
            m_undoRequest = {m.id, row.isReply ? m.replyToId : std::string()};
        }
        m_rects.lastDelete = LastItemRect();
    }
    ImGui::SameLine(width - linkW - 4);
    ImGui::BeginDisabled(!m.HasWebUrl());
    if (ImGui::SmallButton("Copy link")) ImGui::SetClipboardText(m.WebUrl().c_str());
    ImGui::EndDisabled();
    if (!m.HasWebUrl() && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("Graph sent no webUrl for this message");

    // Body: mentions, links and emoji highlighted; as many lines as it needs, up to a cap.
    const ImGuiStyle& style = ImGui::GetStyle();
    ImVec2 bodyPos(p.x + indent, p.y + kRowPad + ImGui::GetFrameHeight() + style.ItemSpacing.y);
    ImGui::SetCursorScreenPos(bodyPos);
    float bodyH = ImGui::GetTextLineHeight();
    if (m.IsDeleted())
        ImGui::TextDisabled("This message was deleted.");
    else
        bodyH = RichText(sm.text, width - indent - 8, kMaxBodyLines, colors::kText);

    // Footer, only when there is something for it: replies (a toggle), Reply, attachments.
    ImGui::SetCursorScreenPos(ImVec2(p.x + indent, bodyPos.y + bodyH + style.ItemSpacing.y));
    bool any = false;
    if (!row.isReply && !m.IsDeleted() && m_canReply) {
        if (ImGui::SmallButton("Reply")) {
            m_replyRequest = m.id;
            m_replyRequestAuthor = m.From().DisplayName();
        }
        any = true;
    }
    if (!row.isReply && !sm.replies.empty()) {
        if (any) ImGui::SameLine();
        bool open = m_expanded.count(m.id) > 0;
        char label[64];
        std::snprintf(label, sizeof label, "%s %zu %s", open ? "\xE2\x96\xBE" : "\xE2\x96\xB8",
                      sm.replies.size(), sm.replies.size() == 1 ? "reply" : "replies");
        if (ImGui::SmallButton(label)) SetExpanded(m.id, !open);
        any = true;
    }
    for (const auto& a : m.Attachments()) {
        if (any) ImGui::SameLine();
        std::string name = !a.name.empty()                                   ? a.name
                           : a.contentType == "messageReference"             ? "quoted message"
                           : a.contentType.find("card") != std::string::npos ? "card"
                                                                             : a.contentType;
        if (Chip(name.c_str(), colors::kAccent) && !a.contentUrl.empty())
            ImGui::SetClipboardText(a.contentUrl.c_str());
        if (ImGui::IsItemHovered())
            ImGui::SetTooltip("%s\n%s", a.contentType.c_str(),
                              a.contentUrl.empty() ? "(no link)" : "click to copy its link");
        any = true;
    }
    // Advance exactly `height` (the Dummy adds the item spacing), as the layout measured.
    ImGui::SetCursorScreenPos(ImVec2(p.x, p.y + height - ImGui::GetStyle().ItemSpacing.y));
    ImGui::Dummy(ImVec2(0, 0));
    ImGui::PopID();
}

}  // namespace cdeck::ui
