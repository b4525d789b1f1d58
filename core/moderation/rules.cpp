#include "moderation/rules.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

namespace cdeck::core {
namespace {

using nlohmann::json;

std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

Error RuleError(const std::string& where, const std::string& what) {
    return MakeError(ErrorCode::kConfig, "rule pack: " + where + ": " + what);
}

std::optional<Error> StringList(const json& v, const std::string& where,
                                std::vector<std::string>& out, bool lower) {
    if (!v.is_array()) return RuleError(where, "must be a list of strings");
    for (const auto& s : v) {
        if (!s.is_string() || s.get_ref<const std::string&>().empty())
            return RuleError(where, "must be a list of non-empty strings");
        out.push_back(lower ? Lower(s.get<std::string>()) : s.get<std::string>());
    }
    return std::nullopt;
}

std::optional<Error> ParseCondition(const json& j, const std::string& where, Condition& c,
                                    int depth) {
    if (depth > 16) return RuleError(where, "conditions nest deeper than 16");
    if (!j.is_object() || (j.size() != 1 && !j.contains("regex")))
        return RuleError(where,
                         "a condition is an object with one key (regex may add case_sensitive)");
    const std::string key = j.begin().key();
    const json& v = j.begin().value();
    std::string at = where + "." + key;
    if (j.contains("keywords")) {
        c.kind = Condition::Kind::kKeywords;
        std::vector<std::string> terms;
        if (auto e = StringList(j["keywords"], where + ".keywords", terms, false)) return e;
        if (terms.empty()) return RuleError(where + ".keywords", "must not be empty");
        for (const auto& t : terms) {
            Keyword k = Keyword::Parse(t);
            if (k.folded.empty())
                return RuleError(where + ".keywords", "\"" + t + "\" has no letters");
            c.keywords.push_back(std::move(k));
        }
    } else if (j.contains("regex")) {
        c.kind = Condition::Kind::kRegex;
        if (!j["regex"].is_string() || j["regex"].get_ref<const std::string&>().empty())
            return RuleError(where + ".regex", "must be a non-empty string");
        c.pattern = j["regex"].get<std::string>();
        if (c.pattern.size() > kMaxRegexLength)
            return RuleError(where + ".regex",
                             "is longer than " + std::to_string(kMaxRegexLength) + " characters");
        bool caseSensitive = false;
        for (const auto& [k, val] : j.items()) {
            if (k == "regex") continue;
            if (k != "case_sensitive" || !val.is_boolean())
                return RuleError(where + "." + k,
                                 "only case_sensitive (true or false) may go with regex");
            caseSensitive = val.get<bool>();
        }
        RE2::Options o;
        o.set_case_sensitive(caseSensitive);
        o.set_log_errors(false);
        o.set_max_mem(8 << 20);
        auto re = std::make_shared<RE2>(c.pattern, o);
        if (!re->ok()) return RuleError(where + ".regex", re->error());
        c.regex = std::move(re);
    } else if (key == "mentions_at_least") {
        c.kind = Condition::Kind::kMentions;
        if (!v.is_number_integer() || v.get<long long>() < 1 || v.get<long long>() > 1000)
            return RuleError(at, "must be a whole number from 1 to 1000");
        c.mentionsAtLeast = v.get<int>();
    } else if (key == "team_or_channel_mention") {
        c.kind = Condition::Kind::kMentions;
        if (!v.is_boolean() || !v.get<bool>()) return RuleError(at, "must be true");
        c.teamOrChannelMention = true;
    } else if (key == "link_domains") {
        c.kind = Condition::Kind::kLinkDomains;
        if (!v.is_object()) return RuleError(at, "must be an object with allow and/or deny");
        for (const auto& [k, list] : v.items()) {
            if (k != "allow" && k != "deny") return RuleError(at + "." + k, "unknown key");
            if (auto e = StringList(list, at + "." + k,
                                    k == "allow" ? c.allowDomains : c.denyDomains, true))
                return e;
        }
        if (c.allowDomains.empty() && c.denyDomains.empty())
            return RuleError(at, "needs allow or deny");
    } else if (key == "attachment_types") {
        c.kind = Condition::Kind::kAttachmentTypes;
        if (auto e = StringList(v, at, c.attachmentTypes, true)) return e;
        if (c.attachmentTypes.empty()) return RuleError(at, "must not be empty");
    } else if (key == "surge") {
        c.kind = Condition::Kind::kSurge;
        if (!v.is_object()) return RuleError(at, "must be an object");
        for (const auto& [k, val] : v.items()) {
            std::string kat = at + "." + k;
            if (k == "per") {
                if (val != "author" && val != "channel")
                    return RuleError(kat, "must be \"author\" or \"channel\"");
                c.surgePerAuthor = val == "author";
            } else if (k == "window_minutes" || k == "baseline_hours" || k == "factor") {
                if (!val.is_number() || val.get<double>() <= 0 || val.get<double>() > 10000)
                    return RuleError(kat, "must be a positive number");
                (k == "window_minutes" ? c.windowMinutes
                 : k == "factor"       ? c.factor
                                       : c.baselineHours) = val.get<double>();
            } else if (k == "min_count") {
                if (!val.is_number_integer() || val.get<long long>() < 1)
                    return RuleError(kat, "must be a whole number, at least 1");
                c.minCount = val.get<int>();
            } else {
                return RuleError(kat, "unknown key");
            }
        }
        if (c.baselineHours > SurgeTracker::kHorizonHours)
            return RuleError(at + ".baseline_hours",
                             "must be at most " + std::to_string(SurgeTracker::kHorizonHours));
        if (c.baselineHours * 60 <= c.windowMinutes)
            return RuleError(at + ".baseline_hours", "must be longer than the window");
    } else if (key == "all" || key == "any") {
        c.kind = key == "all" ? Condition::Kind::kAll : Condition::Kind::kAny;
        if (!v.is_array() || v.empty())
            return RuleError(at, "must be a non-empty list of conditions");
        for (size_t i = 0; i < v.size(); ++i) {
            Condition child;
            if (auto e = ParseCondition(v[i], at + "[" + std::to_string(i) + "]", child, depth + 1))
                return e;
            c.children.push_back(std::move(child));
        }
    } else if (key == "not") {
        c.kind = Condition::Kind::kNot;
        Condition child;
        if (auto e = ParseCondition(v, at, child, depth + 1)) return e;
        c.children.push_back(std::move(child));
    } else {
        return RuleError(at, "unknown condition");
    }
    return std::nullopt;
}

bool DomainMatches(const std::string& domain, const std::string& pattern) {
    return domain == pattern || (domain.size() > pattern.size() && domain.ends_with(pattern) &&
                                 domain[domain.size() - pattern.size() - 1] == '.');
}

struct EvalContext {
    const RuleInput& in;
    std::optional<FoldedText> folded;
    std::optional<std::vector<std::string>> domains;
    const FoldedText& Folded() {
        if (!folded) folded.emplace(in.text);
        return *folded;
    }
    const std::vector<std::string>& Domains() {
        if (!domains) {
            domains = LinkDomains(in.message->body.content);
            for (const auto& d : LinkDomains(in.text))
                if (std::find(domains->begin(), domains->end(), d) == domains->end())
                    domains->push_back(d);
        }
        return *domains;
    }
};

bool Eval(const Condition& c, EvalContext& ctx, RuleHit& hit) {
    const CompactMessage& m = *ctx.in.message;
    switch (c.kind) {
        case Condition::Kind::kKeywords: {
            size_t before = hit.terms.size();
            for (const auto& k : c.keywords) ctx.Folded().Find(k, hit.terms);
            if (hit.terms.size() == before) return false;
            hit.reason += (hit.reason.empty() ? "" : "; ") + std::string("keyword \"") +
                          hit.terms[before].term + "\"";
            return true;
        }
        case Condition::Kind::kRegex: {
            re2::StringPiece text(ctx.in.text.data(), ctx.in.text.size());
            size_t pos = 0;
            int found = 0;
            re2::StringPiece m0;
            while (pos <= text.size() && found < 32 &&
                   c.regex->Match(text, pos, text.size(), RE2::UNANCHORED, &m0, 1)) {
                size_t b = static_cast<size_t>(m0.data() - text.data());
                size_t e = b + m0.size();
                hit.terms.push_back({b, e, c.pattern});
                ++found;
                pos = e > b ? e : e + 1;
            }
            if (!found) return false;
            hit.reason +=
                (hit.reason.empty() ? "" : "; ") + std::string("pattern /") + c.pattern + "/";
            return true;
        }
        case Condition::Kind::kMentions: {
            if (c.teamOrChannelMention) {
                for (const auto& mn : m.Mentions())
                    if (mn.mentioned && mn.mentioned->conversation) {
                        hit.reason += (hit.reason.empty() ? "" : "; ") +
                                      std::string("mentions a whole team or channel");
                        return true;
                    }
                return false;
            }
            if (static_cast<int>(m.Mentions().size()) < c.mentionsAtLeast) return false;
            hit.reason += (hit.reason.empty() ? "" : "; ") + std::to_string(m.Mentions().size()) +
                          " mentions";
            return true;
        }
        case Condition::Kind::kLinkDomains: {
            for (const auto& d : ctx.Domains()) {
                bool denied =
                    std::any_of(c.denyDomains.begin(), c.denyDomains.end(),
                                [&](const std::string& p) { return DomainMatches(d, p); });
                bool notAllowed =
                    !c.allowDomains.empty() &&
                    std::none_of(c.allowDomains.begin(), c.allowDomains.end(),
                                 [&](const std::string& p) { return DomainMatches(d, p); });
                if (denied || notAllowed) {
                    hit.reason += (hit.reason.empty() ? "" : "; ") + std::string("link to ") + d;
                    // Highlight where the domain appears in the text, if it does.
                    ctx.Folded().Find(Keyword::Parse("*" + d + "*"), hit.terms, 4);
                    return true;
                }
            }
            return false;
        }
        case Condition::Kind::kAttachmentTypes: {
            for (const auto& a : m.Attachments()) {
                std::string type = Lower(a.contentType),
                            name = Lower(a.name.empty() ? a.contentUrl : a.name);
                for (const auto& t : c.attachmentTypes)
                    if ((t.front() == '.' && name.ends_with(t)) || type == t) {
                        hit.reason += (hit.reason.empty() ? "" : "; ") +
                                      std::string("attachment ") +
                                      (a.name.empty() ? a.contentType : a.name);
                        return true;
                    }
            }
            return false;
        }
        case Condition::Kind::kSurge: {
            if (!ctx.in.surge) return false;
            std::string key = c.surgePerAuthor ? "a:" + m.From().Id() : "c:" + ctx.in.channelId;
            UnixMillis at = m.createdDateTime;
            auto window = static_cast<UnixMillis>(c.windowMinutes * 60000);
            auto baseline = static_cast<UnixMillis>(c.baselineHours * 3600000);
            // The usual rate is measured over what has been seen of the baseline, and only
            // once at least an hour (or the whole baseline, if shorter) has been seen: with
            // no history, "usual" is unknown, not zero.
            UnixMillis since = std::max(at - baseline, ctx.in.surge->ObservedSince());
            UnixMillis span = (at - window + 1) - since;
            if (span < std::min<UnixMillis>(baseline - window, 3600000)) return false;
            int now = ctx.in.surge->Count(key, at - window + 1, at + 1);
            int before = ctx.in.surge->Count(key, since, at - window + 1);
            double perWindow = before / (static_cast<double>(span) / static_cast<double>(window));
            if (now < c.minCount || now < c.factor * perWindow) return false;
            char buf[160];
            std::snprintf(buf, sizeof buf, "%d messages %s in %.0f min (usual %.1f)", now,
                          c.surgePerAuthor ? "by this author" : "in this channel", c.windowMinutes,
                          perWindow);
            hit.reason += (hit.reason.empty() ? "" : "; ") + std::string(buf);
            return true;
        }
        case Condition::Kind::kAll: {
            RuleHit sub;
            for (const auto& ch : c.children)
                if (!Eval(ch, ctx, sub)) return false;
            hit.terms.insert(hit.terms.end(), sub.terms.begin(), sub.terms.end());
            hit.reason += (hit.reason.empty() ? "" : "; ") + sub.reason;
            return true;
        }
        case Condition::Kind::kAny: {
            bool any = false;
            for (const auto& ch : c.children) any = Eval(ch, ctx, hit) || any;
            return any;
        }
        case Condition::Kind::kNot: {
            RuleHit discard;
            return !Eval(c.children.front(), ctx, discard);
        }
    }
    return false;
}

}  // namespace

int SeverityRank(const std::string& s) {
    return s == "low" ? 1 : s == "medium" ? 2 : s == "high" ? 3 : s == "critical" ? 4 : 0;
}

Result<RulePack> ParseRulePack(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return RuleError("the pack", "is not a JSON object");
    RulePack pack;
    pack.name = "rules";
    if (j.contains("name")) {
        if (!j["name"].is_string()) return RuleError("name", "must be a string");
        pack.name = j["name"].get<std::string>();
    }
    if (j.contains("version")) {
        if (!j["version"].is_number_integer() || j["version"].get<long long>() < 1 ||
            j["version"].get<long long>() > 1000000000)
            return RuleError("version", "must be a whole number, at least 1");
        pack.version = j["version"].get<int>();
    }
    if (!j.contains("rules") || !j["rules"].is_array()) return RuleError("rules", "must be a list");
    for (size_t i = 0; i < j["rules"].size(); ++i) {
        const json& r = j["rules"][i];
        std::string where = "rules[" + std::to_string(i) + "]";
        if (!r.is_object()) return RuleError(where, "must be an object");
        Rule rule;
        if (!r.contains("id") || !r["id"].is_string() ||
            r["id"].get_ref<const std::string&>().empty())
            return RuleError(where + ".id", "is required");
        rule.id = r["id"].get<std::string>();
        where = "rule \"" + rule.id + "\"";
        for (const auto& other : pack.rules)
            if (other.id == rule.id) return RuleError(where, "the id is used twice");
        for (const auto& [k, v] : r.items()) {
            if (k == "id") continue;
            if (k == "name") {
                if (!v.is_string()) return RuleError(where + ".name", "must be a string");
                rule.name = v.get<std::string>();
            } else if (k == "severity") {
                if (!v.is_string() || SeverityRank(v.get<std::string>()) == 0)
                    return RuleError(where + ".severity", "must be low, medium, high or critical");
                rule.severity = v.get<std::string>();
            } else if (k == "enabled") {
                if (!v.is_boolean()) return RuleError(where + ".enabled", "must be true or false");
                rule.enabled = v.get<bool>();
            } else if (k == "exempt_users" || k == "exempt_channels") {
                if (auto e = StringList(
                        v, where + "." + k,
                        k == "exempt_users" ? rule.exemptUsers : rule.exemptChannels, false))
                    return *e;
            } else if (k == "when") {
                if (auto e = ParseCondition(v, where + ".when", rule.when, 0)) return *e;
            } else {
                return RuleError(where + "." + k, "unknown key");
            }
        }
        if (!r.contains("when")) return RuleError(where + ".when", "is required");
        if (rule.name.empty()) rule.name = rule.id;
        pack.rules.push_back(std::move(rule));
    }
    return pack;
}

bool SurgeTracker::Add(const std::string& messageId, const std::string& authorId,
                       const std::string& channelId, UnixMillis at) {
    std::lock_guard lock(m_mutex);
    int64_t minute = at / 60000;
    if (minute < m_newestMinute - int64_t{kHorizonHours} * 60) return false;  // too old to matter
    if (!m_seen.emplace(std::hash<std::string>{}(messageId), minute).second) return false;
    auto bump = [minute](std::deque<std::pair<int64_t, int>>& d) {
        if (!d.empty() && d.back().first == minute) {
            d.back().second++;
            return;
        }
        auto pos = std::lower_bound(d.begin(), d.end(), std::pair<int64_t, int>{minute, 0});
        if (pos != d.end() && pos->first == minute)
            pos->second++;
        else
            d.insert(pos, {minute, 1});
    };
    if (!authorId.empty()) bump(m_perMinute["a:" + authorId]);
    bump(m_perMinute["c:" + channelId]);
    if (minute > m_newestMinute) m_newestMinute = minute;
    if (m_oldestMinute == 0 || minute < m_oldestMinute) m_oldestMinute = minute;
    if (m_newestMinute - m_prunedAt >= 60) Prune(m_newestMinute);
    return true;
}

void SurgeTracker::Prune(int64_t newestMinute) {
    m_prunedAt = newestMinute;
    int64_t cutoff = newestMinute - int64_t{kHorizonHours} * 60;
    for (auto it = m_perMinute.begin(); it != m_perMinute.end();) {
        auto& d = it->second;
        while (!d.empty() && d.front().first < cutoff) d.pop_front();
        it = d.empty() ? m_perMinute.erase(it) : std::next(it);
    }
    for (auto it = m_seen.begin(); it != m_seen.end();)
        it = it->second < cutoff ? m_seen.erase(it) : std::next(it);
    m_oldestMinute = 0;
    for (const auto& [k, d] : m_perMinute)
        if (!d.empty() && (m_oldestMinute == 0 || d.front().first < m_oldestMinute))
            m_oldestMinute = d.front().first;
}

int SurgeTracker::Count(const std::string& key, UnixMillis from, UnixMillis to) const {
    std::lock_guard lock(m_mutex);
    auto it = m_perMinute.find(key);
    if (it == m_perMinute.end()) return 0;
    int n = 0;
    // Whole minutes: a message counts in the minute it was created.
    const auto& d = it->second;
    for (auto m = std::lower_bound(d.begin(), d.end(), std::pair<int64_t, int>{from / 60000, 0});
         m != d.end() && m->first * 60000 < to; ++m)
        n += m->second;
    return n;
}

UnixMillis SurgeTracker::ObservedSince() const {
    std::lock_guard lock(m_mutex);
    return m_oldestMinute * 60000;
}

bool EvaluateRule(const Rule& rule, const RuleInput& in, RuleHit& hit) {
    if (!in.message) return false;
    const std::string author = in.message->From().Id();
    if (std::find(rule.exemptUsers.begin(), rule.exemptUsers.end(), author) !=
        rule.exemptUsers.end())
        return false;
    if (std::find(rule.exemptChannels.begin(), rule.exemptChannels.end(), in.channelId) !=
        rule.exemptChannels.end())
        return false;
    EvalContext ctx{in, std::nullopt, std::nullopt};
    hit = RuleHit{rule.id, rule.name, rule.severity, {}, {}};
    if (!Eval(rule.when, ctx, hit)) return false;
    std::sort(hit.terms.begin(), hit.terms.end(),
              [](const TextMatch& a, const TextMatch& b) { return a.begin < b.begin; });
    return true;
}

std::vector<RuleHit> Evaluate(const RulePack& pack, const RuleInput& in) {
    std::vector<RuleHit> hits;
    for (const auto& r : pack.rules) {
        if (!r.enabled) continue;
        RuleHit h;
        if (EvaluateRule(r, in, h)) hits.push_back(std::move(h));
    }
    return hits;
}

std::vector<std::string> LinkDomains(std::string_view s) {
    std::vector<std::string> out;
    std::string lower(s.size(), '\0');
    for (size_t i = 0; i < s.size(); ++i)
        lower[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    for (const char* scheme : {"http://", "https://"}) {
        size_t len = std::char_traits<char>::length(scheme);
        for (size_t p = lower.find(scheme); p != std::string::npos; p = lower.find(scheme, p + 1)) {
            size_t b = p + len, e = b;
            while (e < lower.size() &&
                   std::string_view("/:?#\"' <>\\\n\t&").find(lower[e]) == std::string_view::npos)
                ++e;
            std::string host = lower.substr(b, e - b);
            if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);
            while (!host.empty() && host.back() == '.') host.pop_back();
            if (!host.empty() && std::find(out.begin(), out.end(), host) == out.end())
                out.push_back(host);
        }
    }
    return out;
}

}  // namespace cdeck::core
