#pragma once
// Converts Teams message HTML to plain text for display. Pure; any thread.
//
// Message HTML is untrusted: this is a single linear pass with no recursion and no
// allocation beyond the output, so hostile input (deep nesting, megabytes of text, broken
// UTF-8) costs O(n) and yields bounded output. Nothing is ever executed or fetched:
// <script>/<style> bodies are dropped, images become their alt text, links their text.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cdeck::core {

struct TextSpan {
    size_t begin = 0;  // byte offsets into PlainText::text
    size_t end = 0;
    enum class Kind {
        kMention,
        kLink,
        kEmoji,
        kCode,
        kMatch
    } kind = Kind::kMention;  // kMatch: a rule hit
};

struct PlainText {
    std::string text;             // valid UTF-8, '\n' for block breaks
    std::vector<TextSpan> spans;  // mentions (and other marks) for highlighting
    bool truncated = false;
};

struct HtmlToTextOptions {
    size_t maxOutputBytes = 16 * 1024;
};

PlainText HtmlToText(std::string_view html, const HtmlToTextOptions& options = {});

// Replaces invalid UTF-8 sequences with U+FFFD. Exposed for callers that show text bodies.
std::string SanitizeUtf8(std::string_view in);

}  // namespace cdeck::core
