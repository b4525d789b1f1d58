#!/usr/bin/env bash
# Xvfb smoke test: the real app in a real window renders the demo tenant and saves a
# screenshot that is not blank.
set -euo pipefail
app=$1 check=$2 out=$3
mkdir -p "$out"
rm -f "$out/smoke.png"
export XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
xvfb-run -a -s '-screen 0 1920x1080x24' "$app" --size 1920x1080 --frames 120 \
    --screenshot "$out/smoke.png" --select "Platform Operations/Incidents"
test -s "$out/smoke.png"
"$check" "$out/smoke.png" 200
