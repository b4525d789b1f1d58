#include "model/parse.hpp"

#include <nlohmann/json.hpp>

namespace cdeck::core {
namespace {

using nlohmann::json;

// Field readers. Each returns false (and fills err) only when the field is present, not
// null, and of the wrong type.
struct Reader {
    const json& obj;
    std::string context;
    std::string err;

    const json* Find(const char* key) const {
        auto it = obj.find(key);
        if (it == obj.end() || it->is_null()) return nullptr;
        return &*it;
    }
    bool Fail(const char* key, const char* want) {
        if (err.empty()) err = context + "." + key + ": expected " + want;
        return false;
    }
    bool Str(const char* key, std::string& out) {
        const json* v = Find(key);
        if (!v) return true;
        if (!v->is_string()) return Fail(key, "a string");
        out = v->get<std::string>();
        return true;
    }
    bool Bool(const char* key, bool& out) {
        const json* v = Find(key);
        if (!v) return true;
        if (!v->is_boolean()) return Fail(key, "a boolean");
        out = v->get<bool>();
        return true;
    }
    bool Time(const char* key, std::optional<UnixMillis>& out) {
        const json* v = Find(key);
        if (!v) return true;
        if (!v->is_string()) return Fail(key, "a date-time string");
        auto t = ParseIso8601(v->get_ref<const std::string&>());
        if (!t) return Fail(key, "an ISO 8601 date-time");
        out = t;
        return true;
    }
    bool Raw(const char* key, std::string& out) {
        const json* v = Find(key);
        if (v) out = v->dump();
        return true;
    }
};

bool ParseIdentity(const json& j, const std::string& ctx, Identity& out, std::string& err) {
    if (!j.is_object()) {
        err = ctx + ": expected an object";
        return false;
    }
    Reader r{j, ctx, {}};
    bool ok = r.Str("id", out.id) && r.Str("displayName", out.displayName) &&
              r.Str("userIdentityType", out.userIdentityType) && r.Str("tenantId", out.tenantId);
    // conversation identities use conversationIdentityType
    if (ok && out.userIdentityType.empty())
        ok = r.Str("conversationIdentityType", out.userIdentityType);
    if (!ok) err = r.err;
    return ok;
}

bool ParseIdentitySet(const json* j, const std::string& ctx, IdentitySet& out, std::string& err) {
    if (!j) return true;
    if (!j->is_object()) {
        err = ctx + ": expected an object";
        return false;
    }
    static const char* kKinds[] = {"user", "application", "device", "conversation"};
    std::optional<Identity>* slots[] = {&out.user, &out.application, &out.device,
                                        &out.conversation};
    for (int i = 0; i < 4; ++i) {
        auto it = j->find(kKinds[i]);
        if (it == j->end() || it->is_null()) continue;
        Identity id;
        if (!ParseIdentity(*it, ctx + "." + kKinds[i], id, err)) return false;
        *slots[i] = std::move(id);
    }
    return true;
}

template <typename T, typename F>
Result<Page<T>> ParsePage(std::string_view body, const char* what, F parseItem) {
    auto parsed = ParseJson(body);
    if (!parsed) return parsed.error();
    const json& j = parsed.value();
    if (!j.is_object())
        return MakeError(ErrorCode::kParse, std::string(what) + " page: not an object");
    auto v = j.find("value");
    if (v == j.end() || !v->is_array())
        return MakeError(ErrorCode::kParse, std::string(what) + " page: missing \"value\" array");
    Page<T> page;
    page.items.reserve(v->size());
    size_t index = 0;
    for (const auto& item : *v) {
        auto r = parseItem(item);
        if (!r) {
            Error e = r.error();
            e.message =
                std::string(what) + " page item " + std::to_string(index) + ": " + e.message;
            return e;
        }
        page.items.push_back(std::move(r.value()));
        ++index;
    }
    Reader r{j, std::string(what) + " page", {}};
    if (!r.Str("@odata.nextLink", page.nextLink) || !r.Str("@odata.deltaLink", page.deltaLink))
        return MakeError(ErrorCode::kParse, r.err);
    auto c = j.find("@odata.count");
    if (c != j.end() && c->is_number_integer()) page.count = c->get<long long>();
    return page;
}

}  // namespace

std::string IdentitySet::DisplayName() const {
    for (const auto* id : {&user, &application, &device, &conversation})
        if (*id && !(*id)->displayName.empty()) return (*id)->displayName;
    return {};
}

std::string IdentitySet::Id() const {
    for (const auto* id : {&user, &application, &device, &conversation})
        if (*id) return (*id)->id;
    return {};
}

Result<nlohmann::json> ParseJson(std::string_view body) {
    json j = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return MakeError(ErrorCode::kParse, "response is not valid JSON");
    return j;
}

Result<ChatMessage> ParseChatMessage(const json& j) {
    if (!j.is_object()) return MakeError(ErrorCode::kParse, "chatMessage: expected an object");
    ChatMessage m;
    Reader r{j, "chatMessage", {}};
    std::optional<UnixMillis> created;
    bool ok = r.Str("id", m.id) && r.Str("replyToId", m.replyToId) && r.Str("etag", m.etag) &&
              r.Str("messageType", m.messageType) && r.Time("createdDateTime", created) &&
              r.Time("lastModifiedDateTime", m.lastModifiedDateTime) &&
              r.Time("lastEditedDateTime", m.lastEditedDateTime) &&
              r.Time("deletedDateTime", m.deletedDateTime) && r.Str("subject", m.subject) &&
              r.Str("summary", m.summary) && r.Str("chatId", m.chatId) &&
              r.Str("importance", m.importance) && r.Str("locale", m.locale) &&
              r.Str("webUrl", m.webUrl) && r.Raw("policyViolation", m.policyViolationJson) &&
              r.Raw("eventDetail", m.eventDetailJson) &&
              r.Str("replies@odata.nextLink", m.repliesNextLink);
    if (!ok) return MakeError(ErrorCode::kParse, r.err);
    if (m.id.empty()) return MakeError(ErrorCode::kParse, "chatMessage.id: missing");
    m.createdDateTime = created.value_or(0);
    m.hasPolicyViolation = !m.policyViolationJson.empty();
    std::string err;
    if (!ParseIdentitySet(r.Find("from"), "chatMessage.from", m.from, err))
        return MakeError(ErrorCode::kParse, err);
    if (const json* b = r.Find("body")) {
        if (!b->is_object())
            return MakeError(ErrorCode::kParse, "chatMessage.body: expected an object");
        Reader br{*b, "chatMessage.body", {}};
        if (!br.Str("contentType", m.body.contentType) || !br.Str("content", m.body.content))
            return MakeError(ErrorCode::kParse, br.err);
    }
    if (const json* ci = r.Find("channelIdentity")) {
        if (!ci->is_object())
            return MakeError(ErrorCode::kParse, "chatMessage.channelIdentity: expected an object");
        ChannelIdentity id;
        Reader cr{*ci, "chatMessage.channelIdentity", {}};
        if (!cr.Str("teamId", id.teamId) || !cr.Str("channelId", id.channelId))
            return MakeError(ErrorCode::kParse, cr.err);
        m.channelIdentity = id;
    }
    auto arrayOf = [&](const char* key) -> const json* {
        const json* a = r.Find(key);
        if (a && !a->is_array()) {
            err = std::string("chatMessage.") + key + ": expected an array";
            return nullptr;
        }
        return a;
    };
    if (const json* a = arrayOf("attachments")) {
        for (const auto& item : *a) {
            if (!item.is_object())
                return MakeError(ErrorCode::kParse,
                                 "chatMessage.attachments[]: expected an object");
            Attachment at;
            Reader ar{item, "chatMessage.attachments[]", {}};
            if (!ar.Str("id", at.id) || !ar.Str("contentType", at.contentType) ||
                !ar.Str("contentUrl", at.contentUrl) || !ar.Str("name", at.name) ||
                !ar.Str("thumbnailUrl", at.thumbnailUrl) || !ar.Str("teamsAppId", at.teamsAppId))
                return MakeError(ErrorCode::kParse, ar.err);
            if (const json* c = ar.Find("content"))
                at.content = c->is_string() ? c->get<std::string>() : c->dump();
            m.attachments.push_back(std::move(at));
        }
    }
    if (const json* a = arrayOf("mentions")) {
        for (const auto& item : *a) {
            if (!item.is_object())
                return MakeError(ErrorCode::kParse, "chatMessage.mentions[]: expected an object");
            Mention mn;
            Reader mr{item, "chatMessage.mentions[]", {}};
            if (const json* id = mr.Find("id")) {
                if (!id->is_number_integer())
                    return MakeError(ErrorCode::kParse,
                                     "chatMessage.mentions[].id: expected an integer");
                mn.id = id->get<int>();
            }
            if (!mr.Str("mentionText", mn.mentionText)) return MakeError(ErrorCode::kParse, mr.err);
            if (!ParseIdentitySet(mr.Find("mentioned"), "chatMessage.mentions[].mentioned",
                                  mn.mentioned, err))
                return MakeError(ErrorCode::kParse, err);
            m.mentions.push_back(std::move(mn));
        }
    }
    if (const json* a = arrayOf("reactions")) {
        for (const auto& item : *a) {
            if (!item.is_object())
                return MakeError(ErrorCode::kParse, "chatMessage.reactions[]: expected an object");
            Reaction re;
            Reader rr{item, "chatMessage.reactions[]", {}};
            if (!rr.Str("reactionType", re.reactionType) ||
                !rr.Str("displayName", re.displayName) ||
                !rr.Time("createdDateTime", re.createdDateTime))
                return MakeError(ErrorCode::kParse, rr.err);
            if (!ParseIdentitySet(rr.Find("user"), "chatMessage.reactions[].user", re.user, err))
                return MakeError(ErrorCode::kParse, err);
            m.reactions.push_back(std::move(re));
        }
    }
    if (const json* a = arrayOf("replies")) {
        for (const auto& item : *a) {
            auto reply = ParseChatMessage(item);
            if (!reply) return reply.error();
            m.replies.push_back(std::move(reply.value()));
        }
    }
    if (!err.empty()) return MakeError(ErrorCode::kParse, err);
    return m;
}

Result<Team> ParseTeam(const json& j) {
    if (!j.is_object()) return MakeError(ErrorCode::kParse, "team: expected an object");
    Team t;
    Reader r{j, "team", {}};
    if (!r.Str("id", t.id) || !r.Str("displayName", t.displayName) ||
        !r.Str("description", t.description) || !r.Str("tenantId", t.tenantId) ||
        !r.Str("webUrl", t.webUrl) || !r.Bool("isArchived", t.isArchived))
        return MakeError(ErrorCode::kParse, r.err);
    if (t.id.empty()) return MakeError(ErrorCode::kParse, "team.id: missing");
    return t;
}

Result<Channel> ParseChannel(const json& j) {
    if (!j.is_object()) return MakeError(ErrorCode::kParse, "channel: expected an object");
    Channel c;
    Reader r{j, "channel", {}};
    if (!r.Str("id", c.id) || !r.Str("displayName", c.displayName) ||
        !r.Str("description", c.description) || !r.Str("membershipType", c.membershipType) ||
        !r.Str("email", c.email) || !r.Str("webUrl", c.webUrl) ||
        !r.Time("createdDateTime", c.createdDateTime))
        return MakeError(ErrorCode::kParse, r.err);
    if (c.id.empty()) return MakeError(ErrorCode::kParse, "channel.id: missing");
    return c;
}

Result<TeamMember> ParseTeamMember(const json& j) {
    if (!j.is_object()) return MakeError(ErrorCode::kParse, "member: expected an object");
    TeamMember m;
    Reader r{j, "member", {}};
    if (!r.Str("id", m.id) || !r.Str("userId", m.userId) || !r.Str("displayName", m.displayName) ||
        !r.Str("email", m.email))
        return MakeError(ErrorCode::kParse, r.err);
    if (m.id.empty()) return MakeError(ErrorCode::kParse, "member.id: missing");
    if (auto it = j.find("roles"); it != j.end() && !it->is_null()) {
        if (!it->is_array()) return MakeError(ErrorCode::kParse, "member.roles: expected an array");
        for (const auto& role : *it) {
            if (!role.is_string())
                return MakeError(ErrorCode::kParse, "member.roles: expected strings");
            m.roles.push_back(role.get<std::string>());
        }
    }
    return m;
}

Result<Page<TeamMember>> ParseMemberPage(std::string_view body) {
    return ParsePage<TeamMember>(body, "members", [](const json& j) { return ParseTeamMember(j); });
}

Result<Page<ChatMessage>> ParseMessagePage(std::string_view body) {
    return ParsePage<ChatMessage>(body, "messages",
                                  [](const json& j) { return ParseChatMessage(j); });
}
Result<Page<Team>> ParseTeamPage(std::string_view body) {
    return ParsePage<Team>(body, "teams", [](const json& j) { return ParseTeam(j); });
}
Result<Page<Channel>> ParseChannelPage(std::string_view body) {
    return ParsePage<Channel>(body, "channels", [](const json& j) { return ParseChannel(j); });
}

}  // namespace cdeck::core
