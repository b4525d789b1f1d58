#!/usr/bin/env bash
# Xvfb screenshot test of the kiosk wall read from across a room: the real app on the demo
# tenant, full screen at the given size, saves a screenshot (not blank, text drawn) and its
# layout report. The smallest text drawn -- measured from ImGui's draw data, glyph by glyph
# -- must be at least 24 px at 1080p, scaled with the screen's height, and the big numbers
# at least twice that.
#   kiosk_wall.sh CHANNELDECK PNG_CHECK OUT_DIR WIDTHxHEIGHT
set -euo pipefail
app=$1 check=$2 out=$3 size=$4
mkdir -p "$out"
png="$out/kiosk-$size.png" layout="$out/kiosk-$size.json"
rm -f "$png" "$layout"
export XDG_STATE_HOME="$out/kiosk-state-$size" XDG_CONFIG_HOME="$out/kiosk-config-$size"
rm -rf "$XDG_STATE_HOME" "$XDG_CONFIG_HOME"
xvfb-run -a -s "-screen 0 ${size}x24" "$app" --size "$size" --wall --page wall --frames 60 \
    --screenshot "$png" --layout-report "$layout"
test -s "$png"
"$check" "$png" 200 150
python3 - "$layout" "$size" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
want_w, want_h = (int(v) for v in sys.argv[2].split("x"))
floor = 24.0 * want_h / 1080.0
text = report["text"]
print(f"window {report['window']}, {report['teams']} teams, {len(report['cards'])} cards, "
      f"type {report.get('kiosk_type_px')} px, glyphs {text['glyphs']}, "
      f"smallest {text['min_px']:.1f} px, largest {text['max_px']:.1f} px (floor {floor:.0f})")
bad = []
if report["window"] != [want_w, want_h]:
    bad.append(f"the window is {report['window']}")
if report["teams"] < 7 or len(report["cards"]) != report["teams"]:
    bad.append(f"{len(report['cards'])} of {report['teams']} team cards drawn")
if text["glyphs"] < 200:
    bad.append(f"only {text['glyphs']} glyphs drawn")
if text["min_px"] < floor - 0.01:
    bad.append(f"text drawn at {text['min_px']:.1f} px, below {floor:.0f} px")
if text["max_px"] < 2 * floor:
    bad.append(f"the big numbers are only {text['max_px']:.1f} px")
for c in report["cards"]:
    if c["x"] < 0 or c["y"] < 0 or c["right"] > want_w or c["bottom"] > want_h:
        bad.append(f"card of team {c['team']} is not wholly on screen: {c}")
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
