#!/usr/bin/env bash
# channeldeck export: sync the demo tenant headless for a few seconds, then export a
# channel from the local cache (no network) to CSV and JSON, and check the errors.
set -euo pipefail
app=$1 out=$2
rm -rf "$out"
mkdir -p "$out"
export XDG_STATE_HOME="$out/state" XDG_CONFIG_HOME="$out/config"
"$app" --headless --duration 6 --report "$out/report.json" 2>"$out/sync.log"
"$app" export --team "Engineering - Payments" --channel Deployments --format csv --out "$out/d.csv"
"$app" export --team "Engineering - Payments" --channel Deployments --since 2000-01-01 \
  --format json --out "$out/d.json"
test "$(stat -c %a "$out/d.csv")" = 600
python3 - "$out/d.csv" "$out/d.json" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
doc = json.load(open(sys.argv[2]))
assert len(rows) > 10, len(rows)
assert len(rows) == len(doc), (len(rows), len(doc))
assert rows[0]["channel"] == "Deployments"
assert all(r["id"] and r["created"] for r in rows)
# CSV defuses spreadsheet formulas: text starting with = + - @ gets a leading apostrophe.
for r, d in zip(rows, doc):
    want = "'" + d["text"] if d["text"][:1] in ("=", "+", "-", "@") else d["text"]
    assert r["text"] == want, (r["text"], d["text"])
assert any(d["text"].startswith("@") for d in doc), "expected a message starting with a mention"
print(f"export: {len(rows)} messages in CSV and JSON")
PY
# --until before everything: a header and no rows.
"$app" export --team "Engineering - Payments" --channel Deployments --until 2000-01-01 \
  --format csv --out - >"$out/empty.csv"
test "$(wc -l <"$out/empty.csv")" -eq 1
set +e
"$app" export --team Nope --channel Deployments --format csv --out "$out/x.csv" 2>"$out/err1"
e1=$?
"$app" export --team "Engineering - Payments" --channel Deployments --format xml --out x 2>"$out/err2"
e2=$?
set -e
test $e1 -eq 1 && grep -q 'no team "Nope"' "$out/err1"
test $e2 -eq 2 && grep -q 'format must be csv or json' "$out/err2"
echo "export: errors are clear"
