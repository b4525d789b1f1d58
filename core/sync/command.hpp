#pragma once
// Command: what the UI (and moderation) asks the sync engine to do. The one way user intent
// crosses into core (DESIGN.md section 3). A plain value; built on any thread, handed to
// SyncEngine::Submit. Its callbacks run on a sync worker thread.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "graph/outgoing.hpp"
#include "model/types.hpp"
#include "util/result.hpp"

namespace cdeck::core {

struct Command {
    enum class Kind {
        kRefreshChannel,  // poll this channel now, ahead of everything else
        kRefreshAll,
        kPostMessage,
        kPin,         // flag: pinned channels are polled more often
        kPause,       // flag: a paused channel sends nothing
        kPauseAll,    // flag: nothing is sent except the user's own posts
        kSetVisible,  // channelIds: what the UI shows now (boosted)
        kSetLimits,   // limits: new budgets at run time
        // Moderation and editing; each reports through `finished`:
        kPostReply,    // message, as a reply to messageId
        kEditMessage,  // edit of messageId (replyId: a reply of it)
        kSoftDelete,   // messageId (replyId: a reply of it)
        kUndoDelete,
    };
    Kind kind = Kind::kRefreshAll;
    std::string teamId;
    std::string channelId;
    bool flag = false;
    std::vector<std::string> channelIds;
    GraphLimits limits;
    NewMessage message;  // kPostMessage, kPostReply
    std::string messageId,
        replyId;       // kPostReply (messageId), kEditMessage, kSoftDelete, kUndoDelete
    MessageEdit edit;  // kEditMessage
    // kPostMessage: called on a worker thread with the created message or the error.
    std::function<void(const Result<ChatMessage>&)> done;
    // Every command that talks to Graph: called on a worker thread when it is over.
    struct Outcome {
        Status status = OkStatus();
        std::string requestId;               // Graph's request-id of the (last) call
        std::optional<ChatMessage> message;  // kPostMessage, kPostReply: what Graph created
        bool sentButUnanswered = false;      // no answer after sending, and not found since
        // A post or reply whose answer was lost, found in the channel afterwards: it was
        // created once, and `message` is it. Never sent again.
        bool reconciled = false;
    };
    std::function<void(const Outcome&)> finished;
    // Edits, deletes and undos are idempotent: when Graph is unavailable (5xx, 429, a reset
    // or a timeout) they stay queued and are sent again with back-off, for up to
    // kCommandRetrySeconds; `retrying` hears of each wait (any thread). Posts are not
    // retried behind the user's back (see SyncEngine::FindPosted).
    std::function<void(const Error& error, double delaySeconds)> retrying;
    static constexpr double kCommandRetrySeconds = 600;
};

}  // namespace cdeck::core
