#include "sim/tenant.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "platform/os.hpp"

namespace cdeck::sim {

using nlohmann::json;

Millis SimNowMillis() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string SimIso(Millis ms) {
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm = cdeck::core::os::UtcTime(secs);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms % 1000));
    return buf;
}

std::optional<Millis> SimParseIso(const std::string& s) {
    std::tm tm{};
    int ms = 0;
    char z = 0;
    // Accept YYYY-MM-DDTHH:MM:SS[.fff]Z
    int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                        &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    if (n != 6 || s.size() < 20) return std::nullopt;
    size_t pos = 19;
    if (s[pos] == '.') {
        ++pos;
        int digits = 0;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
            if (digits < 3) ms = ms * 10 + (s[pos] - '0');
            ++digits;
            ++pos;
        }
        for (; digits < 3; ++digits) ms *= 10;
    }
    if (pos >= s.size()) return std::nullopt;
    z = s[pos];
    if (z != 'Z' || pos + 1 != s.size()) return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<Millis>(cdeck::core::os::FromUtcTime(tm)) * 1000 + ms;
}

std::string Tenant::NewGuid() {
    uint64_t a = m_rng(), b = m_rng();
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFF),
                  static_cast<unsigned>(((b >> 48) & 0x3FFF) | 0x8000),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
    return buf;
}

std::string Tenant::NewMessageId(Millis created) {
    m_lastId = std::max(m_lastId + 1, created);
    return std::to_string(m_lastId);
}

std::string Tenant::Load(const json& s, uint64_t seed) {
    m_rng.seed(seed);
    if (!s.is_object()) return "scenario: not a JSON object";
    try {
        const json& ten = s.at("tenant");
        tenantId = ten.value("id", std::string());
        tenantName = ten.value("name", std::string("graphsim tenant"));
        if (tenantId.empty()) tenantId = NewGuid();
        tokenLifetimeSeconds = s.value("token_lifetime_seconds", 3600.0);
        deviceCodeInterval = s.value("device_code_interval_seconds", 5);
        deviceCodeLifetime = s.value("device_code_lifetime_seconds", 900.0);
        defaultUser = s.value("default_user", 0);
        if (s.contains("traffic")) {
            const json& tr = s["traffic"];
            traffic.messagesPerMinute = tr.value("messages_per_minute", traffic.messagesPerMinute);
            traffic.backfillMin = tr.value("backfill_min", traffic.backfillMin);
            traffic.backfillMax = tr.value("backfill_max", traffic.backfillMax);
            traffic.historyHours = tr.value("history_hours", traffic.historyHours);
            traffic.zipfS = tr.value("zipf_s", traffic.zipfS);
            traffic.replyFraction = tr.value("reply_fraction", traffic.replyFraction);
            traffic.mentionFraction = tr.value("mention_fraction", traffic.mentionFraction);
        }
        json usersJson = s.value("users", json::array());
        json teamsJson = s.value("teams", json::array());
        if (s.contains("generate")) {
            // Large tenants are described by size, not listed: names are made up here.
            const json& g = s["generate"];
            static const char* kFirst[] = {"Ada", "Bo",  "Cai", "Dev", "Eli", "Fay", "Gus",
                                           "Hal", "Ivy", "Jo",  "Kim", "Lou", "Max", "Noa",
                                           "Oli", "Pia", "Quy", "Rae", "Sol", "Teo"};
            static const char* kLast[] = {"Adams", "Brook", "Cruz",  "Diaz", "Eng",  "Fox",
                                          "Gray",  "Hale",  "Ito",   "Jain", "Khan", "Lund",
                                          "Moss",  "Nair",  "Ortiz", "Park"};
            static const char* kChannels[] = {"General", "Incidents", "Deployments",  "Alerts",
                                              "Standup", "Releases",  "Support",      "Design",
                                              "Random",  "Planning",  "Security",     "Data",
                                              "Oncall",  "Reviews",   "Announcements"};
            int nu = g.value("users", 100), nt = g.value("teams", 10),
                nc = g.value("channels_per_team", 5);
            if (nu < 1 || nt < 1 || nc < 1 || nc > 200)
                return "scenario: generate needs users, teams and channels_per_team >= 1";
            usersJson = json::array();
            for (int i = 0; i < nu; ++i)
                usersJson.push_back(
                    {{"displayName", std::string(kFirst[i % 20]) + " " + kLast[(i / 20) % 16] +
                                         (i >= 320 ? " " + std::to_string(i / 320) : "")},
                     {"mail", "user" + std::to_string(i) + "@sim.example"}});
            teamsJson = json::array();
            for (int t = 0; t < nt; ++t) {
                json chans = json::array();
                for (int c = 0; c < nc; ++c)
                    chans.push_back(std::string(kChannels[c % 15]) +
                                    (c >= 15 ? " " + std::to_string(c / 15 + 1) : ""));
                json members = json::array();
                for (int k = 0; k < std::min(nu, 12); ++k) members.push_back((t * 7 + k) % nu);
                char name[32];
                std::snprintf(name, sizeof name, "Unit %02d", t + 1);
                teamsJson.push_back({{"displayName", name},
                                     {"description", "Generated team"},
                                     {"channels", chans},
                                     {"members", members}});
            }
        }
        for (const auto& u : usersJson) {
            SimUser user;
            user.displayName = u.at("displayName").get<std::string>();
            user.id = u.value("id", std::string());
            if (user.id.empty()) user.id = NewGuid();
            user.mail = u.value("mail", std::string());
            users.push_back(std::move(user));
        }
        if (users.empty()) return "scenario: users must not be empty";
        if (defaultUser < 0 || defaultUser >= static_cast<int>(users.size()))
            return "scenario: default_user out of range";
        for (const auto& a : s.at("apps")) {
            SimApp app;
            app.clientId = a.at("client_id").get<std::string>();
            app.clientSecret = a.at("client_secret").get<std::string>();
            app.permissions = a.value("permissions", std::vector<std::string>{});
            app.delegated = a.value("delegated", std::vector<std::string>{});
            app.redirectUris = a.value("redirect_uris", std::vector<std::string>{});
            app.certificates = a.value("certificates", std::vector<std::string>{});
            app.publicClient = a.value("public_client", true);
            apps.push_back(std::move(app));
        }
        if (apps.empty()) return "scenario: apps must not be empty";
        m_phrases =
            s.value("phrases", std::vector<std::string>{"Status update: all systems nominal."});
        m_subjects = s.value("subjects", std::vector<std::string>{});
        Millis now = SimNowMillis();
        for (const auto& t : teamsJson) {
            SimTeam team;
            team.displayName = t.at("displayName").get<std::string>();
            team.description = t.value("description", std::string());
            team.id = t.value("id", std::string());
            if (team.id.empty()) team.id = NewGuid();
            int ti = static_cast<int>(teams.size());
            // Members: every user by default, or a listed subset (by index).
            if (t.contains("members")) {
                for (const auto& m : t["members"]) {
                    int idx = m.get<int>();
                    if (idx < 0 || idx >= static_cast<int>(users.size()))
                        return "scenario: member index out of range";
                    team.members.push_back(idx);
                }
            } else {
                for (int i = 0; i < static_cast<int>(users.size()); ++i) team.members.push_back(i);
            }
            for (const auto& c : t.at("channels")) {
                SimChannel ch;
                ch.team = ti;
                ch.displayName =
                    c.is_string() ? c.get<std::string>() : c.at("displayName").get<std::string>();
                ch.description =
                    c.is_object() ? c.value("description", std::string()) : std::string();
                char buf[64];
                std::snprintf(buf, sizeof buf, "19:%016llx%016llx@thread.tacv2",
                              static_cast<unsigned long long>(m_rng()),
                              static_cast<unsigned long long>(m_rng()));
                ch.id = buf;
                ch.created = now - static_cast<Millis>(400LL * 24 * 3600 * 1000);
                team.channels.push_back(static_cast<int>(channels.size()));
                channelById[ch.id] = static_cast<int>(channels.size());
                channels.push_back(std::move(ch));
            }
            teamById[team.id] = ti;
            teams.push_back(std::move(team));
        }
        if (channels.empty()) return "scenario: no channels";
    } catch (const json::exception& e) {
        return std::string("scenario: ") + e.what();
    }
    // Zipf weights over a seeded shuffle of channels, so the busy ones are spread across teams.
    std::vector<int> order(channels.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), m_rng);
    double total = 0;
    for (size_t rank = 0; rank < order.size(); ++rank) {
        double w = 1.0 / std::pow(static_cast<double>(rank + 1), traffic.zipfS);
        channels[order[rank]].weight = w;
        total += w;
    }
    double acc = 0;
    for (auto& c : channels) {
        c.weight /= total;
        acc += c.weight;
        m_cumulativeWeight.push_back(acc);
    }
    return {};
}

int Tenant::PickChannel() {
    double r = std::uniform_real_distribution<double>(0, 1)(m_rng);
    auto it = std::lower_bound(m_cumulativeWeight.begin(), m_cumulativeWeight.end(), r);
    if (it == m_cumulativeWeight.end()) return static_cast<int>(channels.size()) - 1;
    return static_cast<int>(it - m_cumulativeWeight.begin());
}

int Tenant::PickMember(int team) {
    const auto& m = teams[team].members;
    if (m.empty()) return 0;
    return m[std::uniform_int_distribution<size_t>(0, m.size() - 1)(m_rng)];
}

SimMessage Tenant::MakeMessage(int channel, Millis at, bool isReply) {
    SimMessage m;
    m.created = m.modified = at;
    int team = channels[channel].team;
    m.user = PickMember(team);
    std::uniform_real_distribution<double> u(0, 1);
    const std::string& phrase =
        m_phrases[std::uniform_int_distribution<size_t>(0, m_phrases.size() - 1)(m_rng)];
    std::string html;
    if (u(m_rng) < traffic.mentionFraction && teams[team].members.size() > 1) {
        int who = PickMember(team);
        if (who == m.user)
            who = teams[team].members[0] == m.user ? teams[team].members.back()
                                                   : teams[team].members[0];
        m.mentions.push_back(who);
        html += "<at id=\"0\">" + users[who].displayName + "</at> ";
    }
    // Phrases may contain light markup already; wrap as a paragraph like the Teams client.
    html += phrase;
    m.html = "<p>" + html + "</p>";
    if (!isReply && !m_subjects.empty() && u(m_rng) < 0.15)
        m.subject =
            m_subjects[std::uniform_int_distribution<size_t>(0, m_subjects.size() - 1)(m_rng)];
    if (!isReply && u(m_rng) < 0.02) {
        // A system event: someone was added to the team.
        int added = PickMember(team);
        m.messageType = "systemEventMessage";
        m.html = "<systemEventMessage/>";
        m.mentions.clear();
        json detail = {{"@odata.type", "#microsoft.graph.membersAddedEventMessageDetail"},
                       {"visibleHistoryStartDateTime", "0001-01-01T00:00:00Z"},
                       {"members", json::array({{{"id", users[added].id},
                                                 {"displayName", nullptr},
                                                 {"userIdentityType", "aadUser"},
                                                 {"tenantId", tenantId}}})},
                       {"initiator",
                        {{"application", nullptr},
                         {"device", nullptr},
                         {"user",
                          {{"id", users[m.user].id},
                           {"displayName", nullptr},
                           {"userIdentityType", "aadUser"}}}}}};
        m.eventDetail = detail.dump();
        return m;
    }
    double imp = u(m_rng);
    if (!isReply && imp < 0.03)
        m.importance = "urgent";
    else if (!isReply && imp < 0.10)
        m.importance = "high";
    if (u(m_rng) < 0.2) {
        static const char* kReactions[] = {"like", "heart", "laugh", "surprised"};
        SimReaction r;
        r.type = kReactions[std::uniform_int_distribution<int>(0, 3)(m_rng)];
        r.user = PickMember(team);
        r.at = at + 1000;
        m.reactions.push_back(r);
    }
    return m;
}

SimMessage& Tenant::AddRoot(int channel, SimMessage m) {
    m.id = NewMessageId(m.created);
    m.replyToId.clear();
    auto& c = channels[channel];
    c.rootIndex[m.id] = c.roots.size();
    c.roots.push_back(std::move(m));
    ++messagesCreated;
    c.changes.push_back({++changeSeq, c.roots.back().id});
    Record(channel, c.roots.back(), c.roots.back(), "created");
    return c.roots.back();
}

void Tenant::Record(int channel, const SimMessage& root, const SimMessage& target,
                    const char* changeType) {
    if (recordEvents) events.push_back({channel, root.id, target.id, changeType});
}

void Tenant::Touch(int channel, SimMessage& root, Millis now) {
    root.modified = std::max(root.modified + 1, now);
    channels[channel].changes.push_back({++changeSeq, root.id});
}

SimMessage* Tenant::FindReply(int channel, const std::string& rootId, const std::string& replyId) {
    SimMessage* root = FindRoot(channel, rootId);
    if (!root) return nullptr;
    for (auto& r : root->replies)
        if (r.id == replyId) return &r;
    return nullptr;
}

void Tenant::GenerateActivity(Millis now) {
    int ci = PickChannel();
    auto& c = channels[ci];
    if (c.roots.empty()) return;
    size_t lo = c.roots.size() > 10 ? c.roots.size() - 10 : 0;
    SimMessage& root =
        c.roots[std::uniform_int_distribution<size_t>(lo, c.roots.size() - 1)(m_rng)];
    SimMessage* target = &root;
    if (!root.replies.empty() && std::uniform_real_distribution<double>(0, 1)(m_rng) < 0.4)
        target =
            &root.replies[std::uniform_int_distribution<size_t>(0, root.replies.size() - 1)(m_rng)];
    double u = std::uniform_real_distribution<double>(0, 1)(m_rng);
    if (target->deleted) return;
    if (u < 0.6) {
        static const char* kReactions[] = {"like", "heart", "laugh", "surprised"};
        target->reactions.push_back(
            {kReactions[std::uniform_int_distribution<int>(0, 3)(m_rng)], PickMember(c.team), now});
    } else if (u < 0.9) {
        target->html += target->textBody ? " (edited)" : "<p><i>Update: resolved.</i></p>";
        target->edited = now;
    } else {
        target->deleted = now;
    }
    target->modified = std::max(target->modified + 1, now);
    Touch(ci, root, now);
    Record(ci, root, *target, target->deleted ? "deleted" : "updated");
}

SimMessage* Tenant::FindRoot(int channel, const std::string& id) {
    auto& c = channels[channel];
    auto it = c.rootIndex.find(id);
    return it == c.rootIndex.end() ? nullptr : &c.roots[it->second];
}

SimMessage* Tenant::AddReply(int channel, const std::string& rootId, SimMessage m) {
    SimMessage* root = FindRoot(channel, rootId);
    if (!root) return nullptr;
    m.id = NewMessageId(m.created);
    m.replyToId = rootId;
    m.subject.clear();
    root->replies.push_back(std::move(m));
    ++messagesCreated;
    Touch(channel, *root, root->replies.back().created);
    Record(channel, *root, root->replies.back(), "created");
    return &root->replies.back();
}

void Tenant::GenerateHistory(Millis now) {
    Millis span = static_cast<Millis>(traffic.historyHours * 3600 * 1000);
    // Ids must increase with time, so create every channel's history in one time-ordered pass.
    struct Planned {
        Millis at;
        int channel;
    };
    std::vector<Planned> plan;
    double maxW = 0;
    for (const auto& c : channels) maxW = std::max(maxW, c.weight);
    for (int ci = 0; ci < static_cast<int>(channels.size()); ++ci) {
        double share = channels[ci].weight / maxW;
        int n = traffic.backfillMin +
                static_cast<int>((traffic.backfillMax - traffic.backfillMin) * share);
        for (int k = 0; k < n; ++k) {
            // Denser towards the present, like real activity.
            double x = std::uniform_real_distribution<double>(0, 1)(m_rng);
            Millis at = now - static_cast<Millis>(span * x * x) - 1000;
            plan.push_back({at, ci});
        }
    }
    std::sort(plan.begin(), plan.end(),
              [](const Planned& a, const Planned& b) { return a.at < b.at; });
    std::uniform_real_distribution<double> u(0, 1);
    for (const auto& p : plan) {
        auto& c = channels[p.channel];
        bool reply = !c.roots.empty() && u(m_rng) < traffic.replyFraction;
        SimMessage m = MakeMessage(p.channel, p.at, reply);
        if (reply) {
            size_t lo = c.roots.size() > 8 ? c.roots.size() - 8 : 0;
            size_t pick = std::uniform_int_distribution<size_t>(lo, c.roots.size() - 1)(m_rng);
            AddReply(p.channel, c.roots[pick].id, std::move(m));
        } else {
            AddRoot(p.channel, std::move(m));
        }
    }
}

double Tenant::NextGapMs(double scale) {
    double rate = traffic.messagesPerMinute * scale / 60000.0;  // per ms
    if (rate <= 0) return 1e12;
    return std::exponential_distribution<double>(rate)(m_rng);
}

const SimMessage* Tenant::GenerateArrival(Millis now, int channel, int* channelOut) {
    int ci = channel >= 0 ? channel : PickChannel();
    if (channelOut) *channelOut = ci;
    auto& c = channels[ci];
    bool reply = !c.roots.empty() &&
                 std::uniform_real_distribution<double>(0, 1)(m_rng) < traffic.replyFraction;
    SimMessage m = MakeMessage(ci, now, reply);
    if (reply) {
        size_t lo = c.roots.size() > 5 ? c.roots.size() - 5 : 0;
        size_t pick = std::uniform_int_distribution<size_t>(lo, c.roots.size() - 1)(m_rng);
        return AddReply(ci, c.roots[pick].id, std::move(m));
    }
    return &AddRoot(ci, std::move(m));
}

int Tenant::ChannelByRank(int rank) const {
    std::vector<int> order(channels.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return channels[a].weight > channels[b].weight; });
    return order[std::clamp<size_t>(static_cast<size_t>(std::max(rank, 0)), 0, order.size() - 1)];
}

int Tenant::ChannelByName(const std::string& teamSlashChannel) const {
    size_t slash = teamSlashChannel.find('/');
    std::string team = slash == std::string::npos ? "" : teamSlashChannel.substr(0, slash);
    std::string chan =
        slash == std::string::npos ? teamSlashChannel : teamSlashChannel.substr(slash + 1);
    for (size_t i = 0; i < channels.size(); ++i)
        if (channels[i].displayName == chan &&
            (team.empty() || teams[channels[i].team].displayName == team))
            return static_cast<int>(i);
    return -1;
}

namespace {

json UserIdentity(const SimUser& u) {
    return {{"id", u.id}, {"displayName", u.displayName}, {"userIdentityType", "aadUser"}};
}

json TeamworkUser(const Tenant& t, const SimUser& u) {
    return {{"@odata.type", "#microsoft.graph.teamworkUserIdentity"},
            {"id", u.id},
            {"displayName", u.displayName},
            {"userIdentityType", "aadUser"},
            {"tenantId", t.tenantId}};
}

json FromJson(const Tenant& t, const SimMessage& m) {
    json from = {{"application", nullptr},
                 {"device", nullptr},
                 {"conversation", nullptr},
                 {"user", nullptr}};
    if (m.user >= 0) {
        from["user"] = TeamworkUser(t, t.users[m.user]);
    } else {
        from["application"] = {{"id", m.appId},
                               {"displayName", "ChannelDeck"},
                               {"applicationIdentityType", "aadApplication"}};
    }
    return from;
}

}  // namespace

json MessageJson(const Tenant& t, const SimChannel& c, const SimMessage& m, bool includeReplies,
                 bool includeUnknownEnums) {
    const SimTeam& team = t.teams[c.team];
    json j;
    j["id"] = m.id;
    j["replyToId"] = m.replyToId.empty() ? json(nullptr) : json(m.replyToId);
    j["etag"] = std::to_string(m.modified);
    // Without "Prefer: include-unknown-enum-members", evolvable enum members added after
    // the sentinel (systemEventMessage) are sent as unknownFutureValue.
    j["messageType"] = (m.messageType == "systemEventMessage" && !includeUnknownEnums)
                           ? "unknownFutureValue"
                           : m.messageType;
    j["createdDateTime"] = SimIso(m.created);
    j["lastModifiedDateTime"] = SimIso(m.modified);
    j["lastEditedDateTime"] = m.edited ? json(SimIso(*m.edited)) : json(nullptr);
    j["deletedDateTime"] = m.deleted ? json(SimIso(*m.deleted)) : json(nullptr);
    j["subject"] = m.subject.empty() ? json(nullptr) : json(m.subject);
    j["summary"] = nullptr;
    j["chatId"] = nullptr;
    j["importance"] = m.importance;
    j["locale"] = "en-us";
    std::string root = m.replyToId.empty() ? m.id : m.replyToId;
    j["webUrl"] = "https://teams.microsoft.com/l/message/" + c.id + "/" + m.id +
                  "?groupId=" + team.id + "&tenantId=" + t.tenantId +
                  "&createdTime=" + std::to_string(m.created) + "&parentMessageId=" + root;
    j["policyViolation"] =
        m.policyViolation.empty() ? json(nullptr) : json::parse(m.policyViolation, nullptr, false);
    j["eventDetail"] =
        m.eventDetail.empty() ? json(nullptr) : json::parse(m.eventDetail, nullptr, false);
    j["from"] = FromJson(t, m);
    j["body"] = {{"contentType", m.textBody ? "text" : "html"},
                 {"content", m.deleted ? std::string() : m.html}};
    j["channelIdentity"] = {{"teamId", team.id}, {"channelId", c.id}};
    j["attachments"] = json::array();
    json mentions = json::array();
    for (size_t i = 0; i < m.mentions.size(); ++i) {
        const SimUser& u = t.users[m.mentions[i]];
        mentions.push_back({{"id", static_cast<int>(i)},
                            {"mentionText", u.displayName},
                            {"mentioned",
                             {{"application", nullptr},
                              {"device", nullptr},
                              {"conversation", nullptr},
                              {"user", UserIdentity(u)}}}});
    }
    j["mentions"] = std::move(mentions);
    json reactions = json::array();
    for (const auto& r : m.reactions) {
        reactions.push_back({{"reactionType", r.type},
                             {"createdDateTime", SimIso(r.at)},
                             {"user",
                              {{"application", nullptr},
                               {"device", nullptr},
                               {"user", UserIdentity(t.users[r.user])}}}});
    }
    j["reactions"] = std::move(reactions);
    j["messageHistory"] = json::array();
    if (includeReplies && m.replyToId.empty()) {
        json replies = json::array();
        size_t n = std::min<size_t>(m.replies.size(), 1000);
        // Graph lists replies newest first.
        for (size_t k = 0; k < n; ++k)
            replies.push_back(
                MessageJson(t, c, m.replies[m.replies.size() - 1 - k], false, includeUnknownEnums));
        j["replies@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#teams('" +
                                     team.id + "')/channels('" + c.id + "')/messages('" + m.id +
                                     "')/replies";
        j["replies"] = std::move(replies);
    }
    return j;
}

json ChannelJson(const Tenant& t, const SimChannel& c) {
    return {{"id", c.id},
            {"createdDateTime", SimIso(c.created)},
            {"displayName", c.displayName},
            {"description", c.description.empty() ? json(nullptr) : json(c.description)},
            {"isFavoriteByDefault", nullptr},
            {"email", ""},
            {"tenantId", t.tenantId},
            {"webUrl", "https://teams.microsoft.com/l/channel/" + c.id + "/" + c.displayName +
                           "?groupId=" + t.teams[c.team].id + "&tenantId=" + t.tenantId},
            {"membershipType", "standard"}};
}

json TeamJson(const Tenant& t, const SimTeam& team) {
    return {{"id", team.id},
            {"displayName", team.displayName},
            {"description", team.description},
            {"isArchived", false},
            {"tenantId", t.tenantId}};
}

}  // namespace cdeck::sim
