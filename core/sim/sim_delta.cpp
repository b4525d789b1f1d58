// graphsim's channel-message delta: a first round paged with nextLinks that ends with a
// deltaLink, later rounds that return only the roots changed since, the one $filter delta
// allows, the 8-month window, and 410 resyncRequired / syncStateNotFound.
//
// Tokens are opaque to clients. Inside: kind|epoch|channel|... where kind is
//   s  a first round:       s|epoch|channel|changeSeq|index|since|rootCount
//   i  an incremental one:  i|epoch|channel|from|to|offset
//   d  a deltaLink:         d|epoch|channel|changeSeq|issuedMillis
// A restart changes the epoch, so earlier tokens are no longer known (syncStateNotFound).
#include <algorithm>
#include <unordered_map>

#include "sim/sim_internal.hpp"

namespace cdeck::sim {
namespace {

bool SplitToken(const std::string& tok, std::vector<std::string>& parts) {
    std::string raw = FromBase64Url(tok);
    parts.clear();
    size_t s = 0;
    while (s <= raw.size()) {
        size_t bar = raw.find('|', s);
        if (bar == std::string::npos) bar = raw.size();
        parts.push_back(raw.substr(s, bar - s));
        s = bar + 1;
    }
    return parts.size() >= 3;
}

std::string JoinToken(const std::vector<std::string>& parts) {
    std::string tok;
    for (size_t i = 0; i < parts.size(); ++i) tok += (i ? "|" : "") + parts[i];
    return tok;
}

void Gone(SimResponse& r, const std::string& code, const std::string& msg) {
    json body = {{"error",
                  {{"code", code},
                   {"message", msg},
                   {"innerError",
                    {{"code", code},
                     {"request-id", r.GetHeader("request-id")},
                     {"date", SimIso(SimNowMillis()).substr(0, 19)}}}}}};
    GraphSim::Impl::Json(r, 410, body);
}

}  // namespace

void GraphSim::Impl::HandleDelta(SimRequest& q, SimResponse& r) {
    TokenInfo t;
    Resolved x;
    if (!Begin(q, r,
               {RequestClass::kGetMessage,
                2,
                {"ChannelMessage.Read.All"},
                {"ChannelMessage.Read.All"}},
               t, x))
        return;
    DeltaPage page;
    page.top = TopParam(q, r, 20);
    if (page.top < 0) return;
    page.channel = x.channel;
    page.now = Now();
    page.unknownEnums = UnknownEnums(q);
    const SimChannel& c = tenant.channels[x.channel];
    page.path = "/teams/" + tenant.teams[x.team].id + "/channels/" + c.id + "/messages/delta";
    if (!DeltaCursor(q, r, page)) return;
    json body = {{"@odata.context", ODataContext(tenant, c, "messages/delta")}};
    json value = json::array();
    if (page.parts[0] == "s") {
        if (page.parts.size() < 7)
            return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
        DeltaFirstRound(page, value, body);
    } else if (page.parts[0] == "i") {
        if (page.parts.size() < 6)
            return GraphError(q, r, 400, "BadRequest", "Invalid skip token.");
        DeltaChanges(page, value, body);
    } else {
        return GraphError(q, r, 400, "BadRequest", "Invalid token.");
    }
    body["value"] = std::move(value);
    Json(r, 200, body);
}

bool GraphSim::Impl::DeltaCursor(const SimRequest& q, SimResponse& r, DeltaPage& page) {
    const SimChannel& c = tenant.channels[page.channel];
    std::vector<std::string>& parts = page.parts;
    std::string skip = q.Param("$skiptoken"), delta = q.Param("$deltatoken");
    if (!skip.empty() || !delta.empty()) {
        if (!SplitToken(skip.empty() ? delta : skip, parts) || parts[2] != c.id) {
            GraphError(q, r, 400, "BadRequest", "The token is not valid for this resource.");
            return false;
        }
        if (parts[1] != epoch) {
            Gone(r, "syncStateNotFound", "The sync state was not found. Start a new sync.");
            return false;
        }
    }
    if (!delta.empty()) {
        if (parts[0] != "d" || parts.size() < 5) {
            GraphError(q, r, 400, "BadRequest", "Invalid delta token.");
            return false;
        }
        Millis issued = std::atoll(parts[4].c_str());
        if (page.now - issued > static_cast<Millis>(deltaTokenLifetimeSeconds * 1000)) {
            Gone(r, "resyncRequired", "The delta token has expired. A full resync is required.");
            return false;
        }
        // An incremental round is paged like the first one.
        parts = {"i", epoch, c.id, parts[3], std::to_string(tenant.changeSeq), "0"};
    }
    if (!parts.empty()) return true;
    // First round: every root, optionally filtered by lastModifiedDateTime gt X.
    Millis since = 0;
    if (q.Has("$filter")) {
        std::string f = q.Param("$filter");
        const std::string prefix = "lastModifiedDateTime gt ";
        auto ts = f.rfind(prefix, 0) == 0 ? SimParseIso(f.substr(prefix.size())) : std::nullopt;
        if (!ts) {
            GraphError(q, r, 400, "BadRequest",
                       "Only '$filter=lastModifiedDateTime gt {dateTime}' is supported on delta.");
            return false;
        }
        since = *ts;
    }
    // Only the last 8 months are covered.
    since = std::max<Millis>(since, page.now - Millis{8} * 30 * 86400 * 1000);
    parts = {"s",
             epoch,
             c.id,
             std::to_string(tenant.changeSeq),
             "0",
             std::to_string(since),
             std::to_string(c.roots.size())};
    return true;
}

std::string GraphSim::Impl::DeltaLinkFor(const DeltaPage& page, uint64_t seq) const {
    const SimChannel& c = tenant.channels[page.channel];
    return Link(page.path,
                {{"$deltatoken", Base64Url("d|" + epoch + "|" + c.id + "|" + std::to_string(seq) +
                                           "|" + std::to_string(page.now))}});
}

void GraphSim::Impl::DeltaFirstRound(DeltaPage& page, json& value, json& body) const {
    const SimChannel& c = tenant.channels[page.channel];
    std::vector<std::string>& parts = page.parts;
    uint64_t seq0 = std::stoull(parts[3]);
    size_t idx = std::stoull(parts[4]);
    Millis since = std::atoll(parts[5].c_str());
    size_t end = std::min<size_t>(std::stoull(parts[6]), c.roots.size());
    while (idx < end && static_cast<int>(value.size()) < page.top) {
        const SimMessage& m = c.roots[idx++];
        if (m.modified > since)
            value.push_back(MessageJson(tenant, c, m, false, page.unknownEnums));
    }
    if (idx < end) {
        parts[4] = std::to_string(idx);
        body["@odata.nextLink"] = Link(page.path, {{"$skiptoken", Base64Url(JoinToken(parts))}});
    } else {
        body["@odata.deltaLink"] = DeltaLinkFor(page, seq0);
    }
}

void GraphSim::Impl::DeltaChanges(DeltaPage& page, json& value, json& body) {
    const SimChannel& c = tenant.channels[page.channel];
    const std::vector<std::string>& parts = page.parts;
    uint64_t from = std::stoull(parts[3]), to = std::stoull(parts[4]);
    size_t offset = std::stoull(parts[5]);
    // Distinct roots changed in (from, to], in order of their latest change.
    std::vector<std::string> ids;
    std::unordered_map<std::string, bool> seen;
    auto it = std::upper_bound(
        c.changes.begin(), c.changes.end(), from,
        [](uint64_t v, const std::pair<uint64_t, std::string>& e) { return v < e.first; });
    for (; it != c.changes.end() && it->first <= to; ++it)
        if (!seen[it->second]) {
            seen[it->second] = true;
            ids.push_back(it->second);
        }
    size_t i = offset;
    for (; i < ids.size() && static_cast<int>(value.size()) < page.top; ++i)
        if (const SimMessage* m = tenant.FindRoot(page.channel, ids[i]))
            value.push_back(MessageJson(tenant, c, *m, false, page.unknownEnums));
    if (i < ids.size()) {
        std::string tok =
            "i|" + epoch + "|" + c.id + "|" + parts[3] + "|" + parts[4] + "|" + std::to_string(i);
        body["@odata.nextLink"] = Link(page.path, {{"$skiptoken", Base64Url(tok)}});
    } else {
        body["@odata.deltaLink"] = DeltaLinkFor(page, to);
    }
}

}  // namespace cdeck::sim
