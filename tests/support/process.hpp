#pragma once
// Child processes for tests and benchmarks: channeldeck-node and graphsim run as real
// processes so that faults (SIGKILL, SIGSTOP, a skewed clock) hit them as they would in
// production. Header-only; POSIX.
//
// Threads: call from the test's main thread (fork() in a threaded process is safe here
// because the child only redirects its output and execs).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace cdeck::test {

// Starts `args[0]` with `args`, stdout and stderr into the files, and `env` ("NAME=value")
// added to this process's environment. Returns the child's pid (-1 when fork failed).
inline pid_t SpawnProcess(const std::vector<std::string>& args, const std::string& out,
                          const std::string& err, const std::vector<std::string>& env = {}) {
    std::fflush(stdout);  // or the child's freopen writes our buffer out again
    std::fflush(stderr);
    pid_t pid = ::fork();
    if (pid == 0) {
        FILE* o = std::freopen(out.c_str(), "w", stdout);
        FILE* e = std::freopen(err.c_str(), "w", stderr);
        (void)o;
        (void)e;
        for (const auto& kv : env) {
            size_t eq = kv.find('=');
            if (eq != std::string::npos)
                ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
        }
        std::vector<char*> argv;
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// Sends `sig` and waits for the child; returns its exit status as waitpid gives it.
inline int StopProcess(pid_t pid, int sig = SIGTERM) {
    if (pid <= 0) return -1;
    ::kill(pid, sig);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

// True while the child runs (it has not exited; a stopped child counts as running).
inline bool ProcessAlive(pid_t pid) {
    if (pid <= 0) return false;
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == 0;
}

// User plus system CPU seconds the process has used so far.
inline double ProcessCpuSeconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), {});
    size_t close = s.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream rest(s.substr(close + 2));
    std::string f;
    double ut = 0, st = 0;
    for (int i = 3; i <= 15 && rest >> f; ++i) {
        if (i == 14) ut = std::stod(f);
        if (i == 15) st = std::stod(f);
    }
    return (ut + st) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace cdeck::test
