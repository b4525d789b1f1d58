#pragma once
// The PostgreSQL schema of the shared store (SERVER.md "Shared store and coordination"):
// versioned migrations, the node and desk roles, and the narrow functions through which a
// desk claims, resolves and annotates review items and appends audit rows.
//
// Roles (group roles, NOLOGIN; people and nodes log in as members of them):
//  - channeldeck_node writes teams, channels, messages, versions, sync state, review items,
//    rule packs and node rows, and appends audit rows.
//  - channeldeck_desk reads all of that. It cannot change a message. It changes review
//    items only through desk_claim / desk_claim_item / desk_release / desk_resolve /
//    desk_tag / desk_escalate / desk_record_notice, appends audit rows through
//    desk_append_audit, and keeps its own drafts (row-level security by session_user).
//  - The audit log is append-only for everyone: UPDATE, DELETE and TRUNCATE raise.
//
// Threading: plain functions over a connection the caller owns.
#include <optional>
#include <string>

#include "pg/pg_conn.hpp"

namespace cdeck::core {

inline constexpr int kPgSchemaVersion = 2;
// The LISTEN/NOTIFY channel for commit hints (a literal: LISTEN takes no parameter).
inline constexpr const char* kPgHintChannel = "cdeck_changes";

// The schema version the database holds; 0 when it has none yet.
Result<int> PgSchemaVersion(PgConn& conn);
// Applies the missing migrations, each in its own transaction, serialised between
// concurrent callers by an advisory lock. A database from a newer version is refused
// with a message naming the version found. `applied` (optional) gets the count.
Status PgMigrate(PgConn& conn, int* applied = nullptr);
// The rule pack enabled for every node and desk (the newest publication), if any.
struct PgRulePack {
    std::string name;
    int version = 0;
    std::string json;
};
Result<std::optional<PgRulePack>> PgEnabledRulePack(PgConn& conn);
// For run-time use (node and desk): the schema must be exactly this version.
Status PgCheckSchema(PgConn& conn);

}  // namespace cdeck::core
