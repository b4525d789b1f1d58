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
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "auth/token_provider.hpp"
#include "graph/outgoing.hpp"
#include "net/http.hpp"
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
    std::optional<double> retryAfterSeconds;  // from a 429/503 response
    bool timedOut = false;                    // no response before the deadline
    // RateLimit-Limit / RateLimit-Remaining, when the service sends them (near a limit).
    std::optional<double> rateLimitLimit, rateLimitRemaining;
};

// Makes every request sent by this thread inside the scope carry `id` as its
// client-request-id, so that a job's retries (re-queued, maybe on another worker, each
// in its own scope) share one id in Microsoft's logs. Without a scope each request gets a
// fresh UUID.
class ScopedClientRequestId {
  public:
    explicit ScopedClientRequestId(const std::string& id);
    ~ScopedClientRequestId();
    ScopedClientRequestId(const ScopedClientRequestId&) = delete;
    ScopedClientRequestId& operator=(const ScopedClientRequestId&) = delete;

  private:
    std::string m_previous;
};

// A raw response after auth handling: 2xx only; anything else comes back as an Error.
struct GraphResponse {
    HttpResponse http;
    CallInfo info;
};

// One delta round's outcome. resyncRequired is a result, not an error: the caller drops
// its stored deltaLink and starts over.
struct DeltaRound {
    std::vector<ChatMessage> messages;
    std::string deltaLink;  // persist this for the next round
    int pages = 0;
    bool resyncRequired = false;
};

// ---- $batch ----
struct BatchRequest {
    std::string id;
    std::string method = "GET";
    std::string url;  // relative to the version root: "/teams/..."
    std::string jsonBody;
    std::vector<std::string> dependsOn;
};

struct BatchItemResult {
    std::string id;
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;  // JSON text, or empty
    std::optional<double> retryAfterSeconds;
    bool ok() const { return status >= 200 && status < 300; }
    Error AsError() const;  // for non-2xx items
};

class BatchBuilder {
  public:
    static constexpr size_t kMaxRequests = 20;
    // Fails when full, when the id repeats, or when dependsOn names an id not added before.
    Status Add(BatchRequest request);
    size_t Size() const { return m_requests.size(); }
    const std::vector<BatchRequest>& Requests() const { return m_requests; }
    std::string ToJson() const;

  private:
    std::vector<BatchRequest> m_requests;
};

// Splits a $batch response into one result per requested id, in request order. An id the
// server did not answer is an error result (status 0), never silently dropped.
Result<std::vector<BatchItemResult>> SplitBatchResponse(const std::string& body,
                                                        const BatchBuilder& sent, UnixMillis now);

class GraphClient {
  public:
    // Observer called after every HTTP exchange (including failures), on the calling
    // thread; must be thread-safe.
    using CallObserver = std::function<void(const std::string& method, const CallInfo&)>;

    GraphClient(GraphClientConfig config, std::shared_ptr<HttpTransport> http,
                std::shared_ptr<TokenProvider> tokens, CallObserver observer = {});

    // A client over the same transport and sign-in whose calls report to `observer`, and to
    // nothing else. Each sync engine takes its own, so the per-call facts (status,
    // request-id, throttling headers, timing) have one owner: an engine that replaces
    // another (a re-sign-in) never shares or clears the other's hook. The observer must
    // outlive every call made through the returned client. Any thread.
    std::shared_ptr<GraphClient> WithObserver(CallObserver observer) const;

    const std::string& BaseUrl() const { return m_config.graphBaseUrl; }
    // What the signed-in token may do (scopes or app roles); empty when unknown.
    std::vector<std::string> GrantedScopes() const { return m_tokens->GrantedScopes(); }

    // pathOrUrl: "/teams/..." relative to the base URL, or an absolute nextLink.
    Result<GraphResponse> Send(const std::string& method, const std::string& pathOrUrl,
                               const std::string& jsonBody = {});

    Result<Page<Team>> ListJoinedTeamsPage(const std::string& pathOrUrl = "/me/joinedTeams");
    Result<std::vector<Team>> ListJoinedTeams();  // delegated
    Result<std::vector<Team>> ListAllTeams();     // application: GET /teams
    Result<std::vector<Channel>> ListChannels(const std::string& teamId);
    // Every member of a team, following nextLink; `top` is the page size (Graph: 1..999,
    // 100 when not given).
    Result<std::vector<TeamMember>> ListTeamMembers(const std::string& teamId, int top = 999);
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
    Result<ChatMessage> PostReply(const std::string& teamId, const std::string& channelId,
                                  const std::string& messageId, const NewMessage& message);
    Result<Page<ChatMessage>> ListRepliesPage(const std::string& teamId,
                                              const std::string& channelId,
                                              const std::string& messageId, int top);
    Result<std::vector<ChatMessage>> ListReplies(const std::string& teamId,
                                                 const std::string& channelId,
                                                 const std::string& messageId);
    Result<ChatMessage> GetReply(const std::string& teamId, const std::string& channelId,
                                 const std::string& messageId, const std::string& replyId);
    // replyId empty: the root message itself.
    Status EditMessage(const std::string& teamId, const std::string& channelId,
                       const std::string& messageId, const std::string& replyId,
                       const MessageEdit& edit);
    Status SoftDelete(const std::string& teamId, const std::string& channelId,
                      const std::string& messageId, const std::string& replyId = {});
    Status UndoSoftDelete(const std::string& teamId, const std::string& channelId,
                          const std::string& messageId, const std::string& replyId = {});
    // One delta page: pass the stored deltaLink or a nextLink, or empty to start a round.
    Result<Page<ChatMessage>> DeltaPage(const std::string& teamId, const std::string& channelId,
                                        const std::string& link, int top = 50,
                                        std::optional<UnixMillis> modifiedSince = std::nullopt);
    // A whole delta round from `deltaLink` (empty: initial), following nextLinks.
    Result<DeltaRound> Delta(const std::string& teamId, const std::string& channelId,
                             const std::string& deltaLink, int top = 50, int maxPages = 10000);
    Result<std::vector<BatchItemResult>> Batch(const BatchBuilder& batch);

    static std::string ChannelPath(const std::string& teamId, const std::string& channelId);
    // The first page of a new delta round, relative to the version root (what $batch takes):
    // `top` per page, and changes since `modifiedSince` when given (the only filter delta
    // allows). DeltaPage sends the same.
    static std::string DeltaStartPath(const std::string& teamId, const std::string& channelId,
                                      int top, std::optional<UnixMillis> modifiedSince);
    // A link Graph gave (a nextLink or deltaLink) relative to this client's version root,
    // for $batch; empty when it points elsewhere.
    std::string RelativePath(const std::string& link) const;

  private:
    template <typename T, typename F>
    Result<std::vector<T>> CollectAll(std::string url, F parse);

    const GraphClientConfig m_config;
    const std::shared_ptr<HttpTransport> m_http;
    const std::shared_ptr<TokenProvider> m_tokens;
    const CallObserver m_observer;  // immutable: set at construction, may be empty
};

}  // namespace cdeck::core
