#pragma once
// JSON -> model conversion for Graph payloads. Pure functions; any thread.
//
// Graph sends nulls for absent fields and adds new fields over time, so the parsers accept
// null or missing for every optional field and ignore unknown keys. A field of the wrong
// JSON type is an error naming that field: a server that says something unexpected must
// not be half-understood.
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "model/types.hpp"
#include "util/result.hpp"

namespace cdeck::core {

Result<ChatMessage> ParseChatMessage(const nlohmann::json& j);
Result<Team> ParseTeam(const nlohmann::json& j);
Result<Channel> ParseChannel(const nlohmann::json& j);

// A collection page: "value" plus @odata.nextLink / deltaLink / count.
Result<Page<ChatMessage>> ParseMessagePage(std::string_view body);
Result<Page<Team>> ParseTeamPage(std::string_view body);
Result<Page<Channel>> ParseChannelPage(std::string_view body);
Result<TeamMember> ParseTeamMember(const nlohmann::json& j);
Result<Page<TeamMember>> ParseMemberPage(std::string_view body);

// Parses text into JSON, turning exceptions into a kParse Error.
Result<nlohmann::json> ParseJson(std::string_view body);

}  // namespace cdeck::core
