#pragma once
// Result<T>: how errors cross module boundaries in ChannelDeck (DESIGN.md section 9).
//
// A Result holds either a value or an Error. Exceptions never cross a module boundary;
// code that calls a throwing library (nlohmann::json, std::stoi) catches at the edge and
// returns an Error instead. Results are plain values: any thread may create, move or read
// one, but a single Result is not meant to be shared between threads without a lock.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cdeck::core {

// What kind of failure happened. Callers branch on this, never on the message text.
enum class ErrorCode {
    kOk = 0,
    kAuth,        // 401, bad or expired token, sign-in failed
    kPermission,  // 403
    kNotFound,    // 404
    kThrottled,   // 429 (Error::retryAfterSeconds may say how long)
    kTransient,   // 5xx, timeout, connection reset: may succeed on retry
    kClient,      // other 4xx: the request itself is wrong
    kResync,      // delta token expired: start the delta from scratch
    kParse,       // the server said something we could not understand
    kConfig,      // bad configuration
    kIo,          // local file or database problem
    kTls,         // certificate problem; never worked around
    kCancelled,
    kInternal,
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;    // human readable; never contains tokens or secrets
    int httpStatus = 0;     // 0 when no HTTP response was received
    std::string graphCode;  // Graph's error.code, e.g. "InvalidAuthenticationToken"
    std::string requestId;  // Graph's request-id, for support and the audit log
    std::optional<double> retryAfterSeconds;
    bool timedOut = false;  // no response before the deadline

    std::string Describe() const;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : m_data(std::move(value)) {}
    Result(Error error) : m_data(std::move(error)) {}

    bool ok() const { return m_data.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(m_data); }
    const T& value() const& { return std::get<0>(m_data); }
    T&& value() && { return std::get<0>(std::move(m_data)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(m_data); }

  private:
    std::variant<T, Error> m_data;
};

// For operations that return nothing but may fail.
struct Unit {};
using Status = Result<Unit>;
inline Status OkStatus() {
    return Unit{};
}

inline Error MakeError(ErrorCode code, std::string message) {
    Error e;
    e.code = code;
    e.message = std::move(message);
    return e;
}

}  // namespace cdeck::core
