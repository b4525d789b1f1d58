#!/usr/bin/env bash
# Command-line conventions for every executable: --help prints the usage on stdout and exits
# 0; --version prints "NAME VERSION" on stdout and exits 0; an unknown option is one line on
# stderr, nothing on stdout, exit 2.
#   cli_conventions.sh CHANNELDECK GRAPHSIM
set -uo pipefail
app=$1 sim=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
expect() {  # expect NAME CODE STDOUT_PATTERN ("": empty) STDERR_LINES -- COMMAND...
  local name=$1 code=$2 pattern=$3 errlines=$4
  shift 5
  "$@" >"$dir/out" 2>"$dir/err"
  local got=$?
  local lines
  lines=$(wc -l <"$dir/err")
  if [ "$got" -ne "$code" ]; then
    echo "FAIL $name: exit $got, expected $code"; fail=1
  fi
  if [ -z "$pattern" ]; then
    if [ -s "$dir/out" ]; then echo "FAIL $name: stdout is not empty:"; cat "$dir/out"; fail=1; fi
  elif ! grep -qE -- "$pattern" "$dir/out"; then
    echo "FAIL $name: stdout does not match /$pattern/:"; cat "$dir/out"; fail=1
  fi
  if [ "$errlines" != "*" ] && [ "$lines" -ne "$errlines" ]; then
    echo "FAIL $name: $lines stderr lines, expected $errlines:"; cat "$dir/err"; fail=1
  fi
  echo "ok   $name (exit $got)"
}
expect "channeldeck --help" 0 '^usage: channeldeck' 0 -- "$app" --help
expect "channeldeck -h" 0 '^usage: channeldeck' 0 -- "$app" -h
expect "channeldeck --version" 0 '^channeldeck [0-9]+\.[0-9]+\.[0-9]+$' 0 -- "$app" --version
expect "channeldeck export --help" 0 '^usage: channeldeck export' 0 -- "$app" export --help
expect "channeldeck export --version" 0 '^channeldeck [0-9]+\.[0-9]+' 0 -- "$app" export --version
expect "graphsim --help" 0 '^usage: graphsim' 0 -- "$sim" --help
expect "graphsim --version" 0 '^graphsim [0-9]+\.[0-9]+\.[0-9]+$' 0 -- "$sim" --version
# Errors: one line on stderr, empty stdout, exit 2.
expect "channeldeck --frobnicate" 2 "" 1 -- "$app" --frobnicate
expect "channeldeck export --frobnicate" 2 "" 1 -- "$app" export --frobnicate x
expect "channeldeck export (nothing)" 2 "" 1 -- "$app" export
expect "graphsim --frobnicate" 2 "" 1 -- "$sim" --frobnicate
expect "channeldeck --frames (no value)" 2 "" 1 -- "$app" --frames
grep -q 'unknown option --frobnicate' <("$app" --frobnicate 2>&1) || { echo "FAIL the error does not name the option"; fail=1; }
exit $fail
