// The parts of the platform layer that are the same everywhere.
#include "platform/os.hpp"

namespace cdeck::core::os {

std::filesystem::path PathFromUtf8(std::string_view utf8) {
    return std::filesystem::path(
        std::u8string(reinterpret_cast<const char8_t*>(utf8.data()), utf8.size()));
}

std::string PathToUtf8(const std::filesystem::path& path) {
    std::u8string s = path.u8string();
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
}

std::string AssetsDir(const std::string& builtIn) {
    if (std::string env = GetEnv("CDECK_ASSETS"); !env.empty()) return env;
    if (std::string exe = ExecutableDir(); !exe.empty()) {
        std::error_code ec;
        std::filesystem::path beside = PathFromUtf8(exe) / "assets";
        if (std::filesystem::is_directory(beside, ec) || builtIn.empty()) return PathToUtf8(beside);
    }
    return builtIn;
}

Socket::Socket(Socket&& o) noexcept : m_fd(o.m_fd) {
    o.m_fd = kInvalid;
}

Socket& Socket::operator=(Socket&& o) noexcept {
    if (this != &o) {
        Close();
        m_fd = o.m_fd;
        o.m_fd = kInvalid;
    }
    return *this;
}

Socket::~Socket() {
    Close();
}

bool Socket::WaitReadable(std::chrono::milliseconds timeout) const {
    return valid() && WaitSocket(m_fd, timeout) != Readiness::kTimeout;
}

bool Socket::SendAll(std::string_view data) const {
    size_t sent = 0;
    while (sent < data.size()) {
        long n = SendSome(data.data() + sent, data.size() - sent);
        if (n <= 0) return false;
        sent += static_cast<size_t>(n);
    }
    return true;
}

FileLock::FileLock(FileLock&& o) noexcept : m_handle(o.m_handle) {
    o.m_handle = -1;
}

FileLock& FileLock::operator=(FileLock&& o) noexcept {
    if (this != &o) {
        FileLock dead(std::move(*this));
        m_handle = o.m_handle;
        o.m_handle = -1;
    }
    return *this;
}

}  // namespace cdeck::core::os
