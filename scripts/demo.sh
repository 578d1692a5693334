#!/usr/bin/env bash
# Everything for the demo, from a fresh Debian machine: packages, services, database, demo province, then the
# console on http://127.0.0.1:5000 served as in production: gunicorn with several web workers, and beside it
# the scheduler with its background-task worker (imports, reports). Ctrl-C stops all of them.
# Re-running reuses the instance folder.
# CONGVU_DEMO_STAFF (default 2000): staff loaded; CONGVU_DEMO_PORT (5000): the console's port;
# CONGVU_DEMO_WORKERS (3): gunicorn's web workers.
set -euo pipefail
cd "$(dirname "$0")/.."
# The demo's own knobs, kept out of congvu's environment: it refuses CONGVU_ names it does not know.
staff="${CONGVU_DEMO_STAFF:-2000}"
port="${CONGVU_DEMO_PORT:-5000}"
workers="${CONGVU_DEMO_WORKERS:-3}"
unset CONGVU_DEMO_STAFF CONGVU_DEMO_PORT CONGVU_DEMO_WORKERS
scripts/bootstrap.sh
export CONGVU_INSTANCE_PATH="${CONGVU_INSTANCE_PATH:-$PWD/instance}"
export CONGVU_PUBLIC_URL="${CONGVU_PUBLIC_URL:-http://127.0.0.1:$port}"
mkdir -p "$CONGVU_INSTANCE_PATH"
congvu=.venv/bin/congvu
$congvu services start
$congvu db upgrade heads
logins="$CONGVU_INSTANCE_PATH/demo-logins.txt"
if [[ ! -s "$logins" ]]; then
  (umask 077 && $congvu demo load --staff "$staff" | tee "$logins.tmp")
  mv "$logins.tmp" "$logins"
else
  echo "demo already loaded; logins from $logins:"
  sed -n '/Demo logins/,$p' "$logins"
fi
echo

pids=()
stop_all() {
  trap - EXIT INT TERM
  ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop_all; exit 130' INT TERM
trap stop_all EXIT

# The scheduler: timed jobs, and the worker thread that runs imports and reports for every web worker.
$congvu scheduler >>"$CONGVU_INSTANCE_PATH/scheduler.log" 2>&1 &
pids+=($!)
# The web workers share nothing but the database and the signed session cookie (the instance's secret_key,
# made by the commands above). The access log names the worker (pid) that answered each request.
.venv/bin/gunicorn --workers "$workers" --bind "127.0.0.1:$port" --forwarded-allow-ips 127.0.0.1 \
  --access-logfile "$CONGVU_INSTANCE_PATH/access.log" \
  --access-logformat '%(h)s %(t)s "%(r)s" %(s)s %(B)s %(M)sms worker=%(p)s' \
  --error-logfile "$CONGVU_INSTANCE_PATH/gunicorn.log" \
  'admin_app:create_app()' &
pids+=($!)
echo "Console: http://127.0.0.1:$port   ($workers gunicorn workers, pid ${pids[1]}; stop with Ctrl-C;" \
  "'congvu services stop' stops slapd, Dovecot and Postfix)"
echo "Scheduler and background worker: pid ${pids[0]}, log $CONGVU_INSTANCE_PATH/scheduler.log"
# If either stops on its own, stop the other: the demo runs whole or not at all.
wait -n "${pids[@]}"
