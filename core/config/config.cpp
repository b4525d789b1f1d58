#include "config/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "platform/os.hpp"

namespace cdeck::core {
namespace {

using nlohmann::json;

Error KeyError(const std::string& key, const std::string& what) {
    return MakeError(ErrorCode::kConfig, "config key \"" + key + "\": " + what);
}

std::string Trim(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
}

// https://127.x.x.x, https://[::1] or https://localhost: graphsim, not a real tenant.
bool IsLoopbackUrl(const std::string& s) {
    for (const char* p : {"https://127.", "https://[::1]", "https://localhost"})
        if (s.rfind(p, 0) == 0) return true;
    return false;
}

bool IsHttpsUrl(const std::string& s) {
    return s.rfind("https://", 0) == 0 && s.size() > 8;
}

std::optional<Error> ParseUi(const json& j, UiSettings& ui) {
    if (!j.is_object()) return KeyError("ui", "must be an object");
    auto number = [](const json& v, const std::string& key, double lo, double hi,
                     double& out) -> std::optional<Error> {
        if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi)
            return KeyError(key, "must be a number from " + Trim(lo) + " to " + Trim(hi));
        out = v.get<double>();
        return std::nullopt;
    };
    for (auto& [k, v] : j.items()) {
        std::string key = "ui." + k;
        std::optional<Error> e;
        if (k == "font_scale") {
            e = number(v, key, 0.5, 4, ui.fontScale);
        } else if (k == "stale_after_seconds") {
            e = number(v, key, 5, 86400, ui.staleAfterSeconds);
        } else if (k == "amber_factor") {
            e = number(v, key, 1, 100, ui.amberFactor);
        } else if (k == "red_factor") {
            e = number(v, key, 1, 1000, ui.redFactor);
        } else if (k == "kiosk_interval_seconds") {
            e = number(v, key, 3, 3600, ui.kioskIntervalSeconds);
        } else if (k == "surge_factor") {
            e = number(v, key, 1.5, 100, ui.surgeFactor);
        } else if (k == "surge_min_messages") {
            double n = 0;
            e = number(v, key, 1, 100000, n);
            if (!e && n != std::floor(n)) e = KeyError(key, "must be a whole number");
            ui.surgeMinMessages = static_cast<int>(n);
        } else if (k == "alert_repeat_minutes") {
            e = number(v, key, 1, 1440, ui.alertRepeatMinutes);
        } else if (k == "alert_sound" || k == "desktop_notifications") {
            if (!v.is_boolean()) return KeyError(key, "must be true or false");
            (k == "alert_sound" ? ui.alertSound : ui.desktopNotifications) = v.get<bool>();
        } else if (k == "theme") {
            if (!v.is_string() || (v != "dark" && v != "high_contrast"))
                return KeyError(key, "must be \"dark\" or \"high_contrast\"");
            ui.theme = v.get<std::string>();
        } else if (k == "palette") {
            if (!v.is_string() || (v != "standard" && v != "colorblind"))
                return KeyError(key, "must be \"standard\" or \"colorblind\"");
            ui.palette = v.get<std::string>();
        } else if (k == "kiosk_pages") {
            if (!v.is_array() || v.empty())
                return KeyError(key, "must be a non-empty list of page names");
            ui.kioskPages.clear();
            for (const auto& p : v) {
                bool known = false;
                for (const char* name : kKioskPageNames)
                    known = known || (p.is_string() && p == name);
                if (!known)
                    return KeyError(key,
                                    "pages are \"wall\", \"activity\", \"reader\" and "
                                    "\"metrics\"");
                ui.kioskPages.push_back(p.get<std::string>());
            }
        } else {
            return KeyError(key, "unknown key");
        }
        if (e) return e;
    }
    if (ui.redFactor < ui.amberFactor)
        return KeyError("ui.red_factor", "must not be below ui.amber_factor");
    return std::nullopt;
}

std::optional<Error> ParseServer(const json& j, ServerSettings& sv) {
    if (!j.is_object()) return KeyError("server", "must be an object");
    for (auto& [k, v] : j.items()) {
        std::string key = "server." + k;
        if (k == "conninfo") {
            if (!v.is_string() || v.get<std::string>().empty())
                return KeyError(key, "must be a libpq connection string or \"service=NAME\"");
            sv.conninfo = v.get<std::string>();
        } else if (k == "backstop_seconds" || k == "stale_after_seconds") {
            if (!v.is_number() || v.get<double>() < 1 || v.get<double>() > 86400)
                return KeyError(key, "must be a number of seconds from 1 to 86400");
            (k[0] == 'b' ? sv.backstopSeconds : sv.staleAfterSeconds) = v.get<double>();
        } else if (k == "claim_seconds") {
            if (!v.is_number_integer() || v.get<long long>() < 10 || v.get<long long>() > 86400)
                return KeyError(key, "must be a whole number of seconds from 10 to 86400");
            sv.claimSeconds = v.get<int>();
        } else {
            return KeyError(key, "unknown key");
        }
    }
    if (sv.conninfo.empty()) return KeyError("server.conninfo", "is required in a server block");
    return std::nullopt;
}

std::optional<Error> ParseNode(const json& j, NodeSettings& n) {
    if (!j.is_object()) return KeyError("node", "must be an object");
    for (auto& [k, v] : j.items()) {
        std::string key = "node." + k;
        if (k == "id") {
            if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 64)
                return KeyError(key, "must be a name of 1 to 64 characters");
            n.id = v.get<std::string>();
        } else if (k == "listen") {
            std::string s = v.is_string() ? v.get<std::string>() : std::string();
            size_t colon = s.rfind(':');
            if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() ||
                s.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
                std::stol(s.substr(colon + 1, 6)) > 65535)
                return KeyError(key, "must be ADDRESS:PORT, e.g. 127.0.0.1:9464");
            n.listen = s;
        } else if (k == "max_queue" || k == "batch_size") {
            if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 10000000)
                return KeyError(key, "must be a whole number from 1 to 10000000");
            (k == "max_queue" ? n.maxQueue : n.batchSize) = v.get<int>();
        } else if (k == "lease_seconds" || k == "renew_seconds" || k == "stop_after_seconds") {
            if (!v.is_number() || v.get<double>() < 1 || v.get<double>() > 3600)
                return KeyError(key, "must be a number of seconds from 1 to 3600");
            (k == "lease_seconds"   ? n.leaseSeconds
             : k == "renew_seconds" ? n.renewSeconds
                                    : n.stopAfterSeconds) = v.get<double>();
        } else if (k == "shared_quota") {
            if (!v.is_boolean()) return KeyError(key, "must be true or false");
            n.sharedQuota = v.get<bool>();
        } else {
            return KeyError(key, "unknown key");
        }
    }
    // A lease must outlive its renewals, and work must stop before another node may take it.
    if (!(n.renewSeconds < n.stopAfterSeconds && n.stopAfterSeconds < n.leaseSeconds))
        return KeyError("node.renew_seconds",
                        "must be less than node.stop_after_seconds, which must be less than "
                        "node.lease_seconds (now " +
                            Trim(n.renewSeconds) + ", " + Trim(n.stopAfterSeconds) + ", " +
                            Trim(n.leaseSeconds) + ")");
    return std::nullopt;
}

std::optional<Error> PushNumber(const std::string& key, const json& v, double lo, double hi,
                                double& out) {
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi)
        return KeyError(key, "must be a number from " + Trim(lo) + " to " + Trim(hi));
    out = v.get<double>();
    return std::nullopt;
}

std::optional<Error> PushString(const std::string& key, const json& v, std::string& out) {
    if (!v.is_string() || v.get<std::string>().empty())
        return KeyError(key, "must be a non-empty string");
    out = v.get<std::string>();
    return std::nullopt;
}

std::optional<Error> ParsePushKey(const std::string& k, const json& v, PushSettings& p) {
    std::string key = "push." + k;
    double queue = p.maxQueue;
    if (k == "enabled") {
        if (!v.is_boolean()) return KeyError(key, "must be true or false");
        p.enabled = v.get<bool>();
        return std::nullopt;
    }
    if (k == "scope") {
        if (!v.is_string() || (v != "tenant" && v != "channel"))
            return KeyError(key, "must be \"tenant\" or \"channel\"");
        p.scope = v.get<std::string>();
        return std::nullopt;
    }
    if (k == "notification_url" || k == "lifecycle_url") {
        if (!v.is_string() || !IsHttpsUrl(v.get<std::string>()))
            return KeyError(key, "must be an https:// URL that Graph can reach");
        (k[0] == 'n' ? p.notificationUrl : p.lifecycleUrl) = v.get<std::string>();
        return std::nullopt;
    }
    if (k == "listen") return PushString(key, v, p.listen);
    if (k == "cert_file") return PushString(key, v, p.certFile);
    if (k == "key_file") return PushString(key, v, p.keyFile);
    if (k == "key_dir") return PushString(key, v, p.keyDir);
    if (k == "subscription_minutes") return PushNumber(key, v, 45, 4320, p.subscriptionMinutes);
    if (k == "renew_before_minutes") return PushNumber(key, v, 0.05, 4000, p.renewBeforeMinutes);
    if (k == "reconcile_hours") return PushNumber(key, v, 0.001, 720, p.reconcileHours);
    if (k == "key_grace_minutes") return PushNumber(key, v, 0, 10080, p.keyGraceMinutes);
    if (k == "max_queue") {
        auto e = PushNumber(key, v, 10, 10000000, queue);
        p.maxQueue = static_cast<int>(queue);
        return e;
    }
    return KeyError(key, "unknown key");
}

std::optional<Error> ParsePush(const json& j, PushSettings& p) {
    if (!j.is_object()) return KeyError("push", "must be an object");
    for (auto& [k, v] : j.items())
        if (auto e = ParsePushKey(k, v, p)) return e;
    if (!p.enabled) return std::nullopt;
    if (p.notificationUrl.empty())
        return KeyError("push.notification_url", "is required when push is enabled");
    if (p.certFile.empty() || p.keyFile.empty())
        return KeyError("push.cert_file", "and push.key_file are required when push is enabled");
    if (p.renewBeforeMinutes >= p.subscriptionMinutes)
        return KeyError("push.renew_before_minutes", "must be less than subscription_minutes");
    return std::nullopt;
}

}  // namespace

std::string DefaultConfigPath() {
    return os::PathToUtf8(os::PathFromUtf8(os::UserConfigDir()) / "channeldeck" / "config.json");
}
std::string DefaultStateDir() {
    return os::PathToUtf8(os::PathFromUtf8(os::UserStateDir()) / "channeldeck");
}

Result<Config> ParseConfig(const std::string& text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for huge numbers
        return MakeError(ErrorCode::kConfig, std::string("config is not valid JSON: ") + e.what());
    }
    if (!j.is_object()) return MakeError(ErrorCode::kConfig, "config must be a JSON object");
    Config c;
    auto str = [&](const char* key, std::string& out) -> std::optional<Error> {
        auto it = j.find(key);
        if (it == j.end()) return std::nullopt;
        if (!it->is_string()) return KeyError(key, "must be a string");
        out = it->get<std::string>();
        return std::nullopt;
    };
    for (auto [key, slot] : {std::pair{"graph_url", &c.graphUrl},
                             {"authority_url", &c.authorityUrl},
                             {"tenant", &c.tenant},
                             {"client_id", &c.clientId},
                             {"client_secret", &c.clientSecret},
                             {"auth_mode", &c.authMode},
                             {"ca_file", &c.caFile},
                             {"db_path", &c.dbPath},
                             {"rules_path", &c.rulesPath},
                             {"certificate_path", &c.certificatePath},
                             {"private_key_path", &c.privateKeyPath}}) {
        if (auto e = str(key, *slot)) return *e;
    }
    if (auto it = j.find("metrics_port"); it != j.end()) {
        if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 65535)
            return KeyError("metrics_port", "must be an integer from 0 to 65535");
        c.metricsPort = it->get<int>();
    }
    if (auto it = j.find("sync"); it != j.end()) {
        if (!it->is_object()) return KeyError("sync", "must be an object");
        for (auto& [k, v] : it->items()) {
            std::string key = "sync." + k;
            if (k == "workers") {
                if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 64)
                    return KeyError(key, "must be an integer from 1 to 64");
                c.sync.workers = v.get<int>();
            } else if (k == "poll_interval_seconds") {
                if (!v.is_number() || v.get<double>() < 0.2 || v.get<double>() > 86400)
                    return KeyError(key, "must be a number of seconds from 0.2 to 86400");
                c.sync.pollIntervalSeconds = v.get<double>();
            } else if (k == "policy") {
                if (!v.is_string() ||
                    (v.get<std::string>() != "adaptive" && v.get<std::string>() != "sdk"))
                    return KeyError(key, "must be \"adaptive\" or \"sdk\"");
                c.sync.policy = v.get<std::string>();
            } else if (k == "min_poll_interval_seconds" || k == "max_poll_interval_seconds") {
                if (!v.is_number() || v.get<double>() < 0.1 || v.get<double>() > 86400)
                    return KeyError(key, "must be a number of seconds from 0.1 to 86400");
                (k[1] == 'i' ? c.sync.minPollIntervalSeconds : c.sync.maxPollIntervalSeconds) =
                    v.get<double>();
            } else if (k == "schedule") {
                if (!v.is_string() || (v != "auto" && v != "quota" && v != "etiquette"))
                    return KeyError(key, "must be \"auto\", \"quota\" or \"etiquette\"");
                c.sync.schedule = v.get<std::string>();
            } else if (k == "background_requests_per_minute") {
                if (!v.is_number() || v.get<double>() < 1 || v.get<double>() > 6000)
                    return KeyError(key, "must be a number from 1 to 6000");
                c.sync.backgroundRequestsPerMinute = v.get<double>();
            } else if (k == "poll_budget_fraction") {
                if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 1)
                    return KeyError(key, "must be a number above 0 and at most 1");
                c.sync.pollBudgetFraction = v.get<double>();
            } else if (k == "backfill_days" || k == "reply_window_hours") {
                if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e6)
                    return KeyError(key, "must be a number from 0 (no limit) to 1000000");
                (k == "backfill_days" ? c.sync.backfillDays : c.sync.replyWindowHours) =
                    v.get<double>();
            } else if (k == "batch") {
                if (!v.is_boolean()) return KeyError(key, "must be true or false");
                c.sync.batch = v.get<bool>();
            } else if (k == "backfill_messages") {
                if (!v.is_number_integer() || v.get<long long>() < 0 || v.get<long long>() > 100000)
                    return KeyError(key, "must be an integer from 0 to 100000");
                c.sync.backfillMessages = v.get<int>();
            } else if (k == "rediscover_seconds") {
                if (!v.is_number() || v.get<double>() < 10)
                    return KeyError(key, "must be a number of seconds, at least 10");
                c.sync.rediscoverSeconds = v.get<double>();
            } else if (k == "expand_replies") {
                if (!v.is_boolean()) return KeyError(key, "must be true or false");
                c.sync.expandReplies = v.get<bool>();
            } else if (k == "memory_max_review_items") {
                if (!v.is_number_integer() || v.get<long long>() < 1 ||
                    v.get<long long>() > 10000000)
                    return KeyError(key, "must be a whole number from 1 to 10000000");
                c.sync.memoryMaxReviewItems = v.get<int>();
            } else if (k == "retention_days" || k == "retention_max_messages" ||
                       k == "memory_max_messages") {
                if (!v.is_number_integer() || v.get<long long>() < 0 ||
                    v.get<long long>() > 100000000)
                    return KeyError(key, "must be a whole number, 0 for no limit");
                (k == "retention_days"           ? c.sync.retentionDays
                 : k == "retention_max_messages" ? c.sync.retentionMaxMessages
                                                 : c.sync.memoryMaxMessages) = v.get<int>();
            } else {
                return KeyError(key, "unknown key");
            }
        }
        if (c.sync.minPollIntervalSeconds > c.sync.maxPollIntervalSeconds)
            return KeyError("sync.min_poll_interval_seconds",
                            "must not be above sync.max_poll_interval_seconds");
    }
    if (auto it = j.find("limits"); it != j.end()) {
        if (!it->is_object()) return KeyError("limits", "must be an object");
        GraphLimits& l = c.limits;
        const std::pair<const char*, double*> fields[] = {{"app", &l.app},
                                                          {"get_message", &l.getMessage},
                                                          {"post_message", &l.postMessage},
                                                          {"get_channels", &l.getChannels},
                                                          {"get_teams", &l.getTeams},
                                                          {"other", &l.other},
                                                          {"per_team", &l.perTeam},
                                                          {"per_channel", &l.perChannel},
                                                          {"pace_fraction", &l.paceFraction}};
        for (auto& [k, v] : it->items()) {
            double* slot = nullptr;
            for (const auto& [name, ptr] : fields)
                if (k == name) slot = ptr;
            if (!slot) return KeyError("limits." + k, "unknown key");
            double max = k == "pace_fraction" ? 1.0 : 100000.0;
            if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > max)
                return KeyError("limits." + k, "must be a number above 0 and at most " +
                                                   std::to_string(static_cast<int>(max)));
            *slot = v.get<double>();
        }
    }
    if (auto it = j.find("ui"); it != j.end()) {
        if (auto e = ParseUi(*it, c.ui)) return *e;
    }
    if (auto it = j.find("server"); it != j.end()) {
        if (auto e = ParseServer(*it, c.server)) return *e;
    }
    if (auto it = j.find("node"); it != j.end()) {
        if (auto e = ParseNode(*it, c.node)) return *e;
    }
    if (auto it = j.find("push"); it != j.end()) {
        if (auto e = ParsePush(*it, c.push)) return *e;
    }
    static const char* kKnown[] = {"graph_url",
                                   "authority_url",
                                   "tenant",
                                   "client_id",
                                   "client_secret",
                                   "auth_mode",
                                   "ca_file",
                                   "db_path",
                                   "metrics_port",
                                   "sync",
                                   "limits",
                                   "certificate_path",
                                   "private_key_path",
                                   "ui",
                                   "rules_path",
                                   "server",
                                   "node",
                                   "push"};
    for (auto& [k, v] : j.items()) {
        bool known = false;
        for (const char* n : kKnown) known = known || k == n;
        if (!known) return KeyError(k, "unknown key");
    }
    if (!IsHttpsUrl(c.graphUrl)) return KeyError("graph_url", "must be an https:// URL");
    if (c.sync.schedule == "auto")
        c.sync.schedule = IsLoopbackUrl(c.graphUrl) ? "quota" : "etiquette";
    if (!IsHttpsUrl(c.authorityUrl)) return KeyError("authority_url", "must be an https:// URL");
    while (!c.graphUrl.empty() && c.graphUrl.back() == '/') c.graphUrl.pop_back();
    while (!c.authorityUrl.empty() && c.authorityUrl.back() == '/') c.authorityUrl.pop_back();
    if (c.authMode != "device_code" && c.authMode != "client_credentials" &&
        c.authMode != "auth_code")
        return KeyError("auth_mode", "must be one of device_code, client_credentials, auth_code");
    if (!c.tenant.empty()) {
        if (c.clientId.empty()) return KeyError("client_id", "is required when a tenant is set");
        if (c.authMode == "client_credentials" && c.clientSecret.empty() &&
            c.certificatePath.empty())
            return KeyError(
                "client_secret",
                "is required for auth_mode client_credentials (or set certificate_path)");
        if (!c.certificatePath.empty() && c.privateKeyPath.empty())
            return KeyError("private_key_path", "is required with certificate_path");
    }
    return c;
}

Result<Config> LoadConfig(const std::string& path, bool mustExist) {
    std::ifstream in(os::PathFromUtf8(path));
    if (!in) {
        if (mustExist) return MakeError(ErrorCode::kConfig, "cannot read config file " + path);
        return Config{};
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto c = ParseConfig(ss.str());
    if (!c) {
        Error e = c.error();
        e.message = path + ": " + e.message;
        return e;
    }
    auto open = os::OthersCanRead(path);
    bool othersRead = open && *open;
    if (!c->clientSecret.empty() && othersRead)
        c->warnings.push_back(path + " holds client_secret and other users can read it; run: " +
                              os::OwnerOnlyCommand(path));
    if (c->server.conninfo.find("password") != std::string::npos && othersRead)
        c->warnings.push_back(path +
                              " holds a database password and other users can read it; run: " +
                              os::OwnerOnlyCommand(path) + " (or keep the password in ~/.pgpass)");
    return c;
}

}  // namespace cdeck::core

namespace cdeck::core {

Status SaveSettings(const std::string& path, const Config& settings) {
    json doc = json::object();
    {
        std::ifstream in(os::PathFromUtf8(path));
        if (in) {
            std::stringstream ss;
            ss << in.rdbuf();
            doc = json::parse(ss.str(), nullptr, false);
            if (doc.is_discarded() || !doc.is_object())
                return MakeError(ErrorCode::kConfig,
                                 path + " is not a valid JSON object; settings were not saved");
        }
    }
    const UiSettings& u = settings.ui;
    doc["ui"] = {{"font_scale", u.fontScale},
                 {"theme", u.theme},
                 {"palette", u.palette},
                 {"stale_after_seconds", u.staleAfterSeconds},
                 {"amber_factor", u.amberFactor},
                 {"red_factor", u.redFactor},
                 {"kiosk_pages", u.kioskPages},
                 {"kiosk_interval_seconds", u.kioskIntervalSeconds},
                 {"surge_factor", u.surgeFactor},
                 {"surge_min_messages", u.surgeMinMessages},
                 {"alert_sound", u.alertSound},
                 {"desktop_notifications", u.desktopNotifications},
                 {"alert_repeat_minutes", u.alertRepeatMinutes}};
    if (!doc.contains("limits") || !doc["limits"].is_object()) doc["limits"] = json::object();
    doc["limits"]["pace_fraction"] = settings.limits.paceFraction;
    if (!doc.contains("sync") || !doc["sync"].is_object()) doc["sync"] = json::object();
    doc["sync"]["poll_budget_fraction"] = settings.sync.pollBudgetFraction;
    doc["sync"]["min_poll_interval_seconds"] = settings.sync.minPollIntervalSeconds;
    std::string text = doc.dump(2) + "\n";
    if (auto check = ParseConfig(text); !check)
        return MakeError(ErrorCode::kConfig, "settings not saved: " + check.error().message);

    if (Status st = os::WriteOwnerOnlyFile(path, text); !st)
        return MakeError(ErrorCode::kIo, "settings not saved: " + st.error().message);
    return OkStatus();
}

}  // namespace cdeck::core
