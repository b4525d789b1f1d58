#!/usr/bin/env bash
# Without a display the app says so in one line and exits 2.
set -uo pipefail
out=$(env -u DISPLAY -u WAYLAND_DISPLAY "$1" --frames 1 2>&1 >/dev/null)
code=$?
echo "exit=$code stderr=$out"
[ "$code" -eq 2 ] || { echo "expected exit 2"; exit 1; }
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "expected one line"; exit 1; }
case "$out" in *"no display"*) ;; *) echo "expected 'no display'"; exit 1;; esac
