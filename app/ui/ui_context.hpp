#pragma once
// What every view gets each frame. Built by AppUi on the UI thread; views must not keep
// pointers into it past the frame (except SnapshotPtr copies, which are safe to hold).
#include <functional>
#include <string>
#include <unordered_map>

#include "config/config.hpp"
#include "model/records.hpp"
#include "store/store.hpp"
#include "sync/command.hpp"

struct ImFont;

namespace cdeck::core {
class ModerationEngine;
}

namespace cdeck::ui {

struct Fonts {
    ImFont* regular = nullptr;  // null: ImGui's default font
    ImFont* bold = nullptr;
    ImFont* large = nullptr;  // banners, wall headings
    ImFont* small = nullptr;
    // The kiosk wall's: body text at its smallest readable size (kKioskMinPx at 1080p),
    // bold, and the display face for its big numbers. Null: fall back to the above.
    ImFont* kiosk = nullptr;
    ImFont* kioskBold = nullptr;
    ImFont* display = nullptr;
};

// The smallest type the kiosk wall draws at 1080p, read from across a room; it scales with
// the screen's height (48 px at 2160p).
inline constexpr float kKioskMinPx = 24.0f;

// The pages of the main area, in tab order (Ctrl+1 .. Ctrl+8).
enum class Page {
    kWall,
    kActivity,
    kReader,
    kMetrics,
    kAccount,
    kSettings,
    kReview,
    kAudit,
    kCount
};
const char* PageTitle(Page page);  // "Wall", "Activity", ...
const char* PageKey(Page page);    // the config name: "wall", "activity", ...
bool PageFromKey(const std::string& key, Page& out);

// Cross-view navigation state. Owned by AppUi; views read and write it on the UI thread.
struct Selection {
    std::string teamId;
    std::string channelId;
    Page page = Page::kWall;
    std::string scrollToTeam;  // the wall brings this team's card into view, then clears it

    // Opens a channel in the thread reader.
    void OpenChannel(const std::string& team, const std::string& channel) {
        teamId = team;
        channelId = channel;
        page = Page::kReader;
    }
};

// Unread counts: how many messages and replies each channel had when the user last read
// it. A channel starts read once its first sync (the backfill) is done, so history is not
// counted as unread. UI thread only.
class ReadState {
  public:
    static size_t Total(const core::ChannelData& c) { return c.messages.size() + c.replyCount; }
    size_t Unread(const core::ChannelData& c) {
        if (!c.backfilled && !m_seen.count(c.channel.id)) return 0;
        auto [it, fresh] = m_seen.try_emplace(c.channel.id, Total(c));
        return Total(c) > it->second ? Total(c) - it->second : 0;
    }
    void MarkRead(const core::ChannelData& c) { m_seen[c.channel.id] = Total(c); }

  private:
    std::unordered_map<std::string, size_t> m_seen;
};

struct UiContext {
    core::SnapshotPtr snapshot;  // never null
    core::UnixMillis now = 0;
    bool demoTenant = false;
    bool kiosk = false;                          // chrome hidden, pages rotate
    double pollIntervalSeconds = 5.0;            // the expected interval, for freshness colouring
    const core::UiSettings* settings = nullptr;  // never null inside AppUi::Frame
    Fonts fonts;
    Selection* selection = nullptr;
    ReadState* reads = nullptr;
    std::function<void(core::Command)> submit;  // may be empty in tests
    // Thread-safe: runs a function on the UI thread at the start of the next frame (for
    // command completions, which arrive on worker threads). May be empty in tests.
    std::function<void(std::function<void()>)> post;
    // Drafts by key ("channel:<id>", "reply:<channel>:<root>"), owned by AppUi, and the
    // function that saves one (remove: it was sent or emptied). May be null / empty.
    std::unordered_map<std::string, core::Draft>* drafts = nullptr;
    std::function<void(const core::Draft&, bool remove)> saveDraft;
    // Writes an export file off the UI thread; `done` gets the path or "error: ...".
    std::function<void(const std::string& name, std::string content,
                       std::function<void(std::string)> done)>
        writeExport;
    // Runs a moderator action on the moderation engine, off the UI thread. May be empty.
    std::function<void(std::function<void(core::ModerationEngine&)>)> moderate;
};

}  // namespace cdeck::ui
