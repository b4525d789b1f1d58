#include "util/result.hpp"

#include <cstdio>

namespace cdeck::core {

const char* ErrorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return "ok";
        case ErrorCode::kAuth:
            return "auth";
        case ErrorCode::kPermission:
            return "permission";
        case ErrorCode::kNotFound:
            return "not-found";
        case ErrorCode::kThrottled:
            return "throttled";
        case ErrorCode::kTransient:
            return "transient";
        case ErrorCode::kClient:
            return "client";
        case ErrorCode::kResync:
            return "resync";
        case ErrorCode::kParse:
            return "parse";
        case ErrorCode::kConfig:
            return "config";
        case ErrorCode::kIo:
            return "io";
        case ErrorCode::kTls:
            return "tls";
        case ErrorCode::kCancelled:
            return "cancelled";
        case ErrorCode::kInternal:
            return "internal";
    }
    return "unknown";
}

std::string Error::Describe() const {
    std::string out = ErrorCodeName(code);
    if (httpStatus != 0) out += " (HTTP " + std::to_string(httpStatus) + ")";
    if (!graphCode.empty()) out += " " + graphCode;
    out += ": " + message;
    if (retryAfterSeconds) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " [retry after %.1f s]", *retryAfterSeconds);
        out += buf;
    }
    if (!requestId.empty()) out += " [request-id " + requestId + "]";
    return out;
}

}  // namespace cdeck::core
