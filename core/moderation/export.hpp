#pragma once
// CSV and JSON renderings of the audit log and of channel messages, for export. Pure; any
// thread. CSV follows RFC 4180 (quoted when needed, quotes doubled) and defuses spreadsheet
// formulas: a cell that starts with = + - @ or a tab gets a leading apostrophe, because
// message text is untrusted.
#include <string>
#include <vector>

#include "model/records.hpp"
#include "store/store.hpp"

namespace cdeck::core {

std::string CsvCell(const std::string& value);
std::string AuditToCsv(const std::vector<AuditRow>& rows);
std::string AuditToJson(const std::vector<AuditRow>& rows);

// The messages (roots and their replies) of a channel created in [since, until), oldest
// first. until 0: no upper bound.
std::vector<const StoredMessage*> MessagesBetween(const ChannelData& c, UnixMillis since,
                                                  UnixMillis until);
std::string MessagesToCsv(const ChannelData& c, const std::vector<const StoredMessage*>& rows);
std::string MessagesToJson(const ChannelData& c, const std::vector<const StoredMessage*>& rows);

}  // namespace cdeck::core
