#include "ui/nav_view.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {
namespace {
std::string Lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}
}  // namespace

std::string NavView::Neighbour(const std::string& current, int step) const {
    if (m_order.empty()) return {};
    auto it = std::find(m_order.begin(), m_order.end(), current);
    if (it == m_order.end()) return step > 0 ? m_order.front() : m_order.back();
    long i = (it - m_order.begin()) + step;
    i = std::clamp<long>(i, 0, static_cast<long>(m_order.size()) - 1);
    return m_order[static_cast<size_t>(i)];
}

size_t NavView::UnreadShown(const std::string& id) const {
    auto it = m_unread.find(id);
    return it == m_unread.end() ? 0 : it->second;
}

bool NavView::Matches(const std::string& team, const std::string& channel) const {
    if (m_filter.empty()) return true;
    return Lower(channel).find(m_filter) != std::string::npos ||
           Lower(team).find(m_filter) != std::string::npos;
}

void NavView::DrawChannel(const UiContext& ctx, const core::ChannelData& c, const char* idSuffix) {
    ImGui::PushID(c.channel.id.c_str());
    ImGui::PushID(idSuffix);
    size_t unread = ctx.reads ? ctx.reads->Unread(c) : 0;
    m_unread[c.channel.id] = unread;
    bool selected = ctx.selection && ctx.selection->channelId == c.channel.id;
    float w = ImGui::GetContentRegionAvail().x;
    ImVec2 p = ImGui::GetCursorScreenPos();
    if (ImGui::Selectable("##ch", selected, 0, ImVec2(w, 0)) && ctx.selection) {
        ctx.selection->OpenChannel(c.channel.teamId, c.channel.id);
        if (ctx.submit) {
            core::Command cmd;
            cmd.kind = core::Command::Kind::kRefreshChannel;
            cmd.teamId = c.channel.teamId;
            cmd.channelId = c.channel.id;
            ctx.submit(std::move(cmd));
        }
    }
    ImVec2 a = ImGui::GetItemRectMin(), b = ImGui::GetItemRectMax();
    if (m_rects.find(c.channel.id) == m_rects.end())
        m_rects[c.channel.id] = ImVec4(a.x, a.y, b.x, b.y);
    ImGui::SetCursorScreenPos(p);
    char badge[32] = "";
    if (unread > 0) std::snprintf(badge, sizeof badge, "%zu", unread > 999 ? 999 : unread);
    float badgeW = unread > 0 ? ImGui::CalcTextSize(badge).x + 12 : 0;
    std::string label = "# " + c.channel.displayName;
    TextClipped(label, w - badgeW - 4,
                c.paused     ? colors::kDim
                : unread > 0 ? colors::kText
                             : colors::kDim);
    if (unread > 0) {
        ImDrawList* dl = ImGui::GetWindowDrawList();
        ImVec2 bp(p.x + w - badgeW, p.y);
        dl->AddRectFilled(bp, ImVec2(bp.x + badgeW - 2, bp.y + ImGui::GetTextLineHeight()),
                          ImGui::GetColorU32(colors::kAccent), ImGui::GetTextLineHeight() * 0.5f);
        dl->AddText(ImVec2(bp.x + 5, bp.y), ImGui::GetColorU32(ImVec4(0, 0, 0, 1)), badge);
    }
    ImGui::PopID();
    ImGui::PopID();
}

void NavView::DrawContent(const UiContext& ctx) {
    m_order.clear();
    m_rects.clear();
    m_unread.clear();
    if (m_focusFilter) {
        ImGui::SetKeyboardFocusHere();
        m_focusFilter = false;
    }
    ImGui::SetNextItemWidth(-1);
    if (ImGui::InputTextWithHint("##filter", "Filter channels (Ctrl+F)", m_filterBuf,
                                 sizeof m_filterBuf))
        m_filter = Lower(m_filterBuf);
    if (ImGui::IsItemFocused() && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape))) {
        m_filterBuf[0] = '\0';
        m_filter.clear();
    }
    ImGui::Separator();
    const core::Snapshot& s = *ctx.snapshot;
    auto teamName = [&](const std::string& teamId) -> const std::string& {
        static const std::string kNone;
        for (const auto& t : s.teams)
            if (t->team.id == teamId) return t->team.displayName;
        return kNone;
    };
    // Pinned channels first, as their own group.
    bool anyPinned = false;
    for (const auto& t : s.teams)
        for (const auto& id : t->channelIds)
            if (const auto* c = s.FindChannel(id); c && c->pinned) anyPinned = true;
    if (anyPinned && ImGui::TreeNodeEx("Pinned", ImGuiTreeNodeFlags_DefaultOpen |
                                                     ImGuiTreeNodeFlags_SpanAvailWidth)) {
        for (const auto& t : s.teams)
            for (const auto& id : t->channelIds)
                if (const auto* c = s.FindChannel(id);
                    c && c->pinned && Matches(teamName(c->channel.teamId), c->channel.displayName))
                    DrawChannel(ctx, *c, "pinned");
        ImGui::TreePop();
    }
    for (const auto& t : s.teams) {
        bool teamMatch =
            m_filter.empty() || Lower(t->team.displayName).find(m_filter) != std::string::npos;
        bool any = teamMatch;
        size_t unreadTeam = 0;
        for (const auto& id : t->channelIds)
            if (const auto* c = s.FindChannel(id)) {
                if (Matches(t->team.displayName, c->channel.displayName)) any = true;
                if (ctx.reads) unreadTeam += ctx.reads->Unread(*c);
            }
        if (!any) continue;
        ImGui::PushID(t->team.id.c_str());
        if (!m_filter.empty()) ImGui::SetNextItemOpen(true);
        char label[256];
        if (unreadTeam)
            std::snprintf(label, sizeof label, "%s  (%zu)###team", t->team.displayName.c_str(),
                          unreadTeam);
        else
            std::snprintf(label, sizeof label, "%s###team", t->team.displayName.c_str());
        bool open = ImGui::TreeNodeEx(label, ImGuiTreeNodeFlags_DefaultOpen |
                                                 ImGuiTreeNodeFlags_SpanAvailWidth |
                                                 ImGuiTreeNodeFlags_OpenOnArrow);
        if (ImGui::IsItemClicked() && !ImGui::IsItemToggledOpen() && ctx.selection) {
            ctx.selection->page = Page::kWall;
            ctx.selection->scrollToTeam = t->team.id;
        }
        if (open) {
            for (const auto& id : t->channelIds)
                if (const auto* c = s.FindChannel(id);
                    c && (teamMatch || Matches(t->team.displayName, c->channel.displayName))) {
                    DrawChannel(ctx, *c, "tree");
                    m_order.push_back(id);
                }
            ImGui::TreePop();
        } else {
            for (const auto& id : t->channelIds)
                if (const auto* c = s.FindChannel(id);
                    c && (teamMatch || Matches(t->team.displayName, c->channel.displayName)))
                    m_order.push_back(id);
        }
        ImGui::PopID();
    }
    if (m_order.empty() && !m_filter.empty())
        ImGui::TextDisabled("No channel matches \"%s\".", m_filterBuf);
}

}  // namespace cdeck::ui
