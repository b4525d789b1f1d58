#pragma once
// Where the wall's team cards go. Pure geometry over the card sizes; no ImGui. Any thread.
//
// Cards are packed into columns, each into the shortest column so far (a card is as tall as
// its own channel list, not as its row's tallest). The layout chosen is the first that puts
// every card on screen, trying:
//   1. two-line rows, with the fewest columns (the widest cards) that fit;
//   2. one-line rows, the same way;
//   3. one-line rows under one-line card headers (no team description), the same way;
//   4. pages: as 3, at the most columns, teams in order, as many per page as fit.
//      The wall shows the pages in turn and says how many teams are off screen.
// A single team taller than the screen gets a page of its own and scrolls.
#include <cstddef>
#include <vector>

namespace cdeck::ui {

struct WallMetrics {
    float cardNarrowest = 340;       // the narrowest a card gets to fit the screen
    float spacing = 8;               // between cards, both ways
    float headerHeight = 60;         // a card's header and padding
    float compactHeaderHeight = 40;  // the same with a one-line header
    float rowHeight = 42;            // a two-line channel row
    float denseRowHeight = 25;       // a one-line channel row
};

struct CardPlace {
    size_t team = 0;  // index into the teams given
    float x = 0, y = 0, w = 0, h = 0;
};

struct WallPage {
    std::vector<CardPlace> cards;
    float height = 0;  // of the tallest column
};

struct WallLayout {
    bool dense = false;           // one-line channel rows
    bool compactHeaders = false;  // one-line card headers
    int columns = 1;
    std::vector<WallPage> pages;  // one page when every card fits on screen
    bool Paged() const { return pages.size() > 1; }
};

// channelsPerTeam: the number of channel rows of each team's card, in wall order.
WallLayout LayoutWall(const std::vector<size_t>& channelsPerTeam, float width, float height,
                      const WallMetrics& metrics);

// The kiosk wall: every team card scales with one type size s (a card needs unitW x unitH
// times s). FitKiosk picks the largest s in [minPx, maxPx] with which every card fits on
// one screen, over every column count (and, within 15 % of that size, the layout that
// leaves the most room for channel rows); when none does, s is minPx and the teams go in
// pages of `perPage`. Cards fill their grid cell (cardW x cardH), so the space left below
// a card's summary holds its channel detail.
struct KioskFit {
    float type = 0;  // s: the body type size in px
    int columns = 1, rows = 1;
    size_t perPage = 0;  // teams per page (all of them when not paged)
    float cardW = 0, cardH = 0;
    bool Paged(size_t teams) const { return perPage < teams; }
};
KioskFit FitKiosk(size_t teams, float width, float height, float spacing, float unitW, float unitH,
                  float minPx, float maxPx);

}  // namespace cdeck::ui
