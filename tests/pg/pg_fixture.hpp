#pragma once
// Shared set-up for the suites that run against a real PostgreSQL: one throw-away cluster
// per test process, a fresh migrated database per test, and login roles for a node and
// two moderators (alice, bob) with passwords, over TCP.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <string>

#include "model/types.hpp"
#include "pg/pg_conn.hpp"
#include "pg/pg_schema.hpp"
#include "support/pg_cluster.hpp"

namespace cdeck::test {

inline PgCluster& SharedCluster() {
    static PgCluster cluster;
    return cluster;
}

struct PgDb {
    std::string name;
    std::string admin;  // superuser conninfo
    std::string node;   // channeldeck_node member
    std::string alice;  // channeldeck_desk members
    std::string bob;
};

// A new database with the schema applied. Fails the test (never skips) when PostgreSQL
// cannot run here.
inline PgDb NewPgDb() {
    static std::atomic<int> counter{0};
    PgCluster& c = SharedCluster();
    REQUIRE_MESSAGE(c.Running(), c.Error());
    PgDb db;
    db.name = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    REQUIRE(c.CreateDatabase(db.name));
    db.admin = c.AdminConninfo(db.name);
    auto conn = core::PgConn::Connect(db.admin, "test");
    REQUIRE_MESSAGE(conn.ok(), (conn.ok() ? "" : conn.error().message));
    core::Status st = core::PgMigrate(*conn.value());
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message));
    // Login roles are cluster-wide: created once, granted to the group roles.
    REQUIRE(c.Psql(db.name,
                   "DO $$ BEGIN "
                   "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='node1') THEN "
                   "CREATE ROLE node1 LOGIN PASSWORD 'node-pw' IN ROLE channeldeck_node; END IF; "
                   "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='alice') THEN "
                   "CREATE ROLE alice LOGIN PASSWORD 'alice-pw' IN ROLE channeldeck_desk; END IF; "
                   "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='bob') THEN "
                   "CREATE ROLE bob LOGIN PASSWORD 'bob-pw' IN ROLE channeldeck_desk; END IF; "
                   "END $$"));
    db.node = c.TcpConninfo(db.name, "node1", "node-pw");
    db.alice = c.TcpConninfo(db.name, "alice", "alice-pw");
    db.bob = c.TcpConninfo(db.name, "bob", "bob-pw");
    return db;
}

inline std::unique_ptr<core::PgConn> Connect(const std::string& conninfo) {
    auto c = core::PgConn::Connect(conninfo, "test");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
    return std::move(c.value());
}

// The first column of the first row, as text ("" when there is no row).
inline std::string Scalar(core::PgConn& c, const char* sql,
                          const std::vector<core::PgParam>& params = {}) {
    auto r = c.Exec(sql, params);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    return r->Rows() ? r->Text(0, 0) : std::string();
}

// A text message as the store holds it; created == modified unless given.
inline core::ChatMessage PgMsg(const std::string& id, core::UnixMillis created,
                               core::UnixMillis modified, const std::string& body,
                               const std::string& replyTo = {}) {
    core::ChatMessage m;
    m.id = id;
    m.replyToId = replyTo;
    m.createdDateTime = created;
    m.lastModifiedDateTime = modified;
    m.etag = std::to_string(modified);
    m.body.contentType = "text";
    m.body.content = body;
    return m;
}

}  // namespace cdeck::test
