#include "app_runtime.hpp"

#include <fstream>
#include <sstream>

#include <cstdlib>
#include <filesystem>

#include "auth/delegated.hpp"
#include "auth/token_cache.hpp"
#include "auth/token_provider.hpp"
#include "graph/graph_client.hpp"
#include "net/http.hpp"
#include "moderation/review.hpp"
#include "platform/os.hpp"
#include "persist/persister.hpp"
#include "sim/graphsim.hpp"
#include "util/log.hpp"

namespace cdeck::app {

std::string AssetsDir() {
    return core::os::AssetsDir(CDECK_SOURCE_ASSETS);
}

AppRuntime::AppRuntime() = default;
AppRuntime::~AppRuntime() {
    Stop();
}

core::Status AppRuntime::Start(const RuntimeOptions& options) {
    using core::ErrorCode;
    m_config = options.config;
    m_configPath = options.configPath;
    m_demo = m_config.IsDemo();
    m_stateDir = options.stateDir.empty() ? core::DefaultStateDir() : options.stateDir;
    if (m_demo) {
        m_sim = std::make_unique<sim::GraphSim>();
        sim::GraphSimOptions so;
        so.scenarioPath = options.scenarioPath.empty() ? AssetsDir() + "/scenarios/demo.json"
                                                       : options.scenarioPath;
        so.seed = options.seed;
        so.stateDir = m_stateDir + "/demo-tenant";
        so.autoApprove = true;  // the demo tenant approves its own sign-ins
        std::string err = m_sim->Start(so);
        if (!err.empty())
            return core::MakeError(ErrorCode::kInternal,
                                   "demo tenant (graphsim) failed to start: " + err);
        sim::GraphSimInfo info = m_sim->Info();
        m_config.graphUrl = info.graphUrl;
        m_config.authorityUrl = info.authorityUrl;
        m_config.tenant = info.tenant;
        m_config.clientId = info.clientId;
        m_config.clientSecret = info.clientSecret;
        m_config.caFile = info.caFile;
        // The demo signs in as the app unless a flow was asked for with --auth-mode.
        m_config.authMode =
            options.demoAuthMode.empty() ? "client_credentials" : options.demoAuthMode;
        core::Log(
            core::LogLevel::kInfo, "app",
            "demo tenant running at " + info.graphUrl + " (scenario " + so.scenarioPath + ")");
    }
    m_follow = m_config.server.Enabled();
    m_config.sync.commandsOnly = m_follow;
    if (m_follow && m_demo)
        return core::MakeError(ErrorCode::kConfig,
                               "a server block needs the tenant the nodes sync (tenant, client_id, "
                               "graph_url, authority_url): the built-in demo tenant is not shared");

    // Offline first: the database is loaded into the store before any network call, and
    // the persistence thread writes behind the store from then on. The demo tenant is
    // regenerated on every run, so its cache starts empty.
    std::string dbPath = !m_config.dbPath.empty() ? m_config.dbPath
                         : m_demo                 ? m_stateDir + "/demo-tenant/channeldeck.db"
                                                  : m_stateDir + "/channeldeck.db";
    if (m_demo && m_config.dbPath.empty())
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(dbPath + suffix);
    bool cacheLoaded = true;
    m_store.SetMemoryLimit(static_cast<size_t>(m_config.sync.memoryMaxMessages));
    auto db = core::Database::Open(dbPath);
    if (!db) {
        if (db.error().code == ErrorCode::kConfig)
            return db.error();  // e.g. written by a newer version
        core::Log(core::LogLevel::kError, "persist",
                  db.error().message + "; running without a local cache");
        m_store.UpdateSyncStatus([&](core::SyncStatus& s) { s.persistError = db.error().message; });
    } else {
        core::PersistOptions po;
        po.retentionDays = m_config.sync.retentionDays;
        po.retentionMaxMessages = m_config.sync.retentionMaxMessages;
        m_persister = std::make_unique<core::Persister>(std::move(db.value()), po);
        // The newest 50 roots per channel first, so the wall has data at once; the older
        // history follows on a background thread. Following nodes, the local database
        // keeps drafts only: the messages come from PostgreSQL.
        if (m_follow) {
            cacheLoaded = false;
        } else if (core::Status st = m_persister->LoadInto(m_store, kFirstLoadRoots); !st) {
            core::Log(core::LogLevel::kWarn, "persist", "cache not loaded: " + st.error().message);
            cacheLoaded = false;
        }
        m_persister->SetStatusCallback([this](const core::PersistStats& ps) {
            m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
                s.persistError = ps.failing ? ps.lastError : std::string();
                s.persistQueue = ps.queued;
            });
        });
        m_persister->Start();
    }

    // Moderation: the rule pack, versioned in the database, evaluated on ingest.
    std::string rulesPath =
        m_config.rulesPath.empty() ? AssetsDir() + "/rules/default.json" : m_config.rulesPath;
    std::string rulesText;
    {
        std::ifstream in(rulesPath);
        if (!in) return core::MakeError(ErrorCode::kConfig, "cannot read rule pack " + rulesPath);
        std::stringstream ss;
        ss << in.rdbuf();
        rulesText = ss.str();
    }
    auto pack = core::ParseRulePack(rulesText);
    if (!pack) return core::MakeError(ErrorCode::kConfig, rulesPath + ": " + pack.error().message);
    if (m_persister)
        if (core::Status st = m_persister->SaveRulePack(pack->name, pack->version, rulesText); !st)
            core::Log(core::LogLevel::kWarn, "moderation", st.error().message);
    core::Log(core::LogLevel::kInfo, "moderation",
              "rule pack \"" + pack->name + "\" version " + std::to_string(pack->version) + ": " +
                  std::to_string(pack->rules.size()) + " rules");
    core::ModerationEngine::Options mo;
    mo.actor = m_demo ? "demo moderator" : "moderator";
    mo.maxItems = static_cast<size_t>(m_config.sync.memoryMaxReviewItems);
    mo.submit = [this](core::Command c) { Submit(std::move(c)); };
    core::Persister* persister = m_persister.get();
    mo.audit = [persister](const core::AuditRow& row) {
        if (persister) persister->AppendAudit(row);
    };
    mo.saveState = [persister](const std::string& key, const std::string& json) {
        if (persister) persister->SaveReviewState(key, json);
    };
    if (m_follow) ConfigureSharedModeration(&mo);
    m_moderation = std::make_unique<core::ModerationEngine>(m_store, std::move(pack.value()), mo);
    if (m_persister && !m_follow) {
        m_moderation->SeedAudit(m_persister->LoadAudit(core::ModerationEngine::kAuditShown));
        m_moderation->SeedStates(m_persister->LoadReviewStates());
    }
    m_observers = std::make_unique<core::ObserverList>();
    if (m_persister && !m_follow) m_observers->Add(m_persister.get());
    if (!m_follow) m_observers->Add(m_moderation.get());  // following: rules ran in the node
    m_store.SetObserver(m_observers.get());
    m_actionsThread = std::thread([this] { RunActions(); });
    // The older part of the cache follows on a thread; then the rules see the whole cache
    // once (messages arriving from now on are evaluated as they are merged).
    if (m_persister && cacheLoaded)
        m_historyThread = std::thread([this] {
            (void)m_persister->LoadOlderInto(m_store, kFirstLoadRoots);
            m_moderation->EvaluateExisting(*m_store.Current());
        });

    if (m_follow)
        if (core::Status st = StartFollowing(); !st) return st;

    core::CurlOptions co;
    co.caFile = m_config.caFile;
    auto http = std::make_shared<core::CurlTransport>(co);
    std::shared_ptr<core::TokenProvider> tokens;
    if (m_config.authMode == "client_credentials") {
        core::ClientCredentialsConfig cc{m_config.authorityUrl, m_config.tenant, m_config.clientId,
                                         m_config.clientSecret};
        cc.certificatePath = m_config.certificatePath;
        cc.privateKeyPath = m_config.privateKeyPath;
        tokens = std::make_shared<core::ClientCredentialsProvider>(cc, http);
    } else {
        core::DelegatedConfig dc;
        dc.authorityUrl = m_config.authorityUrl;
        dc.tenant = m_config.tenant;
        dc.clientId = m_config.clientId;
        // The demo tenant's cache is separate: its refresh tokens die with the simulator.
        dc.cache = std::make_shared<core::TokenCache>(
            m_stateDir + (m_demo ? "/demo-tenant/tokens.json" : "/tokens.json"));
        m_delegated = std::make_shared<core::DelegatedTokenProvider>(dc, http);
        m_delegated->SetSignInRequiredCallback([this] { OnSignInRequired(); });
        tokens = m_delegated;
    }
    core::GraphClientConfig gc;
    gc.graphBaseUrl = m_config.graphUrl;
    auto client = std::make_shared<core::GraphClient>(gc, http, tokens);
    m_client = client;
    m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.tenant = m_demo ? "demo (" + m_config.tenant + ")" : m_config.tenant;
        s.phase = "signing-in";
        s.delegated = tokens->IsDelegated();
        s.account = tokens->IsDelegated() ? std::string() : "app " + m_config.clientId;
    });
    m_engine = std::make_unique<core::SyncEngine>(client, m_store, m_config.sync,
                                                  tokens->IsDelegated(), m_config.limits);
    if (m_config.metricsPort > 0) {
        m_metricsServer = std::make_unique<core::MetricsServer>();
        // Sign-out replaces the engine, so the scrape looks it up each time.
        if (auto st = m_metricsServer->Start(m_config.metricsPort,
                                             [this] {
                                                 std::lock_guard lock(m_engineMutex);
                                                 return m_engine ? core::MetricsToPrometheus(
                                                                       m_engine->Metrics())
                                                                 : std::string();
                                             });
            !st)
            return st.error();
    }
    if (m_delegated && !m_delegated->RestoreFromCache()) {
        m_signInThread = std::thread([this] { RunInteractiveSignIn(); });
    } else {
        if (m_delegated)
            m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
                s.account = m_delegated->Account();
                s.userId = m_delegated->UserId();
            });
        m_engine->Start();
    }
    return core::OkStatus();
}

void AppRuntime::RunInteractiveSignIn() {
    core::Status st = core::OkStatus();
    if (m_config.authMode == "auth_code") {
        st = m_delegated->SignInWithBrowser(
            [this](const std::string& url) {
                m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
                    s.signInMessage = "Finish signing in in your browser.";
                    s.signInUrl = url;
                });
                if (!core::OpenInBrowser(url))
                    std::fprintf(stderr, "channeldeck: open this address to sign in: %s\n",
                                 url.c_str());
            },
            &m_cancelSignIn);
    } else {
        st = m_delegated->SignInWithDeviceCode(
            [this](const core::DeviceCodePrompt& p) {
                // The user code and URL are meant to be shown; the device code never is.
                std::fprintf(stderr, "channeldeck: %s\n", p.message.c_str());
                m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
                    s.signInMessage = p.message;
                    s.signInUserCode = p.userCode;
                    s.signInUrl = p.verificationUri;
                });
            },
            &m_cancelSignIn);
    }
    if (!st) {
        if (st.error().code != core::ErrorCode::kCancelled) {
            core::Log(core::LogLevel::kWarn, "auth", "sign-in failed: " + st.error().message);
            m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
                s.phase = "error";
                s.signedIn = false;
                s.lastError = "sign-in failed: " + st.error().message;
            });
        }
        return;
    }
    m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
        s.signInMessage.clear();
        s.signInUserCode.clear();
        s.signInUrl.clear();
        s.account = m_delegated->Account();
        s.grantedScopes = m_delegated->GrantedScopes();
        s.userId = m_delegated->UserId();
    });
    if (m_cancelSignIn) return;
    std::lock_guard lock(m_engineMutex);
    if (m_engine) m_engine->Start();
}

void AppRuntime::Moderate(std::function<void(core::ModerationEngine&)> action) {
    {
        std::lock_guard lock(m_actionsMutex);
        m_actions.push_back(std::move(action));
    }
    m_actionsCv.notify_one();
}

std::vector<core::Draft> AppRuntime::LoadDrafts() {
    if (auto shared = LoadSharedDrafts()) return *shared;  // following: the shared store's
    return m_persister ? m_persister->LoadDrafts() : std::vector<core::Draft>{};
}

void AppRuntime::SaveDraft(const core::Draft& draft, bool remove) {
    if (SaveSharedDraft(draft, remove)) return;
    core::Persister* p = m_persister.get();
    if (!p) return;
    Moderate([p, draft, remove](core::ModerationEngine&) {
        if (remove)
            p->DeleteDraft(draft.key);
        else
            p->SaveDraft(draft);
    });
}

void AppRuntime::WriteExport(const std::string& name, std::string content,
                             std::function<void(std::string)> done) {
    std::string dir = m_stateDir + "/exports";
    Moderate([dir, name, content = std::move(content), done](core::ModerationEngine&) {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        std::string stamp = core::FormatIso8601(core::NowMillis());
        for (auto& c : stamp)
            if (c == ':') c = '-';
        std::string path = dir + "/" + stamp + "-" + name;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << content;
        out.close();
        std::filesystem::permissions(
            path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
            std::filesystem::perm_options::replace, ec);
        if (!out) {
            if (done) done("error: cannot write " + path);
            return;
        }
        core::Log(core::LogLevel::kInfo, "app", "exported " + path);
        if (done) done(path);
    });
}

void AppRuntime::RunActions() {
    std::unique_lock lock(m_actionsMutex);
    for (;;) {
        m_actionsCv.wait(lock, [&] { return m_actionsStop || !m_actions.empty(); });
        if (m_actions.empty() && m_actionsStop) return;
        auto batch = std::move(m_actions);
        m_actions.clear();
        lock.unlock();
        for (auto& a : batch) a(*m_moderation);
        lock.lock();
    }
}

void AppRuntime::SaveSettings(const core::Config& settings, std::function<void(std::string)> done) {
    if (m_saveThread.joinable()) m_saveThread.join();
    m_saveThread = std::thread([path = m_configPath, settings, done = std::move(done)] {
        core::Status st =
            path.empty()
                ? core::Status(core::MakeError(core::ErrorCode::kConfig, "no config file path"))
                : core::SaveSettings(path, settings);
        if (st)
            core::Log(core::LogLevel::kInfo, "app", "settings saved to " + path);
        else
            core::Log(core::LogLevel::kWarn, "app", st.error().message);
        if (done) done(st ? std::string() : st.error().message);
    });
}

void AppRuntime::Stop() {
    if (m_saveThread.joinable()) m_saveThread.join();
    StopFollowing();
    if (m_actionsThread.joinable()) {
        {
            std::lock_guard lock(m_actionsMutex);
            m_actionsStop = true;
        }
        m_actionsCv.notify_one();
        m_actionsThread.join();
    }
    {
        std::lock_guard signInLock(m_signInMutex);
        m_cancelSignIn = true;
        if (m_signInThread.joinable()) m_signInThread.join();
    }
    if (m_metricsServer) m_metricsServer->Stop();  // before the engine it reads goes away
    m_metricsServer.reset();
    if (m_engine) m_engine->Stop();
    // Dropping the engine and the provider closes the HTTPS connections, so the simulator's
    // keep-alive workers see EOF at once instead of waiting out their idle timeout.
    m_engine.reset();
    m_delegated.reset();
    if (m_persister) m_persister->CancelLoad();
    if (m_historyThread.joinable()) m_historyThread.join();
    m_store.SetObserver(nullptr);
    if (m_persister) {
        m_persister->Flush(std::chrono::seconds(5));
        m_persister->Stop();
    }
    if (m_sim) m_sim->Stop();
    m_sim.reset();
}

void AppRuntime::Submit(core::Command c) {
    std::lock_guard lock(m_engineMutex);
    if (m_engine) m_engine->Submit(std::move(c));
}

bool AppRuntime::CanSignOut() const {
    return m_delegated != nullptr;
}

void AppRuntime::SignOut() {
    if (!m_delegated) return;
    // Cancel a sign-in that is still waiting, then do the rest off the UI thread: stopping
    // the engine waits for the requests in flight.
    std::lock_guard signInLock(m_signInMutex);
    m_cancelSignIn = true;
    if (m_signInThread.joinable()) m_signInThread.join();
    m_cancelSignIn = false;
    m_reauthenticating = true;  // a refused token meanwhile is this sign-out's business
    m_signInThread = std::thread([this] {
        SignInAgain("signed out");
        m_reauthenticating = false;
    });
}

void AppRuntime::OnSignInRequired() {
    // Any thread (a sync worker found the refresh token refused). One at a time; the work
    // happens on the sign-in thread, because stopping the engine waits for its workers.
    if (m_reauthenticating.exchange(true)) return;
    std::unique_lock signInLock(m_signInMutex, std::try_to_lock);
    if (!signInLock || m_cancelSignIn) {  // signing out or shutting down already
        m_reauthenticating = false;
        return;
    }
    if (m_signInThread.joinable()) m_signInThread.join();
    core::Log(core::LogLevel::kWarn, "auth",
              "the sign-in was revoked or has expired; asking the user to sign in again");
    m_signInThread = std::thread([this] {
        SignInAgain("sign-in revoked or expired: sign in again");
        m_reauthenticating = false;
    });
}

void AppRuntime::SignInAgain(const std::string& reason) {
    {
        std::unique_ptr<core::SyncEngine> old;
        {
            std::lock_guard lock(m_engineMutex);
            old = std::move(m_engine);
            m_engine = std::make_unique<core::SyncEngine>(m_client, m_store, m_config.sync, true,
                                                          m_config.limits);
        }
        if (old) {
            old->Stop();
            // Moderation actions still queued are sent by the new engine once signed in.
            std::vector<core::Command> queued = old->TakeCommands();
            std::lock_guard lock(m_engineMutex);
            for (auto& c : queued) m_engine->Submit(std::move(c));
        }
        old.reset();
        if (core::Status st = m_delegated->SignOut(); !st)
            core::Log(core::LogLevel::kWarn, "auth", "sign-out: " + st.error().message);
        core::Log(core::LogLevel::kInfo, "auth", reason);
        m_store.UpdateSyncStatus([&](core::SyncStatus& s) {
            s.signedIn = false;
            s.phase = "signing-in";
            s.account.clear();
            s.grantedScopes.clear();
            s.userId.clear();
            s.lastError = reason;
        });
        if (!m_cancelSignIn) RunInteractiveSignIn();
    }
}

}  // namespace cdeck::app
