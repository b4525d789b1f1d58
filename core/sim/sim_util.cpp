#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <ctime>

#include "sim/sim_internal.hpp"
#include "platform/os.hpp"

namespace cdeck::sim {

std::string Base64Url(const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    size_t i = 0;
    while (i + 2 < in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
        out += k[v & 63];
        i += 3;
    }
    if (i + 1 == in.size()) {
        uint32_t v = uint8_t(in[i]) << 16;
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
    } else if (i + 2 == in.size()) {
        uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += k[v >> 18];
        out += k[(v >> 12) & 63];
        out += k[(v >> 6) & 63];
    }
    return out;
}

std::string FromBase64Url(const std::string& in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '-' || c == '+') return 62;
        if (c == '_' || c == '/') return 63;
        return -1;
    };
    std::string out;
    uint32_t buf = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') break;
        int v = val(c);
        if (v < 0) return {};
        buf = (buf << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buf >> bits) & 0xFF));
        }
    }
    return out;
}

std::unique_lock<std::mutex>*& HeldLock() {
    thread_local std::unique_lock<std::mutex>* held = nullptr;
    return held;
}

std::string RandomHex(size_t bytes) {
    std::string raw(bytes, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

std::string UuidV4() {
    std::string h = RandomHex(16);
    h[12] = '4';
    h[16] = "89ab"[std::strtol(h.substr(16, 1).c_str(), nullptr, 16) & 3];
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
           "-" + h.substr(20);
}

std::string HttpDateNow() {
    std::time_t t = std::time(nullptr);
    std::tm tm = cdeck::core::os::UtcTime(t);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

std::string Sha256Base64Url(const std::string& in) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
    return Base64Url(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

std::string UrlDecode(const std::string& s, bool plusIsSpace) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else if (c == '+' && plusIsSpace) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::multimap<std::string, std::string> ParseQuery(const std::string& q) {
    std::multimap<std::string, std::string> out;
    size_t start = 0;
    while (start < q.size()) {
        size_t amp = q.find('&', start);
        if (amp == std::string::npos) amp = q.size();
        std::string part = q.substr(start, amp - start);
        if (!part.empty()) {
            size_t eq = part.find('=');
            std::string k = UrlDecode(part.substr(0, eq), true);
            std::string v =
                eq == std::string::npos ? std::string() : UrlDecode(part.substr(eq + 1), true);
            out.emplace(k, v);
        }
        start = amp + 1;
    }
    return out;
}

std::string UrlEncodeComponent(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

bool Router::Dispatch(SimRequest& req, SimResponse& res, bool& methodMismatch) const {
    methodMismatch = false;
    for (const auto& r : m_routes) {
        std::smatch m;
        if (!std::regex_match(req.path, m, r.re)) continue;
        if (r.method != req.method) {
            methodMismatch = true;
            continue;
        }
        req.m.clear();
        for (const auto& g : m) req.m.push_back(g.str());
        r.h(req, res);
        return true;
    }
    return false;
}

}  // namespace cdeck::sim
