#!/usr/bin/env bash
# Headless run against the demo tenant: signs in, lists every team, channel and message,
# and writes a JSON report.
set -euo pipefail
app=$1 out=$2
mkdir -p "$out"
export XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
# A free port for the Prometheus endpoint, scraped while the run is under way.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Long enough for the whole demo tenant to backfill on a loaded machine under TSan (it took
# more than 6 s there once while the rest of the suite ran beside it).
"$app" --headless --duration 15 --metrics-port "$port" --report "$out/report.json" &
pid=$!
scraped=""
for _ in $(seq 1 50); do
  sleep 0.1
  if scraped=$(python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=2).read().decode())" 2>/dev/null); then break; fi
done
wait $pid
grep -q '^channeldeck_requests_total{outcome="2xx"}' <<<"$scraped" || { echo "no metrics scraped from port $port"; exit 1; }
python3 - "$out/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print({k: r[k] for k in ("phase", "teams", "channels", "channels_backfilled", "messages")})
assert r["signed_in"], r
assert r["teams"] >= 6 and r["channels"] >= 30, r
assert r["channels_backfilled"] == r["channels"], r
m = r["metrics"]
assert r["messages"] > 0 and m["requests"] > 0, r
assert r["sync_policy"] == "adaptive", r
for k in ("freshness_seconds", "rtt_ms", "queues", "scopes", "useful_fraction_of_quota"):
    assert k in m, k
assert m["rtt_ms"]["count"] > 0 and m["rtt_ms"]["p50"] > 0, m["rtt_ms"]
assert any(s["scope"] == "class:get_message" and s["limit"] == 20 for s in m["scopes"]), m["scopes"]
PY

# The SDK baseline policy runs from the same binary.
"$app" --headless --duration 3 --sync-policy sdk --report "$out/report-sdk.json"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['sync_policy']=='sdk' and r['metrics']['policy']=='sdk', r" "$out/report-sdk.json"
if "$app" --headless --duration 1 --sync-policy fastest 2>"$out/bad-policy.log"; then exit 1; fi
grep -q "sync-policy must be adaptive or sdk" "$out/bad-policy.log"

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
