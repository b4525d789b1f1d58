// AppRuntime without follow mode: the build for platforms where ChannelDeck has no
// PostgreSQL client (Windows; README "Windows and macOS"). A server block is refused with a
// clear error at start-up; everything else works as on Linux.
#include "app_runtime.hpp"
#include "model/records.hpp"

namespace cdeck::app {

void AppRuntime::ConfigureSharedModeration(void*) {}

core::Status AppRuntime::StartFollowing() {
    return core::MakeError(core::ErrorCode::kConfig,
                           "the \"server\" block (following channeldeck-node through "
                           "PostgreSQL) is not available in this build, which has no "
                           "PostgreSQL client; remove the block to sync from Graph directly");
}

void AppRuntime::StopFollowing() {}

std::optional<std::vector<core::Draft>> AppRuntime::LoadSharedDrafts() {
    return std::nullopt;
}

bool AppRuntime::SaveSharedDraft(const core::Draft&, bool) {
    return false;
}

}  // namespace cdeck::app
