#pragma once
// AppRuntime wires the core together for the GUI and headless modes: config -> (demo
// graphsim) -> HTTPS transport -> sign-in -> Graph client -> store -> sync engine.
//
// Owned by main() on the main thread. Start() and Stop() are main-thread only; Store()
// may be read from any thread (the store is thread-safe); Submit forwards to the engine.
// Interactive sign-in (device code, browser) runs on its own thread, because it waits
// between polls; the sync engine starts when it succeeds. Its progress (the user code and
// URL to show) is published through the store's SyncStatus.
// Shutdown order (DESIGN.md section 3): cancel sign-in, stop the sync engine, then the
// simulator; the store goes when the runtime is destroyed, after the UI is gone.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "store/store.hpp"
#include "metrics/metrics_server.hpp"
#include "sync/sync_engine.hpp"

namespace cdeck::sim {
class GraphSim;
}
namespace cdeck::core {
struct Draft;
class DelegatedTokenProvider;
class Persister;
class ModerationEngine;
class ObserverList;
class PgFollower;
class PgDesk;
}  // namespace cdeck::core

namespace cdeck::app {

struct RuntimeOptions {
    core::Config config;
    std::string scenarioPath;  // demo tenant scenario
    uint64_t seed = 1;
    std::string stateDir;      // empty: core::DefaultStateDir()
    std::string demoAuthMode;  // demo tenant only: the --auth-mode flag; empty: client_credentials
    std::string configPath;    // where the Settings view saves
};

class AppRuntime {
  public:
    AppRuntime();
    ~AppRuntime();

    // Starts everything; returns a one-line error on failure.
    core::Status Start(const RuntimeOptions& options);
    void Stop();

    core::Store& Store() { return m_store; }
    bool IsDemo() const { return m_demo; }
    const core::Config& EffectiveConfig() const { return m_config; }
    void Submit(core::Command c);  // UI thread
    // Delegated sign-in only: forgets the tokens (and their cache entry), stops syncing and
    // starts a new interactive sign-in. The data on screen stays. UI thread.
    bool CanSignOut() const;
    void SignOut();
    // Runs a moderator action on the moderation engine, on the runtime's action thread
    // (actions publish, queue Graph commands and append audit rows: no work for the UI
    // thread). UI thread.
    void Moderate(std::function<void(core::ModerationEngine&)> action);
    // Drafts: what the database holds (main thread, at start), and saving one on the action
    // thread (remove: delete it).
    std::vector<core::Draft> LoadDrafts();
    void SaveDraft(const core::Draft& draft, bool remove);
    // Writes an export under <state>/exports/ (mode 0600: it holds message text), on the
    // action thread; `done` gets the path or "error: ...". UI thread.
    void WriteExport(const std::string& name, std::string content,
                     std::function<void(std::string)> done);
    // Writes the Settings view's values to the config file on a background thread, then
    // calls `done` there with an empty string or the error. UI thread.
    void SaveSettings(const core::Config& settings, std::function<void(std::string)> done);

    bool Following() const { return m_follow; }

  private:
    void RunInteractiveSignIn();
    // Follow mode (a server block): the store fills from PostgreSQL; review actions and
    // audit rows go to the shared queue (app_runtime_follow.cpp). Builds without a PostgreSQL
    // client (Windows) link app_runtime_nofollow.cpp, which refuses a server block clearly.
    void ConfigureSharedModeration(void* moderationOptions);
    core::Status StartFollowing();
    void StopFollowing();
    // Drafts in the shared store while following: nullopt / false when not following.
    std::optional<std::vector<core::Draft>> LoadSharedDrafts();
    bool SaveSharedDraft(const core::Draft& draft, bool remove);
    bool m_follow = false;
    // shared_ptr: destroyed here without the PostgreSQL types being complete.
    std::shared_ptr<core::PgFollower> m_follower;
    std::shared_ptr<core::PgDesk> m_desk;

    core::Config m_config;
    bool m_demo = false;
    std::string m_stateDir;
    std::unique_ptr<sim::GraphSim> m_sim;
    core::Store m_store;
    std::unique_ptr<core::Persister> m_persister;
    std::shared_ptr<core::GraphClient> m_client;
    std::mutex m_engineMutex;  // guards m_engine (sign-out replaces it on the sign-in thread)
    std::unique_ptr<core::SyncEngine> m_engine;
    std::unique_ptr<core::MetricsServer> m_metricsServer;  // --metrics-port
    std::shared_ptr<core::DelegatedTokenProvider> m_delegated;
    std::thread m_signInThread;
    std::thread m_historyThread;
    void RunActions();
    std::unique_ptr<core::ModerationEngine> m_moderation;
    std::unique_ptr<core::ObserverList> m_observers;  // persister, then moderation
    std::mutex m_actionsMutex;                        // guards m_actions and m_actionsStop
    std::condition_variable m_actionsCv;
    std::vector<std::function<void(core::ModerationEngine&)>> m_actions;
    bool m_actionsStop = false;
    std::thread m_actionsThread;
    std::thread m_saveThread;  // the last settings save; joined before the next and at Stop
    std::string m_configPath;  // loads the older part of the cache after start-up
    static constexpr size_t kFirstLoadRoots = 50;
    std::atomic<bool> m_cancelSignIn{false};
    std::mutex m_signInMutex;  // guards m_signInThread (sign-out, sign-in again, Stop)
    std::atomic<bool> m_reauthenticating{false};
    void OnSignInRequired();                      // any thread
    void SignInAgain(const std::string& reason);  // on the sign-in thread
};

// Default location of bundled assets (scenario files): $CDECK_ASSETS, else the source tree.
std::string AssetsDir();

}  // namespace cdeck::app
