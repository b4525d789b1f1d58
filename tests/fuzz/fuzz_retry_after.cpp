// Retry-After and HTTP-date parsing: never negative, never NaN, no crash.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/http_error.hpp"
#include "util/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view v(reinterpret_cast<const char*>(data), size);
    auto r = cdeck::core::ParseRetryAfter(v, 1700000000000LL);
    if (r && (std::isnan(*r) || *r < 0)) std::abort();
    (void)cdeck::core::ParseHttpDate(v);
    (void)cdeck::core::ParseIso8601(v);
    return 0;
}
