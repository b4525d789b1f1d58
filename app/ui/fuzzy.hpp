#pragma once
// Fuzzy name matching for the quick switcher. Pure; any thread.
//
// Every character of the query must appear in the text in order, ignoring ASCII case and
// spaces in the query. Matches at the start of words and runs of consecutive characters
// score higher, so "pay dep" ranks "Payments / Deployments" above "Pay day reports".
#include <string_view>

namespace cdeck::ui {

// 0: no match. Otherwise a positive score; higher is better.
int FuzzyScore(std::string_view query, std::string_view text);

}  // namespace cdeck::ui
