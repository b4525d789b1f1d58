// The platform layer on Windows (os.hpp). UTF-8 outside, UTF-16 at every Windows API.
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
// winsock2.h first: it must precede windows.h.
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shellapi.h>
#include <shlobj.h>

#include <malloc.h>

#include <cstdio>
#include <memory>
#include <mutex>

#include "platform/os.hpp"

namespace cdeck::core::os {
namespace {

std::wstring Wide(std::string_view utf8) {
    if (utf8.empty()) return {};
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
    std::wstring out(static_cast<size_t>(n), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
    return out;
}

std::string Utf8(std::wstring_view wide) {
    if (wide.empty()) return {};
    int n = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), nullptr, 0,
                                nullptr, nullptr);
    std::string out(static_cast<size_t>(n), '\0');
    WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), out.data(), n,
                        nullptr, nullptr);
    return out;
}

std::string ErrorText(DWORD code) {
    wchar_t* buf = nullptr;
    DWORD n = FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, code, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
    std::string text = n ? Utf8(std::wstring_view(buf, n)) : "error " + std::to_string(code);
    if (buf) LocalFree(buf);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

Error IoError(const std::string& what, DWORD code = GetLastError()) {
    return MakeError(ErrorCode::kIo, what + ": " + ErrorText(code));
}

std::string KnownFolder(REFKNOWNFOLDERID id, const char* envFallback) {
    wchar_t* p = nullptr;
    std::string out;
    if (SHGetKnownFolderPath(id, 0, nullptr, &p) == S_OK) out = Utf8(p);
    CoTaskMemFree(p);
    return out.empty() ? GetEnv(envFallback) : out;
}

// The current user's SID (owned by the returned buffer).
std::unique_ptr<BYTE[]> CurrentUserSid() {
    HANDLE token = nullptr;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return nullptr;
    DWORD size = 0;
    GetTokenInformation(token, TokenUser, nullptr, 0, &size);
    auto buf = std::make_unique<BYTE[]>(size);
    bool ok = GetTokenInformation(token, TokenUser, buf.get(), size, &size);
    CloseHandle(token);
    return ok ? std::move(buf) : nullptr;
}

PSID SidOf(const std::unique_ptr<BYTE[]>& tokenUser) {
    return reinterpret_cast<TOKEN_USER*>(tokenUser.get())->User.Sid;
}

// A DACL with one entry, full control for `sid`, and nothing inherited.
struct OwnerOnlyAcl {
    std::unique_ptr<BYTE[]> user = CurrentUserSid();
    std::unique_ptr<BYTE[]> aclBuf;
    SECURITY_DESCRIPTOR sd{};
    SECURITY_ATTRIBUTES sa{};
    PACL acl = nullptr;

    bool Build() {
        if (!user) return false;
        PSID sid = SidOf(user);
        DWORD size = sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + GetLengthSid(sid);
        aclBuf = std::make_unique<BYTE[]>(size);
        acl = reinterpret_cast<PACL>(aclBuf.get());
        if (!InitializeAcl(acl, size, ACL_REVISION) ||
            !AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, sid) ||
            !InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION) ||
            !SetSecurityDescriptorDacl(&sd, TRUE, acl, FALSE) ||
            !SetSecurityDescriptorOwner(&sd, sid, FALSE) ||
            !SetSecurityDescriptorControl(&sd, SE_DACL_PROTECTED, SE_DACL_PROTECTED))
            return false;
        sa.nLength = sizeof sa;
        sa.lpSecurityDescriptor = &sd;
        sa.bInheritHandle = FALSE;
        return true;
    }
};

bool IsWellKnown(PSID sid, WELL_KNOWN_SID_TYPE type) {
    BYTE buf[SECURITY_MAX_SID_SIZE];
    DWORD size = sizeof buf;
    return CreateWellKnownSid(type, nullptr, buf, &size) && EqualSid(sid, buf);
}

std::string AccountName(PSID sid) {
    wchar_t name[256], domain[256];
    DWORD n = 256, d = 256;
    SID_NAME_USE use;
    if (LookupAccountSidW(nullptr, sid, name, &n, domain, &d, &use)) return Utf8(name);
    wchar_t* text = nullptr;
    std::string out = "an unknown account";
    if (ConvertSidToStringSidW(sid, &text)) out = Utf8(text);
    LocalFree(text);
    return out;
}

void StartWinsock() {
    static std::once_flag once;
    std::call_once(once, [] {
        WSADATA data;
        WSAStartup(MAKEWORD(2, 2), &data);
    });
}

}  // namespace

std::string GetEnv(const char* name) {
    const wchar_t* v = _wgetenv(Wide(name).c_str());
    return v ? Utf8(v) : "";
}

std::tm UtcTime(std::time_t t) {
    std::tm tm{};
    gmtime_s(&tm, &t);
    return tm;
}

std::time_t FromUtcTime(std::tm tm) {
    return _mkgmtime(&tm);
}

std::string UserConfigDir() {
    return KnownFolder(FOLDERID_RoamingAppData, "APPDATA");
}

std::string UserStateDir() {
    return KnownFolder(FOLDERID_LocalAppData, "LOCALAPPDATA");
}

std::string ExecutableDir() {
    std::wstring buf(32768, L'\0');
    DWORD n = GetModuleFileNameW(nullptr, buf.data(), static_cast<DWORD>(buf.size()));
    if (n == 0 || n >= buf.size()) return "";
    buf.resize(n);
    return PathToUtf8(std::filesystem::path(buf).parent_path());
}

std::vector<std::string> SystemFontDirs() {
    std::vector<std::string> dirs;
    std::string fonts = KnownFolder(FOLDERID_Fonts, "");
    if (fonts.empty()) fonts = GetEnv("WINDIR") + "\\Fonts";
    dirs.push_back(fonts);
    std::string local = UserStateDir();
    if (!local.empty()) dirs.push_back(local + "\\Microsoft\\Windows\\Fonts");
    return dirs;
}

Status WriteOwnerOnlyFile(const std::string& path, std::string_view bytes) {
    std::error_code ec;
    std::filesystem::create_directories(PathFromUtf8(path).parent_path(), ec);
    OwnerOnlyAcl acl;
    if (!acl.Build()) return IoError("cannot build an owner-only access list for " + path);
    std::string tmp = path + ".tmp." + std::to_string(ProcessId());  // one per process
    HANDLE h = CreateFileW(Wide(tmp).c_str(), GENERIC_WRITE | WRITE_DAC, 0, &acl.sa, CREATE_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) return IoError("cannot write " + tmp);
    // An existing temporary file keeps its old list: set it again.
    DWORD err = SetSecurityInfo(h, SE_FILE_OBJECT,
                                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                                nullptr, nullptr, acl.acl, nullptr);
    size_t off = 0;
    while (err == ERROR_SUCCESS && off < bytes.size()) {
        DWORD chunk = static_cast<DWORD>(std::min<size_t>(bytes.size() - off, 1u << 30)), wrote = 0;
        if (!WriteFile(h, bytes.data() + off, chunk, &wrote, nullptr) || wrote == 0)
            err = GetLastError();
        off += wrote;
    }
    if (err == ERROR_SUCCESS && !FlushFileBuffers(h)) err = GetLastError();
    CloseHandle(h);
    if (err == ERROR_SUCCESS && !MoveFileExW(Wide(tmp).c_str(), Wide(path).c_str(),
                                             MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        err = GetLastError();
    if (err != ERROR_SUCCESS) {
        DeleteFileW(Wide(tmp).c_str());
        return IoError("cannot write " + path, err);
    }
    return OkStatus();
}

Status RestrictToOwner(const std::string& path) {
    OwnerOnlyAcl acl;
    if (!acl.Build()) return IoError("cannot build an owner-only access list for " + path);
    std::wstring w = Wide(path);
    DWORD err = SetNamedSecurityInfoW(
        w.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
        nullptr, nullptr, acl.acl, nullptr);
    if (err != ERROR_SUCCESS) return IoError("cannot restrict " + path, err);
    return OkStatus();
}

Result<bool> OthersCanRead(const std::string& path, std::string* who) {
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR sd = nullptr;
    std::wstring w = Wide(path);
    DWORD err = GetNamedSecurityInfoW(w.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                      nullptr, &dacl, nullptr, &sd);
    if (err != ERROR_SUCCESS) return IoError("cannot read the access list of " + path, err);
    std::unique_ptr<void, decltype(&LocalFree)> hold(sd, &LocalFree);
    if (!dacl) {
        if (who) *who = "everyone (the file has no access list)";
        return true;
    }
    auto user = CurrentUserSid();
    const ACCESS_MASK readish = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;
    for (DWORD i = 0; i < dacl->AceCount; ++i) {
        ACE_HEADER* ace = nullptr;
        if (!GetAce(dacl, i, reinterpret_cast<void**>(&ace)) ||
            ace->AceType != ACCESS_ALLOWED_ACE_TYPE)
            continue;
        auto* allowed = reinterpret_cast<ACCESS_ALLOWED_ACE*>(ace);
        PSID sid = &allowed->SidStart;
        if (!(allowed->Mask & readish)) continue;
        if ((user && EqualSid(sid, SidOf(user))) || IsWellKnown(sid, WinLocalSystemSid) ||
            IsWellKnown(sid, WinBuiltinAdministratorsSid))
            continue;
        if (who) *who = AccountName(sid);
        return true;
    }
    if (who) who->clear();
    return false;
}

std::string OwnerOnlyDescriptorText() {
    OwnerOnlyAcl acl;
    wchar_t* text = nullptr;
    if (!acl.Build() || !ConvertSecurityDescriptorToStringSecurityDescriptorW(
                            &acl.sd, SDDL_REVISION_1,
                            OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text, nullptr))
        return "";
    std::string out = Utf8(text);
    LocalFree(text);
    return out;
}

std::string OwnerOnlyCommand(const std::string& path) {
    return "icacls \"" + path + "\" /inheritance:r /grant:r \"%USERNAME%\":F";
}

Result<FileLock> FileLock::Acquire(const std::string& path) {
    HANDLE h = CreateFileW(Wide(path).c_str(), GENERIC_READ | GENERIC_WRITE,
                           FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) return IoError("cannot open lock " + path);
    OVERLAPPED ov{};
    if (!LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov)) {
        Error e = IoError("cannot lock " + path);
        CloseHandle(h);
        return e;
    }
    FileLock lock;
    lock.m_handle = reinterpret_cast<intptr_t>(h);
    return lock;
}

FileLock::~FileLock() {
    if (m_handle != -1) CloseHandle(reinterpret_cast<HANDLE>(m_handle));  // releases the lock
}

Status OpenUrl(const std::string& url) {
    auto r = reinterpret_cast<intptr_t>(
        ShellExecuteW(nullptr, L"open", Wide(url).c_str(), nullptr, nullptr, SW_SHOWNORMAL));
    if (r <= 32)
        return MakeError(ErrorCode::kIo,
                         "cannot open the browser (ShellExecute " + std::to_string(r) + ")");
    return OkStatus();
}

uint64_t ProcessId() {
    return GetCurrentProcessId();
}

std::string HostName() {
    wchar_t buf[256];
    DWORD n = 256;
    if (!GetComputerNameExW(ComputerNameDnsHostname, buf, &n)) return "";
    return Utf8(std::wstring_view(buf, n));
}

int FinishProcess(int code) {
    std::fflush(nullptr);
    TerminateProcess(GetCurrentProcess(), static_cast<UINT>(code));
    return code;  // not reached
}

void ReleaseFreeMemory() {
    _heapmin();
}

// Console control events arrive on a thread Windows starts for them, not in a signal
// handler, so the handler is called directly (under a lock, so the StopSignal cannot go away
// during the call). For console close, log-off and shutdown Windows ends the process when
// the handler returns, so the handler waits (under Windows' 5-second grace) until main() has
// finished its orderly shutdown and destroyed the StopSignal.
struct StopSignal::Impl {
    Handler onStop;
    static std::mutex& Lock() {
        static std::mutex lock;
        return lock;
    }
    static Impl*& Current() {
        static Impl* current = nullptr;
        return current;
    }
    static bool Deliver(const char* what) {
        std::lock_guard hold(Lock());
        if (!Current()) return false;
        Current()->onStop(what);
        return true;
    }
    static void AwaitShutdown() {
        for (int waited = 0; waited < 4500; waited += 50) {
            {
                std::lock_guard hold(Lock());
                if (!Current()) return;
            }
            Sleep(50);
        }
    }
    static BOOL WINAPI OnEvent(DWORD type) {
        switch (type) {
            case CTRL_C_EVENT:
                return Deliver("Ctrl+C");
            case CTRL_BREAK_EVENT:
                return Deliver("Ctrl+Break");
            case CTRL_CLOSE_EVENT:
            case CTRL_LOGOFF_EVENT:
            case CTRL_SHUTDOWN_EVENT:
                if (!Deliver(type == CTRL_CLOSE_EVENT ? "console closed" : "shutdown"))
                    return FALSE;
                AwaitShutdown();
                return TRUE;
            default:
                return FALSE;
        }
    }
};

StopSignal::StopSignal(Handler onStop, Handler) : m_impl(new Impl) {
    m_impl->onStop = std::move(onStop);
    {
        std::lock_guard hold(Impl::Lock());
        Impl::Current() = m_impl;
    }
    SetConsoleCtrlHandler(&Impl::OnEvent, TRUE);
}

StopSignal::~StopSignal() {
    SetConsoleCtrlHandler(&Impl::OnEvent, FALSE);
    {
        std::lock_guard hold(Impl::Lock());
        Impl::Current() = nullptr;
    }
    delete m_impl;
}

bool UseNativeCaStore() {
    return true;
}

// --- sockets --------------------------------------------------------------------------------

Result<Socket> Socket::Listen(const std::string& address, uint16_t port, int backlog, bool reuse) {
    StartWinsock();
    in_addr bindTo{};
    if (InetPtonA(AF_INET, address.c_str(), &bindTo) != 1)
        return MakeError(ErrorCode::kConfig, "not an IPv4 address: " + address);
    SOCKET fd = ::socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (fd == INVALID_SOCKET) return MakeError(ErrorCode::kIo, ErrorText(WSAGetLastError()));
    Socket s(static_cast<intptr_t>(fd));
    // SO_REUSEADDR on Windows lets another process steal the port; exclusive use instead.
    BOOL on = TRUE;
    if (!reuse)
        ::setsockopt(fd, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<char*>(&on), sizeof on);
    SetHandleInformation(reinterpret_cast<HANDLE>(fd), HANDLE_FLAG_INHERIT, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr = bindTo;
    addr.sin_port = htons(port);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, backlog) != 0)
        return MakeError(ErrorCode::kIo, ErrorText(WSAGetLastError()));
    return s;
}

uint16_t Socket::LocalPort() const {
    sockaddr_in addr{};
    int len = sizeof addr;
    if (::getsockname(static_cast<SOCKET>(m_fd), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return 0;
    return ntohs(addr.sin_port);
}

Socket Socket::Accept() const {
    SOCKET c = ::accept(static_cast<SOCKET>(m_fd), nullptr, nullptr);
    if (c == INVALID_SOCKET) return Socket();
    SetHandleInformation(reinterpret_cast<HANDLE>(c), HANDLE_FLAG_INHERIT, 0);
    return Socket(static_cast<intptr_t>(c));
}

long Socket::Receive(char* buf, size_t len) const {
    int n =
        ::recv(static_cast<SOCKET>(m_fd), buf, static_cast<int>(std::min<size_t>(len, 1 << 30)), 0);
    return n == SOCKET_ERROR ? -1 : n;
}

long Socket::SendSome(const char* data, size_t len) const {
    int n = ::send(static_cast<SOCKET>(m_fd), data,
                   static_cast<int>(std::min<size_t>(len, 1 << 30)), 0);
    return n == SOCKET_ERROR ? -1 : n;
}

void Socket::Close() {
    if (m_fd != kInvalid) ::closesocket(static_cast<SOCKET>(m_fd));
    m_fd = kInvalid;
}

Readiness WaitSocket(intptr_t socket, std::chrono::milliseconds timeout) {
    WSAPOLLFD p{static_cast<SOCKET>(socket), POLLRDNORM, 0};
    int r = WSAPoll(&p, 1, static_cast<INT>(timeout.count()));
    if (r <= 0) return Readiness::kTimeout;
    return (p.revents & (POLLHUP | POLLERR | POLLNVAL)) ? Readiness::kClosed : Readiness::kReadable;
}

std::string LastErrorText() {
    return ErrorText(GetLastError());
}

}  // namespace cdeck::core::os
