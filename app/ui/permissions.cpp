#include "ui/permissions.hpp"

#include <algorithm>
#include <cctype>

namespace cdeck::ui {
namespace {

struct Rule {
    Action action;
    std::vector<const char*> delegated;    // any of these scopes
    std::vector<const char*> application;  // any of these roles; empty: not possible app-only
};

// Microsoft Graph v1.0 permissions for the channel message endpoints we call.
const std::vector<Rule>& Rules() {
    static const std::vector<Rule> rules = {
        {Action::kRead,
         {"ChannelMessage.Read.All", "ChannelMessage.ReadWrite"},
         {"ChannelMessage.Read.All"}},
        {Action::kPost, {"ChannelMessage.Send"}, {}},
        {Action::kReply, {"ChannelMessage.Send"}, {}},
        {Action::kEdit, {"ChannelMessage.ReadWrite", "Group.ReadWrite.All"}, {}},
        {Action::kDelete, {"ChannelMessage.ReadWrite"}, {}},
    };
    return rules;
}

bool SameScope(const std::string& granted, const char* wanted) {
    // Scopes may come with the resource in front ("https://graph.microsoft.com/X").
    size_t slash = granted.rfind('/');
    std::string_view g = slash == std::string::npos ? std::string_view(granted)
                                                    : std::string_view(granted).substr(slash + 1);
    std::string_view w(wanted);
    return g.size() == w.size() && std::equal(g.begin(), g.end(), w.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

std::string Join(const std::vector<const char*>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
        out += (i ? (i + 1 == v.size() ? " or " : ", ") : "") + std::string(v[i]);
    return out;
}

}  // namespace

const char* ActionName(Action a) {
    switch (a) {
        case Action::kRead:
            return "Read channel messages";
        case Action::kPost:
            return "Post new messages";
        case Action::kReply:
            return "Reply to threads";
        case Action::kEdit:
            return "Edit messages";
        case Action::kDelete:
            return "Delete and undelete messages";
    }
    return "?";
}

Permission Check(Action action, bool signedIn, bool delegated,
                 const std::vector<std::string>& granted) {
    if (!signedIn) return {false, "Not signed in"};
    const Rule* rule = nullptr;
    for (const auto& r : Rules())
        if (r.action == action) rule = &r;
    if (!rule) return {false, "Unknown action"};
    const auto& wanted = delegated ? rule->delegated : rule->application;
    if (wanted.empty())
        return {false, std::string(ActionName(action)) + " needs a signed-in user (delegated " +
                           Join(rule->delegated) + "); application permissions cannot do it"};
    if (granted.empty()) return {true, "Permissions not reported by the token; Graph decides"};
    for (const char* w : wanted)
        for (const auto& g : granted)
            if (SameScope(g, w)) return {true, std::string("Granted by ") + w};
    return {false, std::string("Missing permission: ") + Join(wanted) +
                       (delegated ? " (delegated scope)" : " (application role)")};
}

}  // namespace cdeck::ui
