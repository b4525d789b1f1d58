// Store and persistence figures (issue 5): ingest (parse + merge + publish) and merge
// alone in messages/s on one core, publish cost at 1M stored messages, bytes per stored
// message beyond its text, and start-up from a 1M-message database to the first populated
// snapshot. Prints medians; asserts nothing.
//   bench_store [--quick] [--messages N]
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "model/parse.hpp"
#include "model/serialize.hpp"
#include "persist/persister.hpp"
#include "store/store.hpp"
#include "bench_util.hpp"

using namespace cdeck::core;
namespace bench = cdeck::bench;
using Clock = std::chrono::steady_clock;

namespace {

using bench::Median;

ChatMessage Make(int channel, long i, UnixMillis base) {
    return bench::MakeMessage(channel, i, base + i * 50);
}

std::string PageJson(int channel, long from, int n, UnixMillis base) {
    nlohmann::json page;
    page["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#messages";
    nlohmann::json value = nlohmann::json::array();
    for (int k = 0; k < n; ++k) value.push_back(ToJson(Make(channel, from + k, base)));
    page["value"] = std::move(value);
    return page.dump();
}

void Seed(Store& s, int channels) {
    s.UpsertTeams({Team{"team", "Bench", "", "", "", false}});
    std::vector<Channel> cs;
    for (int c = 0; c < channels; ++c) {
        Channel ch;
        ch.id = "19:channel" + std::to_string(c);
        ch.displayName = "Channel " + std::to_string(c);
        cs.push_back(ch);
    }
    s.UpsertChannels("team", cs);
}

}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    long total = 1000000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--quick")
            quick = true;
        else if (a == "--messages" && i + 1 < argc)
            total = std::atol(argv[++i]);
    }
    if (quick) total = 100000;
    const int channels = 500;
    const UnixMillis base = NowMillis() - 30LL * 86400000;

    // ---- ingest: parse Graph JSON pages, merge, publish ----
    {
        const int pages = quick ? 200 : 1000;
        std::vector<std::string> bodies;
        for (int p = 0; p < pages; ++p) bodies.push_back(PageJson(p % 50, p * 50L, 50, base));
        std::vector<double> full, mergeOnly;
        for (int run = 0; run < 3; ++run) {
            Store s;
            Seed(s, 50);
            auto t0 = Clock::now();
            for (int p = 0; p < pages; ++p) {
                auto page = ParseMessagePage(bodies[p]);
                s.MergeMessages("19:channel" + std::to_string(p % 50), std::move(page->items),
                                false);
            }
            full.push_back(pages * 50.0 / std::chrono::duration<double>(Clock::now() - t0).count());

            // Merge alone: pre-parsed, pre-converted rows (Store::Prepare, which the sync
            // workers run outside the writer lock) into the merge proper, publish included.
            Store m;
            Seed(m, 50);
            std::vector<std::vector<StoredMessagePtr>> prepared;
            for (int p = 0; p < pages; ++p)
                prepared.push_back(Store::Prepare(ParseMessagePage(bodies[p])->items));
            t0 = Clock::now();
            for (int p = 0; p < pages; ++p)
                m.MergePrepared("19:channel" + std::to_string(p % 50), std::move(prepared[p]),
                                false);
            mergeOnly.push_back(pages * 50.0 /
                                std::chrono::duration<double>(Clock::now() - t0).count());
        }
        std::printf("ingest, one core (%d pages of 50):\n", pages);
        std::printf("  parse + merge + publish: %10.0f msgs/s (median of 3)\n", Median(full));
        std::printf(
            "  merge + publish alone:   %10.0f msgs/s (median of 3; rows already converted)\n",
            Median(mergeOnly));
    }

    // ---- 1M messages: memory per message, publish cost ----
    char tmpl[] = "/tmp/bench-store-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string dbPath = dir + "/bench.db";
    {
        long perChannel = total / channels;
        auto db = Database::Open(dbPath);
        if (!db) {
            std::fprintf(stderr, "%s\n", db.error().message.c_str());
            return 1;
        }
        // The database is filled through the real write-behind path, channel by channel.
        {
            Store w;
            Persister p(std::move(db.value()), PersistOptions{100000, 2000});
            w.SetObserver(&p);
            p.Start();
            Seed(w, channels);
            auto t0 = Clock::now();
            for (int c = 0; c < channels; ++c) {
                std::vector<ChatMessage> batch;
                for (long i = 0; i < perChannel; ++i)
                    batch.push_back(Make(c, c * perChannel + i, base));
                w.MergeMessages("19:channel" + std::to_string(c), std::move(batch), true);
                p.Flush(std::chrono::minutes(10));  // keep the queue (and RSS) small
            }
            std::printf("\npersisted %ld messages through the write-behind thread in %.1f s\n",
                        perChannel * channels,
                        std::chrono::duration<double>(Clock::now() - t0).count());
            p.Stop();
            w.SetObserver(nullptr);
        }
        // Heap bytes in use (mallinfo2), not RSS: the writer above freed memory the
        // allocator keeps, which would hide the store's own growth.
        const double heap0 = static_cast<double>(mallinfo2().uordblks);
        Store s;
        Seed(s, channels);
        for (int c = 0; c < channels; ++c) {
            std::vector<ChatMessage> batch;
            for (long i = 0; i < perChannel; ++i) {
                batch.push_back(Make(c, c * perChannel + i, base));
            }
            s.MergeMessages("19:channel" + std::to_string(c), std::move(batch), true);
        }
        const double heap1 = static_cast<double>(mallinfo2().uordblks);
        auto snap = s.Current();
        // Stored text = the Graph body kept verbatim + its plain-text conversion + preview.
        size_t stored = 0;
        for (const auto& [id, c] : snap->channels)
            for (const auto& m : c->messages)
                stored += m->message.body.content.size() + m->text.text.size() + m->preview.size();
        double perMessage = (heap1 - heap0 - static_cast<double>(stored)) /
                            static_cast<double>(snap->totalMessages);
        std::printf(
            "memory: %llu messages, heap +%.0f MiB, %.0f bytes per message beyond its text (%.0f "
            "with it)\n",
            static_cast<unsigned long long>(snap->totalMessages), (heap1 - heap0) / 1048576.0,
            perMessage, (heap1 - heap0) / static_cast<double>(snap->totalMessages));
        std::vector<double> publishUs, mergeOneUs;
        for (int i = 0; i < 50; ++i) {
            auto t0 = Clock::now();
            s.UpdateSyncStatus([&](SyncStatus& st) { st.requests = static_cast<uint64_t>(i); });
            publishUs.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
            t0 = Clock::now();
            s.MergeMessages("19:channel" + std::to_string(i % channels),
                            {Make(i % channels, total + i, base + 40LL * 86400000)}, true);
            mergeOneUs.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        }
        std::printf(
            "publish at %llu messages: %.0f us (status only), %.0f us (one new message into a "
            "%ld-message channel); medians of 50\n",
            static_cast<unsigned long long>(snap->totalMessages), Median(publishUs),
            Median(mergeOneUs), perChannel);
    }

    // ---- start-up: database -> first populated snapshot ----
    // As the app does it: each channel's newest 50 roots first, the rest after.
    {
        constexpr size_t kFirst = 50;
        std::vector<double> first, all, whole;
        size_t firstCount = 0, allCount = 0;
        for (int run = 0; run < (quick ? 1 : 3); ++run) {
            auto t0 = Clock::now();
            Store s;
            Persister p(std::move(Database::Open(dbPath).value()));
            (void)p.LoadInto(s, kFirst);
            first.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            firstCount = s.Current()->totalMessages;
            (void)p.LoadOlderInto(s, kFirst);
            all.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
            allCount = s.Current()->totalMessages;
            // For comparison: everything in one pass.
            auto t1 = Clock::now();
            Store s2;
            Persister p2(std::move(Database::Open(dbPath).value()));
            (void)p2.LoadInto(s2);
            whole.push_back(std::chrono::duration<double>(Clock::now() - t1).count());
        }
        std::printf("\nstart-up from a %zu-message database (medians of %zu):\n", allCount,
                    first.size());
        std::printf(
            "  first populated snapshot (newest 50 roots per channel, %zu messages): %.2f s\n",
            firstCount, Median(first));
        std::printf("  whole history loaded behind it: %.2f s\n", Median(all));
        std::printf("  whole history in one pass (no progressive loading): %.2f s\n",
                    Median(whole));
    }
    std::filesystem::remove_all(dir);
    return 0;
}
