#!/usr/bin/env bash
# Headless run against the demo tenant: signs in, lists every team, channel and message,
# and writes a JSON report.
set -euo pipefail
app=$1 out=$2
mkdir -p "$out"
export XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
"$app" --headless --duration 6 --report "$out/report.json"
python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("phase", "teams", "channels", "channels_backfilled", "messages")})
assert r["signed_in"], r
assert r["teams"] >= 6 and r["channels"] >= 30, r
assert r["channels_backfilled"] == r["channels"], r
assert r["messages"] > 0 and r["metrics"]["requests"] > 0, r
PY

# The same with the device code flow (the demo tenant approves its own sign-ins).
"$app" --headless --duration 8 --auth-mode device_code --report "$out/report-device.json" 2>"$out/device.log"
grep -q "enter the code" "$out/device.log"
python3 - "$out/report-device.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("phase", "teams", "channels", "channels_backfilled", "messages")})
assert r["signed_in"], r
assert r["teams"] >= 3 and r["channels"] >= 15, r
assert r["channels_backfilled"] == r["channels"], r
PY
