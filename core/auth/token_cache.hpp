#pragma once
// The token cache: refresh tokens (and the account they belong to) persisted under
// $XDG_STATE_HOME/channeldeck/, so a wall monitor signs in once.
//
// The file is JSON, mode 0600, written atomically (a temp file in the same folder, fsync,
// rename). Entries are keyed by authority, tenant, client id and account. Thread-safe:
// every method takes the cache's mutex. Nothing here is ever logged.
#include <mutex>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace cdeck::core {

struct CachedAccount {
    std::string refreshToken;
    std::string account;  // preferred_username or display name
    std::string homeId;   // client_info uid.utid, when known
    std::string scopes;
};

class TokenCache {
  public:
    explicit TokenCache(std::string path);

    static std::string Key(const std::string& authority, const std::string& tenant,
                           const std::string& clientId, const std::string& account);

    // The entry for (authority, tenant, client), any account; nullopt when none.
    std::optional<std::pair<std::string, CachedAccount>> FindFor(const std::string& keyPrefix);
    Status Put(const std::string& key, const CachedAccount& entry);
    Status Remove(const std::string& key);
    const std::string& Path() const { return m_path; }

  private:
    Status Write(const std::string& text);
    std::string Read(Status& status);

    const std::string m_path;
    std::mutex m_mutex;  // serialises read-modify-write of the file
};

}  // namespace cdeck::core
