#include "auth/loopback_redirect.hpp"

#include <cstring>

namespace cdeck::core {
namespace {

int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string Decode(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+')
            out += ' ';
        else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
            out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

LoopbackRedirect::~LoopbackRedirect() = default;

Status LoopbackRedirect::Listen() {
    auto listen = os::Socket::Listen("127.0.0.1", 0, 4, false);
    if (!listen)
        return MakeError(ErrorCode::kIo, "cannot listen on 127.0.0.1: " + listen.error().message);
    m_listen = std::move(listen.value());
    m_port = m_listen.LocalPort();
    return OkStatus();
}

Result<std::map<std::string, std::string>> LoopbackRedirect::Wait(std::chrono::milliseconds timeout,
                                                                  const std::atomic<bool>* cancel) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (cancel && cancel->load()) return MakeError(ErrorCode::kCancelled, "sign-in cancelled");
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return MakeError(ErrorCode::kAuth, "sign-in timed out waiting for the browser");
        if (!m_listen.WaitReadable(std::min(left, std::chrono::milliseconds(200)))) continue;
        os::Socket c = m_listen.Accept();
        if (!c.valid()) continue;
        // Read the request head (bounded), with a short timeout so a silent peer cannot hang us.
        std::string req;
        char buf[2048];
        auto readDeadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (req.find("\r\n\r\n") == std::string::npos && req.size() < 16384 &&
               std::chrono::steady_clock::now() < readDeadline) {
            if (!c.WaitReadable(std::chrono::milliseconds(200))) continue;
            long n = c.Receive(buf, sizeof buf);
            if (n <= 0) break;
            req.append(buf, static_cast<size_t>(n));
        }
        std::map<std::string, std::string> params;
        size_t sp1 = req.find(' '), sp2 = req.find(' ', sp1 + 1);
        std::string target = sp1 == std::string::npos || sp2 == std::string::npos
                                 ? ""
                                 : req.substr(sp1 + 1, sp2 - sp1 - 1);
        size_t q = target.find('?');
        if (q != std::string::npos) {
            std::string query = target.substr(q + 1);
            size_t start = 0;
            while (start <= query.size()) {
                size_t amp = query.find('&', start);
                if (amp == std::string::npos) amp = query.size();
                std::string kv = query.substr(start, amp - start);
                size_t eq = kv.find('=');
                if (!kv.empty())
                    params[Decode(kv.substr(0, eq))] =
                        eq == std::string::npos ? "" : Decode(kv.substr(eq + 1));
                start = amp + 1;
            }
        }
        bool relevant = params.count("code") || params.count("error");
        const char* page =
            relevant ? "<!doctype html><title>ChannelDeck</title><p>Sign-in finished. You can "
                       "close this window "
                       "and return to ChannelDeck.</p>"
                     : "<!doctype html><title>ChannelDeck</title><p>Waiting for sign-in.</p>";
        std::string resp =
            std::string(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                "Content-Length: ") +
            std::to_string(std::strlen(page)) + "\r\n\r\n" + page;
        (void)c.SendAll(resp);
        c.Close();
        if (relevant) return params;  // favicon requests and the like are ignored
    }
}

}  // namespace cdeck::core
