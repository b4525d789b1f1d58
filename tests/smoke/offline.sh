#!/usr/bin/env bash
# Offline first: sync a tenant (graphsim run alone) into the local database, stop graphsim,
# start again: the cached teams and messages are there before (and without) any network.
set -uo pipefail
app=$1 graphsim=$2 out=$3
rm -rf "$out"; mkdir -p "$out"
export XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
"$graphsim" --port 0 --state-dir "$out/sim" --seed 3 --no-traffic >"$out/sim.json" 2>"$out/sim.log" &
sim=$!
trap 'kill $sim 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$out/sim.json" ] && break; sleep 0.1; done
python3 - "$out/sim.json" "$out/config.json" "$out/cache.db" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))
json.dump({"graph_url": i["graph"], "authority_url": i["authority"], "tenant": i["tenant"],
           "client_id": i["client_id"], "client_secret": i["client_secret"],
           "auth_mode": "client_credentials", "ca_file": i["ca"], "db_path": sys.argv[3]}, open(sys.argv[2], "w"))
PY
"$app" --headless --config "$out/config.json" --duration 6 --report "$out/online.json" 2>"$out/online.log" || { cat "$out/online.log"; exit 1; }
kill $sim; wait $sim 2>/dev/null
# graphsim is gone: the second run signs in to nothing, but shows the cache.
"$app" --headless --config "$out/config.json" --duration 2 --report "$out/offline.json" 2>"$out/offline.log"
grep -q "loaded 7 teams" "$out/offline.log" || { cat "$out/offline.log"; exit 1; }
python3 - "$out/online.json" "$out/offline.json" "$out/cache.db" <<'PY'
import json, os, stat, sys
on, off = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print("online:", on["messages"], "messages; offline from cache:", off["messages"], "messages, signed in:", off["signed_in"])
assert on["messages"] > 0 and off["messages"] == on["messages"], (on["messages"], off["messages"])
assert off["teams"] == on["teams"] and off["channels"] == on["channels"]
assert not off["signed_in"]
assert stat.S_IMODE(os.stat(sys.argv[3]).st_mode) == 0o600
PY
