#pragma once
// The app's own records, beside Graph's resources: a composer's saved draft and a row of
// the moderators' audit log. Plain values that moderation, the UI, export and persistence
// all use, so none of them needs the persister to name one. Threads: values; any thread.
#include <cstdint>
#include <string>

#include "util/time.hpp"

namespace cdeck::core {

struct Draft {
    std::string key;  // "channel:<id>" or "reply:<channel>:<root>"
    std::string teamId, channelId, replyToId, subject, body;
    UnixMillis updatedAt = 0;
};

struct AuditRow {
    int64_t seq = 0;  // assigned by the database
    UnixMillis at = 0;
    std::string actor, action, teamId, channelId, messageId, rule, result, requestId, detail;
};

}  // namespace cdeck::core
