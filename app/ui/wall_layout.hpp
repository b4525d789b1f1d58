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

}  // namespace cdeck::ui
