#!/usr/bin/env bash
# The release archive on its own: unpacked into an empty folder and started in a brand-new
# Wine prefix, with no source tree assets and no fonts but its own. The demo wall must draw
# text with the bundled fonts, and the state it writes (database) must be owner-only.
#   zip_check.sh ZIP PNG_CHECK_EXE OUT_DIR
set -uo pipefail
zip=$(realpath "$1") pngcheck=$(realpath "$2") out=$(realpath -m "$3")
rm -rf "$out"; mkdir -p "$out/unpacked"
fail() { echo "zip_check: $*" >&2; tail -30 "$out/run.log" >&2 2>/dev/null; exit 1; }
export WINEPREFIX="$out/clean-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset CDECK_ASSETS
wine=${CDECK_WINE:-/usr/lib/wine/wine64}
unzip -q "$zip" -d "$out/unpacked" || fail "cannot unpack $zip"
dir=$out/unpacked/channeldeck-windows-x64
for f in channeldeck.exe graphsim.exe assets/scenarios/demo.json assets/rules/default.json \
         fonts/Inter-Regular.otf fonts/DejaVuSans.ttf README.txt; do
  [ -f "$dir/$f" ] || fail "the archive lacks $f"
done
"$wine" wineboot --init >/dev/null 2>&1
"$wine" "$dir/channeldeck.exe" --version | grep -q '^channeldeck ' || fail "channeldeck.exe --version"
(cd "$out" && timeout 300 "$wine" "$dir/channeldeck.exe" --size 1920x1080 --frames 120 \
   --screenshot "$out/screenshot.png" --page wall >"$out/run.log" 2>&1) || fail "channeldeck.exe did not run"
[ -s "$out/screenshot.png" ] || fail "no screenshot"
"$wine" "$pngcheck" "$out/screenshot.png" 200 150 || fail "the screenshot is blank or has no text"
grep -q "fonts: .*channeldeck-windows-x64.fonts.Inter-Regular.otf" "$out/run.log" ||
  fail "the bundled fonts were not used"
grep -q "scenario.*channeldeck-windows-x64.assets" "$out/run.log" ||
  fail "the demo scenario did not come from the archive's assets"
db=$(find "$WINEPREFIX/drive_c/users" -name 'channeldeck.db' | head -1)
[ -n "$db" ] || fail "no database under %LOCALAPPDATA%"
echo "zip_check: $(basename "$zip") started in a clean Wine prefix; state at ${db#$WINEPREFIX/}"
