#!/usr/bin/env bash
# Everything for the demo, from a fresh Debian machine: packages, services, database, demo province,
# then the console on http://127.0.0.1:5000. Re-running reuses the instance folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export CONGVU_INSTANCE_PATH="${CONGVU_INSTANCE_PATH:-$PWD/instance}"
mkdir -p "$CONGVU_INSTANCE_PATH"
congvu=.venv/bin/congvu
$congvu services start
$congvu db upgrade
logins="$CONGVU_INSTANCE_PATH/demo-logins.txt"
if [[ ! -s "$logins" ]]; then
  (umask 077 && $congvu demo load --staff "${CONGVU_DEMO_STAFF:-2000}" | tee "$logins.tmp")
  mv "$logins.tmp" "$logins"
else
  echo "demo already loaded; logins from $logins:"
  sed -n '/Demo logins/,$p' "$logins"
fi
echo
# The scheduler (timed jobs) with its background-task worker (imports) runs beside the console; Ctrl-C stops both.
$congvu scheduler >"$CONGVU_INSTANCE_PATH/scheduler.log" 2>&1 &
scheduler=$!
trap 'kill $scheduler 2>/dev/null; wait $scheduler 2>/dev/null' EXIT INT TERM
echo "Console: http://127.0.0.1:5000   (stop with Ctrl-C; 'congvu services stop' stops slapd, Dovecot and Postfix)"
echo "Scheduler and background worker: pid $scheduler, log $CONGVU_INSTANCE_PATH/scheduler.log"
$congvu run --host 127.0.0.1 --port 5000
