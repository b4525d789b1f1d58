#pragma once
// Model -> Graph-shaped JSON, the inverse of model/parse.hpp, used by the persistence
// layer so that a stored row parses back with the same code that reads Graph. Pure; any
// thread.
#include <nlohmann/json_fwd.hpp>

#include "model/compact.hpp"
#include "model/types.hpp"

namespace cdeck::core {

// The stored form; what the persisters write. Replies are rows of their own.
nlohmann::json ToJson(const CompactMessage& m);
// A parsed message (through its compact form, so both write the same JSON).
nlohmann::json ToJson(const ChatMessage& m, bool withReplies = false);
nlohmann::json ToJson(const Team& t);
nlohmann::json ToJson(const Channel& c);

}  // namespace cdeck::core
