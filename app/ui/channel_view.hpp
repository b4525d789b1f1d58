#pragma once
// The thread reader: the selected channel's root messages, each followed by its replies,
// oldest at the top and newest at the bottom. Rows have a fixed height so the list goes
// through ImGuiListClipper; the flattened row list is a derived cache rebuilt only when
// the channel's data version changes.
#include <string>
#include <vector>

#include "ui/view.hpp"

namespace cdeck::ui {

class ChannelView final : public View {
  public:
    const char* WindowName() const override { return "Channel###channel"; }

    // Ids of the messages submitted (drawn) last frame, in order. Tests read this.
    const std::vector<std::string>& LastDrawnMessageIds() const { return m_drawnIds; }
    const std::string& ShownChannelId() const { return m_channelId; }
    size_t RowCount() const { return m_rows.size(); }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    struct Row {
        core::StoredMessagePtr message;  // keeps the message alive while cached
        bool isReply = false;
    };
    void Rebuild(const core::ChannelData& c);
    void DrawRow(const UiContext& ctx, const Row& row, float width, float height);

    std::string m_channelId;
    uint64_t m_cachedVersion = 0;
    core::ChannelDataPtr m_cachedData;  // the data m_rows was built from
    std::vector<Row> m_rows;
    std::vector<std::string> m_drawnIds;
    bool m_scrollToBottom = true;
};

}  // namespace cdeck::ui
