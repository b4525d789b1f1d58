#pragma once
// Shared by the benchmarks: order statistics and a Graph-shaped synthetic message.
#include <algorithm>
#include <string>
#include <vector>

#include "model/types.hpp"

namespace cdeck::bench {

// q in [0, 1] by nearest rank; the vector is copied and sorted.
inline double Percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}
inline double Median(std::vector<double> v) {
    return Percentile(std::move(v), 0.5);
}

// A message as Graph would send it, with a realistic HTML body (~120 bytes) and a mention
// now and then. `i` must be unique in the store; it becomes the id.
inline core::ChatMessage MakeMessage(int channel, long i, core::UnixMillis created) {
    core::ChatMessage m;
    m.id = std::to_string(1700000000000LL + i);
    m.etag = m.id;
    m.createdDateTime = created;
    m.lastModifiedDateTime = created;
    m.importance = "normal";
    m.webUrl =
        "https://teams.microsoft.com/l/message/19%3Achannel" + std::to_string(channel) + "/" + m.id;
    m.from.user = core::Identity{"user-" + std::to_string(i % 300),
                                 "User " + std::to_string(i % 300), "aadUser"};
    m.body.contentType = "html";
    m.body.content = "<p>Deploy <b>" + std::to_string(i) +
                     "</b> finished on all regions. Error rate is flat; see the dashboard.</p>";
    if (i % 7 == 0) {
        m.body.content = "<at id=\"0\">User 1</at> " + m.body.content;
        m.mentions.push_back(core::Mention{0, "User 1", {}});
    }
    m.channelIdentity = core::ChannelIdentity{"team", "19:channel" + std::to_string(channel)};
    return m;
}

}  // namespace cdeck::bench
