// Graph and OAuth error bodies, and token responses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/token_provider.hpp"
#include "net/http_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string body(reinterpret_cast<const char*>(data), size);
    cdeck::core::HttpResponse r;
    r.status = 400 + static_cast<int>(size % 200);
    r.body = body;
    r.headers["retry-after"] = body.substr(0, 40);
    (void)cdeck::core::ErrorFromResponse(r, 0).Describe();
    (void)cdeck::core::ParseTokenResponse(body, 0);
    return 0;
}
