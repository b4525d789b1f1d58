#pragma once
// Light markup for the composer, turned into the HTML Graph's message body takes. Pure;
// any thread.
//
//   **bold**   *italic*   `code`   [text](https://example.com)   line breaks
//
// Everything the user typed is HTML-escaped first, so no keystroke becomes markup except
// these; a link must be http(s) and its URL is attribute-escaped. Unclosed markers are
// left as typed.
#include <string>
#include <string_view>
#include <vector>

namespace cdeck::core {

// HTML-escapes text for an element's content or a quoted attribute value: & < > " and '
// become entities. The client's one HTML escaper (graphsim keeps its own: it shares no code
// with the client).
void AppendHtmlEscaped(std::string_view text, std::string& out);

std::string MarkupToHtml(std::string_view text);

// A person picked in the composer's @-mention list.
struct PickedMention {
    std::string id;           // the user's id
    std::string displayName;  // what "@..." shows in the text
};
// Turns "@Display Name" in HTML from MarkupToHtml into <at id="k">Display Name</at> for
// each picked person, in order, and returns the matching Graph mentions (mentionText, user
// id, display name) with ids 0, 1, ... A pick whose "@name" was deleted from the text is
// dropped, so the tags and the array always agree.
struct MentionOut {
    int id = 0;
    std::string text, userId, displayName;
};
std::string ApplyMentions(const std::string& html, const std::vector<PickedMention>& picked,
                          std::vector<MentionOut>& mentions);

}  // namespace cdeck::core
