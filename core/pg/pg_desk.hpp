#pragma once
// A moderator's desk writing to the shared store: review actions and audit rows through
// the desk role's narrow functions (pg_schema.hpp), each in one transaction with its audit
// row. The database records session_user beside the Entra account the desk reports.
//
// Threading: any thread (the action thread, and sync workers finishing a Graph command);
// one mutex serialises the connection. Connects lazily and again after a failure.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "model/records.hpp"
#include "moderation/review.hpp"
#include "pg/pg_conn.hpp"

namespace cdeck::core {

class PgDesk {
  public:
    PgDesk(std::string conninfo, int claimSeconds);
    // The Entra account named in audit rows (the moderator's delegated sign-in).
    void SetAccount(std::string account) {
        std::lock_guard lock(m_mutex);
        m_account = std::move(account);
    }
    // Resolve, tag, escalate and notice claim the item first when nobody else holds it.
    Status Run(const SharedReviewAction& action);
    Status AppendAudit(const AuditRow& row);
    // The newest audit rows of the whole team, newest first.
    Result<std::vector<AuditRow>> RecentAudit(size_t limit);
    // The moderator's own drafts (row-level security: each login sees only its own).
    Result<std::vector<Draft>> LoadDrafts();
    Status SaveDraft(const Draft& draft);
    Status DeleteDraft(const std::string& key);
    // The database user this desk logs in as ("" until connected).
    Result<std::string> SessionUser();

  private:
    Status Ensure();
    Status ClaimFirst(uint64_t id);
    std::string m_conninfo;
    int m_claimSeconds;
    std::string m_account;
    std::mutex m_mutex;  // guards m_conn and m_account
    std::unique_ptr<PgConn> m_conn;
};

}  // namespace cdeck::core
