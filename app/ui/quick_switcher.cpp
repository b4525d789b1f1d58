#include "ui/quick_switcher.hpp"

#include <algorithm>

#include "ui/fuzzy.hpp"
#include "ui/theme.hpp"

namespace cdeck::ui {

void QuickSwitcher::Rank() {
    m_results.clear();
    std::string q = m_query;
    for (const auto& c : m_all) {
        int score = q.empty() ? 1 : FuzzyScore(q, c.label);
        if (score <= 0) continue;
        Candidate r = c;
        r.score = score;
        m_results.push_back(std::move(r));
    }
    std::stable_sort(m_results.begin(), m_results.end(),
                     [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (m_results.size() > kMaxResults) m_results.resize(kMaxResults);
    m_ranked = q;
    m_cursor = 0;
}

void QuickSwitcher::Choose(const UiContext& ctx, const Candidate& c) {
    if (!ctx.selection) return;
    if (c.channelId.empty()) {
        ctx.selection->page = Page::kWall;
        ctx.selection->teamId = c.teamId;
        ctx.selection->scrollToTeam = c.teamId;
    } else {
        ctx.selection->OpenChannel(c.teamId, c.channelId);
        if (ctx.submit) {
            core::Command cmd;
            cmd.kind = core::Command::Kind::kRefreshChannel;
            cmd.teamId = c.teamId;
            cmd.channelId = c.channelId;
            ctx.submit(std::move(cmd));
        }
    }
}

void QuickSwitcher::Draw(const UiContext& ctx) {
    if (m_openRequested) {
        ImGui::OpenPopup("Quick switcher");
        m_openRequested = false;
        m_query[0] = '\0';
        m_version = ~0ull;  // rebuild
    }
    const ImGuiViewport* vp = ImGui::GetMainViewport();
    ImGui::SetNextWindowPos(
        ImVec2(vp->WorkPos.x + vp->WorkSize.x * 0.5f, vp->WorkPos.y + vp->WorkSize.y * 0.18f),
        ImGuiCond_Always, ImVec2(0.5f, 0.0f));
    ImGui::SetNextWindowSize(ImVec2(std::min(720.0f, vp->WorkSize.x * 0.9f), 0));
    m_open = ImGui::BeginPopupModal(
        "Quick switcher", nullptr,
        ImGuiWindowFlags_NoTitleBar | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_AlwaysAutoResize);
    if (!m_open) return;
    if (ctx.snapshot->version != m_version) {
        m_version = ctx.snapshot->version;
        m_all.clear();
        for (const auto& t : ctx.snapshot->teams) {
            m_all.push_back({t->team.id, "", t->team.displayName, 0});
            for (const auto& id : t->channelIds)
                if (const auto* c = ctx.snapshot->FindChannel(id))
                    m_all.push_back(
                        {t->team.id, id, t->team.displayName + " / " + c->channel.displayName, 0});
        }
        Rank();
    }
    ImGui::TextDisabled(
        "Go to a channel or team \xC2\xB7 \xE2\x86\x91\xE2\x86\x93 to move, Enter to open, Esc to "
        "close");
    if (ImGui::IsWindowAppearing()) ImGui::SetKeyboardFocusHere();
    ImGui::SetNextItemWidth(-1);
    bool enter = ImGui::InputTextWithHint("##q", "Type part of a name, e.g. \"pay dep\"", m_query,
                                          sizeof m_query, ImGuiInputTextFlags_EnterReturnsTrue);
    if (m_ranked != m_query) Rank();
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow)))
        m_cursor = std::min<int>(m_cursor + 1, static_cast<int>(m_results.size()) - 1);
    if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow)))
        m_cursor = std::max(0, m_cursor - 1);
    bool close = ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape));
    // Keep focus in the query box while arrows move the highlighted result.
    if (!ImGui::IsAnyItemActive() && !close) ImGui::SetKeyboardFocusHere(-1);
    for (int i = 0; i < static_cast<int>(m_results.size()); ++i) {
        const Candidate& c = m_results[i];
        ImGui::PushID(i);
        std::string label = (c.channelId.empty() ? "Team   " : "#  ") + c.label;
        if (ImGui::Selectable(label.c_str(), i == m_cursor)) {
            Choose(ctx, c);
            close = true;
        }
        ImGui::PopID();
    }
    if (m_results.empty()) ImGui::TextColored(colors::kDim, "No team or channel matches.");
    if (enter && !m_results.empty()) {
        Choose(ctx, m_results[static_cast<size_t>(m_cursor)]);
        close = true;
    }
    if (close) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
}

}  // namespace cdeck::ui
