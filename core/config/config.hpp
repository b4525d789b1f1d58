#pragma once
// ChannelDeck configuration: file format, defaults and validation.
//
// Loaded once at start on the main thread and then passed by value; nothing mutates a
// Config that other threads can see. Errors name the offending key (DESIGN.md section 6).
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace cdeck::core {

struct SyncSettings {
    // "adaptive" (DESIGN.md section 5) or "sdk": the Graph SDK's behaviour, as a baseline.
    std::string policy = "adaptive";
    int workers = 4;
    double pollIntervalSeconds = 5.0;  // sdk: every channel's fixed poll interval
    // adaptive: each channel is polled at least every max and at most every min seconds;
    // in between, in proportion to the square root of its message rate.
    double minPollIntervalSeconds = 1.0;
    double maxPollIntervalSeconds = 35.0;
    // Share of the paced GET-message rate that scheduled polls may use; the rest is room
    // for backfill pages, delta continuations and reply fetches, so polls do not pile up.
    double pollBudgetFraction = 0.85;
    int backfillMessages = 200;        // roots fetched per channel on first sync
    double backfillDays = 30;          // and no older than this (0: no age limit)
    double replyWindowHours = 24;      // fetch new replies of threads started this recently
    bool batch = false;                // pack polls into $batch requests of up to 20
    double rediscoverSeconds = 300.0;  // teams/channels refresh
    bool expandReplies = true;
    int retentionDays = 0;             // local cache: drop messages older than this; 0 keeps all
    int retentionMaxMessages = 20000;  // local cache: newest N per channel; 0 keeps all
    // Memory: at most this many messages (roots and replies, all channels) are held in
    // memory; older roots stay in the local cache only. 0: no limit.
    int memoryMaxMessages = 100000;
    // The review queue held in memory (pending and resolved items); beyond it resolved items
    // leave first, then the oldest pending ones, and the Review page says how many.
    int memoryMaxReviewItems = 20000;
    // Set by the app, not the config file: a desk following nodes reads through PostgreSQL,
    // so its engine only sends the moderator's commands (no discovery, no polling).
    bool commandsOnly = false;
    // Set by channeldeck-node when push is enabled: live changes arrive as notifications,
    // so a live channel is polled (by delta) only to reconcile, every reconcileSeconds, or
    // when a refresh is asked for (a lifecycle event, a re-subscription).
    bool pushLive = false;
    double reconcileSeconds = 86400;
    // Polling etiquette (SERVER.md) for a desk or wall with no node, against a real tenant:
    // "etiquette" fetches the opened channel, "refresh now" and channels as they come on
    // screen on demand, and lets everything else catch up by delta within
    // backgroundRequestsPerMinute. "quota" fills the quota adaptively (graphsim, benchmarks,
    // or by explicit choice). "auto" is resolved when the config loads: etiquette for a
    // real Graph endpoint, quota for graphsim on loopback.
    std::string schedule = "auto";
    double backgroundRequestsPerMinute = 30;
    bool Etiquette() const { return schedule == "etiquette"; }
};

// Graph's throttling limits, per app per tenant, in requests per second (DESIGN.md
// section 4: the documented 2025 numbers). Limits are configuration, never constants.
struct GraphLimits {
    double app = 2000;
    double getMessage = 20;
    double postMessage = 50;
    double getChannels = 60;
    double getTeams = 30;
    double other = 30;
    double perTeam = 4;
    double perChannel = 4;
    double paceFraction = 0.9;  // pacing starts at this fraction of each limit
};

// How the app looks and what the wall shows; edited in the Settings view and saved back.
struct UiSettings {
    double fontScale = 1.0;            // on top of the monitor's DPI scale; 0.5 to 4
    std::string theme = "dark";        // dark | high_contrast
    std::string palette = "standard";  // standard | colorblind (Okabe-Ito: blue, orange, vermilion)
    double staleAfterSeconds = 60;     // the STALE banner
    double amberFactor = 2;            // freshness amber past this many expected intervals
    double redFactor = 5;              // and red past this many
    std::vector<std::string> kioskPages = {"wall", "activity", "metrics"};
    double kioskIntervalSeconds = 20;  // each page's time on screen in kiosk mode
    // A channel surges when its last 15 minutes hold at least surge_min_messages and
    // surge_factor times its usual 15 minutes (the six hours before).
    double surgeFactor = 3;
    int surgeMinMessages = 10;
    // Alerts (critical rule hit, surge, stale wall): a flash on the wall until acknowledged,
    // a sound when alert_sound, a desktop notification on the desk when
    // desktop_notifications; the same alert again at most every alert_repeat_minutes.
    bool alertSound = false;
    bool desktopNotifications = true;
    double alertRepeatMinutes = 10;
};
// The page names kiosk_pages accepts.
inline constexpr const char* kKioskPageNames[] = {"wall", "activity", "reader", "metrics"};

// The shared store (SERVER.md). With a conninfo, channeldeck follows the nodes through
// PostgreSQL instead of polling Graph for reading; channeldeck-node writes into it.
struct ServerSettings {
    std::string conninfo;  // libpq: "host=… dbname=…", a URI or "service=NAME"; never logged
    double backstopSeconds = 30;    // followers re-read above their watermarks this often
    double staleAfterSeconds = 30;  // no node commit for this long: STALE
    int claimSeconds = 600;         // a moderator's claim on a review item lapses after this
    bool Enabled() const { return !conninfo.empty(); }
};

// channeldeck-node only.
struct NodeSettings {
    std::string id;                         // empty: <hostname>-<pid>
    std::string listen = "127.0.0.1:9464";  // /healthz and /metrics
    int maxQueue = 50000;                   // writes held while the database is slow or down
    int batchSize = 2000;                   // rows per transaction
    // Several nodes on one tenant (SERVER.md "Shared store and coordination"): channel and
    // leader leases last lease_seconds on the database clock and are renewed every
    // renew_seconds; a node stops work on its channels when renewal has failed for
    // stop_after_seconds. shared_quota: every request also takes from the tenant's budget in
    // the database.
    double leaseSeconds = 30;
    double renewSeconds = 10;
    double stopAfterSeconds = 25;
    bool sharedQuota = true;
};

// channeldeck-node: change notifications (SERVER.md). Disabled: the node polls as the app
// does. Enabled: push carries the data and delta reconciliation is the only polling.
struct PushSettings {
    bool enabled = false;
    std::string scope = "tenant";  // tenant (one /teams/getAllMessages) | channel (one each)
    std::string notificationUrl;   // the public https:// URL Graph posts to
    std::string lifecycleUrl;      // empty: notificationUrl + "/lifecycle"
    std::string listen = "127.0.0.1:8443";  // the webhook's HTTPS listener
    std::string certFile, keyFile;          // its certificate and key (PEM)
    std::string keyDir;  // the rich-notification key pair; empty: <state dir>/node-keys
    double subscriptionMinutes = 4200;  // lifetime asked for (Graph's maximum is 4320)
    double renewBeforeMinutes = 720;    // renew when less than this remains
    double reconcileHours = 24;         // delta catch-up of every channel (once a day)
    // After a key rotation the previous key still decrypts this long after the last
    // subscription moved off it (Graph retries a notification for up to 4 hours).
    double keyGraceMinutes = 250;
    int maxQueue = 20000;  // notifications held between the webhook and ingest
    std::string LifecycleUrl() const {
        return lifecycleUrl.empty() ? notificationUrl + "/lifecycle" : lifecycleUrl;
    }
};

struct Config {
    // Empty tenant means "demo": start graphsim in-process.
    std::string graphUrl = "https://graph.microsoft.com/v1.0";
    std::string authorityUrl = "https://login.microsoftonline.com";
    std::string tenant;
    std::string clientId;
    std::string clientSecret;     // never logged
    std::string certificatePath;  // client_credentials with a certificate instead of a secret
    std::string privateKeyPath;
    std::string authMode = "device_code";  // device_code | client_credentials | auth_code
    std::string caFile;                    // extra trusted CA (graphsim's); empty: system store
    std::string dbPath;                    // empty: $XDG_STATE_HOME/channeldeck/channeldeck.db
    std::string rulesPath;                 // moderation rule pack; empty: the bundled default
    int metricsPort = 0;                   // 0: off
    SyncSettings sync;
    GraphLimits limits;
    UiSettings ui;
    ServerSettings server;
    NodeSettings node;
    PushSettings push;
    // Problems that do not stop the app, to show the user (e.g. a secret in a file that
    // others can read). Filled by LoadConfig.
    std::vector<std::string> warnings;

    bool IsDemo() const { return tenant.empty(); }
};

// $XDG_CONFIG_HOME/channeldeck/config.json (falls back to ~/.config).
std::string DefaultConfigPath();
// $XDG_STATE_HOME/channeldeck (falls back to ~/.local/state). Not created here.
std::string DefaultStateDir();

// Parses and validates a config document. Unknown keys are errors too: a typo must not
// silently fall back to a default.
Result<Config> ParseConfig(const std::string& text);
// Saves what the Settings view edits (ui.*, limits.pace_fraction, sync.poll_budget_fraction,
// sync.min_poll_interval_seconds) into the file at `path`, keeping every other key in it as
// it was. The merged document is validated before anything is written, and the write is
// atomic (a temporary file renamed over the old one), mode 0600 because the file may hold a
// client secret. A file that is not valid JSON is left alone and reported. Any thread.
Status SaveSettings(const std::string& path, const Config& settings);

// Reads `path`; a missing file at the default path is not an error (defaults apply),
// but a missing file named explicitly is.
Result<Config> LoadConfig(const std::string& path, bool mustExist);

}  // namespace cdeck::core
