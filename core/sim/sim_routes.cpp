// graphsim's Graph v1.0 route table, and what every Graph handler shares: the preamble
// (authenticate, check the permission, resolve the ids in the path, charge the throttler),
// $top, Prefer, and absolute links. The handlers are in sim_directory.cpp (users, teams,
// channels), sim_delta.cpp (delta) and sim_messages.cpp (messages, replies, $batch).
#include "sim/sim_internal.hpp"

namespace cdeck::sim {

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

std::string ODataContext(const Tenant& t, const SimChannel& c, const std::string& tail) {
    return "https://graph.microsoft.com/v1.0/$metadata#teams('" + t.teams[c.team].id +
           "')/channels('" + EncodeId(c.id) + "')/" + tail;
}

void GraphSim::Impl::RegisterGraphRoutes() {
    const std::string T = R"(/v1\.0/teams/([^/]+))";
    const std::string C = T + R"(/channels/([^/]+))";
    const std::string M = C + R"(/messages/([^/]+))";
    const std::string R = M + R"(/replies/([^/]+))";
    using Handler = void (Impl::*)(SimRequest&, SimResponse&);
    const std::pair<const char*, std::pair<std::string, Handler>> routes[] = {
        // directory (sim_directory.cpp)
        {"GET", {R"(/v1\.0/me/joinedTeams)", &Impl::HandleMyJoinedTeams}},
        {"GET", {R"(/v1\.0/users/([^/]+)/joinedTeams)", &Impl::HandleUserJoinedTeams}},
        {"GET", {R"(/v1\.0/teams)", &Impl::HandleListTeams}},
        {"GET", {R"(/v1\.0/users)", &Impl::HandleListUsers}},
        {"GET", {T + "/channels", &Impl::HandleListChannels}},
        {"GET", {T + "/members", &Impl::HandleListTeamMembers}},
        // delta, before messages/{id} (sim_delta.cpp)
        {"GET", {C + "/messages/delta", &Impl::HandleDelta}},
        // messages and replies (sim_messages.cpp)
        {"GET", {C + "/messages", &Impl::HandleListMessages}},
        {"POST", {C + "/messages", &Impl::HandlePostMessage}},
        {"POST", {M + "/replies", &Impl::HandlePostReply}},
        {"GET", {M, &Impl::HandleGetMessage}},
        {"GET", {M + "/replies", &Impl::HandleListReplies}},
        {"GET", {R, &Impl::HandleGetReply}},
        {"PATCH", {M, &Impl::HandlePatchMessage}},
        {"PATCH", {R, &Impl::HandlePatchReply}},
        {"POST", {M + "/softDelete", &Impl::HandleSoftDeleteMessage}},
        {"POST", {M + "/undoSoftDelete", &Impl::HandleUndoDeleteMessage}},
        {"POST", {R + "/softDelete", &Impl::HandleSoftDeleteReply}},
        {"POST", {R + "/undoSoftDelete", &Impl::HandleUndoDeleteReply}},
        {"POST", {R"(/v1\.0/\$batch)", &Impl::HandleBatch}},
        // change notifications (sim_subscriptions.cpp)
        {"POST", {R"(/v1\.0/subscriptions)", &Impl::HandleCreateSubscription}},
        {"GET", {R"(/v1\.0/subscriptions)", &Impl::HandleListSubscriptions}},
        {"GET", {R"(/v1\.0/subscriptions/([^/]+))", &Impl::HandleGetSubscription}},
        {"PATCH", {R"(/v1\.0/subscriptions/([^/]+))", &Impl::HandlePatchSubscription}},
        {"DELETE", {R"(/v1\.0/subscriptions/([^/]+))", &Impl::HandleDeleteSubscription}},
        {"POST", {R"(/v1\.0/subscriptions/([^/]+)/reauthorize)", &Impl::HandleReauthorize}},
    };
    for (const auto& [method, route] : routes)
        router.Add(method, route.first,
                   [this, h = route.second](SimRequest& q, SimResponse& r) { (this->*h)(q, r); });
}

bool GraphSim::Impl::Begin(SimRequest& req, SimResponse& res, const Access& access, TokenInfo& tok,
                           Resolved& r) {
    requestsByClass[RequestClassName(access.cls)]++;
    auto t = Authenticate(req, res);
    if (!t) return false;
    tok = *t;
    if (!Require(req, res, tok, tok.delegated ? access.delegatedScopes : access.appRoles))
        return false;
    if (!ResolvePath(req, res, access.depth, r)) return false;
    std::string teamId = r.team >= 0 ? tenant.teams[r.team].id : std::string();
    std::string channelId = r.channel >= 0 ? tenant.channels[r.channel].id : std::string();
    return Admit(req, res, tok, access.cls, teamId, channelId);
}

bool GraphSim::Impl::ResolvePath(const SimRequest& req, SimResponse& res, int depth, Resolved& r) {
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
    return true;
}

int GraphSim::Impl::TopParam(const SimRequest& req, SimResponse& res, int def, int max) {
    if (!req.Has("$top")) return def;
    std::string v = req.Param("$top");
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || n < 1 || n > max) {
        GraphError(req, res, 400, "BadRequest",
                   "Invalid page size specified: '" + v + "'. Must be between 1 and " +
                       std::to_string(max) + " inclusive.");
        return -1;
    }
    return static_cast<int>(n);
}

bool GraphSim::Impl::UnknownEnums(const SimRequest& req) {
    return req.Header("prefer").find("include-unknown-enum-members") != std::string::npos;
}

std::string GraphSim::Impl::Link(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& params) const {
    std::string out = info.graphUrl + EncodeId(path);
    char sep = '?';
    for (const auto& [k, v] : params) {
        out += sep + (k[0] == '$' ? "%24" + k.substr(1) : k) + "=" + UrlEncodeComponent(v);
        sep = '&';
    }
    return out;
}

}  // namespace cdeck::sim
