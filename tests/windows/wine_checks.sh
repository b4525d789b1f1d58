#!/usr/bin/env bash
# The Windows executables under Wine (run by ctest in the windows preset, inside Xvfb):
#  1. graphsim.exe serves the tenant over HTTPS; channeldeck.exe --headless signs in to it,
#     syncs every team and channel into its SQLite cache and reports;
#  2. with graphsim.exe stopped, channeldeck.exe starts from that cache;
#  3. channeldeck.exe --frames N --screenshot FILE on the demo tenant draws a real window:
#     the PNG is checked like the Linux one (not blank, text drawn).
#   wine_checks.sh CHANNELDECK_EXE GRAPHSIM_EXE PNG_CHECK_EXE OUT_DIR
set -uo pipefail
app=$(realpath "$1") graphsim=$(realpath "$2") pngcheck=$(realpath "$3") out=$(realpath -m "$4")
run=$(cd "$(dirname "$0")/../../scripts/windows" && pwd)/wine-run
rm -rf "$out"; mkdir -p "$out"
fail() { echo "wine_checks: $*" >&2; for f in "$out"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done; exit 1; }

"$run" "$graphsim" --version | grep -q '^graphsim ' || fail "graphsim.exe --version"

# 1. The client against graphsim.exe over HTTPS.
"$run" "$graphsim" --port 0 --state-dir "$out/sim" --seed 3 --no-traffic >"$out/sim.json" 2>"$out/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
for _ in $(seq 300); do [ -s "$out/sim.json" ] && break; sleep 0.1; done
[ -s "$out/sim.json" ] || fail "graphsim.exe did not start"
python3 - "$out/sim.json" "$out/config.json" "$out/cache.db" <<'PY' || fail "graphsim.exe's info line"
import json, sys
i = json.load(open(sys.argv[1]))
assert i["graph"].startswith("https://"), i
json.dump({"graph_url": i["graph"], "authority_url": i["authority"], "tenant": i["tenant"],
           "client_id": i["client_id"], "client_secret": i["client_secret"],
           "auth_mode": "client_credentials", "ca_file": i["ca"], "db_path": sys.argv[3]},
          open(sys.argv[2], "w"))
PY
"$run" "$app" --headless --config "$out/config.json" --duration 12 --report "$out/online.json" \
  2>"$out/online.log" || fail "channeldeck.exe --headless against graphsim.exe"
kill $sim; wait $sim 2>/dev/null
trap - EXIT

# 2. Offline: graphsim.exe is gone; the cache is there.
"$run" "$app" --headless --config "$out/config.json" --duration 2 --report "$out/offline.json" \
  2>"$out/offline.log"
grep -q "loaded 7 teams" "$out/offline.log" || fail "the second start did not load the cache"
python3 - "$out/online.json" "$out/offline.json" <<'PY' || fail "reports"
import json, sys
on, off = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("online:", {k: on[k] for k in ("teams", "channels", "channels_backfilled", "messages")})
assert on["signed_in"] and on["teams"] >= 6 and on["channels"] >= 30, on
assert on["channels_backfilled"] == on["channels"] and on["messages"] > 0, on
assert on["metrics"]["requests"] > 0, on["metrics"]
print("offline from cache:", off["messages"], "messages, signed in:", off["signed_in"])
assert off["messages"] == on["messages"] and not off["signed_in"], off
PY

# 3. The real window on the demo tenant, through Wine's OpenGL to Mesa.
"$run" "$app" --size 1920x1080 --frames 120 --screenshot "$out/wall.png" --page wall \
  --select "Engineering - Payments/Deployments" >"$out/window.log" 2>&1 || fail "channeldeck.exe --screenshot"
[ -s "$out/wall.png" ] || fail "no screenshot"
"$run" "$pngcheck" "$out/wall.png" 200 150 || fail "the screenshot is blank or has no text"
echo "wine_checks: all passed"
