#pragma once
// Plain value types for the Graph resources ChannelDeck uses: team, channel, chatMessage.
//
// These are immutable-after-construction values: the store shares them between threads
// through shared_ptr<const ...>, so nothing may mutate one after it has been published.
// Field names follow Graph's JSON (camelCase there, m-less here because these are
// aggregates, not classes with invariants). Threads: any thread may read a published
// value; only its builder writes it, before publication.
#include <optional>
#include <string>
#include <vector>

#include "util/time.hpp"

namespace cdeck::core {

struct Identity {
    std::string id;
    std::string displayName;
    std::string userIdentityType;  // "aadUser", ...; empty when absent
    std::string tenantId;          // the user's home tenant, when Graph names it
};

// chatMessageFromIdentitySet / identitySet: at most one of these is normally set.
struct IdentitySet {
    std::optional<Identity> user;
    std::optional<Identity> application;
    std::optional<Identity> device;
    std::optional<Identity> conversation;  // used by mentions of a channel or team
    // The best display name of whichever identity is present.
    std::string DisplayName() const;
    std::string Id() const;
};

struct ItemBody {
    std::string contentType = "text";  // "text" or "html"
    std::string content;
};

struct Mention {
    int id = 0;
    std::string mentionText;
    IdentitySet mentioned;
};

struct Attachment {
    std::string id;
    std::string contentType;  // "reference", "application/vnd.microsoft.card.adaptive", ...
    std::string contentUrl;
    std::string content;  // raw string (cards carry JSON in a string)
    std::string name;
    std::string thumbnailUrl;
    std::string teamsAppId;
};

struct Reaction {
    std::string reactionType;  // "like", "heart", or an emoji
    std::string displayName;
    std::optional<UnixMillis> createdDateTime;
    IdentitySet user;
};

struct ChannelIdentity {
    std::string teamId;
    std::string channelId;
};

struct ChatMessage {
    std::string id;
    std::string replyToId;  // empty for a root message
    std::string etag;
    std::string messageType = "message";  // message, systemEventMessage, unknownFutureValue, ...
    UnixMillis createdDateTime = 0;
    std::optional<UnixMillis> lastModifiedDateTime;
    std::optional<UnixMillis> lastEditedDateTime;
    std::optional<UnixMillis> deletedDateTime;
    std::string subject;
    std::string summary;
    std::string chatId;
    std::string importance = "normal";  // normal, high, urgent
    std::string locale;
    std::string webUrl;
    bool hasPolicyViolation = false;
    std::string policyViolationJson;  // kept verbatim; moderation reads it later
    std::string eventDetailJson;      // systemEventMessage details, verbatim
    IdentitySet from;
    ItemBody body;
    std::optional<ChannelIdentity> channelIdentity;
    std::vector<Attachment> attachments;
    std::vector<Mention> mentions;
    std::vector<Reaction> reactions;
    // Replies inlined by $expand=replies (empty otherwise).
    std::vector<ChatMessage> replies;
    std::string repliesNextLink;  // "replies@odata.nextLink" when more than were inlined

    bool IsDeleted() const { return deletedDateTime.has_value(); }
    bool IsReply() const { return !replyToId.empty(); }
    // The version stamp merges compare: lastModified, else created.
    UnixMillis VersionTime() const { return lastModifiedDateTime.value_or(createdDateTime); }
};

struct Team {
    std::string id;
    std::string displayName;
    std::string description;
    std::string tenantId;
    std::string webUrl;
    bool isArchived = false;
};

struct Channel {
    std::string id;
    std::string teamId;  // filled in by the client: Graph does not echo it
    std::string displayName;
    std::string description;
    std::string membershipType;  // standard, private, shared
    std::string email;
    std::string webUrl;
    std::optional<UnixMillis> createdDateTime;
};

// A team's member (GET /teams/{id}/members: a conversationMember, usually an
// aadUserConversationMember). `id` is the membership's opaque id; `userId` the user's.
struct TeamMember {
    std::string id;
    std::string userId;
    std::string displayName;
    std::string email;
    std::vector<std::string> roles;  // "owner", "guest"; empty for a plain member
};

// One page of a Graph collection.
template <typename T>
struct Page {
    std::vector<T> items;
    std::string nextLink;            // @odata.nextLink; empty on the last page
    std::string deltaLink;           // @odata.deltaLink; only on the last page of a delta round
    std::optional<long long> count;  // @odata.count when present
};

}  // namespace cdeck::core
