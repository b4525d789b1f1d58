#pragma once
// Byte encodings and digests used by sign-in (PKCE, JWT). Pure; any thread.
#include <string>
#include <string_view>

namespace cdeck::core {

std::string Base64UrlEncode(std::string_view bytes);  // no padding
std::string Base64UrlDecode(std::string_view text);   // empty on invalid input
std::string Sha256(std::string_view bytes);           // raw 32 bytes
std::string Sha1(std::string_view bytes);             // raw 20 bytes
std::string RandomBytes(size_t n);                    // from the OS CSPRNG (OpenSSL)

}  // namespace cdeck::core
