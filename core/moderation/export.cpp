#include "moderation/export.hpp"

#include <nlohmann/json.hpp>

#include "util/time.hpp"

namespace cdeck::core {

std::string CsvCell(const std::string& v) {
    std::string s = v;
    if (!s.empty() &&
        (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
        s = "'" + s;
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

namespace {
std::string Row(std::initializer_list<std::string> cells) {
    std::string out;
    bool first = true;
    for (const auto& c : cells) {
        if (!first) out += ',';
        out += CsvCell(c);
        first = false;
    }
    return out + "\r\n";
}
}  // namespace

std::string AuditToCsv(const std::vector<AuditRow>& rows) {
    std::string out = Row({"seq", "at", "actor", "action", "team_id", "channel_id", "message_id",
                           "rule", "result", "request_id", "detail"});
    for (const auto& r : rows)
        out += Row({std::to_string(r.seq), FormatIso8601(r.at), r.actor, r.action, r.teamId,
                    r.channelId, r.messageId, r.rule, r.result, r.requestId, r.detail});
    return out;
}

std::string AuditToJson(const std::vector<AuditRow>& rows) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& r : rows)
        a.push_back({{"seq", r.seq},
                     {"at", FormatIso8601(r.at)},
                     {"actor", r.actor},
                     {"action", r.action},
                     {"teamId", r.teamId},
                     {"channelId", r.channelId},
                     {"messageId", r.messageId},
                     {"rule", r.rule},
                     {"result", r.result},
                     {"requestId", r.requestId},
                     {"detail", r.detail}});
    // Invalid UTF-8 in a detail must not abort the export: replace it.
    return a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::vector<const StoredMessage*> MessagesBetween(const ChannelData& c, UnixMillis since,
                                                  UnixMillis until) {
    std::vector<const StoredMessage*> out;
    auto in = [&](UnixMillis t) { return t >= since && (until == 0 || t < until); };
    for (const auto& root : c.messages) {
        if (in(root->message.createdDateTime)) out.push_back(root.get());
        for (const auto& r : root->replies)
            if (in(r->message.createdDateTime)) out.push_back(r.get());
    }
    return out;
}

std::string MessagesToCsv(const ChannelData& c, const std::vector<const StoredMessage*>& rows) {
    std::string out =
        Row({"team_id", "channel_id", "channel", "id", "reply_to_id", "created", "last_modified",
             "deleted", "author_id", "author", "importance", "subject", "text", "web_url"});
    for (const StoredMessage* s : rows) {
        const CompactMessage& m = s->message;
        out += Row({c.channel.teamId, c.channel.id, c.channel.displayName, m.id, m.replyToId,
                    FormatIso8601(m.createdDateTime),
                    m.lastModifiedDateTime ? FormatIso8601(*m.lastModifiedDateTime) : "",
                    m.deletedDateTime ? FormatIso8601(*m.deletedDateTime) : "", m.From().Id(),
                    m.From().DisplayName(), std::string(m.Importance()), m.Subject(), s->text.text,
                    m.WebUrl()});
    }
    return out;
}

std::string MessagesToJson(const ChannelData& c, const std::vector<const StoredMessage*>& rows) {
    nlohmann::json a = nlohmann::json::array();
    for (const StoredMessage* s : rows) {
        const CompactMessage& m = s->message;
        nlohmann::json j = {
            {"teamId", c.channel.teamId},
            {"channelId", c.channel.id},
            {"id", m.id},
            {"replyToId", m.replyToId.empty() ? nlohmann::json() : nlohmann::json(m.replyToId)},
            {"createdDateTime", FormatIso8601(m.createdDateTime)},
            {"from", {{"id", m.From().Id()}, {"displayName", m.From().DisplayName()}}},
            {"importance", m.Importance()},
            {"subject", m.Subject()},
            {"text", s->text.text},
            {"html", m.body.content},
            {"webUrl", m.WebUrl()}};
        if (m.deletedDateTime) j["deletedDateTime"] = FormatIso8601(*m.deletedDateTime);
        a.push_back(std::move(j));
    }
    return a.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace cdeck::core
