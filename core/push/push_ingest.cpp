#include "push/push_ingest.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "model/parse.hpp"
#include "util/log.hpp"
#include "util/time.hpp"

namespace cdeck::core {

PushIngest::PushIngest(PushQueue& queue, Store& store, std::shared_ptr<GraphClient> client,
                       Lifecycle lifecycle)
    : m_queue(queue),
      m_store(store),
      m_client(std::move(client)),
      m_lifecycle(std::move(lifecycle)) {}

PushIngest::~PushIngest() {
    Stop();
}

void PushIngest::Start() {
    m_thread = std::thread([this] { Loop(); });
}

void PushIngest::Stop() {
    m_stop = true;
    if (m_thread.joinable()) m_thread.join();
}

void PushIngest::Loop() {
    while (!m_stop) {
        std::vector<PushItem> items;
        PushItem item;
        if (!m_queue.Pop(item, 200)) continue;
        items.push_back(std::move(item));
        while (items.size() < 500 && m_queue.Pop(item, 0)) items.push_back(std::move(item));
        Ingest(std::move(items));
    }
}

std::optional<ChatMessage> PushIngest::MessageOf(const PushItem& item) {
    if (item.kind == PushItem::Kind::kMessage) {
        auto j = ParseJson(item.json);
        auto m = j ? ParseChatMessage(j.value()) : Result<ChatMessage>(j.error());
        if (m) return std::move(m.value());
        std::lock_guard lock(m_mutex);
        ++m_figures.parseErrors;
        return std::nullopt;
    }
    const MessageResource& w = item.where;
    auto m = w.replyId.empty() ? m_client->GetMessage(w.teamId, w.channelId, w.rootId)
                               : m_client->GetReply(w.teamId, w.channelId, w.rootId, w.replyId);
    std::lock_guard lock(m_mutex);
    if (!m) {
        ++m_figures.fetchErrors;
        return std::nullopt;
    }
    ++m_figures.messagesFetched;
    return std::move(m.value());
}

StoredMessagePtr PushIngest::AsMergeable(ChatMessage m, const PushItem& item) {
    if (!m.IsReply()) return Store::MakeStored(std::move(m));
    {
        SnapshotPtr snap = m_store.Current();
        if (const ChannelData* cd = snap->FindChannel(item.where.channelId))
            for (auto it = cd->messages.rbegin(); it != cd->messages.rend(); ++it)
                if ((*it)->message.id == m.replyToId) {
                    std::vector<ChatMessage> reply;
                    reply.push_back(std::move(m));
                    return Store::WithReplies(**it, std::move(reply));
                }
    }
    // A reply to a thread we do not hold: fetch its root first.
    auto r = m_client->GetMessage(item.where.teamId, item.where.channelId, m.replyToId);
    {
        std::lock_guard lock(m_mutex);  // the figures only; the conversion runs unlocked
        if (!r) {
            ++m_figures.fetchErrors;
            return nullptr;
        }
        ++m_figures.rootsFetched;
    }
    ChatMessage root = std::move(r.value());
    root.replies.clear();
    root.repliesNextLink.clear();
    root.replies.push_back(std::move(m));
    return Store::MakeStored(std::move(root));
}

void PushIngest::Ingest(std::vector<PushItem> items) {
    std::map<std::string, std::vector<StoredMessagePtr>> byChannel;
    std::vector<UnixMillis> created;  // of "created" notifications: freshness at merge
    {
        std::lock_guard lock(m_mutex);
        m_figures.items += items.size();
    }
    SnapshotPtr snap = m_store.Current();
    for (auto& item : items) {
        if (item.kind == PushItem::Kind::kLifecycle) {
            m_lifecycle(item.subscriptionId, item.lifecycleEvent);
            continue;
        }
        if (!snap->FindChannel(item.where.channelId)) {
            std::lock_guard lock(m_mutex);
            ++m_figures.unknownChannels;
            continue;
        }
        auto m = MessageOf(item);
        if (!m) continue;
        if (item.changeType == "created" && m->createdDateTime > 0)
            created.push_back(m->createdDateTime);
        auto mergeable = AsMergeable(std::move(*m), item);
        if (mergeable) byChannel[item.where.channelId].push_back(std::move(mergeable));
    }
    for (auto& [channel, msgs] : byChannel) {
        size_t n = msgs.size();
        size_t changed = m_store.MergePrepared(channel, std::move(msgs), false, true);
        std::lock_guard lock(m_mutex);
        m_figures.merged += n;
        m_figures.changed += changed;
    }
    NoteFreshness(created);
}

void PushIngest::NoteFreshness(const std::vector<UnixMillis>& arrived) {
    UnixMillis now = NowMillis();
    std::lock_guard lock(m_mutex);
    for (UnixMillis created : arrived) {
        double s = static_cast<double>(now - created) / 1000.0;
        if (m_freshness.size() < 4096)
            m_freshness.push_back(s);
        else
            m_freshness[m_freshNext++ % m_freshness.size()] = s;
    }
}

PushIngest::Figures PushIngest::GetFigures() const {
    std::lock_guard lock(m_mutex);
    Figures f = m_figures;
    if (!m_freshness.empty()) {
        std::vector<double> v = m_freshness;
        auto at = [&](double q) {
            size_t k =
                std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
            std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
            return v[k];
        };
        f.freshnessP50 = at(0.5);
        f.freshnessP95 = at(0.95);
    }
    return f;
}

}  // namespace cdeck::core
