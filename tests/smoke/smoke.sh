#!/usr/bin/env bash
# Xvfb screenshot test: the real app in a real 1920x1080 window renders the demo tenant on
# one page and saves a screenshot, which must not be blank and must show text.
#   smoke.sh CHANNELDECK PNG_CHECK OUT_DIR [PAGE]
set -euo pipefail
app=$1 check=$2 out=$3 page=${4:-wall}
mkdir -p "$out"
rm -f "$out/$page.png"
export XDG_STATE_HOME="$out/state-$page" XDG_CONFIG_HOME="$out/config-$page"
xvfb-run -a -s '-screen 0 1920x1080x24' "$app" --size 1920x1080 --frames 120 \
    --screenshot "$out/$page.png" --page "$page" --select "Engineering - Payments/Deployments"
test -s "$out/$page.png"
"$check" "$out/$page.png" 200 150
