#include "model/markup.hpp"

namespace cdeck::core {

void AppendHtmlEscaped(std::string_view s, std::string& out) {
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
}

namespace {

// Inline markup within one line.
void Inline(std::string_view s, std::string& out) {
    size_t i = 0;
    while (i < s.size()) {
        if (s.compare(i, 2, "**") == 0) {
            size_t end = s.find("**", i + 2);
            if (end != std::string_view::npos && end > i + 2) {
                out += "<strong>";
                Inline(s.substr(i + 2, end - i - 2), out);
                out += "</strong>";
                i = end + 2;
                continue;
            }
        } else if (s[i] == '*') {
            size_t end = s.find('*', i + 1);
            if (end != std::string_view::npos && end > i + 1 && s[i + 1] != ' ' &&
                s[end - 1] != ' ') {
                out += "<em>";
                Inline(s.substr(i + 1, end - i - 1), out);
                out += "</em>";
                i = end + 1;
                continue;
            }
        } else if (s[i] == '`') {
            size_t end = s.find('`', i + 1);
            if (end != std::string_view::npos && end > i + 1) {
                out += "<code>";
                AppendHtmlEscaped(s.substr(i + 1, end - i - 1), out);  // no markup inside code
                out += "</code>";
                i = end + 1;
                continue;
            }
        } else if (s[i] == '[') {
            size_t close = s.find("](", i + 1);
            size_t end = close == std::string_view::npos ? close : s.find(')', close + 2);
            if (end != std::string_view::npos) {
                std::string_view label = s.substr(i + 1, close - i - 1);
                std::string_view url = s.substr(close + 2, end - close - 2);
                bool web = (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) &&
                           url.find_first_of(" \t") == std::string_view::npos;
                if (web && !label.empty()) {
                    out += "<a href=\"";
                    AppendHtmlEscaped(url, out);
                    out += "\">";
                    AppendHtmlEscaped(label, out);
                    out += "</a>";
                    i = end + 1;
                    continue;
                }
            }
        }
        AppendHtmlEscaped(s.substr(i, 1), out);
        ++i;
    }
}

}  // namespace

std::string MarkupToHtml(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    size_t start = 0;
    bool first = true;
    while (start <= text.size()) {
        size_t nl = text.find('\n', start);
        std::string_view line =
            text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!first) out += "<br>";
        Inline(line, out);
        first = false;
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    return out;
}

std::string ApplyMentions(const std::string& html, const std::vector<PickedMention>& picked,
                          std::vector<MentionOut>& mentions) {
    std::string out;
    size_t pos = 0;
    for (const auto& p : picked) {
        std::string name;
        AppendHtmlEscaped(p.displayName, name);
        std::string token = "@" + name;
        size_t at = html.find(token, pos);
        if (at == std::string::npos || p.displayName.empty()) continue;
        int id = static_cast<int>(mentions.size());
        out.append(html, pos, at - pos);
        out += "<at id=\"" + std::to_string(id) + "\">" + name + "</at>";
        mentions.push_back({id, p.displayName, p.id, p.displayName});
        pos = at + token.size();
    }
    out.append(html, pos, std::string::npos);
    return out;
}

}  // namespace cdeck::core
