#pragma once
// The error model of the services the client talks to (Graph and Entra ID): turns an HTTP
// response into an Error, and reads Retry-After. Below auth/ and graph/, which both use
// it. Pure; any thread.
#include <optional>
#include <string_view>

#include "net/http.hpp"
#include "util/result.hpp"
#include "util/time.hpp"

namespace cdeck::core {

// Parses Retry-After per DESIGN.md section 4 / issue 4:
//   integer -> seconds; decimal -> seconds rounded up; HTTP-date -> seconds from `now`
//   (never negative); comma list -> the maximum; missing or garbage -> nullopt.
std::optional<double> ParseRetryAfter(std::string_view value, UnixMillis now);

// Builds the Error for a non-2xx response: the code is chosen from the HTTP status and
// Graph's error.code (never from the message text); request-id comes from the body's
// innerError or, failing that, the response header.
Error ErrorFromResponse(const HttpResponse& response, UnixMillis now);

}  // namespace cdeck::core
