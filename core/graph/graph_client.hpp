#pragma once
// Typed Microsoft Graph v1.0 client for teams, channels and channel messages.
//
// Thread-safe: one GraphClient is shared by all sync workers. It holds no mutable state of
// its own beyond what the transport and token provider guard. Each call is one logical
// operation; paging helpers follow @odata.nextLink exactly as given (never building
// $skiptoken). A 401 triggers one token refresh and one retry of that request.
//
// Every request carries a fresh client-request-id (kept across the 401 retry) and the
// response's request-id ends up in Error::requestId / CallInfo::requestId.
#include <functional>
#include <memory>
#include <string>

#include "auth/token_provider.hpp"
#include "graph/http.hpp"
#include "model/types.hpp"
#include "util/result.hpp"

namespace cdeck::core {

struct GraphClientConfig {
    std::string graphBaseUrl = "https://graph.microsoft.com/v1.0";  // no trailing slash
    std::chrono::milliseconds timeout{30000};
};

// What a call observed on the wire, for metrics.
struct CallInfo {
    int status = 0;
    std::string requestId;
    std::string clientRequestId;
    double rttMs = 0;
    int attempts = 0;
};

// A raw response after auth handling: 2xx only; anything else comes back as an Error.
struct GraphResponse {
    HttpResponse http;
    CallInfo info;
};

struct NewMessage {
    std::string subject;
    std::string contentType = "html";
    std::string content;
    std::string importance;  // empty: server default
};

class GraphClient {
  public:
    GraphClient(GraphClientConfig config, std::shared_ptr<HttpTransport> http,
                std::shared_ptr<TokenProvider> tokens);

    // Observer called after every HTTP exchange (including failures); must be thread-safe.
    using CallObserver = std::function<void(const std::string& method, const CallInfo&)>;
    void SetObserver(CallObserver observer) { m_observer = std::move(observer); }

    const std::string& BaseUrl() const { return m_config.graphBaseUrl; }

    // pathOrUrl: "/teams/..." relative to the base URL, or an absolute nextLink.
    Result<GraphResponse> Send(const std::string& method, const std::string& pathOrUrl,
                               const std::string& jsonBody = {});

    Result<Page<Team>> ListJoinedTeamsPage(const std::string& pathOrUrl = "/me/joinedTeams");
    Result<std::vector<Team>> ListJoinedTeams();  // delegated
    Result<std::vector<Team>> ListAllTeams();     // application: GET /teams
    Result<std::vector<Channel>> ListChannels(const std::string& teamId);
    // First page of a channel's root messages, newest first. top: 1..50.
    Result<Page<ChatMessage>> ListMessagesPage(const std::string& teamId,
                                               const std::string& channelId, int top,
                                               bool expandReplies = false);
    // Any later page: pass the previous page's nextLink verbatim.
    Result<Page<ChatMessage>> NextMessagesPage(const std::string& nextLink);
    Result<ChatMessage> GetMessage(const std::string& teamId, const std::string& channelId,
                                   const std::string& messageId);
    Result<ChatMessage> PostMessage(const std::string& teamId, const std::string& channelId,
                                    const NewMessage& message);

    static std::string ChannelPath(const std::string& teamId, const std::string& channelId);

  private:
    template <typename T, typename F>
    Result<std::vector<T>> CollectAll(std::string url, F parse);

    const GraphClientConfig m_config;
    const std::shared_ptr<HttpTransport> m_http;
    const std::shared_ptr<TokenProvider> m_tokens;
    CallObserver m_observer;
};

}  // namespace cdeck::core
