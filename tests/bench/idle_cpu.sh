#!/usr/bin/env bash
# Idle CPU (issue 7): channeldeck under Xvfb at 1920x1080 on the demo tenant with nothing
# changing (the demo scenario with its live traffic turned off), measured from /proc over
# SECONDS (30) once SETTLE seconds (150) have passed: the first sync, and long enough for
# the engine to see that nothing is changing (the planner's idle back-off starts after two
# quiet minutes). Prints the whole process (UI, sync engine and the in-process graphsim),
# the UI thread alone, and every thread by name, as % of one core. Goal: < 1 %.
#   tests/bench/idle_cpu.sh CHANNELDECK [SECONDS] [SETTLE]
set -euo pipefail
bin=${1:?usage: idle_cpu.sh CHANNELDECK [SECONDS]}
secs=${2:-30}
settle=${3:-150}
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
# The app as well as xvfb-run: killing xvfb-run alone left channeldeck running.
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; kill "$xpid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$here/assets/scenarios/demo.json" "$work/quiet.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["traffic"]["messages_per_minute"] = 0
json.dump(d, open(sys.argv[2], "w"))
PY
XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" \
  xvfb-run -a -s '-screen 0 1920x1080x24' "$bin" --size 1920x1080 --scenario "$work/quiet.json" \
  >"$work/log" 2>&1 &
xpid=$!
pid=""
for _ in $(seq 100); do
  pid=$(pgrep -n -f "^$bin --size 1920x1080" || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "channeldeck did not start"; cat "$work/log"; exit 1; }
sleep "$settle"  # backfill, the first delta rounds, and quiet long enough to back off
python3 - "$pid" "$secs" <<'PY'
import os, sys, time
pid, secs = int(sys.argv[1]), float(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
def sample():
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            comm = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            f = open(f"/proc/{pid}/task/{tid}/stat").read().rsplit(")", 1)[1].split()
            out[int(tid)] = (comm, int(f[11]) + int(f[12]))
        except OSError:
            pass
    return out
a, t0 = sample(), time.monotonic()
time.sleep(secs)
b, t1 = sample(), time.monotonic()
wall = t1 - t0
def pct(ticks): return 100.0 * ticks / hz / wall
ui = render = other = 0
for tid, (comm, t) in b.items():
    d = t - a.get(tid, (comm, 0))[1]
    if tid == pid: ui += d
    elif comm.startswith("llvmpipe"): render += d
    else: other += d
print(f"idle CPU over {wall:.0f} s (demo tenant, no new messages, 1920x1080 under Xvfb), % of one core:")
print(f"  UI thread (frame loop, ImGui):                 {pct(ui):6.2f}")
print(f"  GL rasterising (Mesa llvmpipe threads):        {pct(render):6.2f}")
print(f"  UI total (the two above):                      {pct(ui + render):6.2f}   goal < 1")
print(f"  sync engine + in-process graphsim (polling):   {pct(other):6.2f}")
print(f"  whole process:                                 {pct(ui + render + other):6.2f}")
by = {}
for tid, (comm, t) in b.items():
    by.setdefault(comm, [0, 0])
    by[comm][0] += t - a.get(tid, (comm, 0))[1]
    by[comm][1] += 1
print("  by thread name (count):")
for comm, (t, n) in sorted(by.items(), key=lambda kv: -kv[1][0]):
    print(f"    {comm:<24} ({n:2d}) {pct(t):6.2f}")
PY
