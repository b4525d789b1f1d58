#!/usr/bin/env bash
# The alert's desktop notification on a real session D-Bus: a private bus (dbus-run-session),
# dbus-monitor watching it, and the app's notifier sending one critical alert with sound.
# The Notify call on the bus must carry the summary, the body with its markup escaped, the
# critical urgency and the sound hint. No notification service runs on the private bus, so
# the notifier must also report that plainly instead of failing silently or hanging.
#   dbus_notify.sh NOTIFY_PROBE OUT_DIR
set -euo pipefail
probe=$1 out=$2
mkdir -p "$out"
log="$out/dbus-monitor.log" result="$out/notify-result.txt"
rm -f "$log" "$result"
dbus-run-session -- bash -c '
  dbus-monitor --session "type=method_call,interface=org.freedesktop.Notifications" >"$1" 2>&1 &
  mon=$!
  for _ in $(seq 50); do grep -q "member=NameAcquired\|signal" "$1" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
  "$2" "Critical rule hit in # Payments" "card <b>numbers</b> & more" critical sound >"$3"
  sleep 0.5
  kill $mon' _ "$log" "$probe" "$result"
cat "$result"
bad=0
need() { grep -qF -- "$1" "$log" || { echo "FAIL: the Notify call lacks $2"; bad=1; }; }
need 'member=Notify' "the Notify method"
need 'string "ChannelDeck"' "the app name"
need 'string "Critical rule hit in # Payments"' "the summary"
need 'string "card &lt;b&gt;numbers&lt;/b&gt; &amp; more"' "the escaped body"
need 'string "urgency"' "the urgency hint"
need 'byte 2' "critical urgency (2)"
need 'string "sound-name"' "the sound hint"
grep -q '^error: desktop notification not shown: org.freedesktop.DBus.Error.ServiceUnknown' "$result" ||
  { echo "FAIL: the missing notification service was not reported: $(cat "$result")"; bad=1; }
# Without a session bus the notifier says so, and starts none (no dbus-launch).
none=$(env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$out" DISPLAY= "$probe" "x" "y")
echo "$none"
[ "$none" = "error: desktop notifications unavailable: no session bus (DBUS_SESSION_BUS_ADDRESS is not set)" ] ||
  { echo "FAIL: without a bus: $none"; bad=1; }
exit $bad
