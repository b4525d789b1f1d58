#pragma once
// A thin RAII wrapper over one libpq connection (PostgreSQL 15).
//
// Threading: a PgConn is used by one thread at a time (each component that talks to the
// database owns its own connection). SQL is always sent with bound parameters
// (PQexecParams); there is no API that splices values into SQL text.
//
// Secrets: a connection string may hold a password. It is never logged and never part of
// an error message; RedactConninfo() gives a form that is safe to show.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

struct pg_conn;
struct pg_result;

namespace cdeck::core {

// One query parameter: text, or SQL NULL.
using PgParam = std::optional<std::string>;

class PgResult {
  public:
    PgResult() = default;
    explicit PgResult(pg_result* r) : m_res(r) {}
    ~PgResult();
    PgResult(PgResult&& o) noexcept : m_res(o.m_res) { o.m_res = nullptr; }
    PgResult& operator=(PgResult&& o) noexcept;
    PgResult(const PgResult&) = delete;
    PgResult& operator=(const PgResult&) = delete;

    int Rows() const;
    std::string Text(int row, int col) const;
    int64_t Int(int row, int col) const;  // 0 for NULL or non-numeric text
    bool Bool(int row, int col) const;    // 't'
    bool IsNull(int row, int col) const;

  private:
    pg_result* m_res = nullptr;
};

struct PgNotification {
    std::string channel;
    std::string payload;
    int backendPid = 0;
};

// Why a connection failed, for callers that must answer differently (exit 2 for wrong
// credentials or a missing database; retry with back-off when the server is down).
enum class PgFailure { kNone, kUnreachable, kAuth, kNoDatabase, kOther };

class PgConn {
  public:
    ~PgConn();
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;

    // Connects with a connect timeout; sets application_name. On failure the error
    // message is libpq's reason (which never contains the password), and *failure (when
    // given) says what kind of failure it was.
    static Result<std::unique_ptr<PgConn>> Connect(const std::string& conninfo,
                                                   const std::string& applicationName,
                                                   PgFailure* failure = nullptr,
                                                   int connectTimeoutSeconds = 5);

    // Runs one statement with bound parameters ($1, $2, ...), in text format.
    Result<PgResult> Exec(std::string_view sql, const std::vector<PgParam>& params = {});
    // Runs a script of several statements without parameters (DDL in migrations only).
    Status ExecScript(std::string_view sqlWithoutParameters);
    // Statement-level helpers for transaction control.
    Status Begin() { return Done(Exec("BEGIN")); }
    Status Commit() { return Done(Exec("COMMIT")); }
    void Rollback();

    // LISTEN on a fixed channel name (a literal, never a value).
    Status Listen(std::string_view channelLiteral);
    // Waits up to `timeout` for notifications; returns what
    // arrived, possibly nothing. An error means the connection is gone.
    Result<std::vector<PgNotification>> WaitForNotifications(std::chrono::milliseconds timeout);

    bool Healthy() const;  // the connection is open and not in a failed state
    int BackendPid() const;
    std::string ServerVersion() const;
    // The raw handle, for the rare call this wrapper does not cover. Not owned.
    pg_conn* Raw() { return m_conn; }

  private:
    explicit PgConn(pg_conn* c) : m_conn(c) {}
    static Status Done(Result<PgResult> r) {
        if (!r) return r.error();
        return OkStatus();
    }
    pg_conn* m_conn = nullptr;
};

// host=… port=… dbname=… user=… with password= (and a URI's password) replaced by "***",
// so a connection target can be named in logs and errors.
std::string RedactConninfo(const std::string& conninfo);

// Encodes a list of strings as a PostgreSQL array literal ({"a","b",NULL}), the value of
// one bound text[] parameter. Multi-row upserts send one array per column.
std::string PgArray(const std::vector<PgParam>& items);
// The same, built element by element without copying each value first (hot paths).
class PgArrayBuilder {
  public:
    explicit PgArrayBuilder(size_t reserveBytes = 0) { m_out.reserve(reserveBytes + 2); }
    void Add(std::string_view value);
    void AddNull();
    void Add(const std::string& value) { Add(std::string_view(value)); }
    void AddOptional(const PgParam& value) { value ? Add(std::string_view(*value)) : AddNull(); }
    std::string Finish() &&;

  private:
    void Separate();
    std::string m_out = "{";
};
std::string PgArray(const std::vector<std::string>& items);

}  // namespace cdeck::core
