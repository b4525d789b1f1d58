#pragma once
// The thread reader: the selected channel's root messages, oldest at the top and newest at
// the bottom, each with its replies (collapsed to a count until expanded). A row is as tall
// as its message: its text's wrapped lines (up to kMaxBodyLines), and a footer line only
// when it has replies, a Reply button or attachments; reactions and mentions sit inline on
// the header. The flattened row list and its heights are a derived cache rebuilt only when
// the channel's data version, the expanded set, the width or the font changes; heights of
// rows whose message did not change are reused, and a prefix sum of them finds the rows on
// screen by binary search, so a frame costs O(visible rows).
//
// It also holds the composer for a new post, offered only when the token may post.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <string>
#include <unordered_set>
#include <vector>

#include "model/markup.hpp"
#include "ui/view.hpp"

namespace cdeck::ui {

class ChannelView final : public View {
  public:
    const char* WindowName() const override { return "Channel###channel"; }

    // Ids of the messages submitted (drawn) last frame, in order. Tests read this.
    const std::vector<std::string>& LastDrawnMessageIds() const { return m_drawnIds; }
    const std::string& ShownChannelId() const { return m_channelId; }
    size_t RowCount() const { return m_rows.size(); }
    // The laid-out height of each row and the rows measured at the last layout (tests).
    const std::vector<float>& RowHeights() const { return m_heights; }
    size_t RowsMeasuredLastLayout() const { return m_measured; }
    static constexpr int kMaxBodyLines = 6;
    // Scrolls so that row `index` is at the top on the next frame.
    void ScrollToRow(size_t index) { m_scrollToRow = index; }
    bool Expanded(const std::string& rootId) const { return m_expanded.count(rootId) > 0; }
    void SetExpanded(const std::string& rootId, bool on);
    // Whether "New post" was enabled last frame, and why not.
    bool PostEnabled() const { return m_postEnabled; }
    const std::string& PostDisabledReason() const { return m_postWhy; }
    // The composer's state (tests drive it).
    bool ComposerOpen() const { return m_composing; }
    bool ComposerIsReply() const { return !m_replyTo.empty(); }
    bool ComposerIsEdit() const { return !m_editId.empty(); }
    size_t DeletionCount() const { return m_deletions.size(); }
    const std::string& ComposerText() const { return m_body; }
    // Opens the composer with `text` once a channel is shown and posting is allowed
    // (--compose, for screenshots and scripted demos).
    void RequestCompose(std::string text) { m_composeRequest = std::move(text); }
    const std::string& ComposerStatus() const { return m_composeStatus; }
    // Where the composer's controls were drawn last frame (screen space); tests click them.
    struct Rects {
        ImVec4 newPost, body, send;
        ImVec4 lastDelete;     // the Delete (or Undo delete) button of the last row drawn
        ImVec4 confirmDelete;  // the confirmation's Delete button
        ImVec4 toastUndo;      // the toast's Undo button
        ImVec4 firstPerson;    // the first person the @-mention list offers
    };
    const Rects& LastRects() const { return m_rects; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    struct Row {
        core::StoredMessagePtr message;  // keeps the message alive while cached
        bool isReply = false;
    };
    void Rebuild(const core::ChannelData& c);
    // Heights for the rows (reusing those of unchanged messages) and their prefix sums.
    void Layout(float width);
    float MeasureRow(const Row& row, float width) const;
    bool HasFooter(const Row& row) const;
    void DrawRows(const UiContext& ctx, float width);
    void DrawHeader(const UiContext& ctx, const core::ChannelData& c);
    void DrawRow(const UiContext& ctx, const Row& row, float width, float height);
    void DrawComposer(const UiContext& ctx, const core::ChannelData& c);

    std::string m_channelId;
    uint64_t m_cachedVersion = 0;
    core::ChannelDataPtr m_cachedData;  // the data m_rows was built from
    bool m_dirty = true;                // the expanded set changed
    std::vector<Row> m_rows;
    // Layout: heights per row, offsets[i] = top of row i (offsets[n] = total), and what
    // they were computed for. m_laidRows: the rows the heights belong to.
    std::vector<float> m_heights, m_offsets;
    std::vector<const core::StoredMessage*> m_laidRows;
    std::vector<bool> m_laidReply;
    float m_layoutWidth = -1, m_layoutFont = 0;
    bool m_layoutCanReply = false, m_layoutDirty = true;
    size_t m_measured = 0;
    size_t m_scrollToRow = static_cast<size_t>(-1);
    std::unordered_set<std::string> m_expanded;  // root ids whose replies are shown
    std::vector<std::string> m_drawnIds;
    bool m_scrollToBottom = true;
    bool m_postEnabled = false;
    std::string m_postWhy;
    // Composer: a new post in the channel, or a reply in the thread `m_replyTo`.
    void OpenComposer(const UiContext& ctx, const core::ChannelData& c, const std::string& replyTo,
                      const std::string& replyToAuthor);
    void Send(const UiContext& ctx, const core::ChannelData& c);
    void SaveDraftIfDue(const UiContext& ctx, bool now);
    bool m_composing = false;
    bool m_sending = false;
    char m_subject[256] = {};
    int m_importance = 0;  // normal, high, urgent
    std::string m_body;    // grows with the text (InputText resize callback)
    std::string m_composeStatus;
    bool m_offerResend = false;
    std::string m_composeChannel, m_composeTeam;  // the channel the draft is for
    std::string m_replyTo, m_replyToAuthor;       // set: a reply in that thread
    std::string m_draftKey;
    core::UnixMillis m_editedAt = 0;  // last keystroke not yet saved (0: saved)
    // Edit, delete and undo from the reader.
    struct Deletion {
        std::string teamId, channelId, messageId, replyId, preview;
        core::UnixMillis at = 0;
        bool pending = true, undone = false;
        std::string error;
    };
    void RequestDelete(const UiContext& ctx, const core::ChannelData& c,
                       const core::StoredMessage& m, bool undo);
    void DrawDeletions(const UiContext& ctx);
    std::vector<Deletion> m_deletions;  // this session's, newest last
    core::UnixMillis m_toastUntil = 0;  // the undo toast for the newest deletion
    std::string m_confirmId, m_confirmRoot, m_confirmPreview;  // a delete awaiting "yes"
    bool m_openConfirm = false;
    std::string m_editId, m_editRoot;  // the composer edits this message (empty: new)
    bool m_canEdit = false, m_canDelete = false;
    std::string m_editBody, m_editSubject;  // an Edit click, applied at the next frame's start
    std::pair<std::string, std::string> m_undoRequest;  // (message id, root id)
    // @-mentions: the team's members, else the people seen writing (candidates), and the ones
    // picked.
    void DrawMentionPicker(const UiContext& ctx);
    std::vector<core::PickedMention> m_people, m_picked;
    bool m_canReply = false;
    std::string m_composeRequest;
    int m_exportRange = 0;
    std::string m_exportStatus;
    std::string m_replyRequest, m_replyRequestAuthor;  // a Reply button was clicked
    Rects m_rects;
};

}  // namespace cdeck::ui
