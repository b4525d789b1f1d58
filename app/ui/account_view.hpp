#pragma once
// Account: sign-in progress (the device code and address, each with a copy button), who
// is signed in to which tenant, the permissions the token holds and which actions they
// allow, and sign-out.
// Threads: UI thread only, like every view; it reads the frame's snapshot and sends commands.
#include <functional>

#include "ui/view.hpp"

namespace cdeck::ui {

class AccountView final : public View {
  public:
    const char* WindowName() const override { return "Account###account"; }
    // signOut: empty when this sign-in has no user to sign out (application permissions).
    void SetSignOut(std::function<void()> signOut) { m_signOut = std::move(signOut); }
    bool SignOutEnabled() const { return m_signOutEnabled; }

  protected:
    void DrawContent(const UiContext& ctx) override;

  private:
    std::function<void()> m_signOut;
    bool m_signOutEnabled = false;
    bool m_confirm = false;
};

// The device-code prompt, shown above every page while a sign-in waits for the user.
void DrawSignInPrompt(const UiContext& ctx);

}  // namespace cdeck::ui
