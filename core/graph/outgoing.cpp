#include "graph/outgoing.hpp"

#include <string_view>

#include "model/markup.hpp"

namespace cdeck::core {
namespace {

// Plain text as HTML: escaped, with each line break a <br>.
void AppendPlainAsHtml(std::string_view text, std::string& out) {
    for (size_t start = 0;;) {
        size_t nl = text.find('\n', start);
        AppendHtmlEscaped(text.substr(start, nl == std::string_view::npos ? nl : nl - start), out);
        if (nl == std::string_view::npos) return;
        out += "<br>";
        start = nl + 1;
    }
}

}  // namespace

MessageComposer& MessageComposer::Text(const std::string& plain) {
    AppendPlainAsHtml(plain, m_html);
    return *this;
}

MessageComposer& MessageComposer::Html(const std::string& html) {
    m_html += html;
    return *this;
}

MessageComposer& MessageComposer::Mention(const MentionTarget& who, const std::string& text) {
    std::string shown = text.empty() ? who.displayName : text;
    m_html += "<at id=\"" + std::to_string(m_mentions.size()) + "\">";
    AppendPlainAsHtml(shown, m_html);
    m_html += "</at>";
    m_mentions.push_back({shown, who});
    return *this;
}

NewMessage MessageComposer::Build(const std::string& subject, const std::string& importance) const {
    NewMessage m;
    m.contentType = "html";
    m.content = m_html;
    m.subject = subject;
    m.importance = importance;
    m.mentions = m_mentions;
    return m;
}

}  // namespace cdeck::core
