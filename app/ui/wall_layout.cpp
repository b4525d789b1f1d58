#include "ui/wall_layout.hpp"

#include <algorithm>
#include <cmath>

namespace cdeck::ui {
namespace {

struct Packing {
    const std::vector<size_t>& channels;
    const WallMetrics& m;
    int columns;
    float cardWidth;
    bool dense;
    bool compact;

    float CardHeight(size_t team) const {
        float row = dense ? m.denseRowHeight : m.rowHeight;
        return (compact ? m.compactHeaderHeight : m.headerHeight) +
               row * static_cast<float>(channels[team]);
    }
    // Each card goes to the shortest column so far (the leftmost on a tie).
    WallPage Pack(size_t first, size_t last) const {
        WallPage page;
        std::vector<float> bottom(static_cast<size_t>(columns), 0.0f);
        for (size_t t = first; t < last; ++t) {
            size_t col = static_cast<size_t>(std::min_element(bottom.begin(), bottom.end()) -
                                             bottom.begin());
            CardPlace c;
            c.team = t;
            c.x = static_cast<float>(col) * (cardWidth + m.spacing);
            c.y = bottom[col];
            c.w = cardWidth;
            c.h = CardHeight(t);
            bottom[col] += c.h + m.spacing;
            page.cards.push_back(c);
        }
        float tallest = *std::max_element(bottom.begin(), bottom.end());
        page.height = std::max(0.0f, tallest - m.spacing);
        return page;
    }
};

float CardWidth(float width, int columns, float spacing) {
    return std::floor((width - spacing * static_cast<float>(columns - 1)) /
                      static_cast<float>(columns));
}

}  // namespace

WallLayout LayoutWall(const std::vector<size_t>& channelsPerTeam, float width, float height,
                      const WallMetrics& m) {
    WallLayout out;
    const size_t n = channelsPerTeam.size();
    const int maxCols =
        std::max(1, static_cast<int>((width + m.spacing) / (m.cardNarrowest + m.spacing)));
    const std::pair<bool, bool> levels[] = {{false, false}, {true, false}, {true, true}};
    for (auto [dense, compact] : levels) {
        for (int c = 1; c <= maxCols; ++c) {
            Packing p{channelsPerTeam, m, c, CardWidth(width, c, m.spacing), dense, compact};
            WallPage page = p.Pack(0, n);
            if (page.height <= height) {
                out.dense = dense;
                out.compactHeaders = compact;
                out.columns = c;
                out.pages.push_back(std::move(page));
                return out;
            }
        }
    }
    // Too many for one screen: pages of as many teams (in order) as fit each.
    out.dense = true;
    out.compactHeaders = true;
    out.columns = maxCols;
    Packing p{channelsPerTeam, m, maxCols, CardWidth(width, maxCols, m.spacing), true, true};
    size_t first = 0;
    while (first < n) {
        size_t last = first + 1;  // a page holds at least one team, however tall
        while (last < n && p.Pack(first, last + 1).height <= height) ++last;
        out.pages.push_back(p.Pack(first, last));
        first = last;
    }
    if (out.pages.empty()) out.pages.emplace_back();
    return out;
}

KioskFit FitKiosk(size_t teams, float width, float height, float spacing, float unitW, float unitH,
                  float minPx, float maxPx) {
    KioskFit best;
    std::vector<KioskFit> fits;
    const size_t n = std::max<size_t>(teams, 1);
    auto cell = [&](int cols, int rows, KioskFit& f) {
        f.columns = cols;
        f.rows = rows;
        f.cardW = std::floor((width - spacing * static_cast<float>(cols - 1)) / cols);
        f.cardH = std::floor((height - spacing * static_cast<float>(rows - 1)) / rows);
    };
    for (int cols = 1; cols <= static_cast<int>(n); ++cols) {
        KioskFit f;
        cell(cols, static_cast<int>((n + cols - 1) / cols), f);
        f.type = std::min({f.cardW / unitW, f.cardH / unitH, maxPx});
        f.perPage = teams;
        if (f.type > best.type) best = f;
        fits.push_back(f);
    }
    if (best.type >= minPx) {
        // Within 15 % of the largest type, the layout that leaves the most height under each
        // card's summary, for its channel rows.
        auto room = [&](const KioskFit& f) { return f.cardH - unitH * f.type; };
        for (const KioskFit& f : fits)
            if (f.type >= std::max(minPx, best.type * 0.85f) && room(f) > room(best)) best = f;
        return best;
    }
    // Nothing fits at the smallest readable type: as many cards as fit, a page at a time.
    KioskFit f;
    f.type = minPx;
    int cols = std::max(1, static_cast<int>((width + spacing) / (unitW * minPx + spacing)));
    int rows = std::max(1, static_cast<int>((height + spacing) / (unitH * minPx + spacing)));
    cell(cols, rows, f);
    f.perPage = static_cast<size_t>(cols) * static_cast<size_t>(rows);
    return f;
}

}  // namespace cdeck::ui
