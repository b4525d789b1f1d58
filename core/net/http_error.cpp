#include "net/http_error.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

namespace cdeck::core {
namespace {

std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

std::optional<double> ParseOne(std::string_view v, UnixMillis now) {
    v = Trim(v);
    if (v.empty()) return std::nullopt;
    bool numeric = true;
    int dots = 0;
    for (char c : v) {
        if (c == '.')
            ++dots;
        else if (c < '0' || c > '9')
            numeric = false;
    }
    if (numeric && dots <= 1 && v != ".") {
        if (v.size() > 12) return std::nullopt;  // absurd; treat as garbage
        double d = std::strtod(std::string(v).c_str(), nullptr);
        return std::ceil(d);
    }
    if (auto t = ParseHttpDate(v)) {
        double secs = static_cast<double>(*t - now) / 1000.0;
        return secs < 0 ? 0.0 : std::ceil(secs);
    }
    return std::nullopt;
}

}  // namespace

std::optional<double> ParseRetryAfter(std::string_view value, UnixMillis now) {
    // An HTTP-date contains a comma ("Sun, 06 Nov ..."), so try the whole value first.
    if (auto whole = ParseOne(value, now)) return whole;
    std::optional<double> best;
    size_t start = 0;
    bool any = false;
    while (start <= value.size()) {
        size_t comma = value.find(',', start);
        std::string_view part = value.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        // Re-join a date split by its own comma: "Sun" + " 06 Nov 1994 08:49:37 GMT".
        std::optional<double> v = ParseOne(part, now);
        if (!v && comma != std::string_view::npos) {
            size_t next = value.find(',', comma + 1);
            std::string_view joined = value.substr(
                start, next == std::string_view::npos ? std::string_view::npos : next - start);
            if ((v = ParseOne(joined, now))) comma = next;
        }
        if (v) {
            any = true;
            if (!best || *v > *best) best = v;
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return any ? best : std::nullopt;
}

Error ErrorFromResponse(const HttpResponse& r, UnixMillis now) {
    Error e;
    e.httpStatus = r.status;
    e.requestId = r.Header("request-id");
    std::string ra = r.Header("retry-after");
    if (!ra.empty()) e.retryAfterSeconds = ParseRetryAfter(ra, now);

    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_discarded() && j.is_object()) {
        auto err = j.find("error");
        if (err != j.end() && err->is_object()) {
            if (auto c = err->find("code"); c != err->end() && c->is_string())
                e.graphCode = c->get<std::string>();
            if (auto m = err->find("message"); m != err->end() && m->is_string())
                e.message = m->get<std::string>();
            if (auto in = err->find("innerError"); in != err->end() && in->is_object()) {
                if (auto id = in->find("request-id"); id != in->end() && id->is_string())
                    e.requestId = id->get<std::string>();
            }
            // Graph nests a further innerError with the real code for some failures
            // (e.g. delta: resyncRequired under a 410). Pick it up for the branch below.
            for (auto* in = &*err; in && in->is_object();) {
                auto next = in->find("innerError");
                if (next == in->end() || !next->is_object()) break;
                if (auto c = next->find("code"); c != next->end() && c->is_string()) {
                    std::string code = c->get<std::string>();
                    if (code == "resyncRequired" || code == "syncStateNotFound" ||
                        code == "syncStateInvalid")
                        e.graphCode = code;
                }
                in = &*next;
            }
        } else if (auto d = j.find("error_description"); d != j.end() && d->is_string()) {
            // OAuth token endpoint errors: {"error":"invalid_client","error_description":...}
            if (err != j.end() && err->is_string()) e.graphCode = err->get<std::string>();
            e.message = d->get<std::string>();
        }
    }
    if (e.message.empty()) e.message = "HTTP " + std::to_string(r.status);

    const std::string& gc = e.graphCode;
    if (gc == "resyncRequired" || gc == "syncStateNotFound" || gc == "syncStateInvalid" ||
        r.status == 410) {
        e.code = ErrorCode::kResync;
    } else if (r.status == 401) {
        e.code = ErrorCode::kAuth;
    } else if (r.status == 403) {
        e.code = ErrorCode::kPermission;
    } else if (r.status == 404) {
        e.code = ErrorCode::kNotFound;
    } else if (r.status == 429) {
        e.code = ErrorCode::kThrottled;
    } else if (r.status >= 500 || r.status == 408) {
        e.code = ErrorCode::kTransient;
    } else if (r.status >= 400) {
        e.code = (gc == "invalid_grant" || gc == "invalid_client" || gc == "unauthorized_client")
                     ? ErrorCode::kAuth
                     : ErrorCode::kClient;
    } else {
        e.code = ErrorCode::kParse;  // a non-error status handed here means an unexpected reply
    }
    return e;
}

}  // namespace cdeck::core
