// channeldeck export: a channel's messages from the local cache (no network) to CSV or JSON.
//   channeldeck export --team TEAM --channel CHANNEL [--since DATE] [--until DATE]
//                      --format csv|json --out FILE|- [--config FILE]
// TEAM and CHANNEL are display names or ids; DATE is YYYY-MM-DD or an ISO 8601 time (UTC).
#include "export_command.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"
#include "moderation/export.hpp"
#include "persist/persister.hpp"
#include "util/time.hpp"

namespace cdeck::app {
namespace {

int Fail(int code, const std::string& msg) {
    std::fprintf(stderr, "channeldeck export: %s\n", msg.c_str());
    return code;
}

constexpr const char* kUsage =
    "usage: channeldeck export --team TEAM --channel CHANNEL [--since DATE] [--until DATE]\n"
    "                          --format csv|json --out FILE|- [--config FILE]\n"
    "Writes a channel's messages from the local cache (no network) to CSV or JSON. TEAM and\n"
    "CHANNEL are display names or ids; DATE is YYYY-MM-DD or an ISO 8601 time (UTC); --out -\n"
    "writes to standard output.\n";

std::optional<core::UnixMillis> ParseDate(const std::string& s) {
    if (s.size() == 10) return core::ParseIso8601(s + "T00:00:00Z");
    return core::ParseIso8601(s);
}

}  // namespace

int RunExport(int argc, char** argv) {
    std::string team, channel, since, until, format, out, configPath;
    bool configExplicit = false;
    for (int i = 2; i < argc; ++i) {
        std::string k = argv[i];
        if (k == "--help" || k == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (k == "--version") {
            std::printf("channeldeck %s\n", CDECK_VERSION);
            return 0;
        }
        if (k.rfind("--", 0) != 0) return Fail(2, "unexpected argument " + k);
        const std::pair<const char*, std::string*> options[] = {
            {"--team", &team},        {"--channel", &channel}, {"--since", &since},
            {"--until", &until},      {"--format", &format},   {"--out", &out},
            {"--config", &configPath}};
        std::string* target = nullptr;
        for (const auto& [name, field] : options)
            if (k == name) target = field;
        if (!target) return Fail(2, "unknown option " + k + " (see channeldeck export --help)");
        if (i + 1 >= argc) return Fail(2, k + " needs a value");
        *target = argv[++i];
        if (target == &configPath) configExplicit = true;
    }
    if (team.empty() || channel.empty() || out.empty())
        return Fail(2, "--team, --channel and --out are required (see channeldeck export --help)");
    if (format != "csv" && format != "json") return Fail(2, "--format must be csv or json");
    std::optional<core::UnixMillis> from = since.empty() ? core::UnixMillis{0} : ParseDate(since);
    std::optional<core::UnixMillis> to = until.empty() ? core::UnixMillis{0} : ParseDate(until);
    if (!from) return Fail(2, "--since must be YYYY-MM-DD or an ISO 8601 time");
    if (!to) return Fail(2, "--until must be YYYY-MM-DD or an ISO 8601 time");

    auto cfg =
        core::LoadConfig(configExplicit ? configPath : core::DefaultConfigPath(), configExplicit);
    if (!cfg) return Fail(2, cfg.error().message);
    std::string dbPath = !cfg->dbPath.empty() ? cfg->dbPath
                         : cfg->IsDemo() ? core::DefaultStateDir() + "/demo-tenant/channeldeck.db"
                                         : core::DefaultStateDir() + "/channeldeck.db";
    if (!std::filesystem::exists(dbPath))
        return Fail(1, "no local cache at " + dbPath + " (run channeldeck first to sync)");
    auto db = core::Database::Open(dbPath);
    if (!db) return Fail(1, db.error().message);
    core::Persister persister(std::move(db.value()));
    core::Store store;
    if (core::Status st = persister.LoadInto(store); !st) return Fail(1, st.error().message);
    auto snap = store.Current();
    const core::ChannelData* found = nullptr;
    std::string teamName;
    for (const auto& t : snap->teams) {
        if (t->team.id != team && t->team.displayName != team) continue;
        teamName = t->team.displayName;
        for (const auto& id : t->channelIds)
            if (const auto* c = snap->FindChannel(id);
                c && (id == channel || c->channel.displayName == channel))
                found = c;
    }
    if (teamName.empty()) return Fail(1, "no team \"" + team + "\" in the cache");
    if (!found) return Fail(1, "no channel \"" + channel + "\" in team \"" + teamName + "\"");
    auto rows = core::MessagesBetween(*found, *from, *to);
    std::string text =
        format == "csv" ? core::MessagesToCsv(*found, rows) : core::MessagesToJson(*found, rows);
    if (out == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
        std::ofstream f(out, std::ios::binary | std::ios::trunc);
        f << text;
        f.close();
        if (!f) return Fail(1, "cannot write " + out);
        std::error_code ec;  // it holds message text: private to the user
        std::filesystem::permissions(
            out, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
            std::filesystem::perm_options::replace, ec);
    }
    std::fprintf(stderr, "channeldeck export: %zu messages from %s / %s to %s\n", rows.size(),
                 teamName.c_str(), found->channel.displayName.c_str(),
                 out == "-" ? "stdout" : out.c_str());
    return 0;
}

}  // namespace cdeck::app
