#include "auth/token_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace cdeck::core {

TokenCache::TokenCache(std::string path) : m_path(std::move(path)) {}

std::string TokenCache::Key(const std::string& authority, const std::string& tenant,
                            const std::string& clientId, const std::string& account) {
    return authority + "|" + tenant + "|" + clientId + "|" + account;
}

std::string TokenCache::Read(Status& status) {
    status = OkStatus();
    int fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            status = MakeError(ErrorCode::kIo,
                               "cannot read token cache " + m_path + ": " + std::strerror(errno));
        return {};
    }
    std::string text;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
    ::close(fd);
    return text;
}

Status TokenCache::Write(const std::string& text) {
    std::error_code ec;
    std::filesystem::path p(m_path);
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
        return MakeError(ErrorCode::kIo,
                         "cannot create " + p.parent_path().string() + ": " + ec.message());
    std::string tmp = m_path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return MakeError(ErrorCode::kIo,
                         "cannot write token cache " + tmp + ": " + std::strerror(errno));
    ::fchmod(fd, 0600);  // whatever the umask says
    size_t off = 0;
    while (off < text.size()) {
        ssize_t w = ::write(fd, text.data() + off, text.size() - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return MakeError(ErrorCode::kIo,
                             "cannot write token cache: " + std::string(std::strerror(e)));
        }
        off += static_cast<size_t>(w);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        ::unlink(tmp.c_str());
        return MakeError(ErrorCode::kIo,
                         "cannot flush token cache: " + std::string(std::strerror(errno)));
    }
    if (::rename(tmp.c_str(), m_path.c_str()) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return MakeError(ErrorCode::kIo,
                         "cannot replace token cache: " + std::string(std::strerror(e)));
    }
    return OkStatus();
}

std::optional<std::pair<std::string, CachedAccount>> TokenCache::FindFor(
    const std::string& prefix) {
    std::lock_guard lock(m_mutex);
    Status st = OkStatus();
    auto j = nlohmann::json::parse(Read(st), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("entries") || !j["entries"].is_object())
        return std::nullopt;
    for (auto& [k, v] : j["entries"].items()) {
        if (k.rfind(prefix, 0) != 0 || !v.is_object()) continue;
        CachedAccount a;
        a.refreshToken = v.value("refresh_token", std::string());
        a.account = v.value("account", std::string());
        a.homeId = v.value("home_id", std::string());
        a.scopes = v.value("scopes", std::string());
        if (!a.refreshToken.empty()) return std::make_pair(k, a);
    }
    return std::nullopt;
}

Status TokenCache::Put(const std::string& key, const CachedAccount& e) {
    std::lock_guard lock(m_mutex);
    Status st = OkStatus();
    auto j = nlohmann::json::parse(Read(st), nullptr, false);
    if (!st.ok()) return st;
    if (j.is_discarded() || !j.is_object())
        j = nlohmann::json::object();  // a corrupt cache is replaced
    j["version"] = 1;
    j["entries"][key] = {{"refresh_token", e.refreshToken},
                         {"account", e.account},
                         {"home_id", e.homeId},
                         {"scopes", e.scopes}};
    return Write(j.dump(2));
}

Status TokenCache::Remove(const std::string& key) {
    std::lock_guard lock(m_mutex);
    Status st = OkStatus();
    auto j = nlohmann::json::parse(Read(st), nullptr, false);
    if (!st.ok()) return st;
    if (j.is_discarded() || !j.is_object() || !j.contains("entries")) return OkStatus();
    j["entries"].erase(key);
    return Write(j.dump(2));
}

}  // namespace cdeck::core
