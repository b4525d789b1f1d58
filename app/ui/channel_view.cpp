#include "ui/channel_view.hpp"

#include <algorithm>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

void ChannelView::Rebuild(const core::ChannelData& c) {
    m_rows.clear();
    m_rows.reserve(c.messages.size() + c.replyCount);
    for (const auto& root : c.messages) {
        m_rows.push_back({root, false});
        for (const auto& r : root->replies) m_rows.push_back({r, true});
    }
}

void ChannelView::DrawContent(const UiContext& ctx) {
    m_drawnIds.clear();
    const std::string selected = ctx.selection ? ctx.selection->channelId : std::string();
    auto it = ctx.snapshot->channels.find(selected);
    if (selected.empty() || it == ctx.snapshot->channels.end()) {
        ImGui::Spacing();
        ImGui::TextDisabled("Select a channel on the wall to read its messages.");
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
    }
    if (m_cachedVersion != data->version || m_cachedData != data) {
        Rebuild(*data);
        m_cachedVersion = data->version;
        m_cachedData = data;
    }

    // Header
    std::string teamName;
    for (const auto& t : ctx.snapshot->teams)
        if (t->team.id == data->channel.teamId) teamName = t->team.displayName;
    if (ctx.fonts.large) ImGui::PushFont(ctx.fonts.large);
    ImGui::Text("# %s", data->channel.displayName.c_str());
    if (ctx.fonts.large) ImGui::PopFont();
    ImGui::TextDisabled(
        "%s  \xC2\xB7  %zu messages, %zu replies  \xC2\xB7  synced %s", teamName.c_str(),
        data->messages.size(), data->replyCount,
        data->lastSyncOk ? core::FormatAgo(data->lastSyncOk, ctx.now).c_str() : "never");
    if (!data->lastError.empty())
        ImGui::TextColored(colors::kBad, "Last sync failed: %s", data->lastError.c_str());
    ImGui::Separator();

    float lh = ImGui::GetTextLineHeight();
    float rowH = lh * 4.0f + ImGui::GetStyle().ItemSpacing.y * 2.0f;
    ImGui::PushStyleColor(ImGuiCol_ChildBg, ImVec4(0, 0, 0, 0));
    if (ImGui::BeginChild("messages", ImVec2(0, 0), false)) {
        bool atBottom = ImGui::GetScrollY() >= ImGui::GetScrollMaxY() - 2.0f;
        float width = ImGui::GetContentRegionAvail().x;
        ImGuiListClipper clipper;
        clipper.Begin(static_cast<int>(m_rows.size()));  // measures the first row
        while (clipper.Step()) {
            for (int i = clipper.DisplayStart; i < clipper.DisplayEnd; ++i)
                DrawRow(ctx, m_rows[i], width, rowH);
        }
        clipper.End();
        // Follow new messages only when the reader was already at the bottom.
        if (m_scrollToBottom || atBottom) ImGui::SetScrollHereY(1.0f);
        m_scrollToBottom = false;
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

void ChannelView::DrawRow(const UiContext& ctx, const Row& row, float width, float height) {
    const core::StoredMessage& sm = *row.message;
    const core::ChatMessage& m = sm.message;
    ImGui::PushID(m.id.c_str());
    m_drawnIds.push_back(m.id);
    ImVec2 p = ImGui::GetCursorScreenPos();
    float indent = row.isReply ? 28.0f : 0.0f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    if (!row.isReply)
        dl->AddLine(ImVec2(p.x, p.y), ImVec2(p.x + width, p.y),
                    ImGui::GetColorU32(ImVec4(1, 1, 1, 0.06f)));
    else
        dl->AddRectFilled(ImVec2(p.x + 12, p.y + 4), ImVec2(p.x + 14, p.y + height - 4),
                          ImGui::GetColorU32(colors::kDim));
    ImGui::SetCursorScreenPos(ImVec2(p.x + indent, p.y + 4));

    // Header: author, time, markers
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    std::string who = m.from.DisplayName();
    ImGui::TextColored(colors::kAccent, "%s", who.empty() ? "(unknown sender)" : who.c_str());
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::SameLine();
    ImGui::TextDisabled("%s", core::FormatAgo(m.createdDateTime, ctx.now).c_str());
    if (m.importance == "urgent") {
        ImGui::SameLine();
        ImGui::TextColored(colors::kBad, "URGENT");
    } else if (m.importance == "high") {
        ImGui::SameLine();
        ImGui::TextColored(colors::kWarn, "IMPORTANT");
    }
    if (m.lastEditedDateTime) {
        ImGui::SameLine();
        ImGui::TextDisabled("(edited)");
    }
    if (m.IsDeleted()) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kBad, "(deleted)");
    }
    if (!m.subject.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kText, "\xE2\x80\x94 %s", m.subject.c_str());
    }

    // Body: two wrapped lines, clipped; a long body continues in the full thread later.
    ImVec2 bodyPos(p.x + indent, ImGui::GetCursorScreenPos().y);
    ImGui::SetCursorScreenPos(bodyPos);
    float bodyH = ImGui::GetTextLineHeight() * 2.0f;
    ImGui::PushClipRect(bodyPos, ImVec2(p.x + width, bodyPos.y + bodyH), true);
    ImGui::PushTextWrapPos(p.x + width - 8 - ImGui::GetWindowPos().x + ImGui::GetScrollX());
    const std::string& text = sm.text.text;
    size_t shown = std::min<size_t>(text.size(), 600);
    ImGui::PushStyleColor(ImGuiCol_Text, m.IsDeleted() ? colors::kDim : colors::kText);
    ImGui::TextUnformatted(text.data(), text.data() + shown);
    ImGui::PopStyleColor();
    ImGui::PopTextWrapPos();
    ImGui::PopClipRect();

    // Footer: replies, reactions, attachments
    ImGui::SetCursorScreenPos(ImVec2(p.x + indent, bodyPos.y + bodyH + 2));
    bool any = false;
    if (!row.isReply && !sm.replies.empty()) {
        ImGui::TextColored(colors::kDim, "%zu %s", sm.replies.size(),
                           sm.replies.size() == 1 ? "reply" : "replies");
        any = true;
    }
    if (!m.reactions.empty()) {
        if (any) ImGui::SameLine();
        ImGui::TextColored(colors::kDim, "%zu %s", m.reactions.size(),
                           m.reactions.size() == 1 ? "reaction" : "reactions");
        any = true;
    }
    if (!m.mentions.empty()) {
        if (any) ImGui::SameLine();
        ImGui::TextColored(colors::kMention, "%zu %s", m.mentions.size(),
                           m.mentions.size() == 1 ? "mention" : "mentions");
        any = true;
    }
    if (!m.attachments.empty()) {
        if (any) ImGui::SameLine();
        ImGui::TextColored(colors::kDim, "%zu attachment(s)", m.attachments.size());
    }
    ImGui::SetCursorScreenPos(ImVec2(p.x, p.y + height));
    ImGui::Dummy(ImVec2(0, 0));
    ImGui::PopID();
}

}  // namespace cdeck::ui
