#include "model/serialize.hpp"

#include <nlohmann/json.hpp>

namespace cdeck::core {
namespace {

using nlohmann::json;

json Opt(const std::string& s) {
    return s.empty() ? json(nullptr) : json(s);
}
json OptTime(const std::optional<UnixMillis>& t) {
    return t ? json(FormatIso8601(*t)) : json(nullptr);
}
json Raw(const std::string& s) {
    if (s.empty()) return nullptr;
    json j = json::parse(s, nullptr, false);
    return j.is_discarded() ? json(nullptr) : j;
}

// typeKey: conversation identities name their type conversationIdentityType.
json IdentityJson(const std::optional<Identity>& id, const char* typeKey = "userIdentityType") {
    if (!id) return nullptr;
    json j = {{"id", id->id}, {"displayName", Opt(id->displayName)}};
    if (!id->userIdentityType.empty()) j[typeKey] = id->userIdentityType;
    if (!id->tenantId.empty()) j["tenantId"] = id->tenantId;
    return j;
}

json SetJson(const IdentitySet& s) {
    return {{"user", IdentityJson(s.user)},
            {"application", IdentityJson(s.application)},
            {"device", IdentityJson(s.device)},
            {"conversation", IdentityJson(s.conversation, "conversationIdentityType")}};
}

json SetJson(const IdentitySet* s) {
    return SetJson(s ? *s : IdentitySet{});
}

}  // namespace

json ToJson(const CompactMessage& m) {
    json j = {{"id", m.id},
              {"replyToId", Opt(m.replyToId)},
              {"etag", Opt(m.etag)},
              {"messageType", m.MessageType()},
              {"createdDateTime", FormatIso8601(m.createdDateTime)},
              {"lastModifiedDateTime", OptTime(m.lastModifiedDateTime.get())},
              {"lastEditedDateTime", OptTime(m.lastEditedDateTime.get())},
              {"deletedDateTime", OptTime(m.deletedDateTime.get())},
              {"subject", Opt(m.Subject())},
              {"summary", Opt(m.Summary())},
              {"chatId", Opt(m.ChatId())},
              {"importance", m.Importance()},
              {"locale", Opt(m.Locale())},
              {"webUrl", Opt(m.WebUrl())},
              {"policyViolation", Raw(m.PolicyViolationJson())},
              {"eventDetail", Raw(m.EventDetailJson())},
              {"from", SetJson(m.from)},
              {"body", {{"contentType", m.ContentType()}, {"content", m.body.content}}}};
    if (m.channelIdentity)
        j["channelIdentity"] = {{"teamId", m.channelIdentity->teamId},
                                {"channelId", m.channelIdentity->channelId}};
    if (!m.RepliesNextLink().empty()) j["replies@odata.nextLink"] = m.RepliesNextLink();
    json att = json::array();
    for (const auto& a : m.Attachments())
        att.push_back({{"id", a.id},
                       {"contentType", a.contentType},
                       {"contentUrl", Opt(a.contentUrl)},
                       {"content", Opt(a.content)},
                       {"name", Opt(a.name)},
                       {"thumbnailUrl", Opt(a.thumbnailUrl)},
                       {"teamsAppId", Opt(a.teamsAppId)}});
    j["attachments"] = std::move(att);
    json men = json::array();
    for (const auto& x : m.Mentions())
        men.push_back(
            {{"id", x.id}, {"mentionText", x.mentionText}, {"mentioned", SetJson(x.mentioned)}});
    j["mentions"] = std::move(men);
    json rea = json::array();
    for (const auto& r : m.Reactions())
        rea.push_back({{"reactionType", r.reactionType},
                       {"displayName", Opt(r.displayName)},
                       {"createdDateTime", OptTime(r.createdDateTime.get())},
                       {"user", SetJson(r.user)}});
    j["reactions"] = std::move(rea);
    return j;
}

json ToJson(const ChatMessage& m, bool withReplies) {
    json j = ToJson(CompactMessage(m));
    if (withReplies) {
        json reps = json::array();
        for (const auto& r : m.replies) reps.push_back(ToJson(r, false));
        j["replies"] = std::move(reps);
    }
    return j;
}

json ToJson(const Team& t) {
    return {{"id", t.id},
            {"displayName", t.displayName},
            {"description", t.description},
            {"tenantId", Opt(t.tenantId)},
            {"webUrl", Opt(t.webUrl)},
            {"isArchived", t.isArchived}};
}

json ToJson(const Channel& c) {
    return {{"id", c.id},
            {"displayName", c.displayName},
            {"description", Opt(c.description)},
            {"membershipType", Opt(c.membershipType)},
            {"email", Opt(c.email)},
            {"webUrl", Opt(c.webUrl)},
            {"createdDateTime", OptTime(c.createdDateTime)}};
}

}  // namespace cdeck::core
