#include "support/pg_cluster.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cdeck::test {

int FreeLoopbackPort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

namespace {

std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

int Run(const std::string& cmd, std::string* out = nullptr) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    std::string text;
    while (size_t n = std::fread(buf, 1, sizeof buf, p)) text.append(buf, n);
    int rc = ::pclose(p);
    if (out) *out = text;
    return rc;
}

std::string FindBin() {
    if (const char* env = std::getenv("CDECK_PG_BIN"); env && *env) return env;
    for (const char* v : {"15", "16", "17"}) {
        std::string d = std::string("/usr/lib/postgresql/") + v + "/bin";
        if (std::filesystem::exists(d + "/initdb")) return d;
    }
    return {};
}

}  // namespace

PgCluster::PgCluster() : PgCluster(Options{}) {}

PgCluster::PgCluster(Options options) : m_options(options) {
    m_bin = FindBin();
    if (m_bin.empty()) {
        m_error = "PostgreSQL 15 is not installed (initdb not found under /usr/lib/postgresql)";
        return;
    }
    m_root = ::geteuid() == 0;
    char tmpl[] = "/tmp/cdeck-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
        m_error = "mkdtemp failed";
        return;
    }
    m_dir = tmpl;
    if (m_root) Run("chown postgres:postgres " + Quote(m_dir));
    std::string out;
    std::string cmd = RunAs(m_bin + "/initdb -D " + Quote(m_dir + "/data") +
                            " -U postgres --auth-local=trust --auth-host=scram-sha-256 "
                            "--no-sync -E UTF8 --locale=C.UTF-8");
    if (Run(cmd, &out) != 0) {
        m_error = "initdb failed: " + out;
        return;
    }
    m_port = FreeLoopbackPort();
    std::ofstream conf(m_dir + "/data/postgresql.conf", std::ios::app);
    conf << "listen_addresses = '127.0.0.1'\nport = " << m_port << "\nunix_socket_directories = '"
         << m_dir << "'\n"
         << "max_connections = " << m_options.maxConnections << "\n"
         << (m_options.fsync ? "" : "fsync = off\nsynchronous_commit = off\n")
         << "full_page_writes = off\nlog_min_messages = warning\n"
         << (m_options.statements ? "shared_preload_libraries = 'pg_stat_statements'\n" : "");
    conf.close();
    if (m_root) Run("chown -R postgres:postgres " + Quote(m_dir));
    Start();
}

PgCluster::~PgCluster() {
    if (m_running) Stop();
    if (!m_dir.empty() && !std::getenv("CDECK_KEEP_PG")) {
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
}

std::string PgCluster::RunAs(const std::string& command) const {
    return m_root ? "runuser -u postgres -- " + command : command;
}

bool PgCluster::Start() {
    std::string out;
    std::string cmd = RunAs(m_bin + "/pg_ctl -D " + Quote(m_dir + "/data") + " -l " +
                            Quote(m_dir + "/log") + " -w -t 60 start");
    if (Run(cmd, &out) != 0) {
        std::string log;
        Run("tail -n 20 " + Quote(m_dir + "/log"), &log);
        m_error = "pg_ctl start failed: " + out + log;
        m_running = false;
        return false;
    }
    m_error.clear();
    m_running = true;
    return true;
}

bool PgCluster::Stop() {
    std::string out;
    int rc = Run(RunAs(m_bin + "/pg_ctl -D " + Quote(m_dir + "/data") + " -m fast -w stop"), &out);
    m_running = false;
    return rc == 0;
}

std::string PgCluster::AdminConninfo(const std::string& db) const {
    return "host=" + m_dir + " port=" + std::to_string(m_port) + " user=postgres dbname=" + db;
}

std::string PgCluster::TcpConninfo(const std::string& db, const std::string& user,
                                   const std::string& password) const {
    return "host=127.0.0.1 port=" + std::to_string(m_port) + " dbname=" + db + " user=" + user +
           " password=" + password;
}

bool PgCluster::Psql(const std::string& db, const std::string& sql, std::string* output) {
    std::string cmd = m_bin + "/psql -X -q -A -t -v ON_ERROR_STOP=1 " + Quote(AdminConninfo(db)) +
                      " -c " + Quote(sql);
    return Run(cmd, output) == 0;
}

bool PgCluster::CreateDatabase(const std::string& name) {
    return Psql("postgres", "CREATE DATABASE " + name);
}

}  // namespace cdeck::test
