// channeldeck: the desktop app (DESIGN.md section 6).
//   channeldeck                                  dashboard; demo tenant when no tenant is
//   configured channeldeck --frames N --screenshot FILE     render N frames, save a PNG, exit
//   channeldeck --headless --duration S --report FILE
#include <imgui.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "app_runtime.hpp"
#include "export_command.hpp"
#include "moderation/review.hpp"
#include "platform/notify.hpp"
#include "platform/os.hpp"
#include "platform/window.hpp"
#include "ui/app_ui.hpp"
#include "ui/fonts.hpp"
#include "ui/text_probe.hpp"
#include "ui/theme.hpp"
#include "util/log.hpp"

namespace {

using cdeck::core::Log;
using cdeck::core::LogLevel;

// SIGTERM and SIGINT (Ctrl+C and console close on Windows) ask for a normal quit: the sync
// engine stops, the database closes and the window goes away. The platform layer delivers
// them on a thread of its own, never inside a signal handler.
std::atomic<bool> g_quit{false};

// Long runs: the allocator keeps pages freed by the worker threads' arenas. Handing them
// back once a minute keeps the resident size flat (measured by tests/bench/soak.py).
void TrimHeapEveryMinute(std::chrono::steady_clock::time_point& last) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(60)) return;
    last = now;
    cdeck::core::os::ReleaseFreeMemory();
}

struct Args {
    std::string configPath;
    bool configExplicit = false;
    int frames = 0;
    std::string screenshot;
    std::string layoutReport;  // --frames: where the wall's cards were drawn, as JSON
    bool headless = false;
    double duration = 10;
    std::string report;
    std::string scenario;
    uint64_t seed = 1;
    int width = 1600, height = 900;
    bool fullscreen = false;
    bool kiosk = false;      // --wall: full screen, chrome hidden, pages rotate
    std::string page;        // the page to open at start (wall, activity, reader, metrics, ...)
    std::string compose;     // opens the composer with this text (screenshots, demos)
    std::string select;      // channel to open at start: "Channel" or "Team/Channel"
    std::string syncPolicy;  // adaptive or sdk; empty: the configuration's
    int metricsPort = -1;    // -1: the configuration's
    // Overrides of config keys
    std::vector<std::pair<std::string, std::string>> overrides;
    enum class Info { kNone, kHelp, kVersion } info = Info::kNone;  // printed on stdout, exit 0
};

void PrintUsage(std::FILE* to) {
    std::fprintf(
        to,
        "usage: channeldeck [--config FILE] [--frames N --screenshot FILE] [--size WxH] "
        "[--fullscreen] [--wall]\n"
        "                   [--page wall|activity|reader|metrics|account|settings|review|audit]\n"
        "                   [--compose TEXT] [--layout-report FILE]\n"
        "                   [--headless --duration SECONDS --report FILE] [--select TEAM/CHANNEL]\n"
        "                   [--graph-url URL] [--authority-url URL] [--tenant ID] [--client-id "
        "ID]\n"
        "                   [--auth-mode MODE] [--ca-file FILE] [--scenario FILE] [--seed N] "
        "[--verbose]\n"
        "                   [--sync-policy adaptive|sdk] [--metrics-port PORT]\n"
        "       channeldeck export --team TEAM --channel CHANNEL [--since DATE] [--until DATE]\n"
        "                   --format csv|json --out FILE|- [--config FILE]\n"
        "       channeldeck --help | --version\n");
}

// A bad command line: one line on stderr naming the problem, exit code 2.
int UsageError(const std::string& msg) {
    std::fprintf(stderr, "channeldeck: %s (see channeldeck --help)\n", msg.c_str());
    return 2;
}

bool ParseArgs(int argc, char** argv, Args& a, std::string& err) {
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                err = k + " needs a value";
                return nullptr;
            }
            return argv[++i];
        };
        auto number = [&](double lo, double hi, double& out) -> bool {
            const char* v = value();
            if (!v) return false;
            char* end = nullptr;
            out = std::strtod(v, &end);
            if (end == v || *end != '\0' || out < lo || out > hi) {
                err = k + " needs a number from " + std::to_string(static_cast<long long>(lo)) +
                      " to " + std::to_string(static_cast<long long>(hi));
                return false;
            }
            return true;
        };
        double n = 0;
        if (k == "--config") {
            const char* v = value();
            if (!v) return false;
            a.configPath = v;
            a.configExplicit = true;
        } else if (k == "--frames") {
            if (!number(1, 1e6, n)) return false;
            a.frames = static_cast<int>(n);
        } else if (k == "--screenshot") {
            const char* v = value();
            if (!v) return false;
            a.screenshot = v;
        } else if (k == "--headless") {
            a.headless = true;
        } else if (k == "--duration") {
            if (!number(0.1, 7 * 86400, n)) return false;
            a.duration = n;
        } else if (k == "--layout-report") {
            const char* v = value();
            if (!v) return false;
            a.layoutReport = v;
        } else if (k == "--report") {
            const char* v = value();
            if (!v) return false;
            a.report = v;
        } else if (k == "--scenario") {
            const char* v = value();
            if (!v) return false;
            a.scenario = v;
        } else if (k == "--seed") {
            if (!number(0, 1e15, n)) return false;
            a.seed = static_cast<uint64_t>(n);
        } else if (k == "--size") {
            const char* v = value();
            if (!v || std::sscanf(v, "%dx%d", &a.width, &a.height) != 2 || a.width < 320 ||
                a.height < 240) {
                err = "--size needs WIDTHxHEIGHT, at least 320x240";
                return false;
            }
        } else if (k == "--fullscreen") {
            a.fullscreen = true;
        } else if (k == "--wall") {
            a.fullscreen = true;
            a.kiosk = true;
        } else if (k == "--compose") {
            const char* v = value();
            if (!v) return false;
            a.compose = v;
        } else if (k == "--page") {
            const char* v = value();
            if (!v) return false;
            cdeck::ui::Page p;
            if (!cdeck::ui::PageFromKey(v, p)) {
                err =
                    "--page must be wall, activity, reader, metrics, account, settings, review or "
                    "audit";
                return false;
            }
            a.page = v;
        } else if (k == "--select") {
            const char* v = value();
            if (!v) return false;
            a.select = v;
        } else if (k == "--sync-policy") {
            const char* v = value();
            if (!v) return false;
            a.syncPolicy = v;
            if (a.syncPolicy != "adaptive" && a.syncPolicy != "sdk") {
                err = "--sync-policy must be adaptive or sdk";
                return false;
            }
        } else if (k == "--metrics-port") {
            if (!number(1, 65535, n)) return false;
            a.metricsPort = static_cast<int>(n);
        } else if (k == "--verbose") {
            cdeck::core::SetLogLevel(LogLevel::kDebug);
        } else if (k == "--graph-url" || k == "--authority-url" || k == "--tenant" ||
                   k == "--client-id" || k == "--auth-mode" || k == "--ca-file") {
            const char* v = value();
            if (!v) return false;
            a.overrides.push_back({k.substr(2), v});
        } else if (k == "--help" || k == "-h" || k == "--version") {
            a.info = k == "--version" ? Args::Info::kVersion : Args::Info::kHelp;
            return true;  // answered before anything else happens
        } else {
            err = "unknown option " + k;
            return false;
        }
    }
    if (a.frames > 0 && a.screenshot.empty())
        a.screenshot = "";  // --frames alone just renders and exits
    if (!a.screenshot.empty() && a.frames == 0) a.frames = 120;
    return true;
}

// Applies flag overrides by re-validating through the config parser, so a bad flag gets
// the same key-naming error as a bad file.
cdeck::core::Result<cdeck::core::Config> ApplyOverrides(const cdeck::core::Config& base,
                                                        const Args& a) {
    if (a.overrides.empty()) return base;
    nlohmann::json j = {{"graph_url", base.graphUrl},
                        {"authority_url", base.authorityUrl},
                        {"tenant", base.tenant},
                        {"client_id", base.clientId},
                        {"client_secret", base.clientSecret},
                        {"auth_mode", base.authMode},
                        {"ca_file", base.caFile},
                        {"db_path", base.dbPath}};
    for (const auto& [k, v] : a.overrides) {
        std::string key = k;
        for (auto& c : key)
            if (c == '-') c = '_';
        j[key] = v;
    }
    auto c = cdeck::core::ParseConfig(j.dump());
    if (c) c->sync = base.sync, c->metricsPort = base.metricsPort;
    return c;
}

nlohmann::json Report(const cdeck::core::Snapshot& s, double seconds) {
    nlohmann::json teams = nlohmann::json::array();
    for (const auto& t : s.teams) {
        nlohmann::json chans = nlohmann::json::array();
        for (const auto& id : t->channelIds)
            if (const auto* c = s.FindChannel(id))
                chans.push_back({{"id", id},
                                 {"displayName", c->channel.displayName},
                                 {"messages", c->messages.size()},
                                 {"replies", c->replyCount},
                                 {"backfilled", c->backfilled},
                                 {"lastError", c->lastError}});
        teams.push_back(
            {{"id", t->team.id}, {"displayName", t->team.displayName}, {"channels", chans}});
    }
    const auto& st = s.sync;
    return {{"duration_seconds", seconds},
            {"phase", st.phase},
            {"signed_in", st.signedIn},
            {"last_error", st.lastError},
            {"teams", s.teams.size()},
            {"channels", s.channels.size()},
            {"channels_backfilled", st.channelsBackfilled},
            {"messages", s.totalMessages},
            {"sync_policy", st.policy},
            {"metrics",
             st.metrics ? cdeck::core::MetricsToJson(*st.metrics) : nlohmann::json::object()},
            {"detail", teams}};
}

int RunHeadless(cdeck::app::AppRuntime& rt, const Args& a) {
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::milliseconds(static_cast<long long>(a.duration * 1000));
    auto nextProgress = start;
    auto lastTrim = start;
    while (std::chrono::steady_clock::now() < deadline && !g_quit) {
        TrimHeapEveryMinute(lastTrim);
        if (std::chrono::steady_clock::now() >= nextProgress) {
            auto s = rt.Store().Current();
            std::fprintf(stderr, "channeldeck: %s, %d/%d channels, %llu messages, %llu requests\n",
                         s->sync.phase.c_str(), s->sync.channelsBackfilled, s->sync.channelsTotal,
                         static_cast<unsigned long long>(s->totalMessages),
                         static_cast<unsigned long long>(s->sync.requests));
            nextProgress += std::chrono::seconds(5);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto snap = rt.Store().Current();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rt.Stop();
    if (!a.report.empty()) {
        std::ofstream out(a.report, std::ios::trunc);
        out << Report(*snap, secs).dump(2) << "\n";
        if (!out) {
            std::fprintf(stderr, "channeldeck: cannot write report '%s'\n", a.report.c_str());
            return 1;
        }
    }
    return snap->sync.signedIn ? 0 : 1;
}

// What must reach the screen at once even when idle: new or changed messages, the sync
// state and errors, sign-in prompts. Rates and ages are left to the periodic refresh.
std::string Signature(const cdeck::core::Snapshot& s) {
    const auto& st = s.sync;
    uint64_t versions = 0;
    for (const auto& [id, c] : s.channels)
        versions += c->messages.size() + c->replyCount + (c->lastError.empty() ? 0 : 1);
    return std::to_string(s.totalMessages) + "|" + std::to_string(versions) + "|" +
           std::to_string(s.teams.size()) + "|" + std::to_string(s.channels.size()) + "|" +
           st.phase + "|" + st.lastError + "|" + st.signInUserCode + "|" + st.persistError + "|" +
           std::to_string(st.channelsBackfilled) + "|" + std::to_string(st.signedIn) +
           std::to_string(st.pausedAll) + std::to_string(st.fromCache) + "|" +
           std::to_string(st.throttled) + "|" + std::to_string(st.failures);
}

bool HasData(const cdeck::core::Snapshot& s) {
    if (s.sync.channelsTotal == 0 || s.totalMessages == 0) return false;
    return s.sync.channelsBackfilled * 2 >=
           s.sync.channelsTotal;  // at least half the wall filled in
}

void ApplySelect(cdeck::ui::AppUi& ui, const cdeck::core::Snapshot& s, const std::string& select) {
    std::string team, channel = select;
    if (auto slash = select.find('/'); slash != std::string::npos) {
        team = select.substr(0, slash);
        channel = select.substr(slash + 1);
    }
    for (const auto& t : s.teams) {
        if (!team.empty() && t->team.displayName != team) continue;
        for (const auto& id : t->channelIds)
            if (const auto* c = s.FindChannel(id); c && c->channel.displayName == channel) {
                ui.GetSelection().teamId = t->team.id;
                ui.GetSelection().channelId = id;
                return;
            }
    }
}

// The wall's layout in the last frame, for the screenshot tests: the window size, the team
// count, the pages, and where each team card was drawn (screen pixels).
std::string WriteLayoutReport(const std::string& path, const cdeck::ui::AppUi& ui,
                              const cdeck::core::Snapshot& snap, int width, int height) {
    const auto& wall = ui.Dashboard();
    nlohmann::json cards = nlohmann::json::array();
    for (const auto& [team, r] : wall.LastCardRects())
        cards.push_back({{"team", team},
                         {"x", r.min.x},
                         {"y", r.min.y},
                         {"right", r.max.x},
                         {"bottom", r.max.y}});
    nlohmann::json j = {{"window", {width, height}},           {"teams", snap.teams.size()},
                        {"pages", wall.Layout().pages.size()}, {"dense", wall.Dense()},
                        {"columns", wall.Layout().columns},    {"cards", cards}};
    if (ui.Kiosk()) {
        j["pages"] = wall.Kiosk().Pages();
        j["columns"] = wall.Kiosk().Fit().columns;
        j["kiosk_type_px"] = wall.Kiosk().Fit().type;
    }
    // Measured from what was drawn, not from what the wall meant to draw.
    const cdeck::ui::TextSizes text = cdeck::ui::MeasureDrawnText(ImGui::GetDrawData());
    j["text"] = {{"glyphs", text.glyphs}, {"min_px", text.minPx}, {"max_px", text.maxPx}};
    j["attention"] = wall.LastAttention().items.size();
    std::ofstream out(path, std::ios::trunc);
    out << j.dump(2) << "\n";
    return out.good() ? std::string() : "cannot write " + path;
}

}  // namespace

int RunChannelDeck(int argc, char** argv) {
    const auto t0 = std::chrono::steady_clock::now();  // for "time to first data frame"
    if (argc > 1 && std::string(argv[1]) == "export") return cdeck::app::RunExport(argc, argv);
    Args args;
    std::string err;
    if (!ParseArgs(argc, argv, args, err)) return UsageError(err);
    if (args.info == Args::Info::kHelp) {
        PrintUsage(stdout);
        return 0;
    }
    if (args.info == Args::Info::kVersion) {
        std::printf("channeldeck %s\n", CDECK_VERSION);
        return 0;
    }
    // Before any other thread exists (GL drivers start their own), so every thread inherits
    // the blocked signals.
    cdeck::core::os::StopSignal stopSignal([](const char* signal) {
        Log(LogLevel::kInfo, "app", std::string(signal) + ": quitting");
        g_quit = true;
        cdeck::platform::Window::Wake();
    });

    std::string path = args.configExplicit ? args.configPath : cdeck::core::DefaultConfigPath();
    auto cfg = cdeck::core::LoadConfig(path, args.configExplicit);
    if (!cfg) {
        std::fprintf(stderr, "channeldeck: %s\n", cfg.error().message.c_str());
        return 2;
    }
    for (const auto& w : cfg->warnings)
        std::fprintf(stderr, "channeldeck: warning: %s\n", w.c_str());
    auto effective = ApplyOverrides(cfg.value(), args);
    if (!effective) {
        std::fprintf(stderr, "channeldeck: %s\n", effective.error().message.c_str());
        return 2;
    }
    if (!args.syncPolicy.empty()) effective->sync.policy = args.syncPolicy;
    if (args.metricsPort > 0) effective->metricsPort = args.metricsPort;

    // Open the window before any network work so that "no display" fails fast.
    cdeck::platform::Window window;
    if (!args.headless) {
        cdeck::platform::WindowOptions wo;
        wo.width = args.width;
        wo.height = args.height;
        wo.fullscreen = args.fullscreen;
        std::string werr = window.Open(wo);
        if (!werr.empty()) {
            std::fprintf(stderr, "channeldeck: %s\n", werr.c_str());
            return 2;
        }
    }

    cdeck::app::AppRuntime runtime;
    cdeck::app::RuntimeOptions ro;
    ro.config = effective.value();
    ro.scenarioPath = args.scenario;
    ro.seed = args.seed;
    ro.configPath = path;
    for (const auto& [k, v] : args.overrides)
        if (k == "auth-mode") ro.demoAuthMode = v;
    if (!args.headless) runtime.Store().SetWakeCallback([] { cdeck::platform::Window::Wake(); });
    auto started = runtime.Start(ro);
    if (!started) {
        std::fprintf(stderr, "channeldeck: %s\n", started.error().message.c_str());
        return started.error().code == cdeck::core::ErrorCode::kConfig ? 2 : 1;
    }
    if (args.headless) return RunHeadless(runtime, args);

    float scale = window.ContentScale();
    int fbW = 0, fbH = 0;
    window.FramebufferSize(fbW, fbH);
    cdeck::ui::Fonts fonts =
        cdeck::ui::LoadFonts(scale, std::max(1.0f, static_cast<float>(fbH) / 1080.0f));
    cdeck::ui::AppUiOptions uo;
    uo.demoTenant = runtime.IsDemo();
    uo.kiosk = args.kiosk;
    uo.dpiScale = scale;
    uo.config = effective.value();
    const cdeck::core::SyncSettings& sync = runtime.EffectiveConfig().sync;
    // The interval a channel is expected to be synced within: the SDK baseline's fixed
    // interval, or the adaptive policy's longest.
    uo.pollIntervalSeconds =
        sync.policy == "sdk" ? sync.pollIntervalSeconds : sync.maxPollIntervalSeconds;
    uo.submit = [&runtime](cdeck::core::Command c) { runtime.Submit(std::move(c)); };
    if (runtime.CanSignOut()) uo.signOut = [&runtime] { runtime.SignOut(); };
    uo.saveSettings = [&runtime](const cdeck::core::Config& c,
                                 std::function<void(std::string)> done) {
        runtime.SaveSettings(c, std::move(done));
    };
    uo.moderate = [&runtime](std::function<void(cdeck::core::ModerationEngine&)> action) {
        runtime.Moderate(std::move(action));
    };
    uo.writeExport = [&runtime](const std::string& name, std::string content,
                                std::function<void(std::string)> done) {
        runtime.WriteExport(name, std::move(content), std::move(done));
    };
    uo.drafts = runtime.LoadDrafts();
    uo.saveDraft = [&runtime](const cdeck::core::Draft& d, bool remove) {
        runtime.SaveDraft(d, remove);
    };
    cdeck::platform::DesktopNotifier notifier;
    uo.alertRaised = [&notifier](const cdeck::ui::Alert& a, bool notify, bool sound) {
        notifier.Send(
            {a.title, a.detail, a.kind == cdeck::ui::Alert::Kind::kCritical, notify, sound});
    };
    uo.audit = [&runtime](const cdeck::core::AuditRow& row) {
        runtime.Moderate([row](cdeck::core::ModerationEngine& m) { m.RecordEvent(row); });
    };
    cdeck::ui::AppUi ui(uo);
    ui.SetFonts(fonts);
    if (!args.page.empty()) cdeck::ui::PageFromKey(args.page, ui.GetSelection().page);
    if (!args.compose.empty()) ui.Reader().RequestCompose(args.compose);

    bool screenshotMode = args.frames > 0;
    int framesCounted = 0;
    bool sawData = false;
    bool selected = args.select.empty();
    auto lastFrame = std::chrono::steady_clock::now() - std::chrono::hours(1);
    const auto dataDeadline = t0 + std::chrono::seconds(20);
    int exitCode = 0;
    // Idling (DESIGN.md section 3): while the user is interacting (input in the last
    // kInteractiveSeconds) every wake draws a frame, up to 60 a second. Otherwise a store
    // publish draws at once only when it changes something that matters (new messages, the
    // sync state, an error) or when something is due (the STALE banner, a kiosk page); the
    // rest -- rates, ages -- is refreshed every kIdleRefresh seconds. A frame identical to
    // the one on screen is never rasterised again.
    constexpr double kInteractiveSeconds = 10.0;
    constexpr double kIdleRefresh = 30.0;
    std::string lastSignature;
    auto lastTrim = std::chrono::steady_clock::now();
    while (!window.ShouldClose() && !g_quit) {
        TrimHeapEveryMinute(lastTrim);
        bool interactive = window.SecondsSinceInput() < kInteractiveSeconds;
        if (screenshotMode) {
            window.PollEvents();
        } else {
            double wait = interactive ? 1.0 : kIdleRefresh;
            wait = std::min(wait, ui.SecondsUntilDue(cdeck::core::NowMillis()) + 0.01);
            window.WaitEvents(std::max(0.01, wait));
            interactive = window.SecondsSinceInput() < kInteractiveSeconds;
        }
        cdeck::core::SnapshotPtr snap = runtime.Store().Current();
        std::string signature = Signature(*snap);
        auto sinceFrame = std::chrono::steady_clock::now() - lastFrame;
        bool due = sinceFrame >= std::chrono::duration<double>(interactive ? 0.0 : kIdleRefresh) ||
                   ui.SecondsUntilDue(cdeck::core::NowMillis()) <= 0;
        bool mustDraw = window.TakeMustDraw();
        if (!screenshotMode && !mustDraw && !due && signature == lastSignature) continue;
        lastSignature = signature;
        // Cap the frame rate (vsync may be absent, e.g. under Xvfb): 60 fps.
        auto minGap = std::chrono::milliseconds(16);
        if (sinceFrame < minGap) std::this_thread::sleep_for(minGap - sinceFrame);
        lastFrame = std::chrono::steady_clock::now();

        if (!sawData && HasData(*snap)) {
            sawData = true;
            double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            Log(LogLevel::kInfo, "app",
                "first frame with data after " + std::to_string(static_cast<int>(ms)) +
                    " ms from process start");
        }
        if (!selected && sawData) {
            ApplySelect(ui, *snap, args.select);
            selected = true;
        }
        window.BeginFrame();
        ui.Frame(snap, cdeck::core::NowMillis());
        bool drawn = window.EndFrame(screenshotMode || mustDraw);
        if (screenshotMode) {
            // Frames count once data has arrived (or the wait for it gave up), so the
            // screenshot shows the dashboard rather than a loading state.
            if (sawData || std::chrono::steady_clock::now() > dataDeadline) ++framesCounted;
            if (framesCounted >= args.frames) {
                if (!args.screenshot.empty()) {
                    int w, h;
                    window.FramebufferSize(w, h);
                    std::string serr = cdeck::platform::SaveScreenshot(args.screenshot, w, h);
                    if (!serr.empty()) {
                        std::fprintf(stderr, "channeldeck: screenshot: %s\n", serr.c_str());
                        exitCode = 1;
                    } else {
                        Log(LogLevel::kInfo, "app", "screenshot written to " + args.screenshot);
                    }
                }
                if (!args.layoutReport.empty()) {
                    int w, h;
                    window.FramebufferSize(w, h);
                    std::string lerr = WriteLayoutReport(args.layoutReport, ui, *snap, w, h);
                    if (!lerr.empty()) {
                        std::fprintf(stderr, "channeldeck: layout report: %s\n", lerr.c_str());
                        exitCode = 1;
                    }
                }
                window.Present();
                break;
            }
        }
        if (drawn) window.Present();
    }
    // Shutdown order: sync engine and simulator, then the UI and window (destructors).
    runtime.Stop();
    return exitCode;
}

int main(int argc, char** argv) {
    int code = RunChannelDeck(argc, argv);  // every object of the run is destroyed here
    return cdeck::core::os::FinishProcess(code);
}
