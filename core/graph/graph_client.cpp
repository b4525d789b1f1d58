#include "graph/graph_client.hpp"

#include <nlohmann/json.hpp>

#include "graph/graph_error.hpp"
#include "model/parse.hpp"
#include "util/log.hpp"

namespace cdeck::core {

GraphClient::GraphClient(GraphClientConfig config, std::shared_ptr<HttpTransport> http,
                         std::shared_ptr<TokenProvider> tokens)
    : m_config(std::move(config)), m_http(std::move(http)), m_tokens(std::move(tokens)) {}

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
    out.info.clientRequestId = NewUuid();

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
            if (m_observer) m_observer(method, out.info);
            Error e = resp.error();
            e.message = method + " " + pathOrUrl + ": " + e.message;
            return e;
        }
        out.info.status = resp->status;
        out.info.rttMs = resp->totalMs;
        out.info.requestId = resp->Header("request-id");
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

Result<ChatMessage> GraphClient::PostMessage(const std::string& teamId,
                                             const std::string& channelId,
                                             const NewMessage& message) {
    nlohmann::json body;
    body["body"] = {{"contentType", message.contentType}, {"content", message.content}};
    if (!message.subject.empty()) body["subject"] = message.subject;
    if (!message.importance.empty()) body["importance"] = message.importance;
    auto resp = Send("POST", ChannelPath(teamId, channelId) + "/messages", body.dump());
    if (!resp) return resp.error();
    auto j = ParseJson(resp->http.body);
    if (!j) return j.error();
    return ParseChatMessage(j.value());
}

}  // namespace cdeck::core
