#!/usr/bin/env bash
# A private PostgreSQL cluster on 127.0.0.1:55432 for the test suite, when no server is running.
# Prints the SQLAlchemy URL. Usage: scripts/pg.sh start|stop
set -euo pipefail
cd "$(dirname "$0")/.."
dir="$PWD/.cache/pg"
port=55432
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends postgresql >&2
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
run() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    mkdir -p "$dir"; [[ $(id -u) -eq 0 ]] && chown postgres "$dir"
    if [[ ! -f "$dir/PG_VERSION" ]]; then
      run "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
    fi
    if ! run "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      run "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" start >&2
    fi
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop) run "$bin/pg_ctl" -D "$dir" -m fast stop >&2 ;;
esac
