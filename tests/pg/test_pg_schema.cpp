// The shared store's schema against a real PostgreSQL: migrations, the refusal of a newer
// schema, the roles' grants, the append-only audit log, claims and connection errors.
#include <doctest/doctest.h>

#include "pg/pg_fixture.hpp"

using namespace cdeck;
using namespace cdeck::test;

TEST_CASE("pg: migrate applies the schema once and records its version") {
    PgDb db = NewPgDb();
    auto c = Connect(db.admin);
    auto v = core::PgSchemaVersion(*c);
    REQUIRE(v.ok());
    CHECK(v.value() == core::kPgSchemaVersion);
    int applied = -1;
    REQUIRE(core::PgMigrate(*c, &applied).ok());
    CHECK(applied == 0);
    CHECK(Scalar(*c, "SELECT count(*) FROM cdeck_schema") ==
          std::to_string(core::kPgSchemaVersion));
    CHECK(core::PgCheckSchema(*c).ok());
}

TEST_CASE("pg: a version 1 database with data is upgraded to the cluster schema in place") {
    PgDb db = NewPgDb();
    auto c = Connect(db.admin);
    // Back to what version 1 had, with a channel in it.
    REQUIRE(c->ExecScript("DROP FUNCTION quota_take(text[], integer[], float8[], float8[]); "
                          "DROP FUNCTION quota_block(text[], float8, text); "
                          "DROP TABLE channel_lease, leader_lease, quota_scope, push_subscription; "
                          "DELETE FROM cdeck_schema WHERE version = 2; "
                          "INSERT INTO channels (id, team_id, position, json, seq) "
                          "VALUES ('c1', 't1', 0, '{}', 1)")
                .ok());
    core::Status old = core::PgCheckSchema(*c);
    REQUIRE_FALSE(old.ok());
    CHECK(old.error().message.find("run \"channeldeck-node migrate\"") != std::string::npos);
    int applied = 0;
    REQUIRE(core::PgMigrate(*c, &applied).ok());
    CHECK(applied == 1);
    CHECK(Scalar(*c, "SELECT count(*) FROM channels") == "1");
    // The node role may use what version 2 added.
    auto node = Connect(db.node);
    CHECK(node->Exec("SELECT * FROM quota_take(ARRAY['class:other'], ARRAY[1], ARRAY[100.0], "
                     "ARRAY[0.0])")
              .ok());
    CHECK(node->Exec("INSERT INTO channel_lease (channel_id, team_id) VALUES ('c1', 't1')").ok());
    // A desk may read the leases but not take one.
    auto desk = Connect(db.alice);
    CHECK(desk->Exec("SELECT count(*) FROM channel_lease").ok());
    CHECK_FALSE(desk->Exec("UPDATE channel_lease SET owner = 'alice'").ok());
    CHECK_FALSE(desk->Exec("SELECT quota_block(ARRAY['class:other'], 1000, 'x')").ok());
}

TEST_CASE("pg: a database from a newer version is refused, naming the version found") {
    PgDb db = NewPgDb();
    auto c = Connect(db.admin);
    REQUIRE(c->Exec("INSERT INTO cdeck_schema(version) VALUES (7)").ok());
    core::Status st = core::PgMigrate(*c);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("schema version 7") != std::string::npos);
    CHECK(st.error().code == core::ErrorCode::kConfig);
    CHECK_FALSE(core::PgCheckSchema(*c).ok());
}

TEST_CASE("pg: an empty database must be migrated before it is used") {
    PgCluster& cl = SharedCluster();
    REQUIRE(cl.Running());
    REQUIRE(cl.CreateDatabase("empty_" + std::to_string(::getpid())));
    auto c = Connect(cl.AdminConninfo("empty_" + std::to_string(::getpid())));
    core::Status st = core::PgCheckSchema(*c);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().message.find("channeldeck-node migrate") != std::string::npos);
}

TEST_CASE("pg: a desk connection cannot change a message, only the review functions") {
    PgDb db = NewPgDb();
    auto node = Connect(db.node);
    REQUIRE(node->Exec("INSERT INTO messages(channel_id, id, created_ms, modified_ms, json, seq) "
                       "VALUES ('c1', 'm1', 1, 1, '{}', 1)")
                .ok());
    REQUIRE(node->Exec("INSERT INTO review_items(message_id, rule_id, channel_id, seq) "
                       "VALUES ('m1', 'r1', 'c1', 1)")
                .ok());
    auto desk = Connect(db.alice);
    // Reading is allowed.
    CHECK(Scalar(*desk, "SELECT json FROM messages WHERE id = 'm1'") == "{}");
    // Every direct change is refused with insufficient_privilege.
    for (const char* sql :
         {"UPDATE messages SET json = '{\"x\":1}' WHERE id = 'm1'",
          "DELETE FROM messages WHERE id = 'm1'",
          "INSERT INTO messages(channel_id, id, created_ms, modified_ms, json, seq) VALUES "
          "('c1', 'm2', 1, 1, '{}', 1)",
          "UPDATE review_items SET resolved = true", "DELETE FROM review_items",
          "INSERT INTO audit_log(action) VALUES ('forged')", "UPDATE teams SET json = ''",
          "INSERT INTO rule_packs(pack, version, json) VALUES ('p', 9, '{}')"}) {
        CAPTURE(sql);
        auto r = desk->Exec(sql);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().graphCode == "42501");
    }
    CHECK(Scalar(*node, "SELECT json FROM messages WHERE id = 'm1'") == "{}");
    // The narrow functions work, and the audit row names the database user.
    REQUIRE(Scalar(*desk, "SELECT desk_claim_item(1, 60, 'alice@contoso')") == "t");
    REQUIRE(desk->Exec("SELECT desk_resolve(1, 'compliant', 'fine', 'alice@contoso')").ok());
    CHECK(Scalar(*node, "SELECT resolved FROM review_items WHERE id = 1") == "t");
    auto audit = node->Exec("SELECT db_user, actor, action, result, review_id FROM audit_log");
    REQUIRE(audit.ok());
    REQUIRE(audit->Rows() == 1);
    CHECK(audit->Text(0, 0) == "alice");
    CHECK(audit->Text(0, 1) == "alice@contoso");
    CHECK(audit->Text(0, 2) == "resolve");
    CHECK(audit->Text(0, 3) == "compliant");
    CHECK(audit->Text(0, 4) == "1");
}

TEST_CASE("pg: the audit log is append-only for every role") {
    PgDb db = NewPgDb();
    auto desk = Connect(db.alice);
    REQUIRE(Scalar(*desk,
                   "SELECT desk_append_audit('a', 'post', 't', 'c', 'm', '', 'ok', "
                   "'req-1', '')") != "");
    for (const std::string& who : {db.node, db.admin}) {
        auto c = Connect(who);
        auto up = c->Exec("UPDATE audit_log SET result = 'forged'");
        REQUIRE_FALSE(up.ok());
        auto del = c->Exec("DELETE FROM audit_log");
        REQUIRE_FALSE(del.ok());
    }
    auto admin = Connect(db.admin);
    auto tr = admin->Exec("TRUNCATE audit_log");
    REQUIRE_FALSE(tr.ok());
    CHECK(tr.error().message.find("append-only") != std::string::npos);
    CHECK(Scalar(*admin, "SELECT count(*) FROM audit_log WHERE result = 'ok'") == "1");
}

TEST_CASE("pg: two moderators never claim the same item, claims lapse") {
    PgDb db = NewPgDb();
    auto node = Connect(db.node);
    for (int i = 1; i <= 6; ++i)
        REQUIRE(node->Exec("INSERT INTO review_items(message_id, rule_id, seq) VALUES ($1, 'r', 1)",
                           {"m" + std::to_string(i)})
                    .ok());
    auto alice = Connect(db.alice);
    auto bob = Connect(db.bob);
    // Alice holds her claim inside an open transaction while Bob claims: SKIP LOCKED
    // gives Bob other rows instead of waiting or taking hers.
    REQUIRE(alice->Begin().ok());
    auto a = alice->Exec("SELECT * FROM desk_claim(3, 60, 'alice')");
    REQUIRE(a.ok());
    REQUIRE(a->Rows() == 3);
    auto b = bob->Exec("SELECT * FROM desk_claim(6, 60, 'bob')");
    REQUIRE(b.ok());
    CHECK(b->Rows() == 3);
    for (int i = 0; i < a->Rows(); ++i)
        for (int j = 0; j < b->Rows(); ++j) CHECK(a->Text(i, 0) != b->Text(j, 0));
    REQUIRE(alice->Commit().ok());
    std::string aliceItem = a->Text(0, 0);
    // Bob cannot act on Alice's item, nor claim it.
    auto r = bob->Exec("SELECT desk_resolve($1, 'compliant', '', 'bob')", {aliceItem});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("held by alice") != std::string::npos);
    CHECK(Scalar(*bob, "SELECT desk_claim_item($1, 60, 'bob')", {aliceItem}) == "f");
    // A crashed desk's claim lapses: expire it, and Bob can take it.
    auto admin = Connect(db.admin);
    REQUIRE(admin
                ->Exec("UPDATE review_items SET claim_expires = now() - interval '1 second' "
                       "WHERE id = $1",
                       {aliceItem})
                .ok());
    CHECK(Scalar(*bob, "SELECT desk_claim_item($1, 60, 'bob')", {aliceItem}) == "t");
    CHECK(Scalar(*node, "SELECT claimed_by FROM review_items WHERE id = $1", {aliceItem}) == "bob");
    // Nothing was resolved by the refused attempt.
    CHECK(Scalar(*node, "SELECT count(*) FROM audit_log") == "0");
}

TEST_CASE("pg: wrong credentials and a missing database are named, without the password") {
    PgDb db = NewPgDb();
    PgCluster& cl = SharedCluster();
    core::PgFailure why = core::PgFailure::kNone;
    auto bad = core::PgConn::Connect(cl.TcpConninfo(db.name, "alice", "s3cret-wrong"), "t", &why);
    REQUIRE_FALSE(bad.ok());
    CHECK(why == core::PgFailure::kAuth);
    CHECK(bad.error().message.find("s3cret-wrong") == std::string::npos);
    CHECK(bad.error().message.find("password authentication failed") != std::string::npos);
    auto missing =
        core::PgConn::Connect(cl.TcpConninfo("no_such_db", "alice", "alice-pw"), "t", &why);
    REQUIRE_FALSE(missing.ok());
    CHECK(why == core::PgFailure::kNoDatabase);
    auto down =
        core::PgConn::Connect("host=127.0.0.1 port=1 dbname=x user=y password=zz", "t", &why);
    REQUIRE_FALSE(down.ok());
    CHECK(why == core::PgFailure::kUnreachable);
}

TEST_CASE("pg: connection strings are redacted for logs") {
    CHECK(core::RedactConninfo("host=db port=5432 user=a password=hunter2 dbname=x") ==
          "host=db port=5432 user=a password=*** dbname=x");
    CHECK(core::RedactConninfo("host=db password='it\\'s secret' dbname=x").find("secret") ==
          std::string::npos);
    CHECK(core::RedactConninfo("postgresql://node:hunter2@db.example/cd?sslmode=verify-full") ==
          "postgresql://node:***@db.example/cd?sslmode=verify-full");
    CHECK(core::RedactConninfo("postgres://db/cd?password=hunter2&sslmode=require") ==
          "postgres://db/cd?password=***&sslmode=require");
    CHECK(core::RedactConninfo("service=channeldeck") == "service=channeldeck");
}

TEST_CASE("pg: array parameters carry quotes, backslashes, commas and NULL") {
    PgDb db = NewPgDb();
    auto c = Connect(db.admin);
    std::vector<core::PgParam> items = {std::string("a\"b"), std::string("c\\d"),
                                        std::string("e,f{}"), std::nullopt, std::string("")};
    auto r = c->Exec("SELECT x IS NULL, coalesce(x, '') FROM unnest($1::text[]) AS u(x)",
                     {core::PgArray(items)});
    REQUIRE(r.ok());
    REQUIRE(r->Rows() == 5);
    CHECK(r->Text(0, 1) == "a\"b");
    CHECK(r->Text(1, 1) == "c\\d");
    CHECK(r->Text(2, 1) == "e,f{}");
    CHECK(r->Bool(3, 0));
    CHECK_FALSE(r->Bool(4, 0));
}

TEST_CASE("pg: a moderator's drafts are theirs alone") {
    PgDb db = NewPgDb();
    auto alice = Connect(db.alice);
    auto bob = Connect(db.bob);
    REQUIRE(alice->Exec("INSERT INTO drafts (key, body) VALUES ('c1', 'half a reply')").ok());
    REQUIRE(bob->Exec("INSERT INTO drafts (key, body) VALUES ('c1', 'bob writes')").ok());
    CHECK(Scalar(*alice, "SELECT body FROM drafts") == "half a reply");
    CHECK(Scalar(*bob, "SELECT count(*) FROM drafts") == "1");
    // Bob cannot write a row in Alice's name, nor delete hers.
    auto forged = bob->Exec("INSERT INTO drafts (owner, key, body) VALUES ('alice', 'x', 'y')");
    CHECK_FALSE(forged.ok());
    REQUIRE(bob->Exec("DELETE FROM drafts").ok());
    CHECK(Scalar(*alice, "SELECT count(*) FROM drafts") == "1");
}
