#pragma once
// The operating system behind one small interface (PORTABILITY.md's table): folders,
// owner-only files, opening a URL, the stop signal, TLS trust, UTF-8 paths, fonts, sockets.
// os_posix.cpp serves Linux and macOS, os_win32.cpp Windows; nothing else in core/ or app/
// may use #ifdef _WIN32 or a POSIX-only call (tests/security/boundaries.py checks it).
//
// Strings are UTF-8 everywhere; on Windows they become UTF-16 only inside this layer.
//
// Threads: every function may be called from any thread. StopSignal is process-wide and
// installed once, from main(), before other threads start.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace cdeck::core::os {

// --- Paths and folders ---------------------------------------------------------------------

// UTF-8 text to a path and back (std::filesystem would use the ANSI code page on Windows).
std::filesystem::path PathFromUtf8(std::string_view utf8);
std::string PathToUtf8(const std::filesystem::path& path);

// The environment variable as UTF-8, or "" when unset.
std::string GetEnv(const char* name);

// Per-user folders for configuration and state (without the "channeldeck" part):
// Linux $XDG_CONFIG_HOME / $XDG_STATE_HOME (or ~/.config, ~/.local/state); Windows
// %APPDATA% / %LOCALAPPDATA%; macOS ~/Library/Application Support for both.
std::string UserConfigDir();
std::string UserStateDir();

// The folder holding the running executable ("" when it cannot be found).
std::string ExecutableDir();

// The assets folder: $CDECK_ASSETS, else an "assets" folder next to the executable (the
// Windows archive), else `builtIn` (the source tree's, compiled in).
std::string AssetsDir(const std::string& builtIn);

// Folders where the system keeps fonts, most likely first.
std::vector<std::string> SystemFontDirs();

// --- Time --------------------------------------------------------------------------------

// Broken-down UTC time of `t` (gmtime_r / gmtime_s), and its inverse (timegm / _mkgmtime).
std::tm UtcTime(std::time_t t);
std::time_t FromUtcTime(std::tm tm);

// --- Owner-only files (tokens, the database, private keys, configuration) -----------------

// Writes bytes to path atomically (a temporary file, flushed, then renamed over it) so that
// only the current user can read it: mode 0600 on POSIX, an ACL granting the owner alone
// (no inherited entries) on Windows. Creates the parent folder.
Status WriteOwnerOnlyFile(const std::string& path, std::string_view bytes);

// Restricts an existing file to its owner (as above). Missing files are an error.
Status RestrictToOwner(const std::string& path);

// Whether anyone but the owner (and, on Windows, SYSTEM and Administrators) may read the
// file. Fills `who` with a short description of the first other reader found.
Result<bool> OthersCanRead(const std::string& path, std::string* who = nullptr);

// What owner-only files are created with: "0600" on POSIX; on Windows the security
// descriptor in SDDL ("O:<you>D:P(A;;FA;;;<you>)": you own it, the list is protected from
// inheritance, one entry grants you full control).
std::string OwnerOnlyDescriptorText();

// The command a user runs to make a file owner-only ("chmod 600 PATH" or icacls).
std::string OwnerOnlyCommand(const std::string& path);

// An exclusive advisory lock on a file, held while the object lives.
class FileLock {
  public:
    static Result<FileLock> Acquire(const std::string& path);
    FileLock(FileLock&& o) noexcept;
    FileLock& operator=(FileLock&& o) noexcept;
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock();

  private:
    FileLock() = default;
    intptr_t m_handle = -1;
};

// --- Processes ------------------------------------------------------------------------------

// Opens a URL in the user's browser (xdg-open, ShellExecuteW, open). Returns once started.
Status OpenUrl(const std::string& url);

// The current process id.
uint64_t ProcessId();

// This machine's host name ("" when unknown).
std::string HostName();

// The end of a windowed process, after main()'s own objects are gone (the database closed,
// every thread of ours joined): returns `code` on POSIX. On Windows it flushes the C streams
// and ends the process at once, before DLL teardown: GL drivers' worker threads (llvmpipe's
// under Wine) were seen to crash there, in driver code, about one exit in four.
int FinishProcess(int code);

// Hands memory the allocator keeps after frees back to the system (glibc's malloc_trim).
void ReleaseFreeMemory();

// SIGTERM and SIGINT on POSIX, the console control events on Windows. Install() once, first
// thing in main(): on POSIX the signals are then blocked in every thread and taken by one
// watcher thread, so `onStop` never runs inside a signal handler. `onStop` gets the name of
// the signal and may be called more than once.
class StopSignal {
  public:
    using Handler = std::function<void(const char* signal)>;
    // `onReload` (SIGHUP; none on Windows) is optional.
    explicit StopSignal(Handler onStop, Handler onReload = {});
    ~StopSignal();
    StopSignal(const StopSignal&) = delete;
    StopSignal& operator=(const StopSignal&) = delete;

  private:
    struct Impl;
    Impl* m_impl;
};

// --- TLS trust ------------------------------------------------------------------------------

// True where curl should take the operating system's certificate store for servers without
// a configured CA file (Windows: CURLSSLOPT_NATIVE_CA); false where curl's built-in CA
// bundle is the system's (Linux, macOS).
bool UseNativeCaStore();

// --- Loopback TCP (the sign-in redirect and the metrics endpoint) ---------------------------

// A connected or listening TCP socket; closed when the object dies.
class Socket {
  public:
    Socket() = default;
    Socket(Socket&& o) noexcept;
    Socket& operator=(Socket&& o) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket();

    // Listens on IPv4 address:port (port 0 picks one). `reuse` sets SO_REUSEADDR. Errors:
    // kConfig when `address` is not an IPv4 address, else kIo with the system's reason.
    static Result<Socket> Listen(const std::string& address, uint16_t port, int backlog,
                                 bool reuse);
    bool valid() const { return m_fd != kInvalid; }
    uint16_t LocalPort() const;
    // Waits up to `timeout` for a connection (or data on a connected socket).
    bool WaitReadable(std::chrono::milliseconds timeout) const;
    Socket Accept() const;  // invalid on failure
    // Bytes read (0 at end of stream, -1 on error).
    long Receive(char* buf, size_t len) const;
    // Sends all of `data`; false on error (a closed peer never raises a signal).
    bool SendAll(std::string_view data) const;
    void Close();

  private:
    static constexpr intptr_t kInvalid = -1;
    explicit Socket(intptr_t fd) : m_fd(fd) {}
    long SendSome(const char* data, size_t len) const;  // -1 on error
    intptr_t m_fd = kInvalid;
};

// Waits up to `timeout` until a raw socket handle (libpq's, say) is readable. kClosed: the
// peer hung up or the socket failed (what is left may still be read).
enum class Readiness { kTimeout, kReadable, kClosed };
Readiness WaitSocket(intptr_t socket, std::chrono::milliseconds timeout);

// The last socket or system error as text.
std::string LastErrorText();

}  // namespace cdeck::core::os
