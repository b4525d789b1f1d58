#!/usr/bin/env python3
"""Soak run: the ChannelDeck window (under Xvfb) against a separate graphsim process serving
the steady-500-channels scenario at 5x its arrival rate.

Every minute it samples the app's resident memory, threads and open file descriptors (from
/proc), and the messages it has taken in (from its Prometheus endpoint). After the warm-up,
each of RSS, threads and fds must stay within 5% of its median. At the end the app is asked to
quit (SIGTERM) and its stderr is searched for sanitizer reports, so a sanitizer build
(--build build/asan) also runs LeakSanitizer on exit.

  tests/bench/soak.py [--minutes 60] [--warmup 10] [--scale 5] [--build build/default]
                      [--out build/soak]
Writes OUT/samples.csv and OUT/summary.json; exit 1 if a check fails.
"""
import argparse
import csv
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SANITIZER = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
                       r"WARNING: ThreadSanitizer|SUMMARY: \w+Sanitizer")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_sample(pid):
    rss_kb = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss_kb, threads, fds


LEAK_SUMMARY = re.compile(r"SUMMARY: AddressSanitizer: (\d+) byte\(s\) leaked in (\d+) allocation")


def fixed_gl_leak(a, out, log_text):
    """Under a sanitizer build, Mesa's llvmpipe and glibc's dlerror buffers leave a few
    allocations LeakSanitizer cannot attribute (frames in JIT code or unloaded modules). The
    leak is accepted only when it is exactly what a 30-frame run of the same binary leaves (so
    it does not grow with time) and no frame of it is in ChannelDeck; returns a description,
    or None when the report must count as a failure."""
    if re.search(r"ERROR: AddressSanitizer|runtime error:|WARNING: ThreadSanitizer", log_text):
        return None
    soak = LEAK_SUMMARY.findall(log_text)
    leak_text = log_text[log_text.find("ERROR: LeakSanitizer"):]
    if len(soak) != 1 or "channeldeck" in leak_text or ROOT in leak_text:
        return None
    ref = os.path.join(out, "reference")
    os.makedirs(ref, exist_ok=True)
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(ref, "state"),
               XDG_CONFIG_HOME=os.path.join(ref, "config"))
    run = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24",
                          os.path.join(a.build, "app/channeldeck"), "--size", "1920x1080",
                          "--frames", "30", "--screenshot", os.path.join(ref, "wall.png")],
                         env=env, capture_output=True, text=True, errors="replace", timeout=300)
    if LEAK_SUMMARY.findall(run.stderr + run.stdout) != soak:
        return None
    return (f"{soak[0][0]} bytes in {soak[0][1]} allocations outside ChannelDeck (GL stack), "
            "the same as a 30-frame run leaves")


def scrape(port):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    out = {}
    for name in ("channeldeck_messages_delivered_total", 'channeldeck_requests_total{outcome="2xx"}',
                 'channeldeck_requests_total{outcome="429"}'):
        m = re.search("^" + re.escape(name) + r" ([0-9.e+]+)$", text, re.M)
        if m:
            out[name] = float(m.group(1))
    return out


def app_pid(launcher_pid):
    """xvfb-run starts Xvfb and the app as children; find the app."""
    try:
        if os.readlink(f"/proc/{launcher_pid}/exe").endswith("/channeldeck"):
            return launcher_pid  # --headless: no xvfb-run
    except OSError:
        pass
    deadline = time.time() + 30
    while time.time() < deadline:
        out = subprocess.run(["pgrep", "-f", "-P", str(launcher_pid), "channeldeck"],
                             capture_output=True, text=True).stdout.split()
        for pid in out:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                continue
            if exe.endswith("/channeldeck"):
                return int(pid)
        time.sleep(0.2)
    raise SystemExit("soak: the app did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--warmup", type=float, default=15)
    ap.add_argument("--scale", type=float, default=5)
    ap.add_argument("--interval", type=float, default=60)
    ap.add_argument("--memory-messages", type=int, default=6000)
    ap.add_argument("--review-items", type=int, default=300)
    ap.add_argument("--headless", action="store_true",
                    help="no window: the core alone (to tell UI and GL memory from the core's)")
    ap.add_argument("--build", default="build/default")
    ap.add_argument("--out", default="build/soak")
    a = ap.parse_args()
    os.chdir(ROOT)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    state = os.path.join(out, "state")
    os.makedirs(state, exist_ok=True)
    for name in os.listdir(state):
        if name.startswith("channeldeck.db"):
            os.remove(os.path.join(state, name))

    sim_log = open(os.path.join(out, "graphsim.log"), "w")
    sim = subprocess.Popen([os.path.join(a.build, "app/graphsim"), "--port", "0", "--scenario",
                            "assets/scenarios/steady-500-channels.json", "--seed", "7",
                            "--traffic-scale", str(a.scale), "--state-dir",
                            os.path.join(state, "graphsim")],
                           stdout=subprocess.PIPE, stderr=sim_log, text=True)
    info = json.loads(sim.stdout.readline())
    config = {
        "graph_url": info["graph"], "authority_url": info["authority"], "tenant": info["tenant"],
        "client_id": info["client_id"], "client_secret": info["client_secret"],
        "ca_file": info["ca"], "db_path": os.path.join(state, "channeldeck.db"),
        "auth_mode": "client_credentials",
        # A memory limit the run reaches within its warm-up, so that what follows is the
        # steady state: messages keep arriving and leaving memory (they stay in the database).
        "sync": {"memory_max_messages": a.memory_messages,
                 "memory_max_review_items": a.review_items},
    }
    config_path = os.path.join(out, "config.json")
    fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)

    metrics_port = free_port()
    app_log = open(os.path.join(out, "app.log"), "w")
    env = dict(os.environ, XDG_STATE_HOME=state, XDG_CONFIG_HOME=os.path.join(out, "xdg-config"))
    app = [os.path.join(a.build, "app/channeldeck"), "--config", config_path,
           "--metrics-port", str(metrics_port)]
    if a.headless:
        app += ["--headless", "--duration", str(a.minutes * 60 + 3600)]
    else:
        app = ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24"] + app + ["--size", "1920x1080"]
    launcher = subprocess.Popen(
        app,
        stdout=app_log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    pid = app_pid(launcher.pid)
    print(f"soak: app pid {pid}, graphsim pid {sim.pid}, {a.minutes:g} min, "
          f"traffic x{a.scale:g}", flush=True)

    rows = []
    start = time.time()
    failures = []
    with open(os.path.join(out, "samples.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["minute", "rss_mib", "threads", "fds", "messages_delivered", "requests_2xx",
                    "requests_429", "graphsim_rss_mib"])
        n = 0
        while True:
            if launcher.poll() is not None:
                failures.append(f"the app exited early with status {launcher.returncode}")
                break
            rss, threads, fds = proc_sample(pid)
            sim_rss = proc_sample(sim.pid)[0]
            m = scrape(metrics_port)
            row = [round((time.time() - start) / 60, 1), round(rss / 1024, 1), threads, fds,
                   int(m.get("channeldeck_messages_delivered_total", -1)),
                   int(m.get('channeldeck_requests_total{outcome="2xx"}', -1)),
                   int(m.get('channeldeck_requests_total{outcome="429"}', -1)),
                   round(sim_rss / 1024, 1)]
            rows.append(row)
            w.writerow(row)
            f.flush()
            print("soak: " + " ".join(f"{k}={v}" for k, v in zip(
                ["min", "rss_mib", "threads", "fds", "msgs", "2xx", "429", "sim_rss_mib"], row)),
                flush=True)
            n += 1
            if n * a.interval > a.minutes * 60:
                break
            time.sleep(max(0.0, start + n * a.interval - time.time()))

    if launcher.poll() is None:
        os.kill(pid, signal.SIGTERM)  # the app quits normally; xvfb-run then stops Xvfb
    try:
        code = launcher.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        code = launcher.wait()
        failures.append("the app did not quit within 120 s of SIGTERM")
    sim.send_signal(signal.SIGTERM)
    sim.wait(timeout=60)
    app_log.close()
    log_text = open(os.path.join(out, "app.log"), errors="replace").read()
    gl_leak = None
    if SANITIZER.search(log_text):
        gl_leak = None if a.headless else fixed_gl_leak(a, out, log_text)
        if gl_leak is None:
            failures.append("a sanitizer report is in app.log")
    if code != 0 and not (gl_leak and code == 1):  # LeakSanitizer's exit status
        failures.append(f"the app exited with status {code}")

    after = [r for r in rows if r[0] >= a.warmup]
    summary = {"minutes": a.minutes, "warmup_minutes": a.warmup, "traffic_scale": a.scale,
               "samples": len(rows), "build": a.build, "exit_status": code}
    if gl_leak:
        summary["gl_stack_leak"] = gl_leak
    for i, name in ((1, "rss_mib"), (2, "threads"), (3, "fds")):
        vals = [r[i] for r in after]
        if not vals:
            failures.append("no samples after the warm-up")
            break
        med = statistics.median(vals)
        spread = max(abs(v - med) / med for v in vals) if med else 0.0
        summary[name] = {"median": med, "min": min(vals), "max": max(vals),
                         "max_deviation_from_median": round(spread, 4)}
        if spread > 0.05:
            failures.append(f"{name} moved {spread:.1%} from its median after the warm-up")
    if not after or after[-1][4] <= max(0, after[0][4]):
        failures.append("no messages arrived after the warm-up")
    summary["failures"] = failures
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(json.dumps(summary, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
