#pragma once
// Which user actions the signed-in token allows, from the scopes (delegated) or app roles
// (application) it was granted. Graph has the final word; this only keeps the UI from
// offering what would fail with 403, and says why. Pure; any thread.
#include <string>
#include <vector>

namespace cdeck::ui {

enum class Action { kRead, kPost, kReply, kEdit, kDelete };

struct Permission {
    bool allowed = false;
    std::string why;  // when not allowed: what is missing; when allowed: what grants it
};

// delegated: whether the token acts as a user. granted: its scopes or roles; empty means
// unknown (the action is allowed and Graph decides).
Permission Check(Action action, bool signedIn, bool delegated,
                 const std::vector<std::string>& granted);
const char* ActionName(Action action);
inline constexpr Action kAllActions[] = {Action::kRead, Action::kPost, Action::kReply,
                                         Action::kEdit, Action::kDelete};

}  // namespace cdeck::ui
