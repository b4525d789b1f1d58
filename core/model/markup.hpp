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

namespace cdeck::core {

std::string MarkupToHtml(std::string_view text);

}  // namespace cdeck::core
