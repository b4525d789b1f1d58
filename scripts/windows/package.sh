#!/usr/bin/env bash
# Makes channeldeck-windows-x64.zip from a windows-preset build: the executables, the
# assets (rules, the demo scenario), the fonts from Debian's font packages with their
# licences, and the licences of the libraries linked in (from Debian's source packages).
#   scripts/windows/package.sh BUILD_DIR DEPS_SRC_DIR OUT_ZIP
set -euo pipefail
build=$(realpath "$1") depsrc=$(realpath "$2") zip=$(realpath -m "$3")
root=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
d=$stage/channeldeck-windows-x64
mkdir -p "$d/assets" "$d/fonts" "$d/licenses"
cp "$build/app/channeldeck.exe" "$build/app/graphsim.exe" "$d/"
cp -r "$root/assets/rules" "$root/assets/scenarios" "$d/assets/"
for f in /usr/share/fonts/opentype/inter/Inter-Regular.otf /usr/share/fonts/opentype/inter/Inter-SemiBold.otf \
         /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf; do
  cp "$f" "$d/fonts/"
done
cp /usr/share/doc/fonts-inter/copyright "$d/licenses/fonts-inter.txt"
cp /usr/share/doc/fonts-dejavu-core/copyright "$d/licenses/fonts-dejavu.txt"
for p in zlib openssl curl sqlite3 re2 freetype glfw3 imgui cpp-httplib; do
  [ -f "$depsrc/$p/debian/copyright" ] && cp "$depsrc/$p/debian/copyright" "$d/licenses/$p.txt"
done
for p in nlohmann-json3-dev doctest-dev libstb-dev; do
  [ -f "/usr/share/doc/$p/copyright" ] && cp "/usr/share/doc/$p/copyright" "$d/licenses/$p.txt"
done
cp "$depsrc/versions.txt" "$d/licenses/debian-source-versions.txt"
cat >"$d/README.txt" <<'TXT'
ChannelDeck for Windows (x64)

  channeldeck.exe          the dashboard; with no configuration it opens the demo tenant
  channeldeck.exe --help   every option
  graphsim.exe             the Graph and Entra ID simulator the demo tenant runs on

Configuration:  %APPDATA%\channeldeck\config.json
State (cache, tokens):  %LOCALAPPDATA%\channeldeck  (token and database files are
readable by your account only)

The libraries inside were built from Debian 12's source packages; their licences are in
the licenses folder.
TXT
mkdir -p "$(dirname "$zip")"
rm -f "$zip"
(cd "$stage" && zip -q -r -X "$zip" channeldeck-windows-x64)
echo "package: $zip ($(du -h "$zip" | cut -f1))"
