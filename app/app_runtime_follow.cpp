// AppRuntime in follow mode (SERVER.md "Desks and walls"): with a server block the app
// reads PostgreSQL instead of polling Graph. The store fills from the database through
// PgFollower; review actions and audit rows go to the shared queue through PgDesk; posts,
// replies, edits, deletes and undo still go to Graph with the moderator's own sign-in.
#include "app_runtime.hpp"
#include "moderation/review.hpp"
#include "persist/persister.hpp"
#include "pg/pg_desk.hpp"
#include "pg/pg_follower.hpp"
#include "util/log.hpp"

namespace cdeck::app {

void AppRuntime::ConfigureSharedModeration(void* options) {
    auto& mo = *static_cast<core::ModerationEngine::Options*>(options);
    m_desk = std::make_shared<core::PgDesk>(m_config.server.conninfo, m_config.server.claimSeconds);
    auto user = m_desk->SessionUser();
    mo.sharedUser = user ? user.value() : std::string();
    if (!user)
        core::Log(core::LogLevel::kWarn, "follow",
                  "database not reachable yet for review actions: " + user.error().message);
    std::shared_ptr<core::PgDesk> desk = m_desk;
    core::Store* store = &m_store;
    // The audit rows name the moderator's Entra account (the database adds its own user).
    auto account = [store] {
        std::string a = store->Current()->sync.account;
        return a.empty() ? std::string("moderator") : a;
    };
    mo.sharedAction = [desk, account](const core::SharedReviewAction& a) {
        desk->SetAccount(account());
        return desk->Run(a);
    };
    mo.audit = [desk, account](const core::AuditRow& row) {
        desk->SetAccount(account());
        core::AuditRow r = row;
        r.actor = account();
        if (core::Status st = desk->AppendAudit(r); !st)
            core::Log(core::LogLevel::kError, "follow",
                      "audit row not written to the shared log: " + st.error().message);
    };
    mo.saveState = nullptr;  // decisions live in the shared queue
}

core::Status AppRuntime::StartFollowing() {
    core::FollowOptions fo;
    fo.conninfo = m_config.server.conninfo;
    fo.backstopSeconds = m_config.server.backstopSeconds;
    fo.staleAfterSeconds = m_config.server.staleAfterSeconds;
    m_follower = std::make_shared<core::PgFollower>(m_store, fo);
    core::ModerationEngine* moderation = m_moderation.get();
    m_follower->SetReviewCallback([moderation](std::vector<core::ReviewItem> items) {
        moderation->ApplyShared(std::move(items));
    });
    // The shared rule pack (the node evaluates it; the desk shows it and backtests with it).
    m_follower->SetRulesCallback(
        [moderation](const std::string& name, int version, const std::string& json) {
            auto pack = core::ParseRulePack(json);
            if (!pack) {
                core::Log(core::LogLevel::kWarn, "follow",
                          "the shared rule pack \"" + name + "\" v" + std::to_string(version) +
                              " does not parse: " + pack.error().message);
                return;
            }
            core::Log(core::LogLevel::kInfo, "follow",
                      "shared rule pack \"" + name + "\" version " + std::to_string(version));
            moderation->SetPack(std::move(pack.value()));
        });
    if (auto audit = m_desk->RecentAudit(core::ModerationEngine::kAuditShown); audit)
        m_moderation->SeedAudit(std::move(audit.value()));
    core::Log(core::LogLevel::kInfo, "follow",
              "following the nodes through " + core::RedactConninfo(m_config.server.conninfo));
    m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.following = true;
        s.followStaleAfter = m_config.server.staleAfterSeconds;
        s.phase = "connecting";
    });
    m_follower->Start();
    return core::OkStatus();
}

void AppRuntime::StopFollowing() {
    if (m_follower) m_follower->Stop();
}

std::optional<std::vector<core::Draft>> AppRuntime::LoadSharedDrafts() {
    if (!m_desk) return std::nullopt;
    auto drafts = m_desk->LoadDrafts();
    if (drafts) return drafts.value();
    core::Log(core::LogLevel::kWarn, "follow", "drafts not loaded: " + drafts.error().message);
    return std::nullopt;  // the local drafts, rather than none
}

bool AppRuntime::SaveSharedDraft(const core::Draft& draft, bool remove) {
    std::shared_ptr<core::PgDesk> desk = m_desk;
    if (!desk) return false;
    core::Persister* local = m_persister.get();
    Moderate([desk, local, draft, remove](core::ModerationEngine&) {
        core::Status st = remove ? desk->DeleteDraft(draft.key) : desk->SaveDraft(draft);
        if (st) return;
        // The database is away: keep the draft on this machine rather than lose it.
        core::Log(core::LogLevel::kWarn, "follow",
                  "draft kept locally, the shared store refused it: " + st.error().message);
        if (local) remove ? (void)local->DeleteDraft(draft.key) : (void)local->SaveDraft(draft);
    });
    return true;
}

}  // namespace cdeck::app
