#pragma once
// Reads a file's protection back from the operating system, independently of the platform
// layer: on POSIX the mode must be exactly 0600; on Windows the access list (read with
// GetNamedSecurityInfoW) must be protected from inheritance and allow the current user
// alone. Also makes a file readable by everyone, for the warning tests.
// Threads: any thread.
#include <string>

#ifdef _WIN32
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <memory>
#include <vector>
#else
#include <sys/stat.h>
#endif

namespace cdeck::test {

#ifdef _WIN32
inline std::wstring WidePath(const std::string& utf8) {
    int n = MultiByteToWideChar(CP_UTF8, 0, utf8.c_str(), -1, nullptr, 0);
    std::wstring w(static_cast<size_t>(n), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, utf8.c_str(), -1, w.data(), n);
    w.resize(static_cast<size_t>(n > 0 ? n - 1 : 0));
    return w;
}

// Wine derives a file's access list from its Unix mode bits and keeps no list of its own,
// so under Wine the list read back is not the one written (README "Windows and macOS").
inline bool UnderWine() {
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != nullptr;
}

// The process's TOKEN_USER (the current user's SID inside).
inline std::vector<BYTE> CurrentUserToken() {
    HANDLE token = nullptr;
    OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token);
    DWORD size = 0;
    GetTokenInformation(token, TokenUser, nullptr, 0, &size);
    std::vector<BYTE> user(size);
    GetTokenInformation(token, TokenUser, user.data(), size, &size);
    CloseHandle(token);
    return user;
}

inline std::string CurrentUserSidText() {
    std::vector<BYTE> user = CurrentUserToken();
    char* text = nullptr;
    ConvertSidToStringSidA(reinterpret_cast<TOKEN_USER*>(user.data())->User.Sid, &text);
    std::string out = text ? text : "";
    LocalFree(text);
    return out;
}

inline std::string ReadBackProblem(const std::string& path);

// "" when the file is owner-only, else what is wrong. On Windows the list is read back with
// GetNamedSecurityInfoW. Under Wine, which cannot keep it, the descriptor the platform
// layer creates files with is checked instead (`expected`: os::OwnerOnlyDescriptorText()).
inline std::string OwnerOnlyProblem(const std::string& path, const std::string& expected) {
    if (!UnderWine()) return ReadBackProblem(path);
    std::string me = CurrentUserSidText();
    std::string want = "O:" + me + "D:P(A;;FA;;;" + me + ")";
    if (GetFileAttributesW(WidePath(path).c_str()) == INVALID_FILE_ATTRIBUTES)
        return "no such file";
    return expected == want ? "" : "files are created with " + expected + ", not " + want;
}

inline std::string ReadBackProblem(const std::string& path) {
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR sd = nullptr;
    if (GetNamedSecurityInfoW(WidePath(path).c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                              nullptr, nullptr, &dacl, nullptr, &sd) != ERROR_SUCCESS)
        return "cannot read the access list";
    std::unique_ptr<void, decltype(&LocalFree)> hold(sd, &LocalFree);
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    GetSecurityDescriptorControl(sd, &control, &revision);
    if (!dacl) return "no access list: everyone has access";
    if (!(control & SE_DACL_PROTECTED)) return "the access list inherits from the folder";
    std::vector<BYTE> user = CurrentUserToken();
    PSID me = reinterpret_cast<TOKEN_USER*>(user.data())->User.Sid;
    if (dacl->AceCount != 1) return std::to_string(dacl->AceCount) + " entries, not 1";
    ACE_HEADER* ace = nullptr;
    GetAce(dacl, 0, reinterpret_cast<void**>(&ace));
    if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE) return "the entry is not an allow entry";
    if (!EqualSid(&reinterpret_cast<ACCESS_ALLOWED_ACE*>(ace)->SidStart, me))
        return "the entry is for another account";
    return "";
}

// Grants Everyone read access (an explicit entry added to the list).
inline bool MakeEveryoneReadable(const std::string& path) {
    PACL old = nullptr, updated = nullptr;
    PSECURITY_DESCRIPTOR sd = nullptr;
    std::wstring w = WidePath(path);
    if (GetNamedSecurityInfoW(w.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                              nullptr, &old, nullptr, &sd) != ERROR_SUCCESS)
        return false;
    EXPLICIT_ACCESSW ea{};
    ea.grfAccessPermissions = GENERIC_READ;
    ea.grfAccessMode = GRANT_ACCESS;
    ea.grfInheritance = NO_INHERITANCE;
    ea.Trustee.TrusteeForm = TRUSTEE_IS_NAME;
    ea.Trustee.TrusteeType = TRUSTEE_IS_WELL_KNOWN_GROUP;
    wchar_t everyone[] = L"EVERYONE";
    ea.Trustee.ptstrName = everyone;
    bool ok = SetEntriesInAclW(1, &ea, old, &updated) == ERROR_SUCCESS &&
              SetNamedSecurityInfoW(w.data(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                    nullptr, updated, nullptr) == ERROR_SUCCESS;
    LocalFree(updated);
    LocalFree(sd);
    return ok;
}
#else
inline bool UnderWine() {
    return false;
}

inline std::string OwnerOnlyProblem(const std::string& path, const std::string& expected) {
    if (expected != "0600") return "files are created with " + expected + ", not 0600";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "cannot stat";
    unsigned mode = st.st_mode & 0777;
    if (mode != 0600)
        return "mode " + std::to_string(mode >> 6) + std::to_string((mode >> 3) & 7) +
               std::to_string(mode & 7) + ", not 600";
    return "";
}

inline bool MakeEveryoneReadable(const std::string& path) {
    return ::chmod(path.c_str(), 0644) == 0;
}
#endif

}  // namespace cdeck::test
