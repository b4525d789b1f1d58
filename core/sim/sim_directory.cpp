// graphsim's directory endpoints: the signed-in user's and a user's joined teams, all
// teams, users, and a team's channels.
#include <algorithm>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {
const GraphSim::Impl::Access kGetTeams{
    RequestClass::kGetTeams, 0, {"Team.ReadBasic.All"}, {"Team.ReadBasic.All"}};
}  // namespace

json GraphSim::Impl::TeamList(const std::vector<int>& which) const {
    json arr = json::array();
    for (int i : which) arr.push_back(TeamJson(tenant, tenant.teams[i]));
    return json{{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams"},
                {"@odata.count", arr.size()},
                {"value", arr}};
}

std::vector<int> GraphSim::Impl::TeamsOf(int user) const {
    std::vector<int> mine;
    for (int i = 0; i < static_cast<int>(tenant.teams.size()); ++i) {
        const auto& m = tenant.teams[i].members;
        if (std::find(m.begin(), m.end(), user) != m.end()) mine.push_back(i);
    }
    return mine;
}

void GraphSim::Impl::HandleMyJoinedTeams(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, kGetTeams, t, x)) return;
    if (!t.delegated)
        return GraphError(q, r, 400, "BadRequest",
                          "/me request is only valid with delegated authentication flow.");
    Json(r, 200, TeamList(TeamsOf(t.user)));
}

void GraphSim::Impl::HandleUserJoinedTeams(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, kGetTeams, t, x)) return;
    int user = -1;
    for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
        if (tenant.users[i].id == q.m[1] || tenant.users[i].mail == q.m[1]) user = i;
    if (user < 0)
        return GraphError(q, r, 404, "Request_ResourceNotFound",
                          "Resource '" + q.m[1] + "' does not exist.");
    Json(r, 200, TeamList(TeamsOf(user)));
}

void GraphSim::Impl::HandleListTeams(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, kGetTeams, t, x)) return;
    std::vector<int> all;
    for (int i = 0; i < static_cast<int>(tenant.teams.size()); ++i) all.push_back(i);
    Json(r, 200, TeamList(all));
}

void GraphSim::Impl::HandleListUsers(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kOther,
                0,
                {"User.ReadBasic.All", "Team.ReadBasic.All"},
                {"User.Read.All", "Team.ReadBasic.All"}},
               t, x))
        return;
    json arr = json::array();
    for (const auto& u : tenant.users)
        arr.push_back({{"id", u.id},
                       {"displayName", u.displayName},
                       {"mail", u.mail},
                       {"userPrincipalName", u.mail}});
    Json(r, 200,
         {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#users"}, {"value", arr}});
}

void GraphSim::Impl::HandleListChannels(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(
            q, r,
            {RequestClass::kGetChannels, 1, {"Channel.ReadBasic.All"}, {"Channel.ReadBasic.All"}},
            t, x))
        return;
    json arr = json::array();
    for (int ci : tenant.teams[x.team].channels)
        arr.push_back(ChannelJson(tenant, tenant.channels[ci]));
    Json(r, 200,
         {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#teams('" +
                                 tenant.teams[x.team].id + "')/channels"},
          {"@odata.count", arr.size()},
          {"value", arr}});
}

// GET /teams/{id}/members: the team's conversationMember collection, 100 a page by default
// and at most 999 ($top), paged with @odata.nextLink. Membership ids are opaque.
void GraphSim::Impl::HandleListTeamMembers(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kOther,
                1,
                {"TeamMember.Read.All", "TeamMember.ReadWrite.All"},
                {"TeamMember.Read.Group", "TeamMember.Read.All", "TeamMember.ReadWrite.All"}},
               t, x))
        return;
    if (q.Has("$filter") || q.Has("$select"))
        return GraphError(q, r, 400, "BadRequest",
                          "graphsim does not implement $filter or $select on members.");
    const int n = TopParam(q, r, 100, 999);
    if (n < 0) return;
    const SimTeam& team = tenant.teams[x.team];
    size_t begin = 0;
    if (q.Has("$skiptoken")) {
        std::string cur = FromBase64Url(q.Param("$skiptoken"));
        if (cur.rfind("u|", 0) != 0 || cur.size() < 3)
            return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
        begin = static_cast<size_t>(std::strtoul(cur.c_str() + 2, nullptr, 10));
    }
    const size_t end = std::min(team.members.size(), begin + static_cast<size_t>(n));
    json arr = json::array();
    for (size_t i = begin; i < end; ++i) {
        const SimUser& u = tenant.users[team.members[i]];
        arr.push_back({{"@odata.type", "#microsoft.graph.aadUserConversationMember"},
                       {"id", Base64Url("member|" + team.id + "|" + u.id)},
                       {"roles", i == 0 ? json::array({"owner"}) : json::array()},
                       {"displayName", u.displayName},
                       {"visibleHistoryStartDateTime", "0001-01-01T00:00:00Z"},
                       {"userId", u.id},
                       {"email", u.mail},
                       {"tenantId", tenant.tenantId}});
    }
    json body = {{"@odata.context",
                  "https://graph.microsoft.com/v1.0/$metadata#teams('" + team.id + "')/members"},
                 {"@odata.count", team.members.size()}};
    if (end < team.members.size())
        body["@odata.nextLink"] = Link(
            "/teams/" + team.id + "/members",
            {{"$top", std::to_string(n)}, {"$skiptoken", Base64Url("u|" + std::to_string(end))}});
    body["value"] = std::move(arr);
    Json(r, 200, body);
}

}  // namespace cdeck::sim
