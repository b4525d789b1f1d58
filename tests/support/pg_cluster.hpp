#pragma once
// A throw-away PostgreSQL 15 cluster for tests and benchmarks (SERVER.md "Test and demo
// set-up"): initdb into a fresh temporary directory, started with pg_ctl on a free
// loopback port, stopped and removed by the destructor. Tests never assume a running
// server. As root, initdb and the server run as the "postgres" user through runuser.
//
// Authentication: trust over the Unix socket (in the cluster's own directory) for the
// superuser, scram-sha-256 over TCP, so wrong passwords really fail.
#include <string>

namespace cdeck::test {

// A loopback TCP port that was free a moment ago.
int FreeLoopbackPort();

class PgCluster {
  public:
    struct Options {
        bool fsync = false;  // benchmarks turn it on to measure real commits
        int maxConnections = 100;
        bool statements = false;  // pg_stat_statements, to count what benchmarks send
    };
    PgCluster();
    explicit PgCluster(Options options);
    ~PgCluster();
    PgCluster(const PgCluster&) = delete;
    PgCluster& operator=(const PgCluster&) = delete;

    // Empty when running; otherwise why it could not start (the log's tail included).
    const std::string& Error() const { return m_error; }
    bool Running() const { return m_running; }
    int Port() const { return m_port; }
    const std::string& Dir() const { return m_dir; }

    // Superuser over the Unix socket.
    std::string AdminConninfo(const std::string& db = "postgres") const;
    // A TCP connection string for a login role with a password.
    std::string TcpConninfo(const std::string& db, const std::string& user,
                            const std::string& password) const;
    // Creates a database and runs SQL as the superuser through psql (setup only).
    bool CreateDatabase(const std::string& name);
    bool Psql(const std::string& db, const std::string& sql, std::string* output = nullptr);

    // Stops the server (fast shutdown) and starts it again on the same port.
    bool Stop();
    bool Start();

  private:
    std::string RunAs(const std::string& command) const;  // prefix for the postgres user
    Options m_options;
    std::string m_dir, m_bin, m_error;
    int m_port = 0;
    bool m_running = false;
    bool m_root = false;
};

}  // namespace cdeck::test
