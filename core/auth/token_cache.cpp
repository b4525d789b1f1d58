#include "auth/token_cache.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/os.hpp"

namespace cdeck::core {

TokenCache::TokenCache(std::string path) : m_path(std::move(path)) {}

std::string TokenCache::Key(const std::string& authority, const std::string& tenant,
                            const std::string& clientId, const std::string& account) {
    return authority + "|" + tenant + "|" + clientId + "|" + account;
}

std::string TokenCache::Read(Status& status) {
    status = OkStatus();
    std::filesystem::path p = os::PathFromUtf8(m_path);
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) return {};
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in) status = MakeError(ErrorCode::kIo, "cannot read token cache " + m_path);
    return ss.str();
}

Status TokenCache::Write(const std::string& text) {
    // Created owner-only (0600, or an owner-only ACL on Windows) and replaced atomically.
    if (Status st = os::WriteOwnerOnlyFile(m_path, text); !st)
        return MakeError(ErrorCode::kIo, "token cache: " + st.error().message);
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
