#!/usr/bin/env bash
# Builds ChannelDeck's dependencies for 64-bit Windows from Debian 12's source packages with
# MinGW-w64, static, into a prefix keyed by the package versions and this script (a rebuild
# is skipped when nothing changed). Nothing is downloaded from outside Debian's archive.
#   scripts/windows/build-deps.sh [BUILD_DIR]     (default build/windows-deps)
# Prints the prefix on its last line of stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/windows-deps}
mkdir -p "$out"; out=$(cd "$out" && pwd)
jobs=${CDECK_JOBS:-2}
T=x86_64-w64-mingw32
export CC=$T-gcc-posix CXX=$T-g++-posix AR=$T-gcc-ar-posix RANLIB=$T-gcc-ranlib-posix RC=$T-windres

PACKAGES=(zlib openssl curl sqlite3 re2 freetype glfw3 imgui cpp-httplib)
# Header-only libraries come from the installed Debian packages, whose versions join the key.
HEADER_PKGS=(nlohmann-json3-dev doctest-dev libstb-dev)

"$here/fetch-sources.sh" "$out/src" "${PACKAGES[@]}"
src=$out/src
key=$( { cat "$src/versions.txt"
         for p in "${HEADER_PKGS[@]}"; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
         $CXX --version | head -1
         cat "$here/imgui/CMakeLists.txt" "$here/imgui/stb_impl.c"
       } | sha256sum | cut -c1-12)
prefix=$out/prefix-$key
work=$out/work-$key
mkdir -p "$prefix" "$work"
log=$work/build.log

step() {  # step NAME FUNCTION: runs once per recipe and version; output to the log
  local name=$1; shift
  local sig
  sig=$( { declare -f "$1"; grep "^$name " "$src/versions.txt" || true; } | sha256sum | cut -c1-16)
  [ "$(cat "$work/$name.done" 2>/dev/null)" = "$sig" ] && return 0
  local t0=$SECONDS
  echo "build-deps: $name ..." >&2
  local rc=0
  set +e  # errexit is ignored in a condition, so the step runs plainly and its status is read
  ( set -e; "$@" ) >>"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "build-deps: $name failed; the end of $log:" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  echo "$sig" >"$work/$name.done"
  echo "build-deps: $name done in $((SECONDS - t0)) s" >&2
}

cmake_dep() {  # cmake_dep SOURCE_DIR BUILD_NAME CMAKE_ARGS...
  local s=$1 b=$work/$2; shift 2
  rm -rf "$b"
  cmake -S "$s" -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/mingw-w64.cmake" -DCDECK_WINDOWS_PREFIX="$prefix" \
    -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_SHARED_LIBS=OFF -DCMAKE_CROSSCOMPILING_EMULATOR= "$@"
  cmake --build "$b" -j "$jobs"
  cmake --install "$b"
}

build_zlib() {
  # Debian's zlib source drops the win32 makefiles; the library is these files.
  rm -rf "$work/zlib"; mkdir -p "$work/zlib"; cd "$work/zlib"
  local f
  for f in adler32 compress crc32 deflate gzclose gzlib gzread gzwrite infback inffast inflate \
           inftrees trees uncompr zutil; do
    $CC -O2 -c "$src/zlib/$f.c" -o "$f.o"
  done
  $AR rcs libz.a ./*.o
  install -D -m644 libz.a "$prefix/lib/libz.a"
  install -D -m644 "$src/zlib/zlib.h" "$prefix/include/zlib.h"
  install -D -m644 "$src/zlib/zconf.h" "$prefix/include/zconf.h"
}

build_openssl() {
  rm -rf "$work/openssl"; cp -a "$src/openssl" "$work/openssl"; cd "$work/openssl"
  ./Configure mingw64 no-shared no-tests no-engine no-module \
    --prefix="$prefix" --libdir=lib --openssldir="$prefix/ssl"
  make -j "$jobs" build_libs
  make install_dev
}

build_curl() {
  cmake_dep "$src/curl" curl -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF -DCURL_USE_OPENSSL=ON \
    -DOPENSSL_ROOT_DIR="$prefix" -DOPENSSL_USE_STATIC_LIBS=ON -DCURL_ZLIB=ON -DZLIB_ROOT="$prefix" \
    -DCURL_DISABLE_LDAP=ON -DUSE_LIBIDN2=OFF -DCURL_USE_LIBSSH2=OFF -DENABLE_MANUAL=OFF \
    -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DCURL_BROTLI=OFF -DUSE_NGHTTP2=OFF
}

build_sqlite3() {
  # The amalgamation is generated on the build machine (tclsh), then compiled for Windows.
  rm -rf "$work/sqlite3-host"; mkdir -p "$work/sqlite3-host"; cd "$work/sqlite3-host"
  CC=gcc "$src/sqlite3/configure" --disable-tcl >/dev/null
  make -j "$jobs" sqlite3.c
  $CC -O2 -DSQLITE_THREADSAFE=1 -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_JSON1 -DSQLITE_DQS=0 \
    -c sqlite3.c -o sqlite3.o
  rm -f libsqlite3.a; $AR rcs libsqlite3.a sqlite3.o
  install -D -m644 libsqlite3.a "$prefix/lib/libsqlite3.a"
  install -D -m644 sqlite3.h "$prefix/include/sqlite3.h"
  install -D -m644 sqlite3ext.h "$prefix/include/sqlite3ext.h"
}

build_re2() {
  # Debian's re2 source drops the generated tables; they are made again as Debian's build
  # does (REBUILD_TABLES), from the unicode-data package.
  rm -rf "$work/re2-src"; cp -a "$src/re2" "$work/re2-src"; cd "$work/re2-src/re2"
  perl make_perl_groups.pl >perl_groups.cc
  python3 make_unicode_casefold.py >unicode_casefold.cc
  python3 make_unicode_groups.py >unicode_groups.cc
  cmake_dep "$work/re2-src" re2 -DRE2_BUILD_TESTING=OFF
}

build_freetype() {
  # FreeType uses the zlib built above (its own copy would clash with it at link time).
  cmake_dep "$src/freetype" freetype -DFT_REQUIRE_ZLIB=ON -DZLIB_ROOT="$prefix" -DFT_DISABLE_BZIP2=ON \
    -DFT_DISABLE_PNG=ON -DFT_DISABLE_HARFBUZZ=ON -DFT_DISABLE_BROTLI=ON
}

build_glfw3() {
  cmake_dep "$src/glfw3" glfw3 -DGLFW_BUILD_EXAMPLES=OFF -DGLFW_BUILD_TESTS=OFF -DGLFW_BUILD_DOCS=OFF
}

build_imgui() {
  cmake_dep "$here/imgui" imgui -DIMGUI_SOURCE_DIR="$src/imgui" -DSTB_INCLUDE_DIR=/usr/include/stb
}

build_headers() {
  # cpp-httplib: the upstream single header (Debian's package splits it into a .so).
  install -D -m644 "$src/cpp-httplib/httplib.h" "$prefix/include/httplib.h"
  # nlohmann-json and doctest: headers and CMake configs as Debian installs them.
  mkdir -p "$prefix/include" "$prefix/share/cmake" "$prefix/lib/cmake"
  cp -a /usr/include/nlohmann "$prefix/include/"
  cp -a /usr/share/cmake/nlohmann_json "$prefix/share/cmake/"
  cp -a /usr/include/doctest "$prefix/include/"
  # Debian's doctest targets file names /usr; the prefix gets a config of its own that keeps
  # Debian's doctest.cmake (doctest_discover_tests).
  mkdir -p "$prefix/lib/cmake/doctest"
  cp /usr/lib/cmake/doctest/doctest.cmake /usr/lib/cmake/doctest/doctestAddTests.cmake \
     /usr/lib/cmake/doctest/doctestConfigVersion.cmake "$prefix/lib/cmake/doctest/"
  cat >"$prefix/lib/cmake/doctest/doctestConfig.cmake" <<'CFG'
if(NOT TARGET doctest::doctest)
  list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")
  get_filename_component(_doctest_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
  add_library(doctest::doctest INTERFACE IMPORTED)
  set_target_properties(doctest::doctest PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${_doctest_prefix}/include")
endif()
CFG
}

# Each step is redone when its recipe (the build_* function) or its package's version
# changed; the prefix as a whole is keyed by every version and the toolchain.
recipes=$(for f in $(declare -F | awk '{print $3}' | grep '^build_'); do declare -f "$f"; done |
          sha256sum | cut -c1-12)
if [ "$(cat "$prefix/.complete" 2>/dev/null)" = "$recipes" ]; then
  echo "build-deps: up to date ($prefix)" >&2
  echo "$prefix"; exit 0
fi

echo "build-deps: building into $prefix (log: $log)" >&2
step zlib build_zlib
step openssl build_openssl
step curl build_curl
step sqlite3 build_sqlite3
step re2 build_re2
step freetype build_freetype
step glfw3 build_glfw3
step imgui build_imgui
step headers build_headers
cp "$src/versions.txt" "$prefix/versions.txt"
echo "$recipes" >"$prefix/.complete"
echo "build-deps: done in ${SECONDS} s ($prefix)" >&2
echo "$prefix"
