#pragma once
// A thin RAII wrapper over one SQLite connection, and the schema migrations.
//
// Threading: a Database is used by one thread at a time (the persistence thread, or the
// main thread during start-up load before that thread exists). SQL is always prepared
// with bound parameters; there is no API that splices values into SQL text.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cdeck::core {

class Statement {
  public:
    Statement() = default;
    Statement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
    ~Statement();
    Statement(Statement&& o) noexcept : m_db(o.m_db), m_stmt(o.m_stmt) { o.m_stmt = nullptr; }
    Statement& operator=(Statement&& o) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Parameters are 1-based, as in SQLite.
    Statement& Bind(int i, std::string_view text);
    Statement& BindBlob(int i, std::string_view bytes);
    Statement& Bind(int i, int64_t v);
    Statement& BindNull(int i);
    // Returns true while there is a row; false when done. Errors become a false return and
    // an Error in `error`.
    bool Step(Error* error = nullptr);
    Status Run();  // steps to completion, for statements without rows
    void Reset();

    std::string Text(int col) const;
    // The column's bytes, valid until the next Step or Reset.
    std::string_view View(int col) const;
    int64_t Int(int col) const;
    bool IsNull(int col) const;

  private:
    sqlite3* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
};

class Database {
  public:
    static constexpr int kSchemaVersion = 3;

    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Opens (creating if needed, mode 0600), turns on WAL and foreign keys, and migrates
    // to kSchemaVersion. A database from a newer ChannelDeck is refused with a clear error.
    static Result<std::unique_ptr<Database>> Open(const std::string& path);

    Result<Statement> Prepare(std::string_view sql);
    Status Exec(std::string_view sqlWithoutParameters);  // DDL and transaction control only
    int SchemaVersion();
    const std::string& Path() const { return m_path; }
    Error LastError(const std::string& context) const;

  private:
    Database(sqlite3* db, std::string path) : m_db(db), m_path(std::move(path)) {}
    Status Migrate();

    sqlite3* m_db;
    std::string m_path;
};

}  // namespace cdeck::core
