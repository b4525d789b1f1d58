// The user's own Graph commands: posts and replies (never sent twice: a lost answer is
// looked for before anyone may send again), and edits, soft deletes and undos (idempotent:
// kept queued through outages for up to Command::kCommandRetrySeconds).
#include "model/parse.hpp"
#include "sync/engine_internal.hpp"
#include "util/log.hpp"

namespace cdeck::core {

using namespace engine_detail;

namespace {
const char* CommandName(Command::Kind k) {
    switch (k) {
        case Command::Kind::kPostMessage:
            return "post";
        case Command::Kind::kPostReply:
            return "reply";
        case Command::Kind::kEditMessage:
            return "edit";
        case Command::Kind::kSoftDelete:
            return "soft delete";
        case Command::Kind::kUndoDelete:
            return "undo delete";
        default:
            return "command";
    }
}
}  // namespace

void SyncEngine::RunCommand(Job& job) {
    Command& c = *job.command;
    t_job->requestId.clear();
    Command::Outcome out;
    switch (c.kind) {
        case Command::Kind::kPostMessage:
        case Command::Kind::kPostReply:
            RunPost(job, out);
            break;
        case Command::Kind::kEditMessage:
        case Command::Kind::kSoftDelete:
        case Command::Kind::kUndoDelete:
            if (RunChange(job, out)) return;  // queued again
            break;
        default:
            return;
    }
    if (!out.status)
        Log(LogLevel::kWarn, "sync",
            std::string(CommandName(c.kind)) + " failed: " + out.status.error().Describe());
    if (c.finished) c.finished(out);
}

void SyncEngine::FailCommand(const Job& job, const Error& e, Command::Outcome& out) {
    out.status = e;
    if (out.requestId.empty()) out.requestId = e.requestId;
    out.sentButUnanswered = SentButUnanswered(e);
    // A 429 closes the scopes like any other, but the failure is reported to the caller
    // rather than acted on later behind the user's back.
    if (e.code == ErrorCode::kThrottled && Adaptive()) {
        std::lock_guard lock(m_mutex);
        UnixMillis now = Now();
        CloseScopes(ScopesOf(job), now + Ms(e.retryAfterSeconds.value_or(1.0)), now);
    }
}

void SyncEngine::RunPost(Job& job, Command::Outcome& out) {
    Command& c = *job.command;
    const bool reply = c.kind == Command::Kind::kPostReply;
    const std::string what = CommandName(c.kind);
    UnixMillis sentAt = NowMillis();
    auto posted = reply ? m_client->PostReply(c.teamId, c.channelId, c.messageId, c.message)
                        : m_client->PostMessage(c.teamId, c.channelId, c.message);
    out.requestId = t_job->requestId;
    // No double post: when the request went out and no answer came back, look for the
    // message before anyone offers to send it again.
    if (!posted && SentButUnanswered(posted.error())) {
        Log(LogLevel::kInfo, "sync", what + " got no answer; looking for it");
        if (auto found = FindPosted(c, sentAt)) {
            Log(LogLevel::kInfo, "sync", what + " had been created: " + found->id);
            posted = *found;
            out.reconciled = true;
        }
    }
    if (posted) {
        Log(LogLevel::kInfo, "sync", what + " created message " + posted->id);
        if (!reply) m_store.MergeMessages(c.channelId, {posted.value()}, false);
        out.message = posted.value();
    } else {
        FailCommand(job, posted.error(), out);
    }
    if (c.done) c.done(posted);
}

bool SyncEngine::RunChange(Job& job, Command::Outcome& out) {
    Command& c = *job.command;
    Status st = c.kind == Command::Kind::kEditMessage
                    ? m_client->EditMessage(c.teamId, c.channelId, c.messageId, c.replyId, c.edit)
                : c.kind == Command::Kind::kSoftDelete
                    ? m_client->SoftDelete(c.teamId, c.channelId, c.messageId, c.replyId)
                    : m_client->UndoSoftDelete(c.teamId, c.channelId, c.messageId, c.replyId);
    out.requestId = t_job->requestId;
    UnixMillis now = Now();
    if (job.firstTry == 0) job.firstTry = now;
    if (!st &&
        (st.error().code == ErrorCode::kTransient || st.error().code == ErrorCode::kThrottled ||
         st.error().code == ErrorCode::kAuth) &&
        now - job.firstTry < Ms(Command::kCommandRetrySeconds)) {
        RequeueChange(std::move(job), st.error(), now, out);
        return true;
    }
    if (!st) {
        FailCommand(job, st.error(), out);
        return false;
    }
    // Show the change at once: the next delta round would bring it anyway.
    std::lock_guard lock(m_mutex);
    auto it = m_channels.find(c.channelId);
    if (it != m_channels.end()) it->second.refreshNow = true;
    return false;
}

void SyncEngine::RequeueChange(Job job, const Error& e, UnixMillis now, Command::Outcome& out) {
    // Still queued: sent again once Graph answers, nothing lost meanwhile.
    Command& c = *job.command;
    job.failures++;
    double delay = e.retryAfterSeconds
                       ? *e.retryAfterSeconds * (1.0 + 0.1 * Random01())
                       : 0.5 + FullJitterBackoff(job.failures, 1.0, 30.0, Random01());
    Log(LogLevel::kInfo, "sync",
        std::string(CommandName(c.kind)) + " will be sent again in " +
            std::to_string(static_cast<int>(delay + 0.5)) + " s: " + e.Describe());
    if (c.retrying) c.retrying(e, delay);
    if (e.code == ErrorCode::kThrottled && Adaptive()) FailCommand(job, e, out);  // closes scopes
    // Kept even while stopping (a revoked sign-in replaces the engine): the next engine
    // takes it over through TakeCommands.
    std::lock_guard lock(m_mutex);
    if (!m_stopping) m_metrics.OnRetry();
    job.notBefore = now + Ms(delay);
    Enqueue(std::move(job));
    m_cv.notify_all();
}

std::optional<ChatMessage> SyncEngine::FindPosted(const Command& c, UnixMillis sentAt) {
    bool reply = c.kind == Command::Kind::kPostReply;
    auto page = reply ? m_client->ListRepliesPage(c.teamId, c.channelId, c.messageId, 50)
                      : m_client->ListMessagesPage(c.teamId, c.channelId, 50);
    if (!page) return std::nullopt;  // cannot tell: the caller reports the failure
    auto trim = [](std::string s) {
        size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
        return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    const std::string want = trim(c.message.content);
    // Same body and subject, created no earlier than a minute before the send (clocks
    // differ), newest first.
    for (const auto& m : page->items)
        if (trim(m.body.content) == want && m.subject == c.message.subject &&
            m.createdDateTime >= sentAt - 60000)
            return m;
    return std::nullopt;
}

}  // namespace cdeck::core
