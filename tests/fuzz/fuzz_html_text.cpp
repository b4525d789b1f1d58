// Message HTML -> text: output must stay bounded and valid UTF-8 for any input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/html_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view html(reinterpret_cast<const char*>(data), size);
    cdeck::core::HtmlToTextOptions o;
    o.maxOutputBytes = 4096;
    auto t = cdeck::core::HtmlToText(html, o);
    if (t.text.size() > o.maxOutputBytes + 3) std::abort();
    if (cdeck::core::SanitizeUtf8(t.text) != t.text) std::abort();  // output is valid UTF-8
    for (const auto& s : t.spans)
        if (s.begin > s.end || s.end > t.text.size()) std::abort();
    return 0;
}
