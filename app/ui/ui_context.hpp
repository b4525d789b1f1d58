#pragma once
// What every view gets each frame. Built by AppUi on the UI thread; views must not keep
// pointers into it past the frame (except SnapshotPtr copies, which are safe to hold).
#include <functional>

#include "store/store.hpp"
#include "sync/sync_engine.hpp"

struct ImFont;

namespace cdeck::ui {

struct Fonts {
    ImFont* regular = nullptr;  // null: ImGui's default font
    ImFont* bold = nullptr;
    ImFont* large = nullptr;  // banners, wall headings
    ImFont* small = nullptr;
};

// Cross-view selection state. Owned by AppUi; views read and write it on the UI thread.
struct Selection {
    std::string teamId;
    std::string channelId;
};

struct UiContext {
    core::SnapshotPtr snapshot;  // never null
    core::UnixMillis now = 0;
    bool demoTenant = false;
    double pollIntervalSeconds = 5.0;  // for freshness colouring
    Fonts fonts;
    Selection* selection = nullptr;
    std::function<void(core::Command)> submit;  // may be empty in tests
};

}  // namespace cdeck::ui
