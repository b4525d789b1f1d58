#pragma once
// Ground truth for the server-tier suites: what graphsim created, against what PostgreSQL
// holds. Threads: plain functions over a connection the caller owns.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pg/pg_conn.hpp"

namespace cdeck::test {

// Ids of graphsim's messages (its /_sim/stats "messages") created at or after `since`
// (ISO 8601) that the database does not hold. `created` (optional) gets how many there were.
inline std::vector<std::string> MissingInDb(const nlohmann::json& simMessages, core::PgConn& db,
                                            const std::string& since, size_t* created = nullptr) {
    std::vector<core::PgParam> ids;
    for (const auto& m : simMessages)
        if (m["createdDateTime"].get<std::string>() >= since)
            ids.push_back(m["id"].get<std::string>());
    if (created) *created = ids.size();
    auto r = db.Exec(
        "SELECT i FROM unnest($1::text[]) AS u(i) WHERE NOT EXISTS (SELECT 1 FROM messages m "
        "WHERE m.id = u.i)",
        {core::PgArray(ids)});
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    std::vector<std::string> missing;
    for (int i = 0; i < r->Rows(); ++i) missing.push_back(r->Text(i, 0));
    return missing;
}

}  // namespace cdeck::test
