#include "persist/database.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "platform/os.hpp"

namespace cdeck::core {
namespace {

// Each entry migrates from version i to i+1. Append only; never edit a shipped step.
const char* const kMigrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE teams(
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL);
CREATE TABLE channels(
    id TEXT PRIMARY KEY,
    team_id TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL);
CREATE INDEX channels_by_team ON channels(team_id, position);
CREATE TABLE messages(
    channel_id TEXT NOT NULL,
    id TEXT NOT NULL,
    reply_to_id TEXT,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    deleted_ms INTEGER,
    etag TEXT,
    json TEXT NOT NULL,
    PRIMARY KEY(channel_id, id)) WITHOUT ROWID;
CREATE INDEX messages_by_time ON messages(channel_id, created_ms);
CREATE TABLE message_versions(
    channel_id TEXT NOT NULL,
    id TEXT NOT NULL,
    modified_ms INTEGER NOT NULL,
    etag TEXT NOT NULL DEFAULT '',
    content_type TEXT,
    content TEXT,
    PRIMARY KEY(channel_id, id, modified_ms, etag)) WITHOUT ROWID;
CREATE TABLE sync_state(
    channel_id TEXT PRIMARY KEY,
    delta_link TEXT,
    last_sync_ms INTEGER,
    backfilled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE drafts(
    key TEXT PRIMARY KEY,
    team_id TEXT,
    channel_id TEXT,
    reply_to_id TEXT,
    subject TEXT,
    body TEXT NOT NULL,
    updated_ms INTEGER NOT NULL);
CREATE TABLE audit_log(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    team_id TEXT,
    channel_id TEXT,
    message_id TEXT,
    rule TEXT,
    result TEXT,
    request_id TEXT,
    detail TEXT);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE rules(
    pack TEXT NOT NULL,
    version INTEGER NOT NULL,
    json TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY(pack, version));
CREATE TABLE settings(
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL);
)sql",
    // 2: what moderators decided about flagged messages, by "<message id>|<rule id>".
    R"sql(
CREATE TABLE review_state(
    key TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    updated_ms INTEGER NOT NULL);
)sql",
    // 2 -> 3: messages are stored packed (model/packed.hpp); json holds rows written before.
    R"sql(
ALTER TABLE messages ADD COLUMN packed BLOB;
)sql",
};

static_assert(std::size(kMigrations) == Database::kSchemaVersion,
              "one migration per schema version");

}  // namespace

Statement::~Statement() {
    if (m_stmt) sqlite3_finalize(m_stmt);
}

Statement& Statement::operator=(Statement&& o) noexcept {
    if (this != &o) {
        if (m_stmt) sqlite3_finalize(m_stmt);
        m_db = o.m_db;
        m_stmt = o.m_stmt;
        o.m_stmt = nullptr;
    }
    return *this;
}

Statement& Statement::Bind(int i, std::string_view text) {
    sqlite3_bind_text(m_stmt, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::BindBlob(int i, std::string_view bytes) {
    sqlite3_bind_blob(m_stmt, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
}
Statement& Statement::Bind(int i, int64_t v) {
    sqlite3_bind_int64(m_stmt, i, v);
    return *this;
}
Statement& Statement::BindNull(int i) {
    sqlite3_bind_null(m_stmt, i);
    return *this;
}

bool Statement::Step(Error* error) {
    int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE && error) {
        *error = MakeError(rc == SQLITE_FULL || rc == SQLITE_READONLY || rc == SQLITE_IOERR ||
                                   rc == SQLITE_CANTOPEN
                               ? ErrorCode::kIo
                               : ErrorCode::kInternal,
                           std::string("database: ") + sqlite3_errmsg(m_db));
    }
    return false;
}

Status Statement::Run() {
    Error e;
    e.code = ErrorCode::kOk;
    while (Step(&e)) {
    }
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
    if (e.code != ErrorCode::kOk) return e;
    return OkStatus();
}

void Statement::Reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::string Statement::Text(int col) const {
    const unsigned char* t = sqlite3_column_text(m_stmt, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string();
}
std::string_view Statement::View(int col) const {
    const void* b = sqlite3_column_blob(m_stmt, col);
    return b ? std::string_view(static_cast<const char*>(b),
                                static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)))
             : std::string_view();
}
int64_t Statement::Int(int col) const {
    return sqlite3_column_int64(m_stmt, col);
}
bool Statement::IsNull(int col) const {
    return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
}

Database::~Database() {
    if (m_db) sqlite3_close_v2(m_db);
}

Error Database::LastError(const std::string& context) const {
    int rc = sqlite3_errcode(m_db);
    bool io = rc == SQLITE_FULL || rc == SQLITE_READONLY || rc == SQLITE_IOERR ||
              rc == SQLITE_CANTOPEN || rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    return MakeError(io ? ErrorCode::kIo : ErrorCode::kInternal,
                     context + ": " + sqlite3_errmsg(m_db));
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
    std::error_code ec;
    auto parent = os::PathFromUtf8(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
        return MakeError(ErrorCode::kIo,
                         "cannot create " + os::PathToUtf8(parent) + ": " + ec.message());
    // A new database starts as an empty owner-only file, so it is never readable by others.
    if (!std::filesystem::exists(os::PathFromUtf8(path), ec))
        if (Status st = os::WriteOwnerOnlyFile(path, ""); !st)
            return MakeError(ErrorCode::kIo, "cannot create database: " + st.error().message);
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
        if (db) sqlite3_close_v2(db);
        return MakeError(ErrorCode::kIo, "cannot open database " + path + ": " + msg);
    }
    std::unique_ptr<Database> d(new Database(db, path));
    // The database and its WAL/SHM files hold message history: owner only.
    (void)os::RestrictToOwner(path);
    sqlite3_busy_timeout(db, 5000);
    if (Status st = d->Exec("PRAGMA journal_mode=WAL"); !st) return st.error();
    if (Status st = d->Exec("PRAGMA synchronous=NORMAL"); !st) return st.error();
    if (Status st = d->Exec("PRAGMA foreign_keys=ON"); !st) return st.error();
    if (Status st = d->Migrate(); !st) return st.error();
    for (const char* suffix : {"-wal", "-shm"}) (void)os::RestrictToOwner(path + suffix);
    return d;
}

Result<Statement> Database::Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK)
        return LastError("prepare");
    return Statement(m_db, stmt);
}

Status Database::Exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(m_db, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        Error e = LastError("database");
        if (err) {
            e.message = std::string("database: ") + err;
            sqlite3_free(err);
        }
        return e;
    }
    return OkStatus();
}

int Database::SchemaVersion() {
    auto st = Prepare("SELECT version FROM schema_version LIMIT 1");
    if (!st) return 0;
    return st->Step() ? static_cast<int>(st->Int(0)) : 0;
}

Status Database::Migrate() {
    if (Status st = Exec("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
        !st)
        return st;
    int version = SchemaVersion();
    if (version > kSchemaVersion)
        return MakeError(ErrorCode::kConfig, "database " + m_path +
                                                 " was written by a newer ChannelDeck (schema " +
                                                 std::to_string(version) + ", this build knows " +
                                                 std::to_string(kSchemaVersion) +
                                                 "); upgrade ChannelDeck or move the file away");
    for (int v = version; v < kSchemaVersion; ++v) {
        if (Status st = Exec("BEGIN IMMEDIATE"); !st) return st;
        Status st = Exec(kMigrations[v]);
        if (st) {
            auto up = Prepare(v == 0 ? "INSERT INTO schema_version(version) VALUES(?1)"
                                     : "UPDATE schema_version SET version=?1");
            st = up ? up->Bind(1, static_cast<int64_t>(v + 1)).Run() : Status(up.error());
        }
        if (!st) {
            (void)Exec("ROLLBACK");
            Error e = st.error();
            e.message = "migration to schema " + std::to_string(v + 1) + " failed: " + e.message;
            return e;
        }
        if (Status c = Exec("COMMIT"); !c) return c;
    }
    return OkStatus();
}

}  // namespace cdeck::core
