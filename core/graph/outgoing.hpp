#pragma once
// What the app sends to Graph: new messages and replies (with their mentions) and edits of
// one's own messages. Plain values, and MessageComposer, which builds a body whose <at id>
// tags match its mentions array by construction. Pure; any thread.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cdeck::core {

// Who a mention points at. Channel and team mentions use conversation identities.
struct MentionTarget {
    enum class Kind { kUser, kChannel, kTeam } kind = Kind::kUser;
    std::string id;
    std::string displayName;
};

struct NewMessage {
    std::string subject;
    std::string contentType = "html";
    std::string content;
    std::string importance;  // empty: server default
    // mentions[i] is written as {"id": i, ...}; the body must hold a matching <at id="i">.
    std::vector<std::pair<std::string, MentionTarget>> mentions;  // (mentionText, target)
};

// Builds an HTML body with mentions whose <at id> tags match the mentions array by
// construction. Plain text is HTML-escaped; nothing the user typed becomes markup.
class MessageComposer {
  public:
    MessageComposer& Text(const std::string& plain);
    MessageComposer& Html(const std::string& trustedHtml);  // markup the app generated itself
    MessageComposer& Mention(const MentionTarget& who, const std::string& text = {});
    NewMessage Build(const std::string& subject = {}, const std::string& importance = {}) const;

  private:
    std::string m_html;
    std::vector<std::pair<std::string, MentionTarget>> m_mentions;
};

// A PATCH of one's own message. Unset fields are left alone.
struct MessageEdit {
    std::optional<std::string> htmlBody;
    std::optional<std::string> subject;
    std::optional<std::string> importance;
    std::vector<std::pair<std::string, MentionTarget>> mentions;
};

}  // namespace cdeck::core
