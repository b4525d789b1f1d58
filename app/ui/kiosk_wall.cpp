#include "ui/kiosk_wall.hpp"

#include <imgui_internal.h>  // LogRenderedText: kiosk text reaches ImGui's log like Text()

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {
namespace {

// A card in units of the type size s (FitKiosk scales it).
constexpr float kPad = 0.5f;       // around the card's content
constexpr float kGap = 0.6f;       // between the big cells
constexpr float kName = 1.15f;     // the team's name
constexpr float kNameLine = 1.5f;  // the name and the space under it
constexpr float kBig = 2.2f;       // the big numbers
constexpr float kBigLine = 2.35f;
constexpr float kLabelLine = 1.25f;  // a big number's label
constexpr float kRow = 1.3f;         // a channel row, in units of the smallest type
constexpr float kMaxOverMin = 1.5f;  // the body type grows to 1.5x the smallest

const char* const kLabels[] = {"msgs \xC2\xB7 15 min", "all fresh",   "first sync",
                               "no throttling",        "Retry-After", "429s \xC2\xB7 1 min"};
const char* const kValues[] = {"8888", "WAIT", "OK"};

ImU32 Col(ImVec4 c) {
    return ImGui::ColorConvertFloat4ToU32(c);
}

float TextW(ImFont* f, float size, const char* text) {
    return f->CalcTextSizeA(size, FLT_MAX, 0.0f, text).x;
}

// Draws `text` at `pos`, cut with an ellipsis to `maxW` (0: no limit), and logs it like
// ImGui::Text so that screen-text tests read it. Returns the width drawn.
float Put(ImFont* f, float size, ImVec2 pos, ImVec4 color, const std::string& text,
          float maxW = 0) {
    std::string shown = text;
    if (maxW > 0 && TextW(f, size, shown.c_str()) > maxW) {
        const std::string ellipsis = "\xE2\x80\xA6";
        size_t len = shown.size();
        while (len > 0) {
            do --len;
            while (len > 0 && (static_cast<unsigned char>(text[len]) & 0xC0) == 0x80);
            shown = text.substr(0, len) + ellipsis;
            if (TextW(f, size, shown.c_str()) <= maxW) break;
        }
        if (len == 0) shown = ellipsis;
    }
    ImGui::GetWindowDrawList()->AddText(f, size, pos, Col(color), shown.c_str());
    ImGui::LogRenderedText(&pos, shown.c_str());
    ImGui::LogRenderedText(nullptr, "\n");
    return TextW(f, size, shown.c_str());
}

// A level marker by shape as well as colour: dot (good), triangle (amber), square (red).
void Marker(Level level, ImVec2 centre, float r) {
    ImDrawList* dl = ImGui::GetWindowDrawList();
    ImU32 c = Col(LevelColor(level));
    switch (level) {
        case Level::kBad:
            dl->AddRectFilled(ImVec2(centre.x - r, centre.y - r),
                              ImVec2(centre.x + r, centre.y + r), c);
            break;
        case Level::kWarn:
            dl->AddTriangleFilled(ImVec2(centre.x, centre.y - r),
                                  ImVec2(centre.x + r, centre.y + r),
                                  ImVec2(centre.x - r, centre.y + r), c);
            break;
        case Level::kGood:
            dl->AddCircleFilled(centre, r, c);
            break;
        case Level::kNone:
            dl->AddCircle(centre, r, c, 0, std::max(1.0f, r * 0.3f));
            break;
    }
}

Level ItemLevel(const AttentionItem& a) {
    if (a.reasons & (kReasonCritical | kReasonGated | kReasonStale)) return Level::kBad;
    return Level::kWarn;
}

}  // namespace

void KioskWall::Measure() {
    float cell = 0;
    for (const char* v : kValues) cell = std::max(cell, TextW(m_type.display, kBig, v));
    for (const char* l : kLabels) cell = std::max(cell, TextW(m_type.body, 1.0f, l));
    m_unitW = 2 * kPad + 3 * cell + 2 * kGap;
    m_unitH = 2 * kPad + kNameLine + kBigLine + kLabelLine;
}

void KioskWall::Draw(const UiContext& ctx, const Inputs& in,
                     std::unordered_map<std::string, Rect>& cards,
                     std::vector<std::string>& visible) {
    ImFont* fallback = ImGui::GetFont();
    m_type.body = ctx.fonts.kiosk ? ctx.fonts.kiosk : fallback;
    m_type.bold = ctx.fonts.kioskBold ? ctx.fonts.kioskBold : m_type.body;
    m_type.display = ctx.fonts.display ? ctx.fonts.display : m_type.bold;
    const float screen = ImGui::GetMainViewport()->Size.y;
    m_minPx = kKioskMinPx * std::max(1.0f, screen / 1080.0f) *
              std::max(1.0f, static_cast<float>(ctx.settings->fontScale));
    Measure();
    const ImVec2 origin = ImGui::GetCursorScreenPos();
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float spacing = std::round(m_minPx * 0.5f);
    float top = DrawStrip(ctx, in, origin, avail.x) + spacing;
    const core::Snapshot& snap = *ctx.snapshot;
    const std::vector<size_t>& order = *in.order;
    float height = avail.y - top;
    m_fit = FitKiosk(order.size(), avail.x, height, spacing, m_unitW, m_unitH, m_minPx,
                     m_minPx * kMaxOverMin);
    if (m_fit.Paged(order.size())) {  // a line says which page is up
        height -= m_minPx * 1.4f;
        m_fit =
            FitKiosk(order.size(), avail.x, height, spacing, m_unitW, m_unitH, m_minPx, m_minPx);
    }
    const size_t per = std::max<size_t>(1, m_fit.perPage);
    m_pages = std::max<size_t>(1, (order.size() + per - 1) / per);
    if (m_pageSince == 0 || ctx.now < m_pageSince) m_pageSince = ctx.now;
    // Something new needs attention: back to the first page, where the troubled teams are.
    // Looked at only when the attention was rebuilt, not every frame.
    bool fresh = false;
    if (in.attention->generation != m_attentionSeen) {
        m_attentionSeen = in.attention->generation;
        std::unordered_set<std::string> troubled;
        for (const auto& a : in.attention->items) {
            fresh = fresh || !m_troubled.count(a.channelId);
            troubled.insert(a.channelId);
        }
        m_troubled.swap(troubled);
    }
    if (fresh) {
        m_page = 0;
        m_pageSince = ctx.now;
    }
    if (ctx.now - m_pageSince >= kPageMillis) {
        m_page = (m_page + 1) % m_pages;
        m_pageSince = ctx.now;
    }
    if (m_page >= m_pages) m_page = 0;
    const size_t first = m_page * per, last = std::min(order.size(), first + per);
    for (size_t i = first; i < last; ++i) {
        const size_t slot = i - first;
        ImVec2 at(
            origin.x + static_cast<float>(slot % m_fit.columns) * (m_fit.cardW + spacing),
            origin.y + top + static_cast<float>(slot / m_fit.columns) * (m_fit.cardH + spacing));
        const core::TeamData& team = *snap.teams[order[i]];
        cards[team.team.id] = {at, ImVec2(at.x + m_fit.cardW, at.y + m_fit.cardH)};
        DrawCard(ctx, in, team, at, visible);
    }
    if (m_pages > 1) {
        char line[128];
        std::snprintf(line, sizeof line,
                      "Teams %zu\xE2\x80\x93%zu of %zu  \xC2\xB7  page %zu of %zu, every %lld s",
                      first + 1, last, order.size(), m_page + 1, m_pages,
                      static_cast<long long>(kPageMillis / 1000));
        Put(m_type.body, m_minPx, ImVec2(origin.x, origin.y + avail.y - m_minPx * 1.2f),
            colors::kWarn, line, avail.x);
    }
    ImGui::Dummy(avail);
}

float KioskWall::DrawStrip(const UiContext& ctx, const Inputs& in, ImVec2 at, float width) {
    const Attention& att = *in.attention;
    const float title = m_minPx * 1.25f;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    if (att.AllQuiet()) {
        Marker(Level::kGood, ImVec2(at.x + title * 0.4f, at.y + title * 0.55f), title * 0.3f);
        float x = at.x + title;
        x += Put(m_type.bold, title, ImVec2(x, at.y), colors::kGood, "All quiet");
        char rest[160];
        std::snprintf(rest, sizeof rest,
                      "   %zu channels fresh \xC2\xB7 nothing throttled \xC2\xB7 no surges "
                      "\xC2\xB7 no critical items",
                      att.channels);
        Put(m_type.body, m_minPx, ImVec2(x, at.y + (title - m_minPx) * 0.7f), colors::kDim, rest,
            at.x + width - x);
        return title * 1.3f;
    }
    char head[96];
    std::snprintf(head, sizeof head, "NEEDS ATTENTION  %zu of %zu channels", att.items.size(),
                  att.channels);
    Put(m_type.bold, title, at, colors::kBad, head, width);
    float y = at.y + title * 1.35f, x = at.x;
    const float chipH = m_minPx * 1.45f, pad = m_minPx * 0.45f;
    int line = 0;
    for (size_t i = 0; i < att.items.size(); ++i) {
        const AttentionItem& a = att.items[i];
        const std::string text = AttentionLabel(*ctx.snapshot, a);
        float w = std::min(width, TextW(m_type.body, m_minPx, text.c_str()) + pad * 3 + m_minPx);
        char more[48];
        std::snprintf(more, sizeof more, "+%zu more", att.items.size() - i);
        const float moreW = TextW(m_type.body, m_minPx, more) + pad * 2;
        const bool lastLine = line == 1;
        if (x > at.x && x + w + (lastLine ? moreW : 0) > at.x + width) {
            if (lastLine) {  // two lines at most: say how many are left
                Put(m_type.body, m_minPx, ImVec2(x + pad, y + (chipH - m_minPx) / 2), colors::kDim,
                    more);
                break;
            }
            ++line;
            x = at.x;
            y += chipH + pad;
        }
        const Level level = ItemLevel(a);
        ImVec4 bg = LevelColor(level);
        bg.w = 0.22f;
        dl->AddRectFilled(ImVec2(x, y), ImVec2(x + w, y + chipH), Col(bg), m_minPx * 0.3f);
        Marker(level, ImVec2(x + pad + m_minPx * 0.3f, y + chipH / 2), m_minPx * 0.28f);
        Put(m_type.body, m_minPx, ImVec2(x + pad + m_minPx, y + (chipH - m_minPx) / 2),
            colors::kText, text, w - pad * 2 - m_minPx);
        x += w + pad;
    }
    return y + chipH - at.y;
}

void KioskWall::DrawCard(const UiContext& ctx, const Inputs& in, const core::TeamData& team,
                         ImVec2 at, std::vector<std::string>& visible) {
    const float s = m_fit.type, w = m_fit.cardW, h = m_fit.cardH;
    ImDrawList* dl = ImGui::GetWindowDrawList();
    int count = 0, stale = 0, late = 0, synced = 0;
    const core::UiSettings& us = *ctx.settings;
    for (const auto& id : team.channelIds)
        if (const core::ChannelData* c = ctx.snapshot->FindChannel(id)) {
            count += c->last15Min;
            Level f =
                FreshnessLevel(*c, ctx.now, ctx.pollIntervalSeconds, us.amberFactor, us.redFactor);
            stale += f == Level::kBad;
            late += f == Level::kWarn;
            synced += f != Level::kNone;
        }
    const int troubled = in.attention->TeamCount(team.team.id);
    const ThrottleFacts th = in.teamThrottle ? in.teamThrottle(team.team.id) : ThrottleFacts{};
    Level level = troubled == 0 && late == 0 ? Level::kGood : Level::kWarn;
    if (stale > 0 || th.gated) level = Level::kBad;
    dl->AddRectFilled(at, ImVec2(at.x + w, at.y + h), Col(colors::kCard), s * 0.3f);
    dl->AddRectFilled(at, ImVec2(at.x + s * 0.22f, at.y + h), Col(LevelColor(level)), s * 0.3f,
                      ImDrawFlags_RoundCornersLeft);
    const float x0 = at.x + kPad * s, inner = w - 2 * kPad * s;
    float y = at.y + kPad * s;
    Put(m_type.bold, kName * s, ImVec2(x0, y), colors::kText, team.team.displayName, inner);
    y += kNameLine * s;
    struct Cell {
        std::string value;
        const char* label;
        ImVec4 color;
    };
    char num[16];
    std::snprintf(num, sizeof num, "%d", count);
    Cell cells[3] = {{num, kLabels[0], count > 0 ? colors::kAccent : colors::kDim}, {}, {}};
    if (stale > 0 || late > 0) {
        std::snprintf(num, sizeof num, "%d", stale > 0 ? stale : late);
        cells[1] = {num, stale > 0 ? "stale" : "late", stale > 0 ? colors::kBad : colors::kWarn};
    } else {
        cells[1] = {synced ? "OK" : "\xE2\x80\xA6", synced ? kLabels[1] : kLabels[2],
                    synced ? colors::kGood : colors::kDim};
    }
    if (th.gated) {
        cells[2] = {kValues[1], kLabels[4], colors::kBad};
    } else if (th.recent429 > 0) {
        std::snprintf(num, sizeof num, "%d", th.recent429);
        cells[2] = {num, kLabels[5], colors::kWarn};
    } else {
        cells[2] = {"OK", kLabels[3], colors::kGood};
    }
    const float cellW = (inner - 2 * kGap * s) / 3;
    for (int i = 0; i < 3; ++i) {
        const float x = x0 + static_cast<float>(i) * (cellW + kGap * s);
        Put(m_type.display, kBig * s, ImVec2(x, y), cells[i].color, cells[i].value, cellW);
        Put(m_type.body, s, ImVec2(x, y + kBigLine * s), colors::kDim, cells[i].label, cellW);
    }
    const float detailTop = at.y + (m_unitH - kPad) * s;
    DrawChannels(ctx, in, team, ImVec2(x0, detailTop), inner, at.y + h - kPad * s - detailTop,
                 visible);
}

void KioskWall::DrawChannels(const UiContext& ctx, const Inputs& in, const core::TeamData& team,
                             ImVec2 at, float width, float height,
                             std::vector<std::string>& visible) {
    const float d = m_minPx, rowH = kRow * d;
    const int rows = static_cast<int>(height / rowH);
    if (rows < 1) return;
    std::vector<const core::ChannelData*> list;
    for (const auto& id : team.channelIds)
        if (const core::ChannelData* c = ctx.snapshot->FindChannel(id)) list.push_back(c);
    auto score = [&](const core::ChannelData* c) {
        const AttentionItem* a = in.attention->Find(c->channel.id);
        return a ? a->score : 0;
    };
    std::stable_sort(list.begin(), list.end(), [&](const auto* a, const auto* b) {
        int sa = score(a), sb = score(b);
        return sa != sb ? sa > sb : a->last15Min > b->last15Min;
    });
    size_t shown = list.size();
    if (static_cast<int>(list.size()) > rows) shown = static_cast<size_t>(std::max(1, rows - 1));
    float y = at.y;
    for (size_t i = 0; i < shown; ++i) {
        const core::ChannelData& c = *list[i];
        const AttentionItem* trouble = in.attention->Find(c.channel.id);
        Level level = trouble ? ItemLevel(*trouble) : Level::kGood;
        Marker(level, ImVec2(at.x + d * 0.3f, y + d * 0.55f), d * 0.26f);
        char n[16];
        std::snprintf(n, sizeof n, "%d", c.last15Min);
        const float nw = TextW(m_type.body, d, n);
        std::string name = "# " + c.channel.displayName;
        if (trouble) name += "  " + DescribeAttention(*trouble);
        // No row left for the "+N more" line: the last row says it.
        if (i + 1 == shown && shown < list.size() && static_cast<int>(shown) >= rows)
            name += "  \xC2\xB7 +" + std::to_string(list.size() - shown) + " more";
        Put(m_type.body, d, ImVec2(at.x + d * 0.9f, y), colors::kText, name, width - d * 1.5f - nw);
        Put(m_type.body, d, ImVec2(at.x + width - nw, y),
            c.last15Min > 0 ? colors::kText : colors::kDim, n);
        visible.push_back(c.channel.id);
        y += rowH;
    }
    if (shown < list.size() && static_cast<int>(shown) < rows) {
        char more[64];
        std::snprintf(more, sizeof more, "+%zu more channels", list.size() - shown);
        Put(m_type.body, d, ImVec2(at.x + d * 0.9f, y), colors::kDim, more, width);
    }
}

}  // namespace cdeck::ui
