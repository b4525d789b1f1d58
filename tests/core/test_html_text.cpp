#include <doctest/doctest.h>

#include <string>

#include "model/html_text.hpp"
#include "model/markup.hpp"

using namespace cdeck::core;

TEST_CASE("HTML to text: paragraphs, breaks and entities") {
    auto t = HtmlToText("<p>Hello&nbsp;<b>world</b> &amp; friends</p><p>Line&#39;2<br>line 3</p>");
    CHECK(t.text == "Hello world & friends\nLine'2\nline 3");
    CHECK_FALSE(t.truncated);
}

TEST_CASE("HTML to text: mentions become highlighted @names") {
    auto t = HtmlToText("Hi <at id=\"0\">Jane Smith</at>, see this");
    CHECK(t.text == "Hi @Jane Smith, see this");
    REQUIRE(t.spans.size() == 1);
    CHECK(t.spans[0].kind == TextSpan::Kind::kMention);
    CHECK(t.text.substr(t.spans[0].begin, t.spans[0].end - t.spans[0].begin) == "@Jane Smith");
}

TEST_CASE("HTML to text: emoji and images use alt text, scripts vanish") {
    auto t = HtmlToText(
        "ok <emoji id=\"1f600\" alt=\"\xF0\x9F\x98\x80\" title=\"Smile\"></emoji>"
        "<script>alert('x')</script><style>p{}</style><img src=\"https://x/y.png\">");
    CHECK(t.text == "ok \xF0\x9F\x98\x80[image]");
}

TEST_CASE("HTML to text: attributes with '>' inside quotes do not end the tag") {
    auto t = HtmlToText("<a href=\"https://x/?a>b\" title='>'>link</a> after");
    CHECK(t.text == "link after");
}

TEST_CASE("HTML to text: stray '<' and unknown entities are literal text") {
    auto t = HtmlToText("a < b && c &bogus; d");
    CHECK(t.text == "a < b && c &bogus; d");
}

TEST_CASE("HTML to text: invalid UTF-8 is replaced, control characters dropped") {
    auto t = HtmlToText(std::string("bad \xC3\x28 byte\x01 end"));
    CHECK(t.text == "bad \xEF\xBF\xBD( byte end");
    CHECK(SanitizeUtf8("\xFF") == "\xEF\xBF\xBD");
}

TEST_CASE("HTML to text: output is bounded and hostile nesting is linear") {
    std::string deep;
    for (int i = 0; i < 10000; ++i) deep += "<div>";
    deep += "x";
    for (int i = 0; i < 10000; ++i) deep += "</div>";
    CHECK(HtmlToText(deep).text == "x");

    std::string big(5 * 1024 * 1024, 'a');
    HtmlToTextOptions o;
    o.maxOutputBytes = 1000;
    auto t = HtmlToText(big, o);
    CHECK(t.truncated);
    CHECK(t.text.size() <= 1000 + 3);
}

TEST_CASE("HTML to text: unterminated tags and comments do not hang or leak markup") {
    CHECK(HtmlToText("text <b").text == "text");
    CHECK(HtmlToText("a <!-- never closed").text == "a");
    CHECK(HtmlToText("<script>never closed").text.empty());
}

TEST_CASE("composer markup becomes Graph HTML, everything typed is escaped") {
    using cdeck::core::MarkupToHtml;
    CHECK(MarkupToHtml("plain") == "plain");
    CHECK(MarkupToHtml("**bold** and *it* and `a<b`") ==
          "<strong>bold</strong> and <em>it</em> and <code>a&lt;b</code>");
    CHECK(MarkupToHtml("see [the docs](https://learn.microsoft.com/graph?a=1&b=2)") ==
          "see <a href=\"https://learn.microsoft.com/graph?a=1&amp;b=2\">the docs</a>");
    CHECK(MarkupToHtml("line one\nline two") == "line one<br>line two");
    // Typed HTML stays text; javascript: links are not links.
    CHECK(MarkupToHtml("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
    CHECK(MarkupToHtml("[x](javascript:alert(1))") == "[x](javascript:alert(1))");
    CHECK(MarkupToHtml("[x](https://a.b/\"onmouseover=\"y)") ==
          "<a href=\"https://a.b/&quot;onmouseover=&quot;y\">x</a>");
    // Unclosed markers are left as typed; a lone asterisk before a space is not italic.
    CHECK(MarkupToHtml("**open and * star") == "**open and * star");
    CHECK(MarkupToHtml("2 * 3 = 6") == "2 * 3 = 6");
    // The HTML survives the round trip to text.
    CHECK(cdeck::core::HtmlToText(MarkupToHtml("**a** & <b>")).text == "a & <b>");
}

TEST_CASE("picked mentions become <at> tags and a matching mentions array") {
    using namespace cdeck::core;
    std::vector<MentionOut> m;
    std::string html = ApplyMentions(MarkupToHtml("hi @Ann Lee and @O'Neil, **now**"),
                                     {{"u1", "Ann Lee"}, {"u2", "O'Neil"}, {"u3", "Gone"}}, m);
    CHECK(html ==
          "hi <at id=\"0\">Ann Lee</at> and <at id=\"1\">O&#39;Neil</at>, <strong>now</strong>");
    REQUIRE(m.size() == 2);  // "Gone" was picked, then deleted from the text
    CHECK(m[0].id == 0);
    CHECK(m[0].userId == "u1");
    CHECK(m[1].id == 1);
    CHECK(m[1].displayName == "O'Neil");
    // The same person twice: two tags, two entries.
    m.clear();
    html = ApplyMentions("@Bo and @Bo", {{"b", "Bo"}, {"b", "Bo"}}, m);
    CHECK(html == "<at id=\"0\">Bo</at> and <at id=\"1\">Bo</at>");
    CHECK(m.size() == 2);
}
