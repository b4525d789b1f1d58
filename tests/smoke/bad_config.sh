#!/usr/bin/env bash
# A bad config gives one clear error naming the key, and exit code 2.
set -uo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '{"graph_url": "http://plain.example/v1.0"}' >"$dir/c.json"
out=$("$1" --headless --config "$dir/c.json" 2>&1)
code=$?
echo "exit=$code stderr=$out"
[ "$code" -eq 2 ] || exit 1
case "$out" in *'"graph_url"'*) ;; *) exit 1;; esac
out=$("$1" --headless --config "$dir/missing.json" 2>&1); code=$?
echo "exit=$code stderr=$out"
[ "$code" -eq 2 ] || exit 1
out=$("$1" --headless --frobnicate 2>&1); code=$?
[ "$code" -eq 2 ] || exit 1
# A rule pack that does not parse stops the app with the rule and key named.
printf '{"rules":[{"id":"bad","when":{"regex":"(unclosed"}}]}' >"$dir/rules.json"
printf '{"rules_path": "%s"}' "$dir/rules.json" >"$dir/r.json"
out=$(XDG_STATE_HOME="$dir/state" "$1" --headless --duration 1 --config "$dir/r.json" 2>&1); code=$?
echo "exit=$code stderr=$out"
[ "$code" -eq 2 ] || exit 1
case "$out" in *'rule "bad".when.regex'*) ;; *) exit 1;; esac
printf '{"rules_path": "%s/none.json"}' "$dir" >"$dir/r2.json"
out=$(XDG_STATE_HOME="$dir/state" "$1" --headless --duration 1 --config "$dir/r2.json" 2>&1); code=$?
echo "exit=$code stderr=$out"
[ "$code" -eq 2 ] || exit 1
case "$out" in *'cannot read rule pack'*) ;; *) exit 1;; esac
