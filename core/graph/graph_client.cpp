#include "graph/graph_client.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "net/http_error.hpp"
#include "model/parse.hpp"
#include "util/log.hpp"

namespace cdeck::core {

namespace {
thread_local std::string t_clientRequestId;
}

ScopedClientRequestId::ScopedClientRequestId(const std::string& id)
    : m_previous(t_clientRequestId) {
    t_clientRequestId = id;
}
ScopedClientRequestId::~ScopedClientRequestId() {
    t_clientRequestId = m_previous;
}

GraphClient::GraphClient(GraphClientConfig config, std::shared_ptr<HttpTransport> http,
                         std::shared_ptr<TokenProvider> tokens, CallObserver observer)
    : m_config(std::move(config)),
      m_http(std::move(http)),
      m_tokens(std::move(tokens)),
      m_observer(std::move(observer)) {}

std::shared_ptr<GraphClient> GraphClient::WithObserver(CallObserver observer) const {
    return std::make_shared<GraphClient>(m_config, m_http, m_tokens, std::move(observer));
}

std::string GraphClient::ChannelPath(const std::string& teamId, const std::string& channelId) {
    return "/teams/" + UrlEncode(teamId) + "/channels/" + UrlEncode(channelId);
}

Result<GraphResponse> GraphClient::Send(const std::string& method, const std::string& pathOrUrl,
                                        const std::string& jsonBody) {
    HttpRequest req;
    req.method = method;
    req.url = pathOrUrl.rfind("https://", 0) == 0 || pathOrUrl.rfind("http://", 0) == 0
                  ? pathOrUrl
                  : m_config.graphBaseUrl + pathOrUrl;
    req.timeout = m_config.timeout;
    req.body = jsonBody;
    GraphResponse out;
    out.info.clientRequestId = t_clientRequestId.empty() ? NewUuid() : t_clientRequestId;

    for (int attempt = 0; attempt < 2; ++attempt) {
        auto token = m_tokens->Token(/*forceRefresh=*/attempt > 0);
        if (!token) return token.error();
        req.headers.clear();
        req.headers.push_back({"Authorization", "Bearer " + token->token});
        req.headers.push_back({"Accept", "application/json"});
        req.headers.push_back({"client-request-id", out.info.clientRequestId});
        if (!jsonBody.empty()) req.headers.push_back({"Content-Type", "application/json"});
        ++out.info.attempts;
        auto resp = m_http->Send(req);
        if (!resp) {
            out.info.status = 0;
            out.info.timedOut = resp.error().timedOut;
            if (m_observer) m_observer(method, out.info);
            Error e = resp.error();
            e.message = method + " " + pathOrUrl + ": " + e.message;
            return e;
        }
        out.info.status = resp->status;
        out.info.rttMs = resp->totalMs;
        out.info.requestId = resp->Header("request-id");
        if (std::string ra = resp->Header("retry-after"); !ra.empty())
            out.info.retryAfterSeconds = ParseRetryAfter(ra, NowMillis());
        std::string rlLimit = resp->Header("ratelimit-limit"),
                    rlRemaining = resp->Header("ratelimit-remaining");
        if (!rlLimit.empty() && !rlRemaining.empty()) {
            char* end1 = nullptr;
            char* end2 = nullptr;
            double l = std::strtod(rlLimit.c_str(), &end1),
                   r = std::strtod(rlRemaining.c_str(), &end2);
            if (end1 && *end1 == 0 && end2 && *end2 == 0 && l > 0 && r >= 0) {
                out.info.rateLimitLimit = l;
                out.info.rateLimitRemaining = r;
            }
        }
        if (m_observer) m_observer(method, out.info);
        if (resp->status == 401 && attempt == 0) {
            Log(LogLevel::kInfo, "graph", "401 from Graph; refreshing the token and retrying once");
            continue;
        }
        if (resp->status < 200 || resp->status >= 300)
            return ErrorFromResponse(resp.value(), NowMillis());
        out.http = std::move(resp.value());
        return out;
    }
    return MakeError(ErrorCode::kInternal, "unreachable");
}

template <typename T, typename F>
Result<std::vector<T>> GraphClient::CollectAll(std::string url, F parse) {
    std::vector<T> all;
    // A server that loops its nextLinks must not hang us: 10k pages is far beyond any
    // team or channel list Graph returns.
    for (int pages = 0; !url.empty(); ++pages) {
        if (pages > 10000) return MakeError(ErrorCode::kParse, "paging did not terminate");
        auto resp = Send("GET", url);
        if (!resp) return resp.error();
        auto page = parse(resp->http.body);
        if (!page) return page.error();
        for (auto& item : page->items) all.push_back(std::move(item));
        url = page->nextLink;
    }
    return all;
}

Result<Page<Team>> GraphClient::ListJoinedTeamsPage(const std::string& pathOrUrl) {
    auto resp = Send("GET", pathOrUrl);
    if (!resp) return resp.error();
    return ParseTeamPage(resp->http.body);
}

Result<std::vector<Team>> GraphClient::ListJoinedTeams() {
    return CollectAll<Team>("/me/joinedTeams",
                            [](const std::string& b) { return ParseTeamPage(b); });
}

Result<std::vector<Team>> GraphClient::ListAllTeams() {
    return CollectAll<Team>("/teams", [](const std::string& b) { return ParseTeamPage(b); });
}

Result<std::vector<Channel>> GraphClient::ListChannels(const std::string& teamId) {
    auto r = CollectAll<Channel>("/teams/" + UrlEncode(teamId) + "/channels",
                                 [](const std::string& b) { return ParseChannelPage(b); });
    if (r)
        for (auto& c : r.value()) c.teamId = teamId;
    return r;
}

Result<std::vector<TeamMember>> GraphClient::ListTeamMembers(const std::string& teamId, int top) {
    if (top < 1 || top > 999)
        return MakeError(ErrorCode::kClient, "$top must be between 1 and 999");
    return CollectAll<TeamMember>(
        "/teams/" + UrlEncode(teamId) + "/members?$top=" + std::to_string(top),
        [](const std::string& b) { return ParseMemberPage(b); });
}

Result<Page<ChatMessage>> GraphClient::ListMessagesPage(const std::string& teamId,
                                                        const std::string& channelId, int top,
                                                        bool expandReplies) {
    if (top < 1 || top > 50) return MakeError(ErrorCode::kClient, "$top must be between 1 and 50");
    std::string url = ChannelPath(teamId, channelId) + "/messages?$top=" + std::to_string(top);
    if (expandReplies) url += "&$expand=replies";
    return NextMessagesPage(url);
}

Result<Page<ChatMessage>> GraphClient::NextMessagesPage(const std::string& nextLink) {
    auto resp = Send("GET", nextLink);
    if (!resp) return resp.error();
    return ParseMessagePage(resp->http.body);
}

Result<ChatMessage> GraphClient::GetMessage(const std::string& teamId, const std::string& channelId,
                                            const std::string& messageId) {
    auto resp = Send("GET", ChannelPath(teamId, channelId) + "/messages/" + UrlEncode(messageId));
    if (!resp) return resp.error();
    auto j = ParseJson(resp->http.body);
    if (!j) return j.error();
    return ParseChatMessage(j.value());
}

namespace {

nlohmann::json MentionsJson(const std::vector<std::pair<std::string, MentionTarget>>& mentions) {
    nlohmann::json arr = nlohmann::json::array();
    for (size_t i = 0; i < mentions.size(); ++i) {
        const auto& [text, t] = mentions[i];
        nlohmann::json mentioned;
        if (t.kind == MentionTarget::Kind::kUser) {
            mentioned["user"] = {
                {"id", t.id}, {"displayName", t.displayName}, {"userIdentityType", "aadUser"}};
        } else {
            mentioned["conversation"] = {
                {"id", t.id},
                {"displayName", t.displayName},
                {"conversationIdentityType",
                 t.kind == MentionTarget::Kind::kChannel ? "channel" : "team"}};
        }
        arr.push_back(
            {{"id", static_cast<int>(i)}, {"mentionText", text}, {"mentioned", mentioned}});
    }
    return arr;
}

nlohmann::json MessageJson(const NewMessage& m) {
    nlohmann::json body;
    body["body"] = {{"contentType", m.contentType}, {"content", m.content}};
    if (!m.subject.empty()) body["subject"] = m.subject;
    if (!m.importance.empty()) body["importance"] = m.importance;
    if (!m.mentions.empty()) body["mentions"] = MentionsJson(m.mentions);
    return body;
}

Result<ChatMessage> ParseMessageResponse(const GraphResponse& resp) {
    auto j = ParseJson(resp.http.body);
    if (!j) return j.error();
    return ParseChatMessage(j.value());
}

std::string MessagePath(const std::string& teamId, const std::string& channelId,
                        const std::string& messageId, const std::string& replyId) {
    std::string p =
        GraphClient::ChannelPath(teamId, channelId) + "/messages/" + UrlEncode(messageId);
    if (!replyId.empty()) p += "/replies/" + UrlEncode(replyId);
    return p;
}

}  // namespace

Result<ChatMessage> GraphClient::PostMessage(const std::string& teamId,
                                             const std::string& channelId,
                                             const NewMessage& message) {
    auto resp =
        Send("POST", ChannelPath(teamId, channelId) + "/messages", MessageJson(message).dump());
    if (!resp) return resp.error();
    return ParseMessageResponse(resp.value());
}

Result<ChatMessage> GraphClient::PostReply(const std::string& teamId, const std::string& channelId,
                                           const std::string& messageId,
                                           const NewMessage& message) {
    auto resp = Send("POST", MessagePath(teamId, channelId, messageId, {}) + "/replies",
                     MessageJson(message).dump());
    if (!resp) return resp.error();
    return ParseMessageResponse(resp.value());
}

Result<Page<ChatMessage>> GraphClient::ListRepliesPage(const std::string& teamId,
                                                       const std::string& channelId,
                                                       const std::string& messageId, int top) {
    if (top < 1 || top > 50) return MakeError(ErrorCode::kClient, "$top must be between 1 and 50");
    return NextMessagesPage(MessagePath(teamId, channelId, messageId, {}) +
                            "/replies?$top=" + std::to_string(top));
}

Result<std::vector<ChatMessage>> GraphClient::ListReplies(const std::string& teamId,
                                                          const std::string& channelId,
                                                          const std::string& messageId) {
    return CollectAll<ChatMessage>(
        MessagePath(teamId, channelId, messageId, {}) + "/replies?$top=50",
        [](const std::string& b) { return ParseMessagePage(b); });
}

Result<ChatMessage> GraphClient::GetReply(const std::string& teamId, const std::string& channelId,
                                          const std::string& messageId,
                                          const std::string& replyId) {
    auto resp = Send("GET", MessagePath(teamId, channelId, messageId, replyId));
    if (!resp) return resp.error();
    return ParseMessageResponse(resp.value());
}

Status GraphClient::EditMessage(const std::string& teamId, const std::string& channelId,
                                const std::string& messageId, const std::string& replyId,
                                const MessageEdit& edit) {
    nlohmann::json body = nlohmann::json::object();
    if (edit.htmlBody) body["body"] = {{"contentType", "html"}, {"content", *edit.htmlBody}};
    if (edit.subject) body["subject"] = *edit.subject;
    if (edit.importance) body["importance"] = *edit.importance;
    if (!edit.mentions.empty()) body["mentions"] = MentionsJson(edit.mentions);
    auto resp = Send("PATCH", MessagePath(teamId, channelId, messageId, replyId), body.dump());
    if (!resp) return resp.error();
    return OkStatus();
}

Status GraphClient::SoftDelete(const std::string& teamId, const std::string& channelId,
                               const std::string& messageId, const std::string& replyId) {
    auto resp =
        Send("POST", MessagePath(teamId, channelId, messageId, replyId) + "/softDelete", "{}");
    if (!resp) return resp.error();
    return OkStatus();
}

Status GraphClient::UndoSoftDelete(const std::string& teamId, const std::string& channelId,
                                   const std::string& messageId, const std::string& replyId) {
    auto resp =
        Send("POST", MessagePath(teamId, channelId, messageId, replyId) + "/undoSoftDelete", "{}");
    if (!resp) return resp.error();
    return OkStatus();
}

Result<Page<ChatMessage>> GraphClient::DeltaPage(const std::string& teamId,
                                                 const std::string& channelId,
                                                 const std::string& link, int top,
                                                 std::optional<UnixMillis> modifiedSince) {
    if (top < 1 || top > 50) return MakeError(ErrorCode::kClient, "$top must be between 1 and 50");
    if (!link.empty()) return NextMessagesPage(link);
    return NextMessagesPage(DeltaStartPath(teamId, channelId, top, modifiedSince));
}

std::string GraphClient::DeltaStartPath(const std::string& teamId, const std::string& channelId,
                                        int top, std::optional<UnixMillis> modifiedSince) {
    std::string url =
        ChannelPath(teamId, channelId) + "/messages/delta?$top=" + std::to_string(top);
    // The only filter delta allows; it bounds the first round to a recent window.
    if (modifiedSince)
        url += "&$filter=lastModifiedDateTime%20gt%20" + FormatIso8601(*modifiedSince);
    return url;
}

std::string GraphClient::RelativePath(const std::string& link) const {
    const std::string& base = m_config.graphBaseUrl;
    return link.rfind(base + "/", 0) == 0 ? link.substr(base.size()) : std::string();
}

Result<DeltaRound> GraphClient::Delta(const std::string& teamId, const std::string& channelId,
                                      const std::string& deltaLink, int top, int maxPages) {
    DeltaRound round;
    std::string link = deltaLink;
    while (true) {
        auto page = DeltaPage(teamId, channelId, link, top);
        if (!page) {
            if (page.error().code == ErrorCode::kResync) {
                round.resyncRequired = true;
                round.messages.clear();
                return round;
            }
            return page.error();
        }
        ++round.pages;
        for (auto& m : page->items) round.messages.push_back(std::move(m));
        if (!page->deltaLink.empty()) {
            round.deltaLink = page->deltaLink;
            return round;
        }
        if (page->nextLink.empty())
            return MakeError(ErrorCode::kParse,
                             "delta page had neither @odata.nextLink nor @odata.deltaLink");
        if (round.pages >= maxPages) return MakeError(ErrorCode::kParse, "delta round did not end");
        link = page->nextLink;
    }
}

Error BatchItemResult::AsError() const {
    HttpResponse r;
    r.status = status;
    r.body = body;
    r.headers = headers;
    Error e = ErrorFromResponse(r, NowMillis());
    if (retryAfterSeconds) e.retryAfterSeconds = retryAfterSeconds;
    return e;
}

Status BatchBuilder::Add(BatchRequest request) {
    if (m_requests.size() >= kMaxRequests)
        return MakeError(ErrorCode::kClient, "a $batch holds at most 20 requests");
    if (request.id.empty()) return MakeError(ErrorCode::kClient, "a $batch request needs an id");
    for (const auto& r : m_requests)
        if (r.id == request.id)
            return MakeError(ErrorCode::kClient, "duplicate $batch id '" + request.id + "'");
    for (const auto& dep : request.dependsOn) {
        bool known = false;
        for (const auto& r : m_requests) known = known || r.id == dep;
        if (!known)
            return MakeError(ErrorCode::kClient, "dependsOn names unknown id '" + dep + "'");
    }
    if (request.url.empty() || request.url.rfind("http", 0) == 0)
        return MakeError(ErrorCode::kClient, "$batch URLs are relative, e.g. /teams/{id}/channels");
    m_requests.push_back(std::move(request));
    return OkStatus();
}

std::string BatchBuilder::ToJson() const {
    nlohmann::json reqs = nlohmann::json::array();
    for (const auto& r : m_requests) {
        nlohmann::json j = {{"id", r.id}, {"method", r.method}, {"url", r.url}};
        if (!r.jsonBody.empty()) {
            auto body = nlohmann::json::parse(r.jsonBody, nullptr, false);
            j["body"] = body.is_discarded() ? nlohmann::json(r.jsonBody) : body;
            j["headers"] = {{"Content-Type", "application/json"}};
        }
        if (!r.dependsOn.empty()) j["dependsOn"] = r.dependsOn;
        reqs.push_back(std::move(j));
    }
    return nlohmann::json{{"requests", reqs}}.dump();
}

Result<std::vector<BatchItemResult>> SplitBatchResponse(const std::string& body,
                                                        const BatchBuilder& sent, UnixMillis now) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("responses") ||
        !j["responses"].is_array())
        return MakeError(ErrorCode::kParse, "$batch response has no \"responses\" array");
    std::map<std::string, BatchItemResult> byId;
    for (const auto& item : j["responses"]) {
        if (!item.is_object() || !item.contains("id") || !item["id"].is_string())
            return MakeError(ErrorCode::kParse, "$batch response item without an id");
        BatchItemResult r;
        r.id = item["id"];
        if (!item.contains("status") || !item["status"].is_number_integer())
            return MakeError(ErrorCode::kParse,
                             "$batch response item '" + r.id + "' has no status");
        r.status = item["status"];
        if (item.contains("headers") && item["headers"].is_object())
            for (auto& [k, v] : item["headers"].items()) {
                std::string key = k;
                for (auto& c : key)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (v.is_string())
                    r.headers[key] = v.get<std::string>();
                else if (v.is_number())
                    r.headers[key] = v.dump();
            }
        if (item.contains("body") && !item["body"].is_null())
            r.body =
                item["body"].is_string() ? item["body"].get<std::string>() : item["body"].dump();
        if (auto it = r.headers.find("retry-after"); it != r.headers.end())
            r.retryAfterSeconds = ParseRetryAfter(it->second, now);
        byId[r.id] = std::move(r);
    }
    std::vector<BatchItemResult> out;
    for (const auto& req : sent.Requests()) {
        auto it = byId.find(req.id);
        if (it == byId.end()) {
            BatchItemResult missing;
            missing.id = req.id;
            missing.body =
                R"({"error":{"code":"missingBatchResponse","message":"no response for this id"}})";
            out.push_back(std::move(missing));
        } else {
            out.push_back(std::move(it->second));
        }
    }
    return out;
}

Result<std::vector<BatchItemResult>> GraphClient::Batch(const BatchBuilder& batch) {
    if (batch.Size() == 0) return std::vector<BatchItemResult>{};
    auto resp = Send("POST", "/$batch", batch.ToJson());
    if (!resp) return resp.error();
    return SplitBatchResponse(resp->http.body, batch, NowMillis());
}

}  // namespace cdeck::core
