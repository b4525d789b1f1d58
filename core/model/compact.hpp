#pragma once
// The compact form of a chatMessage, as the store holds it. A ChatMessage (types.hpp) is
// what a Graph response parses into; at about 1.1 kB before its strings it is too big to
// keep a million of. CompactMessage keeps everything a ChatMessage has, in about 200 bytes:
//  - the fields every message has stay inline (ids, etag, times, body);
//  - the author and the channel are pointers into process-wide pools (model/intern.hpp);
//  - webUrl is an interned template with the message's own ids cut out, so the messages
//    of a channel share one;
//  - everything rare (subject, summary, locale, event and policy JSON, attachments,
//    mentions, reactions, unusual enum values) sits out of line in MessageExtras, which is
//    allocated only when a message has one of them.
// The parse, merge, persistence and UI paths read this form directly; ToChatMessage (the
// way back) is for the few places that send a message on to Graph-shaped code.
//
// Threads: a value. Published inside a StoredMessage it is immutable and any thread may
// read it; the interned parts are immutable for the life of the process.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/types.hpp"

namespace cdeck::core {

// An optional time in one word (std::optional<int64_t> takes two).
class OptMillis {
  public:
    OptMillis() = default;
    OptMillis(std::nullopt_t) {}
    OptMillis(UnixMillis v) : m_v(v) {}
    OptMillis(const std::optional<UnixMillis>& v) : m_v(v ? *v : kNone) {}
    bool has_value() const { return m_v != kNone; }
    explicit operator bool() const { return has_value(); }
    UnixMillis operator*() const { return m_v; }
    UnixMillis value_or(UnixMillis other) const { return has_value() ? m_v : other; }
    std::optional<UnixMillis> get() const {
        return has_value() ? std::optional<UnixMillis>(m_v) : std::nullopt;
    }
    bool operator==(const OptMillis&) const = default;

  private:
    static constexpr UnixMillis kNone = INT64_MIN;
    UnixMillis m_v = kNone;
};

struct CompactMention {
    int id = 0;
    std::string mentionText;
    const IdentitySet* mentioned = nullptr;  // interned; null: nobody named
};

struct CompactReaction {
    std::string reactionType;
    std::string displayName;
    OptMillis createdDateTime;
    const IdentitySet* user = nullptr;  // interned
};

// The fields most messages lack. Immutable once built; shared between copies.
struct MessageExtras {
    enum class Field : uint8_t {
        kSubject,
        kSummary,
        kChatId,
        kLocale,
        kPolicyViolation,  // JSON, verbatim
        kEventDetail,      // JSON, verbatim
        kRepliesNextLink,
        kMessageType,  // only when not one of the values MessageKind names
        kImportance,   // likewise
        kContentType,  // likewise (neither "text" nor "html")
        kWebUrl,       // only when it could not be made a shared template
    };
    std::vector<std::pair<Field, std::string>> fields;  // present fields only
    std::vector<Attachment> attachments;
    std::vector<CompactMention> mentions;
    std::vector<CompactReaction> reactions;

    const std::string& Get(Field f) const;
    bool Empty() const {
        return fields.empty() && attachments.empty() && mentions.empty() && reactions.empty();
    }
};

// Owns a message's extras and copies them deeply: one word where a shared_ptr takes two.
// A stored message is copied only when it is edited or its replies change.
class ExtrasPtr {
  public:
    ExtrasPtr() = default;
    explicit ExtrasPtr(std::unique_ptr<const MessageExtras> p) : m_p(std::move(p)) {}
    ExtrasPtr(const ExtrasPtr& other) : m_p(Clone(other)) {}
    ExtrasPtr& operator=(const ExtrasPtr& other) {
        if (this != &other) m_p = Clone(other);
        return *this;
    }
    ExtrasPtr(ExtrasPtr&&) noexcept = default;
    ExtrasPtr& operator=(ExtrasPtr&&) noexcept = default;
    const MessageExtras* get() const { return m_p.get(); }
    const MessageExtras* operator->() const { return m_p.get(); }
    explicit operator bool() const { return m_p != nullptr; }

  private:
    static std::unique_ptr<const MessageExtras> Clone(const ExtrasPtr& other) {
        return other.m_p ? std::make_unique<const MessageExtras>(*other.m_p) : nullptr;
    }
    std::unique_ptr<const MessageExtras> m_p;
};

enum class MessageKind : uint8_t {
    kMessage,
    kSystemEvent,
    kChatEvent,
    kTyping,
    kUnknownFuture,
    kOther
};
enum class ImportanceKind : uint8_t { kNormal, kHigh, kUrgent, kOther };

struct CompactBody {
    std::string content;  // as Graph sent it; html when CompactMessage::html
};

struct CompactMessage {
    std::string id;
    std::string replyToId;  // empty for a root message
    std::string etag;
    UnixMillis createdDateTime = 0;
    OptMillis lastModifiedDateTime;
    OptMillis lastEditedDateTime;
    OptMillis deletedDateTime;
    CompactBody body;
    MessageKind kind = MessageKind::kMessage;
    ImportanceKind importance = ImportanceKind::kNormal;
    bool hasPolicyViolation = false;
    bool html = false;  // body.content is HTML (else text, or ContentType()'s other value)
    const IdentitySet* from = nullptr;                 // interned; null: no author
    const ChannelIdentity* channelIdentity = nullptr;  // interned
    const std::string* urlTemplate = nullptr;          // interned; see WebUrl()
    ExtrasPtr extras;                                  // null: none of the rare fields

    CompactMessage() = default;
    // From a parsed message, taking its strings. Its replies are dropped: the store keeps
    // replies as messages of their own.
    CompactMessage(ChatMessage m);

    bool IsDeleted() const { return deletedDateTime.has_value(); }
    bool IsReply() const { return !replyToId.empty(); }
    UnixMillis VersionTime() const { return lastModifiedDateTime.value_or(createdDateTime); }

    const IdentitySet& From() const { return from ? *from : NoAuthor(); }
    std::string_view MessageType() const;
    bool IsSystemEvent() const { return kind == MessageKind::kSystemEvent; }
    std::string_view Importance() const;
    std::string_view ContentType() const;
    std::string WebUrl() const;  // rebuilt from the template: not for every frame
    bool HasWebUrl() const {
        return urlTemplate != nullptr || !Extra(MessageExtras::Field::kWebUrl).empty();
    }
    const std::string& Extra(MessageExtras::Field f) const;
    const std::string& Subject() const { return Extra(MessageExtras::Field::kSubject); }
    const std::string& Summary() const { return Extra(MessageExtras::Field::kSummary); }
    const std::string& ChatId() const { return Extra(MessageExtras::Field::kChatId); }
    const std::string& Locale() const { return Extra(MessageExtras::Field::kLocale); }
    const std::string& PolicyViolationJson() const {
        return Extra(MessageExtras::Field::kPolicyViolation);
    }
    const std::string& EventDetailJson() const { return Extra(MessageExtras::Field::kEventDetail); }
    const std::string& RepliesNextLink() const {
        return Extra(MessageExtras::Field::kRepliesNextLink);
    }
    const std::vector<Attachment>& Attachments() const;
    const std::vector<CompactMention>& Mentions() const;
    const std::vector<CompactReaction>& Reactions() const;

  private:
    static const IdentitySet& NoAuthor();
};

// The full form again (without replies), for code that hands a message to Graph-shaped
// functions. Not for hot paths.
ChatMessage ToChatMessage(const CompactMessage& m);

}  // namespace cdeck::core
