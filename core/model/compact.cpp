#include "model/compact.hpp"

#include <algorithm>

#include "model/intern.hpp"

namespace cdeck::core {
namespace {

using Field = MessageExtras::Field;

// Markers that stand for the message's own ids inside a webUrl template. Control bytes
// cannot appear in a URL, so a URL holding one is kept verbatim instead.
constexpr char kIdMark = '\x01';
constexpr char kReplyToMark = '\x02';

void ReplaceAll(std::string& s, std::string_view what, char mark) {
    if (what.empty()) return;
    std::string out;
    size_t from = 0;
    for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, from)) {
        out.append(s, from, at - from);
        out.push_back(mark);
        from = at + what.size();
    }
    if (from == 0) return;
    out.append(s, from, std::string::npos);
    s = std::move(out);
}

struct Names {
    const char* text;
    uint8_t kind;
};
constexpr Names kMessageTypes[] = {{"message", 0},
                                   {"systemEventMessage", 1},
                                   {"chatEvent", 2},
                                   {"typing", 3},
                                   {"unknownFutureValue", 4}};
constexpr Names kImportances[] = {{"normal", 0}, {"high", 1}, {"urgent", 2}};

// The kind for a known name, or `other` (the caller keeps the text in the extras).
template <size_t N>
uint8_t KindOf(const std::string& text, const Names (&names)[N], uint8_t other) {
    for (const auto& n : names)
        if (text == n.text) return n.kind;
    return other;
}

template <size_t N>
std::string_view NameOf(uint8_t kind, const Names (&names)[N]) {
    for (const auto& n : names)
        if (n.kind == kind) return n.text;
    return {};
}

std::vector<CompactMention> CompactMentions(std::vector<Mention>& in) {
    std::vector<CompactMention> out;
    out.reserve(in.size());
    for (auto& m : in)
        out.push_back({m.id, std::move(m.mentionText), InternIdentitySet(m.mentioned)});
    return out;
}

std::vector<CompactReaction> CompactReactions(std::vector<Reaction>& in) {
    std::vector<CompactReaction> out;
    out.reserve(in.size());
    for (auto& r : in)
        out.push_back({std::move(r.reactionType), std::move(r.displayName), r.createdDateTime,
                       InternIdentitySet(r.user)});
    return out;
}

// Builds the extras from whatever rare parts `m` has; null when it has none.
std::unique_ptr<const MessageExtras> TakeExtras(ChatMessage& m, bool otherType,
                                                bool otherImportance, bool otherContent,
                                                std::string* literalUrl) {
    auto x = std::make_unique<MessageExtras>();
    auto put = [&](Field f, std::string& s) {
        if (!s.empty()) x->fields.emplace_back(f, std::move(s));
    };
    put(Field::kSubject, m.subject);
    put(Field::kSummary, m.summary);
    put(Field::kChatId, m.chatId);
    put(Field::kLocale, m.locale);
    put(Field::kPolicyViolation, m.policyViolationJson);
    put(Field::kEventDetail, m.eventDetailJson);
    put(Field::kRepliesNextLink, m.repliesNextLink);
    if (otherType) x->fields.emplace_back(Field::kMessageType, std::move(m.messageType));
    if (otherImportance) x->fields.emplace_back(Field::kImportance, std::move(m.importance));
    if (otherContent) x->fields.emplace_back(Field::kContentType, std::move(m.body.contentType));
    if (literalUrl) put(Field::kWebUrl, *literalUrl);
    x->attachments = std::move(m.attachments);
    x->mentions = CompactMentions(m.mentions);
    x->reactions = CompactReactions(m.reactions);
    if (x->Empty()) return nullptr;
    x->fields.shrink_to_fit();
    return x;
}

IdentitySet CopySet(const IdentitySet* s) {
    return s ? *s : IdentitySet{};
}

}  // namespace

const std::string& MessageExtras::Get(Field f) const {
    static const std::string empty;
    for (const auto& [field, text] : fields)
        if (field == f) return text;
    return empty;
}

CompactMessage::CompactMessage(ChatMessage m)
    : id(std::move(m.id)),
      replyToId(std::move(m.replyToId)),
      etag(std::move(m.etag)),
      createdDateTime(m.createdDateTime),
      lastModifiedDateTime(m.lastModifiedDateTime),
      lastEditedDateTime(m.lastEditedDateTime),
      deletedDateTime(m.deletedDateTime),
      hasPolicyViolation(m.hasPolicyViolation) {
    body.content = std::move(m.body.content);
    html = m.body.contentType == "html";
    bool otherContent = !html && m.body.contentType != "text";
    kind = static_cast<MessageKind>(
        KindOf(m.messageType, kMessageTypes, static_cast<uint8_t>(MessageKind::kOther)));
    importance = static_cast<ImportanceKind>(
        KindOf(m.importance, kImportances, static_cast<uint8_t>(ImportanceKind::kOther)));
    from = InternIdentitySet(m.from);
    if (m.channelIdentity) channelIdentity = InternChannelIdentity(*m.channelIdentity);
    std::string* literalUrl = nullptr;
    if (!m.webUrl.empty()) {
        bool marked = m.webUrl.find_first_of(std::string_view("\x01\x02", 2)) != std::string::npos;
        if (!marked) {
            std::string shape = m.webUrl;
            ReplaceAll(shape, id, kIdMark);
            ReplaceAll(shape, replyToId, kReplyToMark);
            urlTemplate = InternSharedText(shape);
        }
        if (!urlTemplate) literalUrl = &m.webUrl;
    }
    extras = ExtrasPtr(TakeExtras(m, kind == MessageKind::kOther,
                                  importance == ImportanceKind::kOther, otherContent, literalUrl));
}

const IdentitySet& CompactMessage::NoAuthor() {
    return NoIdentity();
}

std::string_view CompactMessage::MessageType() const {
    if (kind == MessageKind::kOther) return Extra(Field::kMessageType);
    return NameOf(static_cast<uint8_t>(kind), kMessageTypes);
}

std::string_view CompactMessage::Importance() const {
    if (importance == ImportanceKind::kOther) return Extra(Field::kImportance);
    return NameOf(static_cast<uint8_t>(importance), kImportances);
}

std::string_view CompactMessage::ContentType() const {
    if (html) return "html";
    const std::string& other = Extra(Field::kContentType);
    return other.empty() ? std::string_view("text") : std::string_view(other);
}

std::string CompactMessage::WebUrl() const {
    if (!urlTemplate) return Extra(Field::kWebUrl);
    std::string out;
    out.reserve(urlTemplate->size() + 2 * id.size());
    for (char c : *urlTemplate) {
        if (c == kIdMark)
            out += id;
        else if (c == kReplyToMark)
            out += replyToId;
        else
            out.push_back(c);
    }
    return out;
}

const std::string& CompactMessage::Extra(Field f) const {
    static const std::string empty;
    return extras ? extras->Get(f) : empty;
}

const std::vector<Attachment>& CompactMessage::Attachments() const {
    static const std::vector<Attachment> none;
    return extras ? extras->attachments : none;
}

const std::vector<CompactMention>& CompactMessage::Mentions() const {
    static const std::vector<CompactMention> none;
    return extras ? extras->mentions : none;
}

const std::vector<CompactReaction>& CompactMessage::Reactions() const {
    static const std::vector<CompactReaction> none;
    return extras ? extras->reactions : none;
}

ChatMessage ToChatMessage(const CompactMessage& m) {
    ChatMessage c;
    c.id = m.id;
    c.replyToId = m.replyToId;
    c.etag = m.etag;
    c.messageType = std::string(m.MessageType());
    c.createdDateTime = m.createdDateTime;
    c.lastModifiedDateTime = m.lastModifiedDateTime.get();
    c.lastEditedDateTime = m.lastEditedDateTime.get();
    c.deletedDateTime = m.deletedDateTime.get();
    c.subject = m.Subject();
    c.summary = m.Summary();
    c.chatId = m.ChatId();
    c.importance = std::string(m.Importance());
    c.locale = m.Locale();
    c.webUrl = m.WebUrl();
    c.hasPolicyViolation = m.hasPolicyViolation;
    c.policyViolationJson = m.PolicyViolationJson();
    c.eventDetailJson = m.EventDetailJson();
    c.from = CopySet(m.from);
    c.body.contentType = std::string(m.ContentType());
    c.body.content = m.body.content;
    if (m.channelIdentity) c.channelIdentity = *m.channelIdentity;
    c.attachments = m.Attachments();
    for (const auto& x : m.Mentions())
        c.mentions.push_back({x.id, x.mentionText, CopySet(x.mentioned)});
    for (const auto& r : m.Reactions())
        c.reactions.push_back(
            {r.reactionType, r.displayName, r.createdDateTime.get(), CopySet(r.user)});
    c.repliesNextLink = m.RepliesNextLink();
    return c;
}

}  // namespace cdeck::core
