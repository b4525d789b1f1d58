#!/usr/bin/env bash
# channeldeck-node from the command line, against a real PostgreSQL and graphsim run as
# its own process: conventions, the binary's libraries, migrate (and what it refuses),
# credential and database errors, a database that is down at start, /healthz and
# /metrics, and SIGTERM finishing cleanly with exit 0.
set -uo pipefail
node=$1 graphsim=$2 root=$3 out=$4
rm -rf "$out"; mkdir -p "$out"
fail() { echo "FAIL: $*"; for f in "$out"/*.log; do echo "== $f"; tail -n 15 "$f"; done; exit 1; }
cleanup() {
  [ -n "${nodepid:-}" ] && kill "$nodepid" 2>/dev/null
  [ -n "${sim:-}" ] && kill "$sim" 2>/dev/null
  "$root/scripts/pg-cluster" stop "$out/pg" 2>/dev/null
}
trap cleanup EXIT

# Conventions.
"$node" --help | grep -q "channeldeck-node \[--config FILE\] migrate" || fail "--help"
[ "$("$node" --version)" = "channeldeck-node 0.1.0" ] || fail "--version"
"$node" --frobnicate 2>"$out/bad.err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$out/bad.err")" -eq 1 ] || fail "bad option: rc=$rc"
# No UI library: it runs in a plain container.
if ldd "$node" | grep -Ei 'libGL|libglfw|libX11|libxcb|imgui|libEGL'; then fail "UI library linked"; fi

# A cluster, a database, a node login with a password over TCP.
admin=$("$root/scripts/pg-cluster" start "$out/pg") || fail "cluster did not start"
port=$(echo "$admin" | sed 's/.*port=\([0-9]*\).*/\1/')
"$root/scripts/pg-cluster" psql "$out/pg" -q -c "CREATE DATABASE deck" \
  -c "CREATE ROLE deckadmin LOGIN PASSWORD 'adm-Pw-1' CREATEROLE" \
  -c "ALTER DATABASE deck OWNER TO deckadmin" >/dev/null || fail "setup"
conf() {  # conf FILE CONNINFO [extra JSON members]
  printf '{"server": {"conninfo": "%s"}%s}\n' "$2" "${3:-}" >"$1"; chmod 600 "$1"
}
conf "$out/admin.json" "host=127.0.0.1 port=$port dbname=deck user=deckadmin password=adm-Pw-1"
"$node" --config "$out/admin.json" migrate >"$out/migrate.out" 2>"$out/migrate.log" || fail "migrate"
grep -q "from schema version 0 to 2" "$out/migrate.out" || fail "migrate said: $(cat "$out/migrate.out")"
"$node" --config "$out/admin.json" migrate | grep -q "nothing to do" || fail "second migrate"
grep -q "adm-Pw-1" "$out/migrate.log" && fail "password in the log"

# Wrong password, missing database: one line naming the problem, exit 2, no password.
conf "$out/wrong.json" "host=127.0.0.1 port=$port dbname=deck user=deckadmin password=Wr0ng-Pw"
"$node" --config "$out/wrong.json" migrate 2>"$out/wrong.err"; rc=$?
[ $rc -eq 2 ] && grep -q "password authentication failed" "$out/wrong.err" || fail "wrong password: rc=$rc"
grep -q "Wr0ng-Pw" "$out/wrong.err" && fail "the password was printed"
[ "$(grep -c . "$out/wrong.err")" -eq 1 ] || fail "more than one line for wrong credentials"
conf "$out/nodb.json" "host=127.0.0.1 port=$port dbname=nosuch user=deckadmin password=adm-Pw-1"
"$node" --config "$out/nodb.json" migrate 2>"$out/nodb.err"; rc=$?
[ $rc -eq 2 ] && grep -q 'database "nosuch" does not exist' "$out/nodb.err" || fail "missing db: rc=$rc"

# A newer schema is refused, naming the version found.
"$root/scripts/pg-cluster" psql "$out/pg" -q -c "\\c deck" -c "INSERT INTO cdeck_schema(version) VALUES (42)" >/dev/null
"$node" --config "$out/admin.json" migrate 2>"$out/newer.err"; rc=$?
[ $rc -eq 2 ] && grep -q "schema version 42" "$out/newer.err" || fail "newer schema: rc=$rc $(cat "$out/newer.err")"
"$root/scripts/pg-cluster" psql "$out/pg" -q -c "\\c deck" -c "DELETE FROM cdeck_schema WHERE version = 42" >/dev/null
"$root/scripts/pg-cluster" psql "$out/pg" -q -c "CREATE ROLE node1 LOGIN PASSWORD 'n0de-Pw' IN ROLE channeldeck_node" >/dev/null

# graphsim on its own; the node's config names it like a real tenant.
"$graphsim" --port 0 --state-dir "$out/sim" --seed 5 >"$out/sim.json" 2>"$out/sim.log" &
sim=$!
for _ in $(seq 50); do [ -s "$out/sim.json" ] && break; sleep 0.1; done
hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$out/sim.json" "$out/node.json" "$port" "$hport" <<'PY'
import json, sys
i = json.load(open(sys.argv[1]))
json.dump({"graph_url": i["graph"], "authority_url": i["authority"], "tenant": i["tenant"],
           "client_id": i["client_id"], "client_secret": i["client_secret"],
           "auth_mode": "client_credentials", "ca_file": i["ca"],
           "server": {"conninfo": f"host=127.0.0.1 port={sys.argv[3]} dbname=deck user=node1 password=n0de-Pw"},
           "node": {"id": "smoke-node", "listen": f"127.0.0.1:{sys.argv[4]}"}}, open(sys.argv[2], "w"))
PY
chmod 600 "$out/node.json"

# The database is down when the node starts: it says so and keeps trying.
"$root/scripts/pg-cluster" stop "$out/pg"
"$node" --config "$out/node.json" run >"$out/node.out" 2>"$out/node.log" &
nodepid=$!
for _ in $(seq 50); do grep -q "database unreachable" "$out/node.log" && break; sleep 0.1; done
grep -q "database unreachable" "$out/node.log" || fail "no message while the database is down"
kill -0 $nodepid 2>/dev/null || fail "the node gave up while the database was down"
"$root/scripts/pg-cluster" start "$out/pg" >/dev/null || fail "restart"
ready=""
for _ in $(seq 300); do
  code=$(curl -s -o "$out/healthz" -w '%{http_code}' "http://127.0.0.1:$hport/healthz")
  [ "$code" = 200 ] && { ready=1; break; }
  sleep 0.1
done
[ -n "$ready" ] || fail "/healthz never ready (last: $code $(cat "$out/healthz" 2>/dev/null))"
for _ in $(seq 100); do
  n=$(curl -s "http://127.0.0.1:$hport/metrics" | sed -n 's/^cdeck_pg_committed_messages_total \([0-9]*\).*/\1/p')
  [ "${n:-0}" -gt 0 ] && break; sleep 0.1
done
[ "${n:-0}" -gt 0 ] || fail "no committed messages in /metrics"
# SIGTERM: the batch in flight is finished and the exit is clean.
kill -TERM $nodepid; wait $nodepid; rc=$?; nodepid=""
[ $rc -eq 0 ] || fail "exit code $rc after SIGTERM"
grep -q "stopped" "$out/node.log" || fail "no clean stop in the log"
grep -q "n0de-Pw" "$out/node.log" && fail "the password reached the log"
live=$("$root/scripts/pg-cluster" psql "$out/pg" -Atq -c "\\c deck" -c "SELECT count(*) FROM sync_node WHERE expires_at > now()")
[ "$live" = 0 ] || fail "the stopped node still counts as live ($live)"
msgs=$("$root/scripts/pg-cluster" psql "$out/pg" -Atq -c "\\c deck" -c "SELECT count(*) FROM messages")
echo "node_cli: ok ($msgs messages in PostgreSQL, clean SIGTERM)"
