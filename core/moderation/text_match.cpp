#include "moderation/text_match.hpp"

namespace cdeck::core {
namespace {

// Decodes one code point at `i`, advancing it; invalid sequences yield U+FFFD and one byte.
char32_t Decode(std::string_view s, size_t& i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    auto cont = [&](size_t k) {
        return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    };
    char32_t cp;
    size_t len;
    if (c < 0x80) {
        cp = c;
        len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2 && cont(1)) {
        cp = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
        len = 2;
    } else if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
        cp = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
        len = 3;
        if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    } else if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
        cp = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
             (s[i + 3] & 0x3F);
        len = 4;
        if (cp < 0x10000 || cp > 0x10FFFF) cp = 0xFFFD;
    } else {
        cp = 0xFFFD;
        len = 1;
    }
    i += len;
    return cp;
}

void Encode(char32_t cp, std::string& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

char32_t Fold(char32_t c) {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if (c < 0xC0) return c;
    if (c <= 0xDE && c != 0xD7) return c + 32;  // Latin-1 capitals (not the multiplication sign)
    if (c >= 0x100 && c <= 0x17F) {             // Latin Extended-A: capital, small pairs
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2) ? c + 1 : c;
        if (c == 0x178) return 0xFF;
        return (c % 2 == 0 && c != 0x138) ? c + 1 : c;
    }
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;  // Greek capitals
    if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic А-Я
    if (c >= 0x400 && c <= 0x40F) return c + 80;                // Cyrillic Ѐ-Џ
    return c;
}

bool IsWordChar(char32_t c) {
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    if (c == 0xD7 || c == 0xF7 || c == 0xFFFD) return false;
    if (c < 0xC0) return c == 0xAA || c == 0xB5 || c == 0xBA;  // Latin-1 letters
    // Punctuation and symbol blocks are not words; letters of every script are.
    if (c >= 0x2000 && c <= 0x2BFF) return false;  // general punctuation .. arrows, symbols
    if (c >= 0x3000 && c <= 0x303F) return false;  // CJK punctuation
    if (c >= 0xFE30 && c <= 0xFE4F) return false;
    if (c >= 0xFF00 && c <= 0xFF0F) return false;
    if (c >= 0x1F000 && c <= 0x1FAFF) return false;  // emoji
    return true;
}

std::u32string FoldToU32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) out += Fold(Decode(s, i));
    return out;
}

}  // namespace

std::string FoldCase(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) Encode(Fold(Decode(text, i)), out);
    return out;
}

Keyword Keyword::Parse(std::string_view p) {
    Keyword k;
    k.source = std::string(p);
    bool lead = !p.empty() && p.front() == '*';
    if (lead) p.remove_prefix(1);
    bool trail = !p.empty() && p.back() == '*';
    if (trail) p.remove_suffix(1);
    k.mode = lead && trail ? Mode::kAnywhere
             : lead        ? Mode::kSuffix
             : trail       ? Mode::kPrefix
                           : Mode::kWord;
    k.folded = FoldToU32(p);
    return k;
}

FoldedText::FoldedText(std::string_view text) {
    m_folded.reserve(text.size());
    m_offsets.reserve(text.size() + 1);
    for (size_t i = 0; i < text.size();) {
        m_offsets.push_back(i);
        m_folded += Fold(Decode(text, i));
    }
    m_offsets.push_back(text.size());
}

bool FoldedText::IsWordAt(size_t i) const {
    return i < m_folded.size() && IsWordChar(m_folded[i]);
}

void FoldedText::Find(const Keyword& k, std::vector<TextMatch>& out, size_t limit) const {
    if (k.folded.empty()) return;
    size_t found = 0;
    for (size_t pos = m_folded.find(k.folded); pos != std::u32string::npos && found < limit;
         pos = m_folded.find(k.folded, pos + 1)) {
        size_t end = pos + k.folded.size();
        bool startsWord = pos == 0 || !IsWordAt(pos - 1);
        bool endsWord = !IsWordAt(end);
        bool ok = false;
        size_t mb = pos, me = end;
        switch (k.mode) {
            case Keyword::Mode::kWord:
                ok = startsWord && endsWord;
                break;
            case Keyword::Mode::kPrefix:
                ok = startsWord;
                while (me < m_folded.size() && IsWordAt(me)) ++me;  // highlight the whole word
                break;
            case Keyword::Mode::kSuffix:
                ok = endsWord;
                while (mb > 0 && IsWordAt(mb - 1)) --mb;
                break;
            case Keyword::Mode::kAnywhere:
                ok = true;
                break;
        }
        if (!ok) continue;
        out.push_back({m_offsets[mb], m_offsets[me], k.source});
        ++found;
    }
}

}  // namespace cdeck::core
