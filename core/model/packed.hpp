#pragma once
// A binary encoding of CompactMessage for the local cache: what the SQLite persister writes
// and the start-up load reads, so that loading a long history is a copy per field rather
// than a JSON parse per message. The encoding names no Graph field; the JSON form
// (model/serialize.hpp) stays the exchange format everywhere else.
//
// Layout: a version byte, then each field in a fixed order; strings and counts as unsigned
// LEB128 lengths, times as zigzag LEB128. Unpack checks every length against the input and
// fails (never reads past the end) on anything it does not recognise, so a damaged row
// costs that row, not the load. Pure functions; any thread.
#include <string>
#include <string_view>

#include "model/compact.hpp"
#include "util/result.hpp"

namespace cdeck::core {

std::string PackMessage(const CompactMessage& m);
Result<CompactMessage> UnpackMessage(std::string_view bytes);

}  // namespace cdeck::core
