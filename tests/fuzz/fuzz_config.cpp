// Config files: any input gives a Config or a kConfig error, never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto c = cdeck::core::ParseConfig(std::string(reinterpret_cast<const char*>(data), size));
    if (!c.ok() && c.error().code != cdeck::core::ErrorCode::kConfig) std::abort();
    return 0;
}
