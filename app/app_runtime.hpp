#pragma once
// AppRuntime wires the core together for the GUI and headless modes: config -> (demo
// graphsim) -> HTTPS transport -> sign-in -> Graph client -> store -> sync engine.
//
// Owned by main() on the main thread. Start() and Stop() are main-thread only; Store()
// may be read from any thread (the store is thread-safe); Submit forwards to the engine.
// Shutdown order (DESIGN.md section 3): sync engine first, then the simulator, then the
// store goes when the runtime is destroyed, after the UI is gone.
#include <memory>
#include <string>

#include "config/config.hpp"
#include "store/store.hpp"
#include "sync/sync_engine.hpp"

namespace cdeck::sim {
class GraphSim;
}

namespace cdeck::app {

struct RuntimeOptions {
    core::Config config;
    std::string scenarioPath;  // demo tenant scenario
    uint64_t seed = 1;
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
    void Submit(core::Command c);

  private:
    core::Config m_config;
    bool m_demo = false;
    std::unique_ptr<sim::GraphSim> m_sim;
    core::Store m_store;
    std::unique_ptr<core::SyncEngine> m_engine;
};

// Default location of bundled assets (scenario files): $CDECK_ASSETS, else the source tree.
std::string AssetsDir();

}  // namespace cdeck::app
