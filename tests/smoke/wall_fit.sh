#!/usr/bin/env bash
# Xvfb screenshot test of the wall on common screens: the real app on the demo tenant in a
# window of the given size saves a screenshot (not blank, text drawn) and its layout, and
# every team card must lie wholly inside the window.
#   wall_fit.sh CHANNELDECK PNG_CHECK OUT_DIR WIDTHxHEIGHT
set -euo pipefail
app=$1 check=$2 out=$3 size=$4
mkdir -p "$out"
png="$out/wall-$size.png" layout="$out/wall-$size.json"
rm -f "$png" "$layout"
export XDG_STATE_HOME="$out/state-$size" XDG_CONFIG_HOME="$out/config-$size"
xvfb-run -a -s "-screen 0 ${size}x24" "$app" --size "$size" --frames 90 \
    --screenshot "$png" --layout-report "$layout" --page wall
test -s "$png"
"$check" "$png" 200 150
python3 - "$layout" "$size" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
want_w, want_h = (int(v) for v in sys.argv[2].split("x"))
w, h = report["window"]
print(f"window {w}x{h}, {report['teams']} teams, {len(report['cards'])} cards drawn, "
      f"{report['columns']} columns, dense={report['dense']}, pages={report['pages']}")
bad = []
if (w, h) != (want_w, want_h):
    bad.append(f"the window is {w}x{h}, not {want_w}x{want_h}")
if report["teams"] < 7:
    bad.append(f"only {report['teams']} teams synced")
if report["pages"] != 1:
    bad.append(f"the demo tenant needed {report['pages']} pages")
if len(report["cards"]) != report["teams"]:
    bad.append(f"{len(report['cards'])} of {report['teams']} team cards drawn")
for c in report["cards"]:
    if c["x"] < 0 or c["y"] < 0 or c["right"] > w or c["bottom"] > h:
        bad.append(f"card of team {c['team']} is not wholly on screen: {c}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
