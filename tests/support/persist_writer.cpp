// Child process for the crash-safety test: writes messages and drafts through the
// persister as fast as it can and prints "C <n>" to stdout once message n and draft n
// are committed. The test kills it with SIGKILL at a random moment.
//   persist_writer DB_PATH START_INDEX
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include "persist/persister.hpp"

using namespace cdeck::core;

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    auto db = Database::Open(argv[1]);
    if (!db) {
        std::fprintf(stderr, "%s\n", db.error().message.c_str());
        return 1;
    }
    long start = std::atol(argv[2]);
    Persister p(std::move(db.value()), PersistOptions{20000, 50});
    std::mutex m;
    std::map<uint64_t, long> seqToIndex;  // the draft's seq (enqueued after its message) -> index
    p.SetCommitObserver([&](uint64_t committed) {
        long best = -1;
        {
            std::lock_guard lock(m);
            while (!seqToIndex.empty() && seqToIndex.begin()->first <= committed) {
                best = seqToIndex.begin()->second;
                seqToIndex.erase(seqToIndex.begin());
            }
        }
        if (best >= 0) {
            std::printf("C %ld\n", best);
            std::fflush(stdout);
        }
    });
    p.Start();
    for (long i = start;; ++i) {
        auto sm = std::make_shared<StoredMessage>();
        sm->message.id = "m" + std::to_string(i);
        sm->message.createdDateTime = 1700000000000LL + i;
        sm->message.body.content = "message " + std::to_string(i);
        p.OnMessages("crash-channel", {sm});
        uint64_t seq = p.SaveDraft({"d" + std::to_string(i), "t", "crash-channel", "", "",
                                    "draft " + std::to_string(i), 0});
        {
            std::lock_guard lock(m);
            seqToIndex[seq] = i;
        }
        if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}
