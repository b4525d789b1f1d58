#include "model/html_text.hpp"

#include <cstdint>

namespace cdeck::core {
namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t Utf8Length(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        unsigned char cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char Lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool IEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (Lower(a[i]) != Lower(b[i])) return false;
    return true;
}

struct Tag {
    std::string_view name;
    std::string_view attrs;
    bool closing = false;
};

// Finds attribute `key` in a tag's attribute text; returns its raw value.
std::string_view FindAttr(std::string_view attrs, std::string_view key) {
    size_t i = 0;
    while (i < attrs.size()) {
        while (i < attrs.size() &&
               (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\n' || attrs[i] == '/'))
            ++i;
        size_t ks = i;
        while (i < attrs.size() && attrs[i] != '=' && attrs[i] != ' ' && attrs[i] != '>') ++i;
        std::string_view k = attrs.substr(ks, i - ks);
        if (i < attrs.size() && attrs[i] == '=') {
            ++i;
            std::string_view v;
            if (i < attrs.size() && (attrs[i] == '"' || attrs[i] == '\'')) {
                char q = attrs[i++];
                size_t vs = i;
                while (i < attrs.size() && attrs[i] != q) ++i;
                v = attrs.substr(vs, i - vs);
                if (i < attrs.size()) ++i;
            } else {
                size_t vs = i;
                while (i < attrs.size() && attrs[i] != ' ') ++i;
                v = attrs.substr(vs, i - vs);
            }
            if (IEquals(k, key)) return v;
        } else if (ks == i) {
            ++i;  // stray character; skip so the loop always advances
        }
    }
    return {};
}

class Converter {
  public:
    Converter(size_t limit) : m_limit(limit) {}

    PlainText Run(std::string_view html) {
        size_t i = 0;
        while (i < html.size() && !m_out.truncated) {
            char c = html[i];
            if (c == '<') {
                i = HandleTag(html, i);
            } else if (c == '&') {
                i = HandleEntity(html, i);
            } else {
                if (!m_skipDepth)
                    EmitRawChar(html, i);
                else
                    ++i;
                if (m_skipDepth) continue;
            }
        }
        // Trim trailing whitespace and newlines.
        while (!m_out.text.empty() && (m_out.text.back() == '\n' || m_out.text.back() == ' '))
            m_out.text.pop_back();
        for (auto& s : m_out.spans) {
            if (s.end > m_out.text.size()) s.end = m_out.text.size();
            if (s.begin > s.end) s.begin = s.end;
        }
        if (m_out.truncated) m_out.text += "\xE2\x80\xA6";  // ellipsis
        return std::move(m_out);
    }

  private:
    bool Room(size_t n) {
        if (m_out.text.size() + n > m_limit) {
            m_out.truncated = true;
            return false;
        }
        return true;
    }

    void EmitText(std::string_view s) {
        for (size_t i = 0; i < s.size();) EmitRawChar(s, i);
    }

    // Emits one (possibly multi-byte) character, collapsing whitespace as HTML does.
    void EmitRawChar(std::string_view s, size_t& i) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            ++i;
            if (m_pre) {
                if (Room(1)) m_out.text.push_back(c == '\r' ? '\n' : c);
                return;
            }
            if (!m_out.text.empty() && m_out.text.back() != ' ' && m_out.text.back() != '\n' &&
                Room(1))
                m_out.text.push_back(' ');
            return;
        }
        size_t n = Utf8Length(s, i);
        if (n == 0) {
            if (Room(3)) AppendUtf8(m_out.text, 0xFFFD);
            ++i;
            return;
        }
        unsigned char uc = static_cast<unsigned char>(c);
        if (uc < 0x20 || uc == 0x7F) {  // control characters are not display text
            ++i;
            return;
        }
        if (Room(n)) m_out.text.append(s.substr(i, n));
        i += n;
    }

    void Newline(int max = 1) {
        if (m_out.text.empty()) return;
        while (!m_out.text.empty() && m_out.text.back() == ' ') m_out.text.pop_back();
        int existing = 0;
        for (size_t k = m_out.text.size(); k > 0 && m_out.text[k - 1] == '\n'; --k) ++existing;
        while (existing < max && Room(1)) {
            m_out.text.push_back('\n');
            ++existing;
        }
    }

    size_t HandleEntity(std::string_view s, size_t i) {
        size_t end = s.find(';', i);
        if (end == std::string_view::npos || end - i > 10) {
            if (!m_skipDepth && Room(1)) m_out.text.push_back('&');
            return i + 1;
        }
        std::string_view name = s.substr(i + 1, end - i - 1);
        uint32_t cp = 0;
        if (!name.empty() && name[0] == '#') {
            bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
            for (size_t k = hex ? 2 : 1; k < name.size(); ++k) {
                char d = name[k];
                int v;
                if (d >= '0' && d <= '9')
                    v = d - '0';
                else if (hex && d >= 'a' && d <= 'f')
                    v = d - 'a' + 10;
                else if (hex && d >= 'A' && d <= 'F')
                    v = d - 'A' + 10;
                else {
                    cp = 0xFFFD;
                    break;
                }
                cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
                if (cp > 0x10FFFF) {
                    cp = 0xFFFD;
                    break;
                }
            }
        } else if (name == "amp")
            cp = '&';
        else if (name == "lt")
            cp = '<';
        else if (name == "gt")
            cp = '>';
        else if (name == "quot")
            cp = '"';
        else if (name == "apos" || name == "#39")
            cp = '\'';
        else if (name == "nbsp")
            cp = ' ';
        else if (name == "mdash")
            cp = 0x2014;
        else if (name == "ndash")
            cp = 0x2013;
        else if (name == "hellip")
            cp = 0x2026;
        else if (name == "copy")
            cp = 0xA9;
        else {
            if (!m_skipDepth && Room(1)) m_out.text.push_back('&');
            return i + 1;
        }
        if (!m_skipDepth && Room(4)) {
            if (cp == ' ')
                m_out.text.push_back(' ');
            else
                AppendUtf8(m_out.text, cp);
        }
        return end + 1;
    }

    size_t HandleTag(std::string_view s, size_t i) {
        // Comments
        if (s.substr(i, 4) == "<!--") {
            size_t e = s.find("-->", i + 4);
            return e == std::string_view::npos ? s.size() : e + 3;
        }
        size_t j = i + 1;
        bool closing = false;
        if (j < s.size() && s[j] == '/') {
            closing = true;
            ++j;
        }
        size_t ns = j;
        while (j < s.size() && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
                                (s[j] >= '0' && s[j] <= '9')))
            ++j;
        if (j == ns) {  // not a tag: a literal '<'
            if (!m_skipDepth && Room(1)) m_out.text.push_back('<');
            return i + 1;
        }
        // Find the end of the tag, honouring quotes so '>' in attributes does not end it.
        size_t k = j;
        char quote = 0;
        while (k < s.size()) {
            char c = s[k];
            if (quote) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == '>') {
                break;
            }
            ++k;
        }
        Tag tag{s.substr(ns, j - ns), s.substr(j, k > j ? k - j : 0), closing};
        size_t next = k < s.size() ? k + 1 : s.size();
        Apply(tag);
        return next;
    }

    void Apply(const Tag& t) {
        auto is = [&](std::string_view n) { return IEquals(t.name, n); };
        if (is("script") || is("style") || is("head") || is("title")) {
            if (t.closing) {
                if (m_skipDepth > 0) --m_skipDepth;
            } else {
                ++m_skipDepth;
            }
            return;
        }
        if (m_skipDepth) return;
        if (is("br")) {
            if (Room(1)) m_out.text.push_back('\n');
        } else if (is("p") || is("div") || is("tr") || is("h1") || is("h2") || is("h3") ||
                   is("h4") || is("blockquote") || is("ul") || is("ol") || is("table")) {
            Newline(1);
        } else if (is("li")) {
            Newline(1);
            if (!t.closing && Room(4)) m_out.text += "\xE2\x80\xA2 ";
        } else if (is("pre")) {
            Newline(1);
            m_pre = !t.closing;
        } else if (is("td") || is("th")) {
            if (t.closing && Room(1)) m_out.text.push_back('\t');
        } else if (is("at")) {
            MarkSpan(t, TextSpan::Kind::kMention, "@");
        } else if (is("code")) {
            MarkSpan(t, TextSpan::Kind::kCode, nullptr);
        } else if (is("a")) {
            MarkSpan(t, TextSpan::Kind::kLink, nullptr);
        } else if (is("emoji") || is("img")) {
            if (t.closing) return;
            std::string_view alt = FindAttr(t.attrs, "alt");
            size_t start = m_out.text.size();
            if (!alt.empty()) {
                EmitDecoded(alt);
            } else if (is("img")) {
                if (Room(7)) m_out.text += "[image]";
            }
            if (is("emoji"))
                m_out.spans.push_back({start, m_out.text.size(), TextSpan::Kind::kEmoji});
        } else if (is("attachment")) {
            // Teams puts <attachment id="..."></attachment> where a card or file sits.
            if (!t.closing && Room(12)) m_out.text += "[attachment]";
        }
    }

    // Opens a highlighted span at an opening tag and closes it at the matching closing tag.
    // Spans do not nest in Teams HTML; an unmatched closing tag is ignored.
    void MarkSpan(const Tag& t, TextSpan::Kind kind, const char* prefix) {
        if (!t.closing) {
            m_spanStart = m_out.text.size();
            if (prefix && Room(1)) m_out.text += prefix;
            m_spanKind = kind;
            m_inSpan = true;
        } else if (m_inSpan && m_spanKind == kind) {
            m_out.spans.push_back({m_spanStart, m_out.text.size(), m_spanKind});
            m_inSpan = false;
        }
    }

    void EmitDecoded(std::string_view s) {
        for (size_t i = 0; i < s.size() && !m_out.truncated;) {
            if (s[i] == '&')
                i = HandleEntity(s, i);
            else
                EmitRawChar(s, i);
        }
    }

    PlainText m_out;
    size_t m_limit;
    int m_skipDepth = 0;
    bool m_pre = false;
    bool m_inSpan = false;
    size_t m_spanStart = 0;
    TextSpan::Kind m_spanKind = TextSpan::Kind::kMention;
};

}  // namespace

PlainText HtmlToText(std::string_view html, const HtmlToTextOptions& options) {
    Converter c(options.maxOutputBytes);
    return c.Run(html);
}

std::string SanitizeUtf8(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size();) {
        size_t n = Utf8Length(in, i);
        if (n == 0) {
            AppendUtf8(out, 0xFFFD);
            ++i;
        } else {
            out.append(in.substr(i, n));
            i += n;
        }
    }
    return out;
}

}  // namespace cdeck::core
