#pragma once
// Case-folded, Unicode-aware keyword matching for moderation rules. Pure; any thread.
//
// Text is decoded from UTF-8 (invalid bytes count as U+FFFD) and folded code point by code
// point (ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic capitals to small letters),
// so "PASSWORD", "Password" and "pAsSwOrD" match "password", and "ДАННЫЕ" matches
// "данные". Word boundaries are Unicode-aware: letters and digits of any script are word
// characters; spaces and punctuation are not. Matches are reported as byte ranges of the
// original text, for highlighting.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cdeck::core {

// The folded form of `text`, UTF-8 encoded.
std::string FoldCase(std::string_view text);

// A keyword with its wildcard mode, from the rule-pack syntax: "word" matches whole words,
// "pre*" a word starting with "pre", "*fix" a word ending with "fix", "*any*" anywhere.
struct Keyword {
    enum class Mode { kWord, kPrefix, kSuffix, kAnywhere };
    std::u32string folded;  // the term, folded
    std::string source;     // as written in the pack
    Mode mode = Mode::kWord;
    // Parses the pack syntax; empty `folded` when the term has no characters.
    static Keyword Parse(std::string_view pattern);
};

struct TextMatch {
    size_t begin = 0, end = 0;  // byte offsets into the searched text
    std::string term;           // the keyword's source form
};

// Folded text with a map back to byte offsets; build once, search for many keywords.
class FoldedText {
  public:
    explicit FoldedText(std::string_view text);
    // Every occurrence of `k` (at most `limit`), in order.
    void Find(const Keyword& k, std::vector<TextMatch>& out, size_t limit = 32) const;

  private:
    bool IsWordAt(size_t i) const;  // code point i is a word character
    std::u32string m_folded;
    std::vector<size_t> m_offsets;  // byte offset of each code point, plus the end
};

}  // namespace cdeck::core
