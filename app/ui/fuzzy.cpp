#include "ui/fuzzy.hpp"

#include <cctype>

namespace cdeck::ui {
namespace {

char Lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool WordStart(std::string_view t, size_t i) {
    if (i == 0) return true;
    char prev = t[i - 1];
    if (prev == ' ' || prev == '-' || prev == '_' || prev == '/' || prev == '.' || prev == '#')
        return true;
    // camelCase boundary
    return std::islower(static_cast<unsigned char>(prev)) &&
           std::isupper(static_cast<unsigned char>(t[i]));
}

}  // namespace

int FuzzyScore(std::string_view query, std::string_view text) {
    int score = 0;
    size_t ti = 0;
    size_t lastMatch = std::string_view::npos;
    bool any = false;
    for (size_t qi = 0; qi < query.size(); ++qi) {
        char q = Lower(query[qi]);
        if (q == ' ') continue;
        // Prefer the next word start that matches; otherwise the next occurrence.
        size_t found = std::string_view::npos, firstAny = std::string_view::npos;
        for (size_t k = ti; k < text.size(); ++k) {
            if (Lower(text[k]) != q) continue;
            if (firstAny == std::string_view::npos) firstAny = k;
            if (k == ti && lastMatch != std::string_view::npos && k == lastMatch + 1) {
                found = k;  // continuing a run beats jumping to a word start
                break;
            }
            if (WordStart(text, k)) {
                found = k;
                break;
            }
        }
        if (found == std::string_view::npos) found = firstAny;
        if (found == std::string_view::npos) return 0;
        any = true;
        score += 1;
        if (WordStart(text, found)) score += 8;
        if (lastMatch != std::string_view::npos && found == lastMatch + 1) score += 5;
        if (found == 0) score += 6;
        if (lastMatch != std::string_view::npos) {
            size_t gap = found - lastMatch - 1;
            score -= static_cast<int>(gap < 6 ? gap : 6) / 2;
        }
        lastMatch = found;
        ti = found + 1;
    }
    if (!any) return 0;
    // Shorter names win ties: "Ops" over "Ops archive 2019".
    score = score * 4 - static_cast<int>(text.size() / 8);
    return score > 0 ? score : 1;
}

}  // namespace cdeck::ui
