#pragma once
// graphsim's tenant: users, apps, teams, channels and messages, plus the scenario loader
// and the deterministic traffic generator.
//
// Not thread-safe by itself: GraphSim::Impl guards a Tenant with its mutex, and every
// method here must be called with that mutex held.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace cdeck::sim {

using Millis = int64_t;
Millis SimNowMillis();
std::string SimIso(Millis ms);  // 2021-03-28T21:11:12.395Z
std::optional<Millis> SimParseIso(const std::string& s);

struct SimUser {
    std::string id;
    std::string displayName;
    std::string mail;
};

struct SimApp {
    std::string clientId;
    std::string clientSecret;
    std::vector<std::string> permissions;  // application roles granted
    std::vector<std::string> delegated;    // delegated scopes granted
    std::vector<std::string> redirectUris;
    std::vector<std::string> certificates;  // PEM certificates for JWT client assertions
    bool publicClient = true;               // "Allow public client flows"
};

struct SimReaction {
    std::string type;
    int user = 0;
    Millis at = 0;
};

struct SimMessage {
    std::string id;
    std::string replyToId;
    Millis created = 0;
    Millis modified = 0;
    std::optional<Millis> edited;
    std::optional<Millis> deleted;
    std::string subject;
    std::string html;       // body content, as given
    bool textBody = false;  // body.contentType "text" rather than "html"
    std::string importance = "normal";
    std::string messageType = "message";  // or "systemEventMessage"
    std::string eventDetail;              // JSON text, for system events
    std::string policyViolation;          // JSON text, set by an application PATCH
    int user = -1;                        // index into users; -1 when posted by an app
    std::string appId;                    // when posted with an application token
    std::vector<int> mentions;            // user indexes, in <at id="i"> order
    std::vector<SimReaction> reactions;
    std::vector<SimMessage> replies;  // oldest first
};

struct SimChannel {
    std::string id;
    int team = 0;
    std::string displayName;
    std::string description;
    Millis created = 0;
    double weight = 1.0;            // share of traffic (Zipf)
    std::vector<SimMessage> roots;  // oldest first (ids ascend with creation)
    std::unordered_map<std::string, size_t> rootIndex;
    // Change log for delta: (sequence number, root id), appended on every create, edit,
    // reaction and (undo) soft delete of a root or one of its replies.
    std::vector<std::pair<uint64_t, std::string>> changes;
};

struct SimTeam {
    std::string id;
    std::string displayName;
    std::string description;
    std::vector<int> channels;
    std::vector<int> members;
};

// A change to one message, for change notifications (recorded only while a subscription
// exists: `Tenant::recordEvents`).
struct SimChangeEvent {
    int channel = -1;
    std::string rootId;
    std::string messageId;   // the root's id, or a reply's
    std::string changeType;  // created | updated | deleted
};

struct TrafficSettings {
    double messagesPerMinute = 30;
    int backfillMin = 20;
    int backfillMax = 150;
    double historyHours = 36;
    double zipfS = 1.1;
    double replyFraction = 0.35;
    double mentionFraction = 0.2;
};

class Tenant {
  public:
    // Parses a scenario document. Returns an error string, empty on success.
    std::string Load(const nlohmann::json& scenario, uint64_t seed);

    std::string tenantId;
    std::string tenantName;
    double tokenLifetimeSeconds = 3600;
    int deviceCodeInterval = 5;       // seconds between polls the client is told to wait
    double deviceCodeLifetime = 900;  // seconds
    int defaultUser = 0;              // who auto-approval signs in
    TrafficSettings traffic;
    std::vector<SimUser> users;
    std::vector<SimApp> apps;
    std::vector<SimTeam> teams;
    std::vector<SimChannel> channels;
    std::unordered_map<std::string, int> teamById;
    std::unordered_map<std::string, int> channelById;

    // Creates history for every channel, ending at `now`.
    void GenerateHistory(Millis now);
    // One live arrival: a root or a reply in a channel chosen by weight. Returns the channel.
    // channel < 0: chosen by weight. Returns the new message; *channelOut gets the channel.
    const SimMessage* GenerateArrival(Millis now, int channel = -1, int* channelOut = nullptr);
    int ChannelByRank(int rank) const;                             // 0 = the busiest
    int ChannelByName(const std::string& teamSlashChannel) const;  // -1 when unknown
    // Inter-arrival time for the Poisson process, in ms.
    double NextGapMs(double scale);

    // Appends a message to a channel (root or reply), assigning a unique id.
    SimMessage& AddRoot(int channel, SimMessage m);
    SimMessage* AddReply(int channel, const std::string& rootId, SimMessage m);
    SimMessage* FindRoot(int channel, const std::string& id);
    SimMessage* FindReply(int channel, const std::string& rootId, const std::string& replyId);
    // Records a change to a root (or its thread) for delta and bumps lastModified.
    void Touch(int channel, SimMessage& root, Millis now);
    uint64_t changeSeq = 0;
    // Notes a change to `target` (root or one of its replies) for change notifications.
    void Record(int channel, const SimMessage& root, const SimMessage& target,
                const char* changeType);
    bool recordEvents = false;
    std::vector<SimChangeEvent> events;
    // Simulated users' activity besides new messages: edits, reactions, soft deletes.
    void GenerateActivity(Millis now);

    // Unique Teams-style id: epoch milliseconds, bumped past any id already issued.
    std::string NewMessageId(Millis created);
    std::string NewGuid();

    uint64_t messagesCreated = 0;

  private:
    SimMessage MakeMessage(int channel, Millis at, bool isReply);
    int PickChannel();
    int PickMember(int team);

    std::mt19937_64 m_rng{1};
    std::vector<std::string> m_phrases;
    std::vector<std::string> m_subjects;
    std::vector<double> m_cumulativeWeight;
    Millis m_lastId = 0;
};

// Serialisers: graphsim's own JSON shapes, matching Microsoft's documented examples.
nlohmann::json MessageJson(const Tenant& t, const SimChannel& c, const SimMessage& m,
                           bool includeReplies, bool includeUnknownEnums);
nlohmann::json ChannelJson(const Tenant& t, const SimChannel& c);
nlohmann::json TeamJson(const Tenant& t, const SimTeam& team);

}  // namespace cdeck::sim
