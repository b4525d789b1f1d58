#!/usr/bin/env python3
"""The layering rules of DESIGN.md section 2, checked over the sources. Exit 1 naming each
file and rule broken; exit 0 with a count of what was checked.

  - core/ never includes ImGui, GLFW or GL;
  - app/ui never includes GLFW or GL (so it can be tested headless);
  - GLFW and GL are included only in app/platform;
  - core/sim (graphsim) includes nothing of the client: only sim/ headers of the project
    and the platform layer (platform/os.hpp, which holds no protocol code);
  - the client's net/ layer includes nothing from auth/ or graph/, and auth/ nothing from
    graph/ (HTTP at the bottom, sign-in on it, the Graph client on both: no include cycle);
  - every public header in core/ and app/ states its thread rules in its opening comment;
  - no thread is detached;
  - only the platform layer (core/platform, app/platform) knows the operating system: no
    _WIN32/__APPLE__ macros, POSIX or Windows headers, POSIX-only calls or /proc elsewhere.

  tests/security/boundaries.py [ROOT]
  tests/security/boundaries.py --self-test    plants one violation of each rule in a
                                              scratch tree and checks each is reported
"""
import os
import re
import shutil
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
UI_LIBS = re.compile(r"^(imgui|GLFW/|glad/|GL/)")
WINDOW_LIBS = re.compile(r"^(GLFW/|glad/|GL/)")
PROJECT_DIRS = ("auth/", "config/", "graph/", "metrics/", "model/", "moderation/", "net/",
                "persist/", "store/", "sync/", "util/", "ui/", "platform/", "sim/")
# An opening comment says who may call what: one of these phrases (case-insensitive).
THREAD_RULE = re.compile(
    r"UI thread|main thread|any thread|sign-in thread|one thread|thread-safe|thread-aware|"
    r"Threads?:|Threading", re.I)
DETACH = re.compile(r"\.\s*detach\s*\(\s*\)")
# The platform layer (core/platform, app/platform) is the only code that may know the
# operating system: no platform macros, POSIX or Windows headers, or POSIX-only calls
# elsewhere in core/ and app/ (tests may use them).
PLATFORM_DIRS = ("core/platform/", "app/platform/")
OS_MACRO = re.compile(r"\b(_WIN32|_WIN64|__APPLE__|__linux__|__GLIBC__|__unix__|_MSC_VER)\b")
OS_HEADER = re.compile(
    r"^(unistd|fcntl|poll|signal|spawn|pthread|netdb|dlfcn|pwd|grp|malloc|termios|syslog|"
    r"windows|winsock2|ws2tcpip|shlobj|shellapi|aclapi|sddl|io|direct)\.h$|^(sys|arpa|netinet|mach-o)/")
POSIX_CALL = re.compile(
    r"(?<![\w.>])(::)?(fchmod|chmod|chown|flock|fsync|fork|execv\w*|posix_spawnp?|waitpid|"
    r"sigwait|sigaction|pthread_\w+|getpid|getuid|readlink|accept4|nanosleep|usleep|mkdtemp|"
    r"mkstemp|gethostname|umask|realpath)\s*\(")
PROC_PATH = re.compile(r'"/proc/')


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)



def sources(root, base):
    for dirpath, _, files in os.walk(os.path.join(root, base)):
        for f in sorted(files):
            if f.endswith((".cpp", ".hpp", ".h")):
                yield os.path.join(dirpath, f)


def opening_comment(text):
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("#pragma once") or (not s and not lines):
            continue
        if not s.startswith("//"):
            break
        lines.append(s[2:].strip())
    return " ".join(lines)


def check(root):
    bad, checked = [], 0
    for base in ("core", "app"):
        for path in sources(root, base):
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            text = open(path, encoding="utf-8").read()
            checked += 1
            for inc in INCLUDE.findall(text):
                if rel.startswith("core/") and UI_LIBS.match(inc):
                    bad.append(f"{rel}: core/ includes <{inc}> (no UI in core)")
                elif WINDOW_LIBS.match(inc) and not rel.startswith("app/platform/"):
                    bad.append(f"{rel}: includes <{inc}>; GLFW and GL belong in app/platform")
                if rel.startswith("core/sim/") and inc.startswith(PROJECT_DIRS) \
                        and not inc.startswith(("sim/", "platform/os.hpp")):
                    bad.append(f"{rel}: graphsim includes the client's \"{inc}\"")
                if rel.startswith("core/net/") and inc.startswith(("auth/", "graph/")):
                    bad.append(f"{rel}: net/ includes \"{inc}\" (net is the lowest layer)")
                if rel.startswith("core/auth/") and inc.startswith("graph/"):
                    bad.append(f"{rel}: auth/ includes \"{inc}\" (graph/ sits above auth/)")
            if not rel.startswith(PLATFORM_DIRS):
                code = strip_comments(text)
                for m in OS_MACRO.finditer(code):
                    bad.append(f"{rel}: uses {m.group(1)}; platform differences belong in "
                               "core/platform or app/platform")
                for inc in INCLUDE.findall(text):
                    if OS_HEADER.match(inc):
                        bad.append(f"{rel}: includes <{inc}>; system headers belong in the "
                                   "platform layer (core/platform/os.hpp)")
                for m in POSIX_CALL.finditer(code):
                    bad.append(f"{rel}: calls {m.group(2)}(); use the platform layer "
                               "(core/platform/os.hpp)")
                if PROC_PATH.search(code):
                    bad.append(f"{rel}: reads /proc; use the platform layer")
            if DETACH.search(text):
                bad.append(f"{rel}: detaches a thread (join every thread you start)")
            if path.endswith(".hpp") and not THREAD_RULE.search(opening_comment(text)):
                bad.append(f"{rel}: the opening comment states no thread rules "
                           "(say who may call it: \"UI thread only\", \"any thread\", ...)")
    return bad, checked


PLANTS = {
    "core/store/a.hpp": "#pragma once\n// Thread-safe.\n#include <imgui.h>\n",
    "app/ui/b.hpp": "#pragma once\n// UI thread only.\n#include <GLFW/glfw3.h>\n",
    "app/c.cpp": "#include <glad/gl.h>\n",
    "core/sim/d.cpp": '#include "graph/graph_client.hpp"\n',
    "core/net/e.cpp": '#include "auth/token_provider.hpp"\n',
    "core/auth/f.cpp": '#include "graph/graph_client.hpp"\n',
    "core/util/g.hpp": "#pragma once\n// Says nothing of threads.\n",
    "app/h.cpp": "void F(std::thread& t) { t.detach(); }\n",
    "core/config/i.cpp": "#ifdef _WIN32\nint x;\n#endif\n",
    "core/persist/j.cpp": "#include <unistd.h>\n",
    "app/ui/k.cpp": "void F(const char* p) { ::chmod(p, 0600); }\n",
    "core/auth/l.cpp": "#include <sys/stat.h>\n",
    "app/m.cpp": 'const char* kSelf = "/proc/self/exe";\n',
}


def self_test():
    scratch = tempfile.mkdtemp(prefix="boundaries.")
    try:
        for rel, text in PLANTS.items():
            os.makedirs(os.path.join(scratch, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(scratch, rel), "w", encoding="utf-8") as f:
                f.write(text)
        os.makedirs(os.path.join(scratch, "app/platform"), exist_ok=True)
        with open(os.path.join(scratch, "app/platform/ok.cpp"), "w", encoding="utf-8") as f:
            f.write("#include <glad/gl.h>\n#include <GLFW/glfw3.h>\n#ifdef _WIN32\n#endif\n")
        os.makedirs(os.path.join(scratch, "core/platform"), exist_ok=True)
        with open(os.path.join(scratch, "core/platform/os_x.cpp"), "w", encoding="utf-8") as f:
            f.write("#include <unistd.h>\n#ifdef __APPLE__\n#endif\nint F() { return ::getpid(); }\n")
        bad, _ = check(scratch)
        missed = [rel for rel in PLANTS if not any(b.startswith(rel + ":") for b in bad)]
        wrong = [b for b in bad if b.startswith(("app/platform/", "core/platform/"))]
        for m in missed:
            print(f"self-test: the violation planted in {m} was not reported")
        for w in wrong:
            print(f"self-test: reported a file that is allowed: {w}")
        if missed or wrong:
            return 1
        print(f"self-test: all {len(PLANTS)} planted violations reported, the platform layer allowed")
        return 0
    finally:
        shutil.rmtree(scratch)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    bad, checked = check(root)
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} boundary rule(s) broken in {checked} files")
        return 1
    print(f"boundaries: {checked} files follow the layering rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
