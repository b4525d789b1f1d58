// Crash safety: a child writes continuously and is killed with SIGKILL at random points,
// 20 times. After each kill the database opens, passes PRAGMA integrity_check, and holds
// every message and draft the child had seen committed.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>

#include "persist/database.hpp"
#include "support/test_util.hpp"

extern char** environ;

TEST_CASE("SIGKILL during a burst of writes loses no committed row, 20 times") {
    cdeck::test::TempDir dir;
    std::string path = (dir.path / "crash.db").string();
    std::mt19937 rng(20261126);
    long next = 0;
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        int out[2];
        REQUIRE(pipe(out) == 0);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        std::string startArg = std::to_string(next);
        const char* argv[] = {CDECK_PERSIST_WRITER, path.c_str(), startArg.c_str(), nullptr};
        pid_t pid;
        REQUIRE(posix_spawn(&pid, CDECK_PERSIST_WRITER, &fa, nullptr,
                            const_cast<char* const*>(argv), environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        close(out[1]);
        // Wait for the child's first commit (a slow machine may take a while to open the
        // database), then kill it at a random point of its write burst.
        std::string text;
        char buf[4096];
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (text.find("C ") == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            pollfd p{out[0], POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                ssize_t got = read(out[0], buf, sizeof buf);
                if (got <= 0) break;
                text.append(buf, static_cast<size_t>(got));
            }
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(20, 400)(rng)));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        ssize_t n;
        while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
        close(out[0]);
        long committed = -1;
        size_t pos = text.rfind("C ");
        if (pos != std::string::npos) committed = std::atol(text.c_str() + pos + 2);
        REQUIRE_MESSAGE(committed >= next, "the writer committed nothing before the kill");

        auto db = cdeck::core::Database::Open(path);
        REQUIRE_MESSAGE(db.ok(), cdeck::test::ErrText(db));
        auto check = db.value()->Prepare("PRAGMA integrity_check");
        REQUIRE(check.ok());
        REQUIRE(check->Step());
        CHECK(check->Text(0) == "ok");
        for (auto [table, prefix] : {std::pair{"messages", "m"}, std::pair{"drafts", "d"}}) {
            std::string sql =
                std::string("SELECT count(*) FROM ") + table +
                (std::string(table) == "messages" ? " WHERE id = ?1" : " WHERE key = ?1");
            auto q = db.value()->Prepare(sql);
            REQUIRE(q.ok());
            for (long i = 0; i <= committed; i += std::max(1L, committed / 200)) {
                q->Reset();
                q->Bind(1, prefix + std::to_string(i));
                REQUIRE(q->Step());
                CHECK_MESSAGE(q->Int(0) == 1, table << " lost " << prefix << i);
            }
            q->Reset();
            q->Bind(1, prefix + std::to_string(committed));
            REQUIRE(q->Step());
            CHECK(q->Int(0) == 1);
        }
        // The next child continues after everything this one may have written.
        auto max = db.value()->Prepare("SELECT count(*) FROM drafts");
        REQUIRE(max->Step());
        next = std::max(committed + 1, max->Int(0));
    }
    CHECK(next > 20);
}
