// The local cache's packed message rows (model/packed.hpp) from untrusted bytes: a damaged
// database must cost a row, never a crash. Whatever unpacks must pack back to the same
// bytes, so the encoding has one reading.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "model/packed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto m = cdeck::core::UnpackMessage(bytes);
    if (!m.ok()) return 0;
    (void)m->WebUrl();
    (void)m->From().DisplayName();
    // A template past the intern pool's cap is re-encoded as a verbatim URL, so compare
    // a second round trip, which must be exact.
    std::string once = cdeck::core::PackMessage(m.value());
    auto again = cdeck::core::UnpackMessage(once);
    if (!again.ok() || cdeck::core::PackMessage(again.value()) != once) std::abort();
    return 0;
}
