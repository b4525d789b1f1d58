// graphsim's Graph v1.0 endpoints: users, teams, channels, channel messages and replies
// (list, get, post, patch, soft delete and undo), delta, and $batch.
#include <algorithm>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

std::string EncodeId(const std::string& id) {
    std::string out;
    for (char c : id) {
        if (c == ':')
            out += "%3A";
        else if (c == '@')
            out += "%40";
        else
            out += c;
    }
    return out;
}

struct Resolved {
    int team = -1;
    int channel = -1;
    SimMessage* root = nullptr;
    SimMessage* reply = nullptr;
};

std::string Context(const Tenant& t, const SimChannel& c, const std::string& tail) {
    return "https://graph.microsoft.com/v1.0/$metadata#teams('" + t.teams[c.team].id +
           "')/channels('" + EncodeId(c.id) + "')/" + tail;
}

}  // namespace

void GraphSim::Impl::RegisterGraphRoutes() {
    const std::string T = R"(/v1\.0/teams/([^/]+))";
    const std::string C = T + R"(/channels/([^/]+))";
    const std::string M = C + R"(/messages/([^/]+))";
    const std::string R = M + R"(/replies/([^/]+))";

    // Common preamble: authenticate, check the permission, resolve ids from the path
    // (depth 1 team .. 4 reply), then charge the throttler.
    auto begin = [this](SimRequest& req, SimResponse& res, RequestClass cls, int depth,
                        std::initializer_list<const char*> delegatedScopes,
                        std::initializer_list<const char*> appRoles, TokenInfo& tok,
                        Resolved& r) -> bool {
        requestsByClass[RequestClassName(cls)]++;
        auto t = Authenticate(req, res);
        if (!t) return false;
        tok = *t;
        if (!Require(req, res, tok, tok.delegated ? delegatedScopes : appRoles)) return false;
        if (depth >= 1) {
            auto it = tenant.teamById.find(req.m[1]);
            if (it == tenant.teamById.end()) {
                GraphError(req, res, 404, "NotFound", "No team found with Group Id " + req.m[1]);
                return false;
            }
            r.team = it->second;
        }
        if (depth >= 2) {
            auto it = tenant.channelById.find(req.m[2]);
            if (it == tenant.channelById.end() || tenant.channels[it->second].team != r.team) {
                GraphError(req, res, 404, "NotFound", "Channel not found.");
                return false;
            }
            r.channel = it->second;
        }
        if (depth >= 3) {
            r.root = tenant.FindRoot(r.channel, req.m[3]);
            if (!r.root) {
                GraphError(req, res, 404, "NotFound", "Message " + req.m[3] + " not found.");
                return false;
            }
        }
        if (depth >= 4) {
            r.reply = tenant.FindReply(r.channel, req.m[3], req.m[4]);
            if (!r.reply) {
                GraphError(req, res, 404, "NotFound", "Reply " + req.m[4] + " not found.");
                return false;
            }
        }
        std::string teamId = r.team >= 0 ? tenant.teams[r.team].id : std::string();
        std::string channelId = r.channel >= 0 ? tenant.channels[r.channel].id : std::string();
        return Admit(req, res, tok, cls, teamId, channelId);
    };
    auto top = [this](SimRequest& req, SimResponse& res, int def) -> int {
        if (!req.Has("$top")) return def;
        std::string v = req.Param("$top");
        char* end = nullptr;
        long n = std::strtol(v.c_str(), &end, 10);
        if (v.empty() || *end || n < 1 || n > 50) {
            GraphError(
                req, res, 400, "BadRequest",
                "Invalid page size specified: '" + v + "'. Must be between 1 and 50 inclusive.");
            return -1;
        }
        return static_cast<int>(n);
    };
    auto unknownEnums = [](const SimRequest& req) {
        return req.Header("prefer").find("include-unknown-enum-members") != std::string::npos;
    };
    auto link = [this](const std::string& path,
                       const std::vector<std::pair<std::string, std::string>>& params) {
        std::string out = info.graphUrl + EncodeId(path);
        char sep = '?';
        for (const auto& [k, v] : params) {
            out += sep + (k[0] == '$' ? "%24" + k.substr(1) : k) + "=" + UrlEncodeComponent(v);
            sep = '&';
        }
        return out;
    };
    auto teamList = [this](const std::vector<int>& which) {
        json arr = json::array();
        for (int i : which) arr.push_back(TeamJson(tenant, tenant.teams[i]));
        return json{{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams"},
                    {"@odata.count", arr.size()},
                    {"value", arr}};
    };

    // ---------------------------------------------------------------- directory
    router.Add("GET", R"(/v1\.0/me/joinedTeams)", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetTeams, 0, {"Team.ReadBasic.All"}, {"Team.ReadBasic.All"},
                   t, x))
            return;
        if (!t.delegated)
            return GraphError(q, r, 400, "BadRequest",
                              "/me request is only valid with delegated authentication flow.");
        std::vector<int> mine;
        for (int i = 0; i < static_cast<int>(tenant.teams.size()); ++i) {
            const auto& m = tenant.teams[i].members;
            if (std::find(m.begin(), m.end(), t.user) != m.end()) mine.push_back(i);
        }
        Json(r, 200, teamList(mine));
    });
    router.Add("GET", R"(/v1\.0/users/([^/]+)/joinedTeams)",
               [=, this](SimRequest& q, SimResponse& r) {
                   TokenInfo t;
                   Resolved x;
                   if (!begin(q, r, RequestClass::kGetTeams, 0, {"Team.ReadBasic.All"},
                              {"Team.ReadBasic.All"}, t, x))
                       return;
                   int user = -1;
                   for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
                       if (tenant.users[i].id == q.m[1] || tenant.users[i].mail == q.m[1]) user = i;
                   if (user < 0)
                       return GraphError(q, r, 404, "Request_ResourceNotFound",
                                         "Resource '" + q.m[1] + "' does not exist.");
                   std::vector<int> mine;
                   for (int i = 0; i < static_cast<int>(tenant.teams.size()); ++i) {
                       const auto& m = tenant.teams[i].members;
                       if (std::find(m.begin(), m.end(), user) != m.end()) mine.push_back(i);
                   }
                   Json(r, 200, teamList(mine));
               });
    router.Add("GET", R"(/v1\.0/teams)", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetTeams, 0, {"Team.ReadBasic.All"}, {"Team.ReadBasic.All"},
                   t, x))
            return;
        std::vector<int> all;
        for (int i = 0; i < static_cast<int>(tenant.teams.size()); ++i) all.push_back(i);
        Json(r, 200, teamList(all));
    });
    router.Add("GET", R"(/v1\.0/users)", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kOther, 0, {"User.ReadBasic.All", "Team.ReadBasic.All"},
                   {"User.Read.All", "Team.ReadBasic.All"}, t, x))
            return;
        json arr = json::array();
        for (const auto& u : tenant.users)
            arr.push_back({{"id", u.id},
                           {"displayName", u.displayName},
                           {"mail", u.mail},
                           {"userPrincipalName", u.mail}});
        Json(r, 200,
             {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#users"},
              {"value", arr}});
    });
    router.Add("GET", T + "/channels", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetChannels, 1, {"Channel.ReadBasic.All"},
                   {"Channel.ReadBasic.All"}, t, x))
            return;
        json arr = json::array();
        for (int ci : tenant.teams[x.team].channels)
            arr.push_back(ChannelJson(tenant, tenant.channels[ci]));
        Json(r, 200,
             {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams('" +
                                     tenant.teams[x.team].id + "')/channels"},
              {"@odata.count", arr.size()},
              {"value", arr}});
    });

    // ---------------------------------------------------------------- delta (before messages/{id})
    router.Add("GET", C + "/messages/delta", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetMessage, 2, {"ChannelMessage.Read.All"},
                   {"ChannelMessage.Read.All"}, t, x))
            return;
        int n = top(q, r, 20);
        if (n < 0) return;
        SimChannel& c = tenant.channels[x.channel];
        std::string path =
            "/teams/" + tenant.teams[x.team].id + "/channels/" + c.id + "/messages/delta";
        bool unknown = unknownEnums(q);
        Millis now = Now();
        auto fail410 = [&](const std::string& code, const std::string& msg) {
            json body = {{"error",
                          {{"code", code},
                           {"message", msg},
                           {"innerError",
                            {{"code", code},
                             {"request-id", r.GetHeader("request-id")},
                             {"date", SimIso(SimNowMillis()).substr(0, 19)}}}}}};
            Json(r, 410, body);
        };
        // Token layout (opaque to clients): kind|epoch|channel|a|b|c|d
        auto parse = [&](const std::string& tok, std::vector<std::string>& parts) {
            std::string raw = FromBase64Url(tok);
            parts.clear();
            size_t s = 0;
            while (s <= raw.size()) {
                size_t bar = raw.find('|', s);
                if (bar == std::string::npos) bar = raw.size();
                parts.push_back(raw.substr(s, bar - s));
                s = bar + 1;
            }
            return parts.size() >= 3;
        };
        auto deltaLink = [&](uint64_t seq) {
            return link(path, {{"$deltatoken",
                                Base64Url("d|" + epoch + "|" + c.id + "|" + std::to_string(seq) +
                                          "|" + std::to_string(now))}});
        };
        json value = json::array();
        json body = {{"@odata.context", Context(tenant, c, "messages/delta")}};
        std::vector<std::string> parts;
        std::string skip = q.Param("$skiptoken"), delta = q.Param("$deltatoken");
        if (!skip.empty() || !delta.empty()) {
            if (!parse(skip.empty() ? delta : skip, parts) || parts[2] != c.id)
                return GraphError(q, r, 400, "BadRequest",
                                  "The token is not valid for this resource.");
            if (parts[1] != epoch)
                return fail410("syncStateNotFound",
                               "The sync state was not found. Start a new sync.");
        }
        if (!delta.empty()) {
            if (parts[0] != "d" || parts.size() < 5)
                return GraphError(q, r, 400, "BadRequest", "Invalid delta token.");
            Millis issued = std::atoll(parts[4].c_str());
            if (now - issued > static_cast<Millis>(deltaTokenLifetimeSeconds * 1000))
                return fail410("resyncRequired",
                               "The delta token has expired. A full resync is required.");
            // An incremental round is paged like the first one: i|epoch|channel|from|to|offset
            parts = {"i", epoch, c.id, parts[3], std::to_string(tenant.changeSeq), "0"};
        }
        if (parts.empty()) {
            // First round: every root, optionally filtered by lastModifiedDateTime gt X.
            Millis since = 0;
            if (q.Has("$filter")) {
                std::string f = q.Param("$filter");
                const std::string prefix = "lastModifiedDateTime gt ";
                auto ts =
                    f.rfind(prefix, 0) == 0 ? SimParseIso(f.substr(prefix.size())) : std::nullopt;
                if (!ts)
                    return GraphError(
                        q, r, 400, "BadRequest",
                        "Only '$filter=lastModifiedDateTime gt {dateTime}' is supported on delta.");
                since = *ts;
            }
            // Only the last 8 months are covered.
            since = std::max<Millis>(since, now - Millis{8} * 30 * 86400 * 1000);
            parts = {"s",
                     epoch,
                     c.id,
                     std::to_string(tenant.changeSeq),
                     "0",
                     std::to_string(since),
                     std::to_string(c.roots.size())};
        }
        if (parts[0] == "s") {
            if (parts.size() < 7) return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
            uint64_t seq0 = std::stoull(parts[3]);
            size_t idx = std::stoull(parts[4]);
            Millis since = std::atoll(parts[5].c_str());
            size_t end = std::min<size_t>(std::stoull(parts[6]), c.roots.size());
            while (idx < end && static_cast<int>(value.size()) < n) {
                const SimMessage& m = c.roots[idx++];
                if (m.modified > since) value.push_back(MessageJson(tenant, c, m, false, unknown));
            }
            if (idx < end) {
                parts[4] = std::to_string(idx);
                std::string tok;
                for (size_t i = 0; i < parts.size(); ++i) tok += (i ? "|" : "") + parts[i];
                body["@odata.nextLink"] = link(path, {{"$skiptoken", Base64Url(tok)}});
            } else {
                body["@odata.deltaLink"] = deltaLink(seq0);
            }
        } else if (parts[0] == "i") {
            if (parts.size() < 6) return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
            uint64_t from = std::stoull(parts[3]), to = std::stoull(parts[4]);
            size_t offset = std::stoull(parts[5]);
            // Distinct roots changed in (from, to], in order of their latest change.
            std::vector<std::string> ids;
            std::unordered_map<std::string, bool> seen;
            auto it = std::upper_bound(
                c.changes.begin(), c.changes.end(), from,
                [](uint64_t v, const std::pair<uint64_t, std::string>& e) { return v < e.first; });
            for (; it != c.changes.end() && it->first <= to; ++it)
                if (!seen[it->second]) {
                    seen[it->second] = true;
                    ids.push_back(it->second);
                }
            size_t i = offset;
            for (; i < ids.size() && static_cast<int>(value.size()) < n; ++i)
                if (const SimMessage* m = tenant.FindRoot(x.channel, ids[i]))
                    value.push_back(MessageJson(tenant, c, *m, false, unknown));
            if (i < ids.size()) {
                std::string tok = "i|" + epoch + "|" + c.id + "|" + parts[3] + "|" + parts[4] +
                                  "|" + std::to_string(i);
                body["@odata.nextLink"] = link(path, {{"$skiptoken", Base64Url(tok)}});
            } else {
                body["@odata.deltaLink"] = deltaLink(to);
            }
        } else {
            return GraphError(q, r, 400, "BadRequest", "Invalid token.");
        }
        body["value"] = std::move(value);
        Json(r, 200, body);
    });

    // ---------------------------------------------------------------- messages
    router.Add("GET", C + "/messages", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetMessage, 2, {"ChannelMessage.Read.All"},
                   {"ChannelMessage.Read.All"}, t, x))
            return;
        int n = top(q, r, 20);
        if (n < 0) return;
        bool expand = q.Param("$expand") == "replies";
        if (q.Has("$expand") && !expand)
            return GraphError(q, r, 400, "BadRequest", "Only $expand=replies is supported.");
        const SimChannel& c = tenant.channels[x.channel];
        size_t end = c.roots.size();
        if (q.Has("$skiptoken")) {
            std::string cur = FromBase64Url(q.Param("$skiptoken"));
            if (cur.rfind("m|", 0) != 0)
                return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
            long long before = std::atoll(cur.c_str() + 2);
            end = static_cast<size_t>(std::lower_bound(c.roots.begin(), c.roots.end(), before,
                                                       [](const SimMessage& m, long long v) {
                                                           return std::atoll(m.id.c_str()) < v;
                                                       }) -
                                      c.roots.begin());
        }
        size_t begin = end > static_cast<size_t>(n) ? end - n : 0;
        json arr = json::array();
        bool unknown = unknownEnums(q);
        for (size_t k = end; k > begin; --k) {
            json m = MessageJson(tenant, c, c.roots[k - 1], expand, unknown);
            if (expand && c.roots[k - 1].replies.size() > 1000)
                m["replies@odata.nextLink"] = link(
                    "/teams/" + tenant.teams[c.team].id + "/channels/" + c.id + "/messages/" +
                        c.roots[k - 1].id + "/replies",
                    {{"$skiptoken",
                      Base64Url("r|" +
                                c.roots[k - 1].replies[c.roots[k - 1].replies.size() - 1000].id)}});
            arr.push_back(std::move(m));
        }
        json body = {{"@odata.context", Context(tenant, c, "messages")},
                     {"@odata.count", c.roots.size()}};
        if (begin > 0) {
            std::vector<std::pair<std::string, std::string>> params = {{"$top", std::to_string(n)}};
            if (expand) params.push_back({"$expand", "replies"});
            params.push_back({"$skiptoken", Base64Url("m|" + c.roots[begin].id)});
            body["@odata.nextLink"] = link(
                "/teams/" + tenant.teams[c.team].id + "/channels/" + c.id + "/messages", params);
        }
        body["value"] = std::move(arr);
        Json(r, 200, body);
    });

    auto postMessage = [=, this](SimRequest& q, SimResponse& r, bool reply) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kPostMessage, reply ? 3 : 2, {"ChannelMessage.Send"},
                   {"Teamwork.Migrate.All"}, t, x))
            return;
        json body = json::parse(q.body, nullptr, false);
        if (body.is_discarded() || !body.is_object() || !body.contains("body") ||
            !body["body"].is_object() || !body["body"].contains("content") ||
            !body["body"]["content"].is_string())
            return GraphError(q, r, 400, "BadRequest",
                              "Invalid request body: body.content is required.");
        SimMessage m;
        m.created = m.modified = Now();
        std::string ct = body["body"].value("contentType", std::string("text"));
        if (ct != "text" && ct != "html")
            return GraphError(q, r, 400, "BadRequest", "body.contentType must be text or html.");
        m.textBody = ct == "text";
        m.html = body["body"]["content"].get<std::string>();
        if (body.contains("subject") && body["subject"].is_string() && !reply)
            m.subject = body["subject"];
        if (body.contains("importance")) {
            std::string imp =
                body["importance"].is_string() ? body["importance"].get<std::string>() : "";
            if (imp != "normal" && imp != "high" && imp != "urgent")
                return GraphError(q, r, 400, "BadRequest", "Invalid value for importance.");
            m.importance = imp;
        }
        if (body.contains("mentions") && body["mentions"].is_array()) {
            for (const auto& mn : body["mentions"]) {
                if (!mn.is_object() || !mn.contains("mentioned")) continue;
                std::string uid;
                if (mn["mentioned"].contains("user") && mn["mentioned"]["user"].is_object())
                    uid = mn["mentioned"]["user"].value("id", std::string());
                for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
                    if (tenant.users[i].id == uid) m.mentions.push_back(i);
                if (!m.textBody && m.html.find("<at id=\"" + std::to_string(mn.value("id", -1)) +
                                               "\"") == std::string::npos)
                    return GraphError(q, r, 400, "BadRequest",
                                      "Each mention must have a matching <at id> tag in the body.");
            }
        }
        m.user = t.delegated ? t.user : -1;
        m.appId = t.clientId;
        const SimMessage* stored;
        if (reply) {
            stored = tenant.AddReply(x.channel, x.root->id, std::move(m));
        } else {
            stored = &tenant.AddRoot(x.channel, std::move(m));
        }
        NoteCreated(x.channel, *stored);
        Json(r, 201,
             MessageJson(tenant, tenant.channels[x.channel], *stored, false, unknownEnums(q)));
    };
    router.Add("POST", C + "/messages",
               [=](SimRequest& q, SimResponse& r) { postMessage(q, r, false); });
    router.Add("POST", M + "/replies",
               [=](SimRequest& q, SimResponse& r) { postMessage(q, r, true); });

    router.Add("GET", M, [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetMessage, 3, {"ChannelMessage.Read.All"},
                   {"ChannelMessage.Read.All"}, t, x))
            return;
        json j = MessageJson(tenant, tenant.channels[x.channel], *x.root, false, unknownEnums(q));
        j["@odata.context"] = Context(tenant, tenant.channels[x.channel], "messages/$entity");
        Json(r, 200, j);
    });
    router.Add("GET", M + "/replies", [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetMessage, 3, {"ChannelMessage.Read.All"},
                   {"ChannelMessage.Read.All"}, t, x))
            return;
        int n = top(q, r, 20);
        if (n < 0) return;
        const SimChannel& c = tenant.channels[x.channel];
        const auto& reps = x.root->replies;
        size_t end = reps.size();
        if (q.Has("$skiptoken")) {
            std::string cur = FromBase64Url(q.Param("$skiptoken"));
            if (cur.rfind("r|", 0) != 0)
                return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
            long long before = std::atoll(cur.c_str() + 2);
            end = 0;
            while (end < reps.size() && std::atoll(reps[end].id.c_str()) < before) ++end;
        }
        size_t begin = end > static_cast<size_t>(n) ? end - n : 0;
        json arr = json::array();
        for (size_t k = end; k > begin; --k)
            arr.push_back(MessageJson(tenant, c, reps[k - 1], false, unknownEnums(q)));
        json body = {
            {"@odata.context", Context(tenant, c, "messages('" + x.root->id + "')/replies")},
            {"@odata.count", reps.size()}};
        if (begin > 0)
            body["@odata.nextLink"] = link(
                "/teams/" + tenant.teams[c.team].id + "/channels/" + c.id + "/messages/" +
                    x.root->id + "/replies",
                {{"$top", std::to_string(n)}, {"$skiptoken", Base64Url("r|" + reps[begin].id)}});
        body["value"] = std::move(arr);
        Json(r, 200, body);
    });
    router.Add("GET", R, [=, this](SimRequest& q, SimResponse& r) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kGetMessage, 4, {"ChannelMessage.Read.All"},
                   {"ChannelMessage.Read.All"}, t, x))
            return;
        json j = MessageJson(tenant, tenant.channels[x.channel], *x.reply, false, unknownEnums(q));
        j["@odata.context"] = Context(tenant, tenant.channels[x.channel],
                                      "messages('" + x.root->id + "')/replies/$entity");
        Json(r, 200, j);
    });

    auto patch = [=, this](SimRequest& q, SimResponse& r, int depth) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kOther, depth,
                   {"ChannelMessage.ReadWrite", "Group.ReadWrite.All"},
                   {"ChannelMessage.UpdatePolicyViolation.All"}, t, x))
            return;
        SimMessage& m = depth == 4 ? *x.reply : *x.root;
        json body = json::parse(q.body, nullptr, false);
        if (!body.is_object()) return GraphError(q, r, 400, "BadRequest", "Invalid request body.");
        if (!t.delegated) {
            // Application permissions may only set policyViolation.
            for (auto& [k, v] : body.items())
                if (k != "policyViolation")
                    return GraphError(q, r, 403, "Forbidden",
                                      "Application permissions can only update policyViolation.");
            if (!body.contains("policyViolation"))
                return GraphError(q, r, 400, "BadRequest", "policyViolation is required.");
            m.policyViolation = body["policyViolation"].dump();
        } else {
            if (m.user != t.user)
                return GraphError(q, r, 403, "Forbidden",
                                  "Only the sender of a message can edit it.");
            if (m.deleted)
                return GraphError(q, r, 400, "BadRequest", "A deleted message cannot be edited.");
            if (body.contains("body")) {
                if (!body["body"].is_object() || !body["body"].contains("content") ||
                    !body["body"]["content"].is_string())
                    return GraphError(q, r, 400, "BadRequest", "body.content must be a string.");
                m.html = body["body"]["content"];
                m.textBody = body["body"].value("contentType", std::string("text")) == "text";
            }
            if (body.contains("subject") && body["subject"].is_string())
                m.subject = body["subject"];
            if (body.contains("importance") && body["importance"].is_string())
                m.importance = body["importance"];
            if (body.contains("mentions") && body["mentions"].is_array()) {
                m.mentions.clear();
                for (const auto& mn : body["mentions"]) {
                    std::string uid = mn.contains("mentioned") &&
                                              mn["mentioned"].contains("user") &&
                                              mn["mentioned"]["user"].is_object()
                                          ? mn["mentioned"]["user"].value("id", std::string())
                                          : std::string();
                    for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
                        if (tenant.users[i].id == uid) m.mentions.push_back(i);
                }
            }
            m.edited = Now();
        }
        m.modified = std::max(m.modified + 1, Now());
        tenant.Touch(x.channel, *x.root, Now());
        r.status = 204;
        r.body.clear();
    };
    router.Add("PATCH", M, [=](SimRequest& q, SimResponse& r) { patch(q, r, 3); });
    router.Add("PATCH", R, [=](SimRequest& q, SimResponse& r) { patch(q, r, 4); });

    auto softDelete = [=, this](SimRequest& q, SimResponse& r, int depth, bool undo) {
        TokenInfo t;
        Resolved x;
        if (!begin(q, r, RequestClass::kOther, depth, {"ChannelMessage.ReadWrite"},
                   {"__delegated_only__"}, t, x))
            return;
        SimMessage& m = depth == 4 ? *x.reply : *x.root;
        if (undo) {
            if (!m.deleted)
                return GraphError(q, r, 400, "BadRequest", "The message is not deleted.");
            m.deleted.reset();
        } else {
            if (m.deleted)
                return GraphError(q, r, 400, "BadRequest", "The message is already deleted.");
            m.deleted = Now();
        }
        m.modified = std::max(m.modified + 1, Now());
        tenant.Touch(x.channel, *x.root, Now());
        r.status = 204;
        r.body.clear();
    };
    router.Add("POST", M + "/softDelete",
               [=](SimRequest& q, SimResponse& r) { softDelete(q, r, 3, false); });
    router.Add("POST", M + "/undoSoftDelete",
               [=](SimRequest& q, SimResponse& r) { softDelete(q, r, 3, true); });
    router.Add("POST", R + "/softDelete",
               [=](SimRequest& q, SimResponse& r) { softDelete(q, r, 4, false); });
    router.Add("POST", R + "/undoSoftDelete",
               [=](SimRequest& q, SimResponse& r) { softDelete(q, r, 4, true); });

    router.Add("POST", R"(/v1\.0/\$batch)",
               [this](SimRequest& q, SimResponse& r) { HandleBatch(q, r); });
}

void GraphSim::Impl::HandleBatch(SimRequest& req, SimResponse& res) {
    requestsByClass["batch"]++;
    json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("requests") || !body["requests"].is_array())
        return GraphError(req, res, 400, "BadRequest",
                          "Invalid batch payload: a \"requests\" array is required.");
    const json& items = body["requests"];
    if (items.size() > 20)
        return GraphError(req, res, 400, "BadRequest",
                          "The number of batch requests exceeds the limit of 20.");
    std::unordered_map<std::string, int> statusById;
    for (const auto& it : items) {
        if (!it.is_object() || !it.contains("id") || !it["id"].is_string() ||
            !it.contains("method") || !it.contains("url"))
            return GraphError(req, res, 400, "BadRequest",
                              "Each batch request needs id, method and url.");
        if (!statusById.emplace(it["id"].get<std::string>(), 0).second)
            return GraphError(
                req, res, 400, "BadRequest",
                "Batch request ids must be unique: '" + it["id"].get<std::string>() + "'.");
    }
    json responses = json::array();
    for (const auto& it : items) {
        std::string id = it["id"];
        json out = {{"id", id}};
        bool depFailed = false;
        if (it.contains("dependsOn") && it["dependsOn"].is_array())
            for (const auto& dep : it["dependsOn"]) {
                auto s = statusById.find(dep.is_string() ? dep.get<std::string>() : "");
                if (s == statusById.end() || s->second == 0 || s->second >= 400) depFailed = true;
            }
        if (depFailed) {
            out["status"] = 424;
            out["headers"] = {{"Content-Type", "application/json"}};
            out["body"] = {{"error",
                            {{"code", "FailedDependency"},
                             {"message", "A request this one depends on failed."}}}};
            statusById[id] = 424;
            responses.push_back(out);
            continue;
        }
        SimRequest sub;
        sub.inBatch = true;
        sub.method = it["method"].is_string() ? it["method"].get<std::string>() : "";
        std::string url = it["url"].is_string() ? it["url"].get<std::string>() : "";
        if (!url.empty() && url[0] != '/') url = "/" + url;
        size_t qpos = url.find('?');
        sub.path = "/v1.0" + UrlDecode(url.substr(0, qpos), false);
        if (qpos != std::string::npos) sub.params = ParseQuery(url.substr(qpos + 1));
        sub.headers["authorization"] = req.Header("authorization");
        sub.headers["client-request-id"] = req.Header("client-request-id");
        if (it.contains("headers") && it["headers"].is_object())
            for (auto& [k, v] : it["headers"].items()) {
                std::string key = k;
                for (auto& c : key)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (v.is_string()) sub.headers[key] = v.get<std::string>();
            }
        SimResponse subRes;
        subRes.SetHeader("request-id", res.GetHeader("request-id"));
        if (it.contains("body")) {
            if (sub.Header("content-type").empty()) {
                GraphError(sub, subRes, 400, "BadRequest",
                           "A batch request with a body must have a Content-Type header.");
            } else {
                sub.body =
                    it["body"].is_string() ? it["body"].get<std::string>() : it["body"].dump();
                Execute(sub, subRes);
            }
        } else {
            Execute(sub, subRes);
        }
        out["status"] = subRes.status;
        json headers = json::object();
        for (const auto& [k, v] : subRes.headers)
            if (k == "Retry-After" || k.rfind("RateLimit-", 0) == 0 || k == "Location")
                headers[k] = v;
        if (!subRes.body.empty()) headers["Content-Type"] = subRes.contentType;
        out["headers"] = headers;
        if (!subRes.body.empty()) {
            json b = json::parse(subRes.body, nullptr, false);
            out["body"] = b.is_discarded() ? json(subRes.body) : b;
        }
        statusById[id] = subRes.status;
        responses.push_back(out);
    }
    // Graph returns batch responses in any order; clients must match them by id.
    std::shuffle(responses.begin(), responses.end(), rng);
    Json(res, 200, {{"responses", responses}});
}

}  // namespace cdeck::sim
