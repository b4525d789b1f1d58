#include "ui/settings_view.hpp"

#include <algorithm>

#include "ui/theme.hpp"

namespace cdeck::ui {
namespace {

bool SliderD(const char* label, double* v, double lo, double hi, const char* fmt) {
    float f = static_cast<float>(*v);
    bool changed = ImGui::SliderFloat(label, &f, static_cast<float>(lo), static_cast<float>(hi),
                                      fmt, ImGuiSliderFlags_AlwaysClamp);
    if (changed) *v = f;
    return changed;
}

void Heading(const UiContext& ctx, const char* text) {
    ImGui::Spacing();
    if (ctx.fonts.bold) ImGui::PushFont(ctx.fonts.bold);
    ImGui::TextUnformatted(text);
    if (ctx.fonts.bold) ImGui::PopFont();
    ImGui::Separator();
}

}  // namespace

void SettingsView::DrawContent(const UiContext& ctx) {
    bool changed = false;
    core::UiSettings& u = m_edit.ui;
    float w = std::min(420.0f, ImGui::GetContentRegionAvail().x * 0.5f);

    Heading(ctx, "Look");
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("Font scale", &u.fontScale, 0.5, 4.0, "%.2f x");
    ImGui::SameLine();
    ImGui::TextDisabled("(for distance viewing; on top of the monitor's DPI)");
    int theme = u.theme == "high_contrast" ? 1 : 0;
    ImGui::SetNextItemWidth(w);
    if (ImGui::Combo("Theme", &theme, "Dark\0High contrast\0")) {
        u.theme = theme ? "high_contrast" : "dark";
        changed = true;
    }
    int palette = u.palette == "colorblind" ? 1 : 0;
    ImGui::SetNextItemWidth(w);
    if (ImGui::Combo("Palette", &palette, "Standard\0Colour-blind safe (Okabe-Ito)\0")) {
        u.palette = palette ? "colorblind" : "standard";
        changed = true;
    }

    Heading(ctx, "Thresholds");
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("STALE banner after", &u.staleAfterSeconds, 5, 3600, "%.0f s");
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("Amber past", &u.amberFactor, 1, 20, "%.1f x expected interval");
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("Red past", &u.redFactor, 1, 50, "%.1f x expected interval");
    if (u.redFactor < u.amberFactor) u.redFactor = u.amberFactor;

    Heading(ctx, "Budgets");
    ImGui::SetNextItemWidth(w);
    changed |=
        SliderD("Share of Graph's limits", &m_edit.limits.paceFraction, 0.05, 1.0, "%.2f x limit");
    ImGui::SameLine();
    ImGui::TextDisabled("(applies now)");
    ImGui::SetNextItemWidth(w);
    changed |=
        SliderD("Share for scheduled polls", &m_edit.sync.pollBudgetFraction, 0.1, 1.0, "%.2f");
    ImGui::SameLine();
    ImGui::TextDisabled("(from the next start)");
    ImGui::SetNextItemWidth(w);
    changed |=
        SliderD("Refresh floor", &m_edit.sync.minPollIntervalSeconds, 0.5,
                std::max(0.5, m_edit.sync.maxPollIntervalSeconds), "poll at most every %.1f s");
    ImGui::SameLine();
    ImGui::TextDisabled("(from the next start)");

    Heading(ctx, "Kiosk playlist");
    for (const char* name : core::kKioskPageNames) {
        bool on = std::find(u.kioskPages.begin(), u.kioskPages.end(), name) != u.kioskPages.end();
        Page page = Page::kWall;
        PageFromKey(name, page);
        if (ImGui::Checkbox(PageTitle(page), &on)) {
            if (on) {
                u.kioskPages.push_back(name);
            } else if (u.kioskPages.size() > 1) {
                u.kioskPages.erase(std::remove(u.kioskPages.begin(), u.kioskPages.end(), name),
                                   u.kioskPages.end());
            }
            changed = true;
        }
        ImGui::SameLine();
    }
    ImGui::NewLine();
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("Each page for", &u.kioskIntervalSeconds, 3, 600, "%.0f s");

    Heading(ctx, "Alerts");
    ImGui::TextDisabled(
        "A critical rule hit, a surge or a stale wall flashes until acknowledged (F9).");
    changed |= ImGui::Checkbox("Play a sound", &u.alertSound);
    ImGui::SameLine();
    changed |= ImGui::Checkbox("Desktop notification (desk mode)", &u.desktopNotifications);
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("The same alert at most every", &u.alertRepeatMinutes, 1, 240, "%.0f min");
    ImGui::SetNextItemWidth(w);
    changed |= SliderD("Surge: at least", &u.surgeFactor, 1.5, 20, "%.1f x the usual 15 minutes");
    ImGui::SetNextItemWidth(w);
    changed |= ImGui::SliderInt("Surge: and at least", &u.surgeMinMessages, 1, 500,
                                "%d messages in 15 minutes", ImGuiSliderFlags_AlwaysClamp);

    if (changed && m_apply) m_apply(m_edit);

    ImGui::Spacing();
    ImGui::Separator();
    ImGui::BeginDisabled(m_saving || !m_save);
    if (ImGui::Button(m_saving ? "Saving\xE2\x80\xA6" : "Save to config file")) {
        m_saving = true;
        m_status = "Saving\xE2\x80\xA6";
        auto post = ctx.post;
        m_save(m_edit, [this, post](std::string err) {
            auto finish = [this, err] {
                m_saving = false;
                if (err.empty()) {
                    m_status = "Saved.";
                } else {
                    m_status = "Not saved: " + err;
                }
            };
            if (post)
                post(finish);
            else
                finish();
        });
        m_saved = m_edit;
    }
    ImGui::EndDisabled();
    ImGui::SameLine();
    if (ImGui::Button("Revert")) {
        m_edit = m_saved;
        if (m_apply) m_apply(m_edit);
        m_status = "Reverted to the saved settings.";
    }
    if (!m_status.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(m_status.rfind("Not", 0) == 0 ? colors::kBad : colors::kDim, "%s",
                           m_status.c_str());
    }
}

}  // namespace cdeck::ui
