// The platform layer on Linux and macOS (os.hpp). macOS differs only where marked.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <thread>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "platform/os.hpp"

extern char** environ;

namespace cdeck::core::os {
namespace {

std::string Home() {
    std::string home = GetEnv("HOME");
    return home.empty() ? "/tmp" : home;
}

std::string XdgOr(const char* var, const char* fallbackUnderHome) {
#ifdef __APPLE__
    (void)var;
    (void)fallbackUnderHome;
    return Home() + "/Library/Application Support";
#else
    std::string x = GetEnv(var);
    return x.empty() ? Home() + fallbackUnderHome : x;
#endif
}

Error IoError(const std::string& what) {
    return MakeError(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

std::string GetEnv(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

std::tm UtcTime(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm;
}

std::time_t FromUtcTime(std::tm tm) {
    return timegm(&tm);
}

std::string UserConfigDir() {
    return XdgOr("XDG_CONFIG_HOME", "/.config");
}

std::string UserStateDir() {
    return XdgOr("XDG_STATE_HOME", "/.local/state");
}

std::string ExecutableDir() {
    std::string exe;
#ifdef __APPLE__
    char buf[PATH_MAX];
    uint32_t size = sizeof buf;
    if (_NSGetExecutablePath(buf, &size) == 0) exe = buf;
#else
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0) exe.assign(buf, static_cast<size_t>(n));
#endif
    if (exe.empty()) return "";
    return PathToUtf8(PathFromUtf8(exe).parent_path());
}

std::vector<std::string> SystemFontDirs() {
#ifdef __APPLE__
    return {"/System/Library/Fonts", "/Library/Fonts", Home() + "/Library/Fonts"};
#else
    std::string data = GetEnv("XDG_DATA_HOME");
    if (data.empty()) data = Home() + "/.local/share";
    return {"/usr/share/fonts", "/usr/local/share/fonts", data + "/fonts"};
#endif
}

Status WriteOwnerOnlyFile(const std::string& path, std::string_view bytes) {
    std::error_code ec;
    std::filesystem::create_directories(PathFromUtf8(path).parent_path(), ec);
    std::string tmp = path + ".tmp." + std::to_string(ProcessId());  // one per process
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot write " + tmp);
    ::fchmod(fd, 0600);  // whatever the umask says
    size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            Error e = IoError("cannot write " + tmp);
            ::close(fd);
            ::unlink(tmp.c_str());
            return e;
        }
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
        Error e = IoError("cannot replace " + path);
        ::unlink(tmp.c_str());
        return e;
    }
    return OkStatus();
}

Status RestrictToOwner(const std::string& path) {
    if (::chmod(path.c_str(), 0600) != 0) return IoError("cannot restrict " + path);
    return OkStatus();
}

Result<bool> OthersCanRead(const std::string& path, std::string* who) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return IoError("cannot read " + path);
    if (who)
        *who = (st.st_mode & S_IROTH) ? "other users" : (st.st_mode & S_IRGRP) ? "its group" : "";
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

std::string OwnerOnlyDescriptorText() {
    return "0600";
}

std::string OwnerOnlyCommand(const std::string& path) {
    return "chmod 600 " + path;
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot open lock " + path);
    if (::flock(fd, LOCK_EX) != 0) {
        Error e = IoError("cannot lock " + path);
        ::close(fd);
        return e;
    }
    FileLock lock;
    lock.m_handle = fd;
    return lock;
}

FileLock::~FileLock() {
    if (m_handle >= 0) ::close(static_cast<int>(m_handle));  // releases the lock
}

Status OpenUrl(const std::string& url) {
#ifdef __APPLE__
    const char* opener = "open";
#else
    const char* opener = "xdg-open";
#endif
    pid_t pid;
    const char* argv[] = {opener, url.c_str(), nullptr};
    if (posix_spawnp(&pid, opener, nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
        return MakeError(ErrorCode::kIo, std::string("cannot start ") + opener);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return MakeError(ErrorCode::kIo, std::string(opener) + " could not open the browser");
    return OkStatus();
}

uint64_t ProcessId() {
    return static_cast<uint64_t>(::getpid());
}

std::string HostName() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return "";
    return host;
}

int FinishProcess(int code) {
    return code;
}

void ReleaseFreeMemory() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

// The signals are blocked in every thread (the mask is inherited, which is why this is built
// first in main()) and taken by one thread with sigwait; SIGUSR1, sent to that thread alone,
// ends it.
struct StopSignal::Impl {
    sigset_t set;
    std::thread thread;
    Handler onStop, onReload;
};

StopSignal::StopSignal(Handler onStop, Handler onReload) : m_impl(new Impl) {
    m_impl->onStop = std::move(onStop);
    m_impl->onReload = std::move(onReload);
    sigemptyset(&m_impl->set);
    for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&m_impl->set, s);
    if (m_impl->onReload) sigaddset(&m_impl->set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &m_impl->set, nullptr);
    m_impl->thread = std::thread([impl = m_impl] {
        for (int sig = 0; sigwait(&impl->set, &sig) == 0 && sig != SIGUSR1;) {
            if (sig == SIGHUP)
                impl->onReload("SIGHUP");
            else
                impl->onStop(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        }
    });
}

StopSignal::~StopSignal() {
    pthread_kill(m_impl->thread.native_handle(), SIGUSR1);
    m_impl->thread.join();
    delete m_impl;
}

bool UseNativeCaStore() {
    return false;
}

// --- sockets --------------------------------------------------------------------------------

Result<Socket> Socket::Listen(const std::string& address, uint16_t port, int backlog, bool reuse) {
    in_addr bindTo{};
    if (::inet_pton(AF_INET, address.c_str(), &bindTo) != 1)
        return MakeError(ErrorCode::kConfig, "not an IPv4 address: " + address);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return MakeError(ErrorCode::kIo, std::strerror(errno));
    Socket s(fd);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    int one = 1;
    if (reuse) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#ifdef __APPLE__
    ::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr = bindTo;
    addr.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, backlog) != 0)
        return MakeError(ErrorCode::kIo, std::strerror(errno));
    return s;
}

uint16_t Socket::LocalPort() const {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(static_cast<int>(m_fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return 0;
    return ntohs(addr.sin_port);
}

Socket Socket::Accept() const {
    int c = ::accept(static_cast<int>(m_fd), nullptr, nullptr);
    if (c < 0) return Socket();
    ::fcntl(c, F_SETFD, FD_CLOEXEC);
#ifdef __APPLE__
    int one = 1;
    ::setsockopt(c, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return Socket(c);
}

long Socket::Receive(char* buf, size_t len) const {
    ssize_t n;
    do n = ::recv(static_cast<int>(m_fd), buf, len, 0);
    while (n < 0 && errno == EINTR);
    return static_cast<long>(n);
}

long Socket::SendSome(const char* data, size_t len) const {
#ifdef __APPLE__
    const int flags = 0;  // SO_NOSIGPIPE is set on the socket
#else
    const int flags = MSG_NOSIGNAL;
#endif
    ssize_t n;
    do n = ::send(static_cast<int>(m_fd), data, len, flags);
    while (n < 0 && errno == EINTR);
    return static_cast<long>(n);
}

void Socket::Close() {
    if (m_fd != kInvalid) ::close(static_cast<int>(m_fd));
    m_fd = kInvalid;
}

Readiness WaitSocket(intptr_t socket, std::chrono::milliseconds timeout) {
    pollfd p{static_cast<int>(socket), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return Readiness::kTimeout;
    return (p.revents & (POLLHUP | POLLERR | POLLNVAL)) ? Readiness::kClosed : Readiness::kReadable;
}

std::string LastErrorText() {
    return std::strerror(errno);
}

}  // namespace cdeck::core::os
