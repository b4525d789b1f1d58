// Message HTML -> text: output must stay bounded and valid UTF-8 for any input. The same
// bytes typed into the composer: markup -> HTML must never let a tag through, and picked
// mentions must produce as many <at> tags as mentions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "model/html_text.hpp"
#include "model/markup.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view html(reinterpret_cast<const char*>(data), size);
    cdeck::core::HtmlToTextOptions o;
    o.maxOutputBytes = 4096;
    auto t = cdeck::core::HtmlToText(html, o);
    if (t.text.size() > o.maxOutputBytes + 3) std::abort();
    if (cdeck::core::SanitizeUtf8(t.text) != t.text) std::abort();  // output is valid UTF-8
    for (const auto& s : t.spans)
        if (s.begin > s.end || s.end > t.text.size()) std::abort();
    if (size > 4096) return 0;  // the composer's text is short; keep the quadratic cases cheap
    std::string html2 = cdeck::core::MarkupToHtml(html);
    // Only the markup's own tags may appear: every '<' starts one of them.
    static const char* const kTags[] = {"<strong>", "</strong>",  "<em>", "</em>", "<code>",
                                        "</code>",  "<a href=\"", "</a>", "<br>"};
    for (size_t p = html2.find('<'); p != std::string::npos; p = html2.find('<', p + 1)) {
        bool known = false;
        for (const char* tag : kTags) known = known || html2.compare(p, std::strlen(tag), tag) == 0;
        if (!known) std::abort();
    }
    std::vector<cdeck::core::MentionOut> m;
    std::string tagged = cdeck::core::ApplyMentions(html2, {{"u", "a"}, {"v", "b c"}}, m);
    size_t tags = 0;
    for (size_t p = tagged.find("<at id="); p != std::string::npos;
         p = tagged.find("<at id=", p + 1))
        ++tags;
    size_t before = 0;
    for (size_t p = html2.find("<at id="); p != std::string::npos; p = html2.find("<at id=", p + 1))
        ++before;
    if (tags != before + m.size()) std::abort();
    return 0;
}
