#include "pg/pg_conn.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>

#include "platform/os.hpp"

namespace cdeck::core {

namespace {

// libpq's messages end in newlines and may span lines ("FATAL:  ..."): one line for logs.
std::string OneLine(const char* text) {
    std::string out;
    bool space = false;
    for (const char* p = text ? text : ""; *p; ++p) {
        if (std::isspace(static_cast<unsigned char>(*p))) {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += *p;
    }
    return out.empty() ? "unknown PostgreSQL error" : out;
}

PgFailure Classify(const std::string& msg, bool needsPassword) {
    auto has = [&](const char* s) { return msg.find(s) != std::string::npos; };
    if (needsPassword || has("password authentication failed") || has("no password supplied") ||
        (has("role \"") && has("does not exist")) || has("authentication failed") ||
        has("pg_hba.conf"))
        return PgFailure::kAuth;
    if (has("database \"") && has("does not exist")) return PgFailure::kNoDatabase;
    if (has("Connection refused") || has("could not connect") || has("timeout expired") ||
        has("No such file or directory") || has("could not translate host name") ||
        has("the database system is starting up") || has("the database system is shutting down") ||
        has("server closed the connection"))
        return PgFailure::kUnreachable;
    return PgFailure::kOther;
}

ErrorCode CodeFor(PgFailure f) {
    switch (f) {
        case PgFailure::kAuth:
            return ErrorCode::kAuth;
        case PgFailure::kNoDatabase:
            return ErrorCode::kConfig;
        case PgFailure::kUnreachable:
            return ErrorCode::kTransient;
        default:
            return ErrorCode::kIo;
    }
}

}  // namespace

PgResult::~PgResult() {
    if (m_res) PQclear(m_res);
}

PgResult& PgResult::operator=(PgResult&& o) noexcept {
    if (this != &o) {
        if (m_res) PQclear(m_res);
        m_res = o.m_res;
        o.m_res = nullptr;
    }
    return *this;
}

int PgResult::Rows() const {
    return m_res ? PQntuples(m_res) : 0;
}

std::string PgResult::Text(int row, int col) const {
    if (!m_res || PQgetisnull(m_res, row, col)) return {};
    return std::string(PQgetvalue(m_res, row, col),
                       static_cast<size_t>(PQgetlength(m_res, row, col)));
}

int64_t PgResult::Int(int row, int col) const {
    if (!m_res || PQgetisnull(m_res, row, col)) return 0;
    return std::strtoll(PQgetvalue(m_res, row, col), nullptr, 10);
}

bool PgResult::Bool(int row, int col) const {
    return m_res && !PQgetisnull(m_res, row, col) && PQgetvalue(m_res, row, col)[0] == 't';
}

bool PgResult::IsNull(int row, int col) const {
    return !m_res || PQgetisnull(m_res, row, col);
}

PgConn::~PgConn() {
    if (m_conn) PQfinish(m_conn);
}

Result<std::unique_ptr<PgConn>> PgConn::Connect(const std::string& conninfo,
                                                const std::string& applicationName,
                                                PgFailure* failure, int connectTimeoutSeconds) {
    if (failure) *failure = PgFailure::kNone;
    std::string timeout = std::to_string(connectTimeoutSeconds);
    // Later keywords win in libpq only when expand_dbname parses the first one; the
    // defaults go first so that the configured string overrides them.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {timeout.c_str(), applicationName.c_str(), conninfo.c_str(), nullptr};
    PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!c) return MakeError(ErrorCode::kInternal, "out of memory connecting to PostgreSQL");
    if (PQstatus(c) != CONNECTION_OK) {
        std::string msg = OneLine(PQerrorMessage(c));
        PgFailure f = Classify(msg, PQconnectionNeedsPassword(c) != 0);
        PQfinish(c);
        if (failure) *failure = f;
        return MakeError(CodeFor(f), "PostgreSQL: " + msg);
    }
    return std::unique_ptr<PgConn>(new PgConn(c));
}

Result<PgResult> PgConn::Exec(std::string_view sql, const std::vector<PgParam>& params) {
    std::string text(sql);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* r = PQexecParams(m_conn, text.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
    PgResult res(r);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return res;
    std::string msg = OneLine(r ? PQresultErrorMessage(r) : PQerrorMessage(m_conn));
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    Error e = MakeError(PQstatus(m_conn) == CONNECTION_OK ? ErrorCode::kIo : ErrorCode::kTransient,
                        "PostgreSQL: " + msg);
    if (state) e.graphCode = state;  // the SQLSTATE, for callers that branch on it
    return e;
}

Status PgConn::ExecScript(std::string_view sqlWithoutParameters) {
    std::string text(sqlWithoutParameters);
    PGresult* r = PQexec(m_conn, text.c_str());
    PgResult res(r);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return OkStatus();
    return MakeError(ErrorCode::kIo, "PostgreSQL: " + OneLine(r ? PQresultErrorMessage(r)
                                                                : PQerrorMessage(m_conn)));
}

void PgConn::Rollback() {
    (void)Exec("ROLLBACK");
}

Status PgConn::Listen(std::string_view channelLiteral) {
    // LISTEN takes no parameter; the name is a compile-time literal (kPgHintChannel).
    std::string text = "LISTEN " + std::string(channelLiteral);
    PGresult* r = PQexec(m_conn, text.c_str());
    PgResult res(r);
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK) return OkStatus();
    return MakeError(ErrorCode::kTransient, "PostgreSQL: " + OneLine(r ? PQresultErrorMessage(r)
                                                                       : PQerrorMessage(m_conn)));
}

Result<std::vector<PgNotification>> PgConn::WaitForNotifications(
    std::chrono::milliseconds timeout) {
    std::vector<PgNotification> out;
    auto drain = [&] {
        while (PGnotify* n = PQnotifies(m_conn)) {
            out.push_back({n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid});
            PQfreemem(n);
        }
    };
    if (PQconsumeInput(m_conn) == 0)
        return MakeError(ErrorCode::kTransient, "PostgreSQL: " + OneLine(PQerrorMessage(m_conn)));
    drain();
    if (!out.empty()) return out;
    int sock = PQsocket(m_conn);
    if (sock < 0) return MakeError(ErrorCode::kTransient, "PostgreSQL: the connection is closed");
    os::Readiness ready = os::WaitSocket(sock, timeout);
    if (ready != os::Readiness::kTimeout) {
        if (PQconsumeInput(m_conn) == 0 || ready == os::Readiness::kClosed)
            return MakeError(ErrorCode::kTransient,
                             "PostgreSQL: " + OneLine(PQerrorMessage(m_conn)));
        drain();
    }
    return out;
}

bool PgConn::Healthy() const {
    return m_conn && PQstatus(m_conn) == CONNECTION_OK;
}

int PgConn::BackendPid() const {
    return m_conn ? PQbackendPID(m_conn) : 0;
}

std::string PgConn::ServerVersion() const {
    int v = m_conn ? PQserverVersion(m_conn) : 0;
    return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
}

std::string RedactConninfo(const std::string& conninfo) {
    // URI form: postgresql://user:password@host/db
    if (conninfo.rfind("postgres://", 0) == 0 || conninfo.rfind("postgresql://", 0) == 0) {
        std::string out = conninfo;
        size_t scheme = out.find("://") + 3;
        size_t at = out.find('@', scheme);
        size_t colon = out.find(':', scheme);
        if (at != std::string::npos && colon != std::string::npos && colon < at)
            out.replace(colon + 1, at - colon - 1, "***");
        for (size_t p = out.find("password="); p != std::string::npos;
             p = out.find("password=", p + 1)) {
            size_t end = out.find('&', p);
            out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
        }
        return out;
    }
    // key=value form: values may be quoted with '…' and contain \' escapes.
    std::string out;
    size_t i = 0;
    while (i < conninfo.size()) {
        size_t eq = conninfo.find('=', i);
        if (eq == std::string::npos) {
            out += conninfo.substr(i);
            break;
        }
        std::string key = conninfo.substr(i, eq - i);
        size_t k = key.find_first_not_of(" \t");
        std::string bare = k == std::string::npos ? "" : key.substr(k);
        while (!bare.empty() && (bare.back() == ' ' || bare.back() == '\t')) bare.pop_back();
        size_t v = eq + 1;
        while (v < conninfo.size() && conninfo[v] == ' ') ++v;
        size_t end = v;
        if (end < conninfo.size() && conninfo[end] == '\'') {
            for (++end; end < conninfo.size() && conninfo[end] != '\''; ++end)
                if (conninfo[end] == '\\') ++end;
            if (end < conninfo.size()) ++end;
        } else {
            while (end < conninfo.size() && conninfo[end] != ' ') ++end;
        }
        out += key + "=" + (bare == "password" ? std::string("***") : conninfo.substr(v, end - v));
        i = end;
    }
    return out;
}

void PgArrayBuilder::Separate() {
    if (m_out.size() > 1) m_out += ',';
}

void PgArrayBuilder::Add(std::string_view value) {
    Separate();
    m_out += '"';
    size_t from = 0;
    // Copies runs without quotes or backslashes in one go.
    for (size_t i = 0; i < value.size(); ++i)
        if (value[i] == '"' || value[i] == '\\') {
            m_out.append(value.data() + from, i - from);
            m_out += '\\';
            from = i;
        }
    m_out.append(value.data() + from, value.size() - from);
    m_out += '"';
}

void PgArrayBuilder::AddNull() {
    Separate();
    m_out += "NULL";
}

std::string PgArrayBuilder::Finish() && {
    m_out += '}';
    return std::move(m_out);
}

std::string PgArray(const std::vector<PgParam>& items) {
    PgArrayBuilder b;
    for (const auto& item : items) b.AddOptional(item);
    return std::move(b).Finish();
}

std::string PgArray(const std::vector<std::string>& items) {
    std::vector<PgParam> p(items.begin(), items.end());
    return PgArray(p);
}

}  // namespace cdeck::core
