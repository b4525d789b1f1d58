#include "model/packed.hpp"

#include <cstdint>

#include "model/intern.hpp"

namespace cdeck::core {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kPolicyFlag = 1, kHtmlFlag = 2;
constexpr size_t kMaxItems = 1 << 16;  // attachments, mentions, reactions, fields per message

class Writer {
  public:
    void U(uint64_t v) {
        while (v >= 0x80) {
            out.push_back(static_cast<char>((v & 0x7F) | 0x80));
            v >>= 7;
        }
        out.push_back(static_cast<char>(v));
    }
    void I(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
    void B(uint8_t v) { out.push_back(static_cast<char>(v)); }
    void S(std::string_view s) {
        U(s.size());
        out.append(s);
    }
    void T(const OptMillis& t) {
        B(t.has_value() ? 1 : 0);
        if (t) I(*t);
    }
    void Set(const IdentitySet* s) {
        const std::optional<Identity>* ids[] = {
            s ? &s->user : nullptr, s ? &s->application : nullptr, s ? &s->device : nullptr,
            s ? &s->conversation : nullptr};
        uint8_t bits = 0;
        for (int i = 0; i < 4; ++i)
            if (ids[i] && ids[i]->has_value()) bits |= static_cast<uint8_t>(1 << i);
        B(bits);
        for (int i = 0; i < 4; ++i) {
            if (!(bits & (1 << i))) continue;
            const Identity& id = **ids[i];
            S(id.id);
            S(id.displayName);
            S(id.userIdentityType);
            S(id.tenantId);
        }
    }
    std::string out;
};

class Reader {
  public:
    explicit Reader(std::string_view in) : m_in(in) {}
    bool U(uint64_t& v) {
        v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_at >= m_in.size()) return false;
            auto c = static_cast<uint8_t>(m_in[m_at++]);
            v |= static_cast<uint64_t>(c & 0x7F) << shift;
            if (!(c & 0x80)) return true;
        }
        return false;
    }
    bool I(int64_t& v) {
        uint64_t u;
        if (!U(u)) return false;
        v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
        return true;
    }
    bool B(uint8_t& v) {
        if (m_at >= m_in.size()) return false;
        v = static_cast<uint8_t>(m_in[m_at++]);
        return true;
    }
    bool S(std::string& s) {
        uint64_t n;
        if (!U(n) || n > m_in.size() - m_at) return false;
        s.assign(m_in.data() + m_at, n);
        m_at += n;
        return true;
    }
    bool T(OptMillis& t) {
        uint8_t present;
        int64_t v = 0;
        if (!B(present) || present > 1 || (present && !I(v))) return false;
        t = present ? OptMillis(v) : OptMillis();
        return true;
    }
    bool Count(size_t& n) {
        uint64_t v;
        if (!U(v) || v > kMaxItems) return false;
        n = static_cast<size_t>(v);
        return true;
    }
    bool Set(const IdentitySet*& out) {
        uint8_t bits;
        if (!B(bits) || bits > 0x0F) return false;
        IdentitySet s;
        std::optional<Identity>* ids[] = {&s.user, &s.application, &s.device, &s.conversation};
        for (int i = 0; i < 4; ++i) {
            if (!(bits & (1 << i))) continue;
            Identity id;
            if (!S(id.id) || !S(id.displayName) || !S(id.userIdentityType) || !S(id.tenantId))
                return false;
            *ids[i] = std::move(id);
        }
        out = InternIdentitySet(s);
        return true;
    }
    bool Done() const { return m_at == m_in.size(); }

  private:
    std::string_view m_in;
    size_t m_at = 0;
};

void PackExtras(Writer& w, const MessageExtras* x) {
    static const MessageExtras none;
    if (!x) x = &none;
    w.U(x->fields.size());
    for (const auto& [field, text] : x->fields) {
        w.B(static_cast<uint8_t>(field));
        w.S(text);
    }
    w.U(x->attachments.size());
    for (const auto& a : x->attachments)
        for (const std::string* s : {&a.id, &a.contentType, &a.contentUrl, &a.content, &a.name,
                                     &a.thumbnailUrl, &a.teamsAppId})
            w.S(*s);
    w.U(x->mentions.size());
    for (const auto& m : x->mentions) {
        w.I(m.id);
        w.S(m.mentionText);
        w.Set(m.mentioned);
    }
    w.U(x->reactions.size());
    for (const auto& r : x->reactions) {
        w.S(r.reactionType);
        w.S(r.displayName);
        w.T(r.createdDateTime);
        w.Set(r.user);
    }
}

bool UnpackExtras(Reader& r, MessageExtras& x) {
    size_t n;
    if (!r.Count(n)) return false;
    for (size_t i = 0; i < n; ++i) {
        uint8_t field;
        std::string text;
        if (!r.B(field) || field > static_cast<uint8_t>(MessageExtras::Field::kWebUrl) ||
            !r.S(text))
            return false;
        x.fields.emplace_back(static_cast<MessageExtras::Field>(field), std::move(text));
    }
    if (!r.Count(n)) return false;
    x.attachments.resize(n);
    for (auto& a : x.attachments)
        for (std::string* s : {&a.id, &a.contentType, &a.contentUrl, &a.content, &a.name,
                               &a.thumbnailUrl, &a.teamsAppId})
            if (!r.S(*s)) return false;
    if (!r.Count(n)) return false;
    x.mentions.resize(n);
    for (auto& m : x.mentions) {
        int64_t id;
        if (!r.I(id) || id < INT32_MIN || id > INT32_MAX || !r.S(m.mentionText) ||
            !r.Set(m.mentioned))
            return false;
        m.id = static_cast<int>(id);
    }
    if (!r.Count(n)) return false;
    x.reactions.resize(n);
    for (auto& re : x.reactions)
        if (!r.S(re.reactionType) || !r.S(re.displayName) || !r.T(re.createdDateTime) ||
            !r.Set(re.user))
            return false;
    return true;
}

// The template interned again; past the pool's cap the expanded URL is kept verbatim.
void RestoreUrl(CompactMessage& m, const std::string& shape, MessageExtras& x) {
    if (shape.empty()) return;
    if ((m.urlTemplate = InternSharedText(shape))) return;
    m.urlTemplate = &shape;
    std::string url = m.WebUrl();
    m.urlTemplate = nullptr;
    x.fields.emplace_back(MessageExtras::Field::kWebUrl, std::move(url));
}

Error Damaged() {
    return MakeError(ErrorCode::kParse, "stored message: damaged or unknown encoding");
}

}  // namespace

std::string PackMessage(const CompactMessage& m) {
    Writer w;
    w.out.reserve(64 + m.id.size() * 3 + m.body.content.size());
    w.B(kVersion);
    w.S(m.id);
    w.S(m.replyToId);
    w.S(m.etag);
    w.I(m.createdDateTime);
    w.T(m.lastModifiedDateTime);
    w.T(m.lastEditedDateTime);
    w.T(m.deletedDateTime);
    w.B(static_cast<uint8_t>(m.kind));
    w.B(static_cast<uint8_t>(m.importance));
    w.B(static_cast<uint8_t>((m.hasPolicyViolation ? kPolicyFlag : 0) | (m.html ? kHtmlFlag : 0)));
    w.S(m.body.content);
    w.Set(m.from);
    w.B(m.channelIdentity ? 1 : 0);
    if (m.channelIdentity) {
        w.S(m.channelIdentity->teamId);
        w.S(m.channelIdentity->channelId);
    }
    w.S(m.urlTemplate ? std::string_view(*m.urlTemplate) : std::string_view());
    PackExtras(w, m.extras.get());
    return std::move(w.out);
}

Result<CompactMessage> UnpackMessage(std::string_view bytes) {
    Reader r(bytes);
    CompactMessage m;
    uint8_t version, kind, importance, flags, hasChannel;
    if (!r.B(version) || version != kVersion) return Damaged();
    if (!r.S(m.id) || !r.S(m.replyToId) || !r.S(m.etag) || !r.I(m.createdDateTime) ||
        !r.T(m.lastModifiedDateTime) || !r.T(m.lastEditedDateTime) || !r.T(m.deletedDateTime) ||
        !r.B(kind) || kind > static_cast<uint8_t>(MessageKind::kOther) || !r.B(importance) ||
        importance > static_cast<uint8_t>(ImportanceKind::kOther) || !r.B(flags) || flags > 3 ||
        !r.S(m.body.content) || !r.Set(m.from) || !r.B(hasChannel) || hasChannel > 1)
        return Damaged();
    m.kind = static_cast<MessageKind>(kind);
    m.importance = static_cast<ImportanceKind>(importance);
    m.hasPolicyViolation = flags & kPolicyFlag;
    m.html = flags & kHtmlFlag;
    if (hasChannel) {
        ChannelIdentity c;
        if (!r.S(c.teamId) || !r.S(c.channelId)) return Damaged();
        m.channelIdentity = InternChannelIdentity(c);
    }
    std::string shape;
    auto x = std::make_unique<MessageExtras>();
    if (!r.S(shape) || !UnpackExtras(r, *x) || !r.Done() || m.id.empty()) return Damaged();
    RestoreUrl(m, shape, *x);
    if (!x->Empty()) m.extras = ExtrasPtr(std::move(x));
    return m;
}

}  // namespace cdeck::core
