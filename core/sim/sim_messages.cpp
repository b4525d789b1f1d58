// graphsim's channel message endpoints: list, get, post, patch, soft delete and undo, for
// root messages and replies; and $batch, which runs each item through the same handlers.
#include <algorithm>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {
const GraphSim::Impl::Access kRead{
    RequestClass::kGetMessage, 0, {"ChannelMessage.Read.All"}, {"ChannelMessage.Read.All"}};
// A mention's id, or -1 when it has none or it is not a whole number.
int MentionId(const json& mention) {
    return mention.contains("id") && mention["id"].is_number_integer() ? mention["id"].get<int>()
                                                                       : -1;
}
GraphSim::Impl::Access ReadAt(int depth) {
    GraphSim::Impl::Access a = kRead;
    a.depth = depth;
    return a;
}
}  // namespace

void GraphSim::Impl::HandleListMessages(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, ReadAt(2), t, x)) return;
    int n = TopParam(q, r, 20);
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
    const std::string path = "/teams/" + tenant.teams[c.team].id + "/channels/" + c.id;
    json arr = json::array();
    bool unknown = UnknownEnums(q);
    for (size_t k = end; k > begin; --k) {
        const SimMessage& root = c.roots[k - 1];
        json m = MessageJson(tenant, c, root, expand, unknown);
        if (expand && root.replies.size() > 1000)  // $expand inlines at most 1000 replies
            m["replies@odata.nextLink"] = Link(
                path + "/messages/" + root.id + "/replies",
                {{"$skiptoken", Base64Url("r|" + root.replies[root.replies.size() - 1000].id)}});
        arr.push_back(std::move(m));
    }
    json body = {{"@odata.context", ODataContext(tenant, c, "messages")},
                 {"@odata.count", c.roots.size()}};
    if (begin > 0) {
        std::vector<std::pair<std::string, std::string>> params = {{"$top", std::to_string(n)}};
        if (expand) params.push_back({"$expand", "replies"});
        params.push_back({"$skiptoken", Base64Url("m|" + c.roots[begin].id)});
        body["@odata.nextLink"] = Link(path + "/messages", params);
    }
    body["value"] = std::move(arr);
    Json(r, 200, body);
}

void GraphSim::Impl::HandlePostMessage(SimRequest& q, SimResponse& r) {
    PostMessage(q, r, false);
}

void GraphSim::Impl::HandlePostReply(SimRequest& q, SimResponse& r) {
    PostMessage(q, r, true);
}

void GraphSim::Impl::PostMessage(SimRequest& q, SimResponse& r, bool reply) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kPostMessage,
                reply ? 3 : 2,
                {"ChannelMessage.Send"},
                {"Teamwork.Migrate.All"}},
               t, x))
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
    if (std::string err = ReadMentions(body, m, true); !err.empty())
        return GraphError(q, r, 400, "BadRequest", err);
    m.user = t.delegated ? t.user : -1;
    m.appId = t.clientId;
    const SimMessage* stored = reply ? tenant.AddReply(x.channel, x.root->id, std::move(m))
                                     : &tenant.AddRoot(x.channel, std::move(m));
    NoteCreated(x.channel, *stored);
    Json(r, 201, MessageJson(tenant, tenant.channels[x.channel], *stored, false, UnknownEnums(q)));
}

std::string GraphSim::Impl::ReadMentions(const json& body, SimMessage& m, bool checkTags) const {
    if (!body.contains("mentions") || !body["mentions"].is_array()) return {};
    m.mentions.clear();
    for (const auto& mn : body["mentions"]) {
        if (!mn.is_object() || !mn.contains("mentioned")) continue;
        std::string uid;
        if (mn["mentioned"].is_object() && mn["mentioned"].contains("user") &&
            mn["mentioned"]["user"].is_object())
            uid = mn["mentioned"]["user"].value("id", std::string());
        for (int i = 0; i < static_cast<int>(tenant.users.size()); ++i)
            if (tenant.users[i].id == uid) m.mentions.push_back(i);
        if (checkTags && !m.textBody &&
            m.html.find("<at id=\"" + std::to_string(MentionId(mn)) + "\"") == std::string::npos)
            return "Each mention must have a matching <at id> tag in the body.";
    }
    return {};
}

void GraphSim::Impl::HandleGetMessage(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, ReadAt(3), t, x)) return;
    json j = MessageJson(tenant, tenant.channels[x.channel], *x.root, false, UnknownEnums(q));
    j["@odata.context"] = ODataContext(tenant, tenant.channels[x.channel], "messages/$entity");
    Json(r, 200, j);
}

void GraphSim::Impl::HandleListReplies(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, ReadAt(3), t, x)) return;
    int n = TopParam(q, r, 20);
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
        arr.push_back(MessageJson(tenant, c, reps[k - 1], false, UnknownEnums(q)));
    json body = {
        {"@odata.context", ODataContext(tenant, c, "messages('" + x.root->id + "')/replies")},
        {"@odata.count", reps.size()}};
    if (begin > 0)
        body["@odata.nextLink"] =
            Link("/teams/" + tenant.teams[c.team].id + "/channels/" + c.id + "/messages/" +
                     x.root->id + "/replies",
                 {{"$top", std::to_string(n)}, {"$skiptoken", Base64Url("r|" + reps[begin].id)}});
    body["value"] = std::move(arr);
    Json(r, 200, body);
}

void GraphSim::Impl::HandleGetReply(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r, ReadAt(4), t, x)) return;
    json j = MessageJson(tenant, tenant.channels[x.channel], *x.reply, false, UnknownEnums(q));
    j["@odata.context"] = ODataContext(tenant, tenant.channels[x.channel],
                                       "messages('" + x.root->id + "')/replies/$entity");
    Json(r, 200, j);
}

void GraphSim::Impl::HandlePatchMessage(SimRequest& q, SimResponse& r) {
    Patch(q, r, 3);
}

void GraphSim::Impl::HandlePatchReply(SimRequest& q, SimResponse& r) {
    Patch(q, r, 4);
}

void GraphSim::Impl::Patch(SimRequest& q, SimResponse& r, int depth) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kOther,
                depth,
                {"ChannelMessage.ReadWrite", "Group.ReadWrite.All"},
                {"ChannelMessage.UpdatePolicyViolation.All"}},
               t, x))
        return;
    SimMessage& m = depth == 4 ? *x.reply : *x.root;
    json body = json::parse(q.body, nullptr, false);
    if (!body.is_object()) return GraphError(q, r, 400, "BadRequest", "Invalid request body.");
    std::string denied = t.delegated ? PatchAsSender(body, m, t) : PatchAsApp(body, m);
    if (!denied.empty()) {
        int status = denied.rfind("403 ", 0) == 0 ? 403 : 400;
        return GraphError(q, r, status, status == 403 ? "Forbidden" : "BadRequest",
                          denied.substr(4));
    }
    m.modified = std::max(m.modified + 1, Now());
    tenant.Touch(x.channel, *x.root, Now());
    tenant.Record(x.channel, *x.root, m, "updated");
    r.status = 204;
    r.body.clear();
}

std::string GraphSim::Impl::PatchAsApp(const json& body, SimMessage& m) {
    // Application permissions may only set policyViolation.
    for (auto& [k, v] : body.items())
        if (k != "policyViolation")
            return "403 Application permissions can only update policyViolation.";
    if (!body.contains("policyViolation")) return "400 policyViolation is required.";
    m.policyViolation = body["policyViolation"].dump();
    return {};
}

std::string GraphSim::Impl::PatchAsSender(const json& body, SimMessage& m, const TokenInfo& t) {
    if (m.user != t.user) return "403 Only the sender of a message can edit it.";
    if (m.deleted) return "400 A deleted message cannot be edited.";
    if (body.contains("body")) {
        if (!body["body"].is_object() || !body["body"].contains("content") ||
            !body["body"]["content"].is_string())
            return "400 body.content must be a string.";
        m.html = body["body"]["content"];
        m.textBody = body["body"].value("contentType", std::string("text")) == "text";
    }
    if (body.contains("subject") && body["subject"].is_string()) m.subject = body["subject"];
    if (body.contains("importance") && body["importance"].is_string())
        m.importance = body["importance"];
    (void)ReadMentions(body, m, false);
    m.edited = Now();
    return {};
}

void GraphSim::Impl::HandleSoftDeleteMessage(SimRequest& q, SimResponse& r) {
    SoftDelete(q, r, 3, false);
}
void GraphSim::Impl::HandleUndoDeleteMessage(SimRequest& q, SimResponse& r) {
    SoftDelete(q, r, 3, true);
}
void GraphSim::Impl::HandleSoftDeleteReply(SimRequest& q, SimResponse& r) {
    SoftDelete(q, r, 4, false);
}
void GraphSim::Impl::HandleUndoDeleteReply(SimRequest& q, SimResponse& r) {
    SoftDelete(q, r, 4, true);
}

void GraphSim::Impl::SoftDelete(SimRequest& q, SimResponse& r, int depth, bool undo) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kOther, depth, {"ChannelMessage.ReadWrite"}, {"__delegated_only__"}},
               t, x))
        return;
    SimMessage& m = depth == 4 ? *x.reply : *x.root;
    if (undo) {
        if (!m.deleted) return GraphError(q, r, 400, "BadRequest", "The message is not deleted.");
        m.deleted.reset();
    } else {
        if (m.deleted)
            return GraphError(q, r, 400, "BadRequest", "The message is already deleted.");
        m.deleted = Now();
    }
    m.modified = std::max(m.modified + 1, Now());
    tenant.Touch(x.channel, *x.root, Now());
    tenant.Record(x.channel, *x.root, m, undo ? "updated" : "deleted");
    r.status = 204;
    r.body.clear();
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
    for (const auto& it : items) responses.push_back(BatchItem(req, res, it, statusById));
    // Graph returns batch responses in any order; clients must match them by id.
    std::shuffle(responses.begin(), responses.end(), rng);
    Json(res, 200, {{"responses", responses}});
}

json GraphSim::Impl::BatchItem(const SimRequest& req, const SimResponse& res, const json& it,
                               std::unordered_map<std::string, int>& statusById) {
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
        out["body"] = {
            {"error",
             {{"code", "FailedDependency"}, {"message", "A request this one depends on failed."}}}};
        statusById[id] = 424;
        return out;
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
            for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (v.is_string()) sub.headers[key] = v.get<std::string>();
        }
    SimResponse subRes;
    subRes.SetHeader("request-id", res.GetHeader("request-id"));
    if (it.contains("body")) {
        if (sub.Header("content-type").empty()) {
            GraphError(sub, subRes, 400, "BadRequest",
                       "A batch request with a body must have a Content-Type header.");
        } else {
            sub.body = it["body"].is_string() ? it["body"].get<std::string>() : it["body"].dump();
            Execute(sub, subRes);
        }
    } else {
        Execute(sub, subRes);
    }
    out["status"] = subRes.status;
    json headers = json::object();
    for (const auto& [k, v] : subRes.headers)
        if (k == "Retry-After" || k.rfind("RateLimit-", 0) == 0 || k == "Location") headers[k] = v;
    if (!subRes.body.empty()) headers["Content-Type"] = subRes.contentType;
    out["headers"] = headers;
    if (!subRes.body.empty()) {
        json b = json::parse(subRes.body, nullptr, false);
        out["body"] = b.is_discarded() ? json(subRes.body) : b;
    }
    statusById[id] = subRes.status;
    return out;
}

}  // namespace cdeck::sim
