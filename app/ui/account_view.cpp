#include "ui/account_view.hpp"

#include "ui/permissions.hpp"
#include "ui/theme.hpp"
#include "ui/widgets.hpp"

namespace cdeck::ui {

void DrawSignInPrompt(const UiContext& ctx) {
    const core::SyncStatus& s = ctx.snapshot->sync;
    if (s.signInUserCode.empty() && s.signInUrl.empty()) return;
    ImGui::PushStyleColor(ImGuiCol_ChildBg, colors::kCard);
    float h = ImGui::GetTextLineHeightWithSpacing() * 4.5f;
    if (ImGui::BeginChild("sign-in", ImVec2(0, h), true)) {
        ImGui::TextColored(colors::kWarn, "Sign in to start syncing");
        ImGui::TextWrapped("%s", s.signInMessage.c_str());
        if (!s.signInUserCode.empty()) {
            if (ctx.fonts.large) ImGui::PushFont(ctx.fonts.large);
            ImGui::TextUnformatted(s.signInUserCode.c_str());
            if (ctx.fonts.large) ImGui::PopFont();
            ImGui::SameLine();
            if (ImGui::Button("Copy code")) ImGui::SetClipboardText(s.signInUserCode.c_str());
            ImGui::SameLine();
        }
        if (ImGui::Button("Copy address")) ImGui::SetClipboardText(s.signInUrl.c_str());
        ImGui::SameLine();
        ImGui::TextDisabled("%s", s.signInUrl.c_str());
    }
    ImGui::EndChild();
    ImGui::PopStyleColor();
}

void AccountView::DrawContent(const UiContext& ctx) {
    const core::SyncStatus& s = ctx.snapshot->sync;
    if (ctx.fonts.large) ImGui::PushFont(ctx.fonts.large);
    ImGui::TextUnformatted(s.signedIn ? "Signed in" : "Not signed in");
    if (ctx.fonts.large) ImGui::PopFont();
    ImGui::Spacing();
    DrawSignInPrompt(ctx);
    if (ImGui::BeginTable("who", 2, ImGuiTableFlags_SizingFixedFit)) {
        auto row = [](const char* k, const std::string& v) {
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", k);
            ImGui::TableNextColumn();
            ImGui::TextUnformatted(v.empty() ? "\xE2\x80\x94" : v.c_str());
        };
        row("Account", s.account);
        row("Tenant", s.tenant);
        row("Acts as", s.delegated ? "the signed-in user (delegated permissions)"
                                   : "the app itself (application permissions)");
        row("State", s.phase + (s.lastError.empty() ? "" : ": " + s.lastError));
        ImGui::EndTable();
    }
    ImGui::Spacing();
    m_signOutEnabled = static_cast<bool>(m_signOut) && s.delegated && s.signedIn;
    ImGui::BeginDisabled(!m_signOutEnabled);
    if (ImGui::Button("Sign out")) m_confirm = true;
    ImGui::EndDisabled();
    if (!m_signOutEnabled && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled))
        ImGui::SetTooltip("%s", !s.delegated
                                    ? "Signed in as the app with client credentials: there "
                                      "is no user to sign out. Remove the secret from the "
                                      "configuration to stop."
                                    : "Not signed in");
    if (m_confirm) {
        ImGui::SameLine();
        ImGui::TextColored(colors::kWarn, "Forget the tokens and stop syncing?");
        ImGui::SameLine();
        if (ImGui::Button("Yes, sign out")) {
            m_confirm = false;
            if (m_signOut) m_signOut();
        }
        ImGui::SameLine();
        if (ImGui::Button("Keep me signed in")) m_confirm = false;
    }

    ImGui::Separator();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted(s.delegated ? "Scopes granted" : "Application roles granted");
    if (ctx.fonts.bold) ImGui::PopFont();
    if (s.grantedScopes.empty()) ImGui::TextDisabled("Not reported by the token.");
    for (const auto& g : s.grantedScopes) ImGui::BulletText("%s", g.c_str());
    ImGui::Spacing();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted("What you can do");
    if (ctx.fonts.bold) ImGui::PopFont();
    if (ImGui::BeginTable("actions", 3,
                          ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
        ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, 24);
        ImGui::TableSetupColumn("Action", 0, 1.0f);
        ImGui::TableSetupColumn("Why", 0, 3.0f);
        for (Action a : kAllActions) {
            Permission p = Check(a, s.signedIn, s.delegated, s.grantedScopes);
            ImGui::TableNextRow();
            ImGui::TableNextColumn();
            LevelMarker(p.allowed ? Level::kGood : Level::kBad, 5.0f);
            ImGui::TableNextColumn();
            ImGui::TextColored(p.allowed ? colors::kText : colors::kDim, "%s", ActionName(a));
            ImGui::TableNextColumn();
            ImGui::TextDisabled("%s", p.why.c_str());
        }
        ImGui::EndTable();
    }
}

}  // namespace cdeck::ui
