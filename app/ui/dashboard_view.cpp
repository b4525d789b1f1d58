#include "ui/dashboard_view.hpp"

#include <algorithm>
#include <cmath>

#include "moderation/review.hpp"
#include "ui/status_strip.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

namespace {
constexpr float kCardNarrowest = 340.0f;  // the narrowest a card gets to fit the screen

// Row and header heights are fixed so that card heights can be computed before drawing
// and every row advances exactly the same amount. A dense row drops the last-message line.
float RowHeight(bool dense) {
    return ImGui::GetTextLineHeight() * (dense ? 1.0f : 2.0f) +
           ImGui::GetStyle().ItemSpacing.y * 2.0f;
}
float HeaderHeight(bool compact) {
    return ImGui::GetTextLineHeightWithSpacing() * (compact ? 1.0f : 2.0f) +
           ImGui::GetStyle().ItemSpacing.y + 2.0f;
}
}  // namespace

void DashboardView::SendCommand(const UiContext& ctx, core::Command::Kind kind,
                                const core::ChannelData& c, bool flag) {
    if (!ctx.submit) return;
    core::Command cmd;
    cmd.kind = kind;
    cmd.teamId = c.channel.teamId;
    cmd.channelId = c.channel.id;
    cmd.flag = flag;
    ctx.submit(std::move(cmd));
}

void DashboardView::RebuildThrottle(const UiContext& ctx) {
    const core::MetricsSnapshotPtr& mp = ctx.snapshot->sync.metrics;
    const core::MetricsSnapshot* m = mp.get();
    // "Last minute" moves with the clock, so the counts are redone once a second too.
    if (mp == m_throttleFrom && ctx.now - m_throttleAt < 1000) return;
    m_throttleFrom = mp;
    m_throttleAt = ctx.now;
    m_classGated = false;
    m_gatedTeams.clear();
    m_gatedChannels.clear();
    m_429Team.clear();
    m_429Channel.clear();
    if (!m) return;
    for (const auto& g : m->gatedScopes) {
        if (g == "class:get_message" || g == "app") m_classGated = true;
        if (g.rfind("team:", 0) == 0) m_gatedTeams.insert(g.substr(5));
        if (g.rfind("channel:", 0) == 0) m_gatedChannels.insert(g.substr(8));
    }
    for (const auto& e : m->recentThrottles) {
        if (e.at < ctx.now - 60000) continue;
        if (!e.channelId.empty()) m_429Channel[e.channelId]++;
        if (!e.teamId.empty()) m_429Team[e.teamId]++;
    }
}

DashboardView::Throttle DashboardView::ThrottleOf(const core::ChannelData& c) const {
    Throttle t;
    t.gated =
        m_classGated || m_gatedTeams.count(c.channel.teamId) || m_gatedChannels.count(c.channel.id);
    if (auto it = m_429Channel.find(c.channel.id); it != m_429Channel.end())
        t.recent429 = it->second;
    return t;
}

ThrottleFacts DashboardView::TeamThrottle(const std::string& teamId) const {
    ThrottleFacts t;
    t.gated = m_classGated || m_gatedTeams.count(teamId);
    if (auto it = m_429Team.find(teamId); it != m_429Team.end()) t.recent429 = it->second;
    return t;
}

void DashboardView::Refresh(const UiContext& ctx) {
    RebuildThrottle(ctx);
    RebuildAttention(ctx);
}

void DashboardView::RebuildAttention(const UiContext& ctx) {
    const core::Snapshot& snap = *ctx.snapshot;
    const uint64_t review = snap.review ? snap.review->version : 0;
    // At most four times a second for new data (a busy tenant publishes every frame), and
    // once a second for the clock (staleness); a changed review queue at once.
    const core::UnixMillis age = ctx.now - m_attentionAt;
    const bool fresh = age >= 0 && age < (snap.version == m_attentionSnap ? 1000 : 250);
    if (review == m_reviewVersion && fresh) return;
    if (review != m_reviewVersion) m_critical = CriticalByChannel(snap.review.get());
    m_attentionSnap = snap.version;
    m_reviewVersion = review;
    m_attentionAt = ctx.now;
    AttentionOptions o;
    o.now = ctx.now;
    o.expectedSeconds = ctx.pollIntervalSeconds;
    o.redFactor = ctx.settings->redFactor;
    o.surgeFactor = ctx.settings->surgeFactor;
    o.surgeMin = ctx.settings->surgeMinMessages;
    o.baseline = [this, now = ctx.now](const core::ChannelData& c) {
        return m_baselines.Get(c, now);
    };
    const uint64_t generation = m_attention.generation + 1;
    m_attention = ComputeAttention(
        snap, o,
        [this](const core::ChannelData& c) {
            Throttle t = ThrottleOf(c);
            return ThrottleFacts{t.gated, t.recent429};
        },
        m_critical);
    m_attention.generation = generation;
    m_order = TeamOrder(snap, m_attention);
}

void DashboardView::DrawAttentionStrip(const UiContext& ctx) {
    m_stripRects.clear();
    const Attention& att = m_attention;
    if (att.AllQuiet()) {
        LevelMarker(Level::kGood, 4.5f);
        ImGui::SameLine();
        ImGui::TextColored(colors::kGood, "All quiet");
        ImGui::SameLine();
        ImGui::TextDisabled(
            "\xC2\xB7  %zu channels fresh \xC2\xB7 nothing throttled \xC2\xB7 no surges "
            "\xC2\xB7 no critical review items",
            att.channels);
        return;
    }
    LevelMarker(Level::kBad, 4.5f);
    ImGui::SameLine();
    ImGui::TextColored(colors::kBad, "Needs attention: %zu of %zu channels", att.items.size(),
                       att.channels);
    // One line, so that the cards keep their room: as many entries as fit, then a count.
    const float right = ImGui::GetWindowContentRegionMax().x;
    for (size_t i = 0; i < att.items.size(); ++i) {
        const AttentionItem& a = att.items[i];
        const core::ChannelData* c = ctx.snapshot->FindChannel(a.channelId);
        std::string label = AttentionLabel(*ctx.snapshot, a) + "###att" + a.channelId;
        float w = ImGui::CalcTextSize(label.c_str(), nullptr, true).x +
                  ImGui::GetStyle().FramePadding.x * 2;
        ImGui::SameLine();
        const float more = i + 1 < att.items.size() ? ImGui::CalcTextSize("+999 more").x : 0;
        if (ImGui::GetCursorPosX() + w + more > right) {
            ImGui::TextDisabled("+%zu more", att.items.size() - i);
            break;
        }
        bool bad = a.reasons & (kReasonCritical | kReasonGated | kReasonStale);
        ImVec4 bg = bad ? colors::kBad : colors::kWarn;
        bg.w = 0.30f;
        ImGui::PushStyleColor(ImGuiCol_Button, bg);
        if (ImGui::Button(label.c_str()) && ctx.selection && c)
            ctx.selection->OpenChannel(c->channel.teamId, c->channel.id);
        ImGui::PopStyleColor();
        m_stripRects[a.channelId] = {ImGui::GetItemRectMin(), ImGui::GetItemRectMax()};
    }
}

void DashboardView::DrawKiosk(const UiContext& ctx) {
    KioskWall::Inputs in;
    in.attention = &m_attention;
    in.order = &m_order;
    in.teamThrottle = [this](const std::string& team) { return TeamThrottle(team); };
    std::unordered_map<std::string, KioskWall::Rect> cards;
    m_kiosk.Draw(ctx, in, cards, m_visibleNow);
    for (const auto& [id, r] : cards) m_cardRects[id] = {r.min, r.max};
}

void DashboardView::DrawContent(const UiContext& ctx) {
    m_rowRects.clear();
    m_cardRects.clear();
    m_rowsDrawn = 0;
    m_visibleNow.clear();
    RebuildThrottle(ctx);
    const core::Snapshot& snap = *ctx.snapshot;
    if (snap.teams.empty()) {
        ImGui::TextDisabled("No teams yet. %s", snap.sync.phase == "error"
                                                    ? snap.sync.lastError.c_str()
                                                    : "Waiting for the first sync\xE2\x80\xA6");
        return;
    }
    RebuildAttention(ctx);
    m_kioskShown = ctx.kiosk;
    if (ctx.kiosk) {
        DrawKiosk(ctx);
        TellVisible(ctx);
        return;
    }
    DrawAttentionStrip(ctx);
    // Fit the screen (ui/wall_layout.hpp); when nothing fits, show the teams a page at a
    // time, in turn, and say how many are off screen.
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    UpdateLayout(snap, avail);
    if (m_layout.Paged()) AdvancePage(ctx);
    const WallPage& page = m_layout.pages[m_page];
    DrawPageLine(ctx, page);
    const ImVec2 origin = ImGui::GetCursorPos();
    for (const CardPlace& place : page.cards) {
        const core::TeamData& team = *snap.teams[m_order[place.team]];
        ImGui::SetCursorPos(ImVec2(origin.x + place.x, origin.y + place.y));
        if (ctx.selection && ctx.selection->scrollToTeam == team.team.id) {
            ImGui::SetScrollHereY(0.0f);
            ctx.selection->scrollToTeam.clear();
        }
        // Cards wholly off screen (a team taller than the screen) are skipped.
        if (!ImGui::IsRectVisible(ImVec2(place.w, place.h))) continue;
        ImVec2 at = ImGui::GetCursorScreenPos();
        m_cardRects[team.team.id] = {at, ImVec2(at.x + place.w, at.y + place.h)};
        DrawTeamCard(ctx, team, ImVec2(place.w, place.h));
    }
    ImGui::SetCursorPos(origin);
    ImGui::Dummy(ImVec2(avail.x, page.height));  // the scroll extent of this page
    TellVisible(ctx);
}

void DashboardView::TellVisible(const UiContext& ctx) {
    // Tell the engine which channels are on screen (and open in the reader) when that
    // changes: it polls them sooner.
    if (ctx.selection && !ctx.selection->channelId.empty())
        m_visibleNow.push_back(ctx.selection->channelId);
    std::sort(m_visibleNow.begin(), m_visibleNow.end());
    m_visibleNow.erase(std::unique(m_visibleNow.begin(), m_visibleNow.end()), m_visibleNow.end());
    if (m_visibleNow != m_visibleSent && ctx.submit) {
        m_visibleSent = m_visibleNow;
        core::Command cmd;
        cmd.kind = core::Command::Kind::kSetVisible;
        cmd.channelIds = m_visibleSent;
        ctx.submit(std::move(cmd));
    }
}

void DashboardView::UpdateLayout(const core::Snapshot& snap, ImVec2 avail) {
    m_channelsNow.clear();
    for (size_t t : m_order) m_channelsNow.push_back(snap.teams[t]->channelIds.size());
    const float rowHeight = RowHeight(false);  // follows the font scale
    if (!m_layout.pages.empty() && m_channelsNow == m_layoutKey.channels &&
        avail.x == m_layoutKey.width && avail.y == m_layoutKey.height &&
        rowHeight == m_layoutKey.rowHeight)
        return;
    WallMetrics m;
    m.cardNarrowest = kCardNarrowest;
    m.spacing = ImGui::GetStyle().ItemSpacing.x;
    m.headerHeight = HeaderHeight(false) + ImGui::GetStyle().WindowPadding.y * 2.0f;
    m.compactHeaderHeight = HeaderHeight(true) + ImGui::GetStyle().WindowPadding.y * 2.0f;
    m.rowHeight = rowHeight;
    m.denseRowHeight = RowHeight(true);
    m_layout = LayoutWall(m_channelsNow, avail.x, avail.y, m);
    if (m_layout.Paged())  // the page line takes a line of the height
        m_layout =
            LayoutWall(m_channelsNow, avail.x, avail.y - ImGui::GetTextLineHeightWithSpacing(), m);
    m_layoutKey = {m_channelsNow, avail.x, avail.y, rowHeight};
    if (m_page >= m_layout.pages.size()) m_page = 0;
}

void DashboardView::AdvancePage(const UiContext& ctx) {
    const core::UnixMillis now = ctx.now;
    // A team asked for (the tree, the switcher) brings its page up and restarts the turn.
    if (ctx.selection && !ctx.selection->scrollToTeam.empty())
        for (size_t p = 0; p < m_layout.pages.size(); ++p)
            for (const CardPlace& c : m_layout.pages[p].cards)
                if (ctx.snapshot->teams[m_order[c.team]]->team.id == ctx.selection->scrollToTeam) {
                    m_page = p;
                    m_pageSince = now;
                }
    if (m_pageSince == 0 || now < m_pageSince) m_pageSince = now;
    if (now - m_pageSince >= kPageMillis) {
        m_page = (m_page + 1) % m_layout.pages.size();
        m_pageSince = now;
    }
}

void DashboardView::DrawPageLine(const UiContext& ctx, const WallPage& page) {
    if (!m_layout.Paged()) return;
    const size_t total = ctx.snapshot->teams.size();
    const size_t first = page.cards.empty() ? 0 : page.cards.front().team + 1;
    const size_t last = page.cards.empty() ? 0 : page.cards.back().team + 1;
    double next = std::max<double>(0, (kPageMillis - (ctx.now - m_pageSince)) / 1000.0);
    ImGui::TextColored(colors::kWarn,
                       "Teams %zu\xE2\x80\x93%zu of %zu  \xC2\xB7  %zu teams off screen  "
                       "\xC2\xB7  page %zu of %zu, next in %.0f s",
                       first, last, total, total - page.cards.size(), m_page + 1,
                       m_layout.pages.size(), std::ceil(next));
}

double DashboardView::SecondsUntilNextPage(core::UnixMillis now) const {
    if (m_kioskShown) return m_kiosk.SecondsUntilNextPage(now);
    if (!m_layout.Paged() || m_pageSince == 0) return 1e9;
    return std::max(0.0, (kPageMillis - (now - m_pageSince)) / 1000.0);
}

void DashboardView::DrawTeamCard(const UiContext& ctx, const core::TeamData& team, ImVec2 size) {
    ImGui::PushID(team.team.id.c_str());
    ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
    if (ImGui::BeginChild("card", size, true,
                          ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
        int recent = 0;
        size_t total = 0;
        for (const auto& id : team.channelIds)
            if (const core::ChannelData* c = ctx.snapshot->FindChannel(id)) {
                recent += c->last15Min;
                total += c->messages.size() + c->replyCount;
            }
        ImVec2 top = ImGui::GetCursorScreenPos();
        if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
        TextClipped(team.team.displayName, size.x - 230, colors::kText);
        if (ctx.fonts.bold) ImGui::PopFont();
        ImGui::SameLine(size.x - 200);
        ImGui::TextColored(recent > 0 ? colors::kAccent : colors::kDim, "%d in 15 min", recent);
        ImGui::SameLine(size.x - 90);
        ImGui::TextDisabled("%zu msgs", total);
        // Second line (unless the wall needs one-line headers to fit): the team's throttle
        // state, else its description. The tiles show the throttle state either way.
        if (!m_layout.compactHeaders) DrawTeamStateLine(team, size.x);
        ImGui::Separator();
        ImGui::SetCursorScreenPos(ImVec2(top.x, top.y + HeaderHeight(m_layout.compactHeaders)));
        float width = ImGui::GetContentRegionAvail().x;
        for (const auto& id : team.channelIds)
            if (const core::ChannelData* c = ctx.snapshot->FindChannel(id))
                DrawChannelRow(ctx, *c, width);
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
    ImGui::PopID();
}

void DashboardView::DrawTeamStateLine(const core::TeamData& team, float width) {
    bool gated = m_classGated || m_gatedTeams.count(team.team.id);
    auto t429 = m_429Team.find(team.team.id);
    if (gated || t429 != m_429Team.end()) {
        LevelMarker(gated ? Level::kBad : Level::kWarn, 4.0f);
        ImGui::SameLine();
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s%d \xC3\x97 429 in the last minute",
                      gated ? "GATED (waiting out Retry-After)  \xC2\xB7  " : "",
                      t429 == m_429Team.end() ? 0 : t429->second);
        TextClipped(buf, width - 40, gated ? colors::kBad : colors::kWarn);
    } else {
        TextClipped(team.team.description, width - 24, colors::kDim);
    }
}

void DashboardView::DrawChannelRow(const UiContext& ctx, const core::ChannelData& c, float width) {
    ImGui::PushID(c.channel.id.c_str());
    const float lh = ImGui::GetTextLineHeight() + ImGui::GetStyle().ItemSpacing.y * 0.5f;
    const float rowH = RowHeight(m_layout.dense);
    ImVec2 start = ImGui::GetCursorScreenPos();
    bool selected = ctx.selection && ctx.selection->channelId == c.channel.id;
    if (ImGui::Selectable("##row", selected, ImGuiSelectableFlags_AllowItemOverlap,
                          ImVec2(width, rowH - ImGui::GetStyle().ItemSpacing.y))) {
        if (ctx.selection) ctx.selection->OpenChannel(c.channel.teamId, c.channel.id);
        SendCommand(ctx, core::Command::Kind::kRefreshChannel, c);
    }
    if (ImGui::IsItemVisible()) m_visibleNow.push_back(c.channel.id);
    if (ImGui::BeginPopupContextItem("row-menu")) {
        ImGui::TextDisabled("# %s", c.channel.displayName.c_str());
        ImGui::Separator();
        if (ImGui::MenuItem("Refresh now"))
            SendCommand(ctx, core::Command::Kind::kRefreshChannel, c);
        if (ImGui::MenuItem(c.pinned ? "Unpin" : "Pin (poll more often)"))
            SendCommand(ctx, core::Command::Kind::kPin, c, !c.pinned);
        if (ImGui::MenuItem(c.paused ? "Resume syncing" : "Pause syncing"))
            SendCommand(ctx, core::Command::Kind::kPause, c, !c.paused);
        ImGui::EndPopup();
    }
    m_rowRects[c.channel.id] = {ImGui::GetItemRectMin(), ImGui::GetItemRectMax()};
    ++m_rowsDrawn;

    // Line 1: freshness, name, sparkline, count
    const core::UiSettings& us = *ctx.settings;
    Level fresh = FreshnessLevel(c, ctx.now, ctx.pollIntervalSeconds, us.amberFactor, us.redFactor);
    ImGui::SetCursorScreenPos(ImVec2(start.x + 2, start.y));
    LevelMarker(fresh, 4.5f);
    if (ImGui::IsItemHovered())
        ImGui::SetTooltip(
            "Last successful sync: %s\nExpected every %.0f s; amber past %.0f s, red "
            "past %.0f s",
            c.lastSyncOk ? core::FormatAgo(c.lastSyncOk, ctx.now).c_str() : "never",
            ctx.pollIntervalSeconds, ctx.pollIntervalSeconds * us.amberFactor,
            ctx.pollIntervalSeconds * us.redFactor);
    ImGui::SameLine();
    std::string name = "# " + c.channel.displayName;
    if (c.pinned) name += "  [pinned]";
    if (c.paused) name += "  [paused]";
    TextClipped(name, width * 0.40f, c.paused ? colors::kDim : colors::kText);
    ImGui::SameLine(width * 0.44f);
    Sparkline("spark", c.sparkline.data(), static_cast<int>(c.sparkline.size()),
              ImVec2(width * 0.30f, ImGui::GetTextLineHeight()),
              c.last15Min > 0 ? colors::kAccent : colors::kDim);
    ImGui::SameLine(width * 0.76f);
    // Freshness as an age, and the throttle state.
    Throttle th = ThrottleOf(c);
    if (th.gated) {
        ImGui::TextColored(colors::kBad, "gated");
    } else if (th.recent429 > 0) {
        ImGui::TextColored(colors::kWarn,
                           "%d\xC3\x97"
                           "429",
                           th.recent429);
    } else {
        std::string age =
            c.lastSyncOk ? FormatAge((ctx.now - c.lastSyncOk) / 1000.0) : "\xE2\x80\x94";
        ImGui::TextColored(LevelColor(fresh == Level::kGood ? Level::kNone : fresh), "%s",
                           age.c_str());
    }
    ImGui::SameLine(width - 40);
    ImGui::TextColored(c.last15Min > 0 ? colors::kText : colors::kDim, "%3d", c.last15Min);

    // Line 2: last message author, preview, age
    ImGui::SetCursorScreenPos(ImVec2(start.x + 14, start.y + lh));
    if (m_layout.dense) {
        // no second line
    } else if (c.last) {
        std::string who = c.last->message.From().DisplayName();
        std::string ago = core::FormatAgo(c.lastActivity, ctx.now);
        float agoW = ImGui::CalcTextSize(ago.c_str()).x;
        float whoW = std::min(ImGui::CalcTextSize(who.c_str()).x, width * 0.3f);
        TextClipped(who, whoW, colors::kAccent);
        ImGui::SameLine();
        TextClipped(c.last->preview, std::max(10.0f, width - whoW - agoW - 40), colors::kDim);
        ImGui::SameLine(width - agoW);
        ImGui::TextDisabled("%s", ago.c_str());
    } else if (!c.lastError.empty()) {
        TextClipped(c.lastError, width - 20, colors::kBad);
    } else {
        ImGui::TextDisabled(c.backfilled ? "no messages" : "loading\xE2\x80\xA6");
    }
    ImGui::SetCursorScreenPos(ImVec2(start.x, start.y + rowH));
    ImGui::PopID();
}

}  // namespace cdeck::ui
