#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: lint, then pytest on SQLite, then again on PostgreSQL.
# PostgreSQL: CONGVU_TEST_PG_URL if set, else the server on 127.0.0.1:5432 if it answers, else a private
# cluster started by scripts/pg.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
export PATH="$PWD/.venv/bin:$PATH"

ruff check .
ruff format --check .
python scripts/i18n.py --check >/dev/null

# Debian 13 (Dovecot 2.4, slapd 2.6, Postfix 3.10) for tests/test_deploy_dovecot24.py: built once (about five
# minutes) and cached in /var/cache/congvu/trixie; where it cannot be made, those tests say why and are skipped.
scripts/trixie-chroot.sh >/dev/null || echo "== no Debian 13 chroot: its tests will be skipped"

status=0
echo "== pytest on SQLite"
pytest -q "$@" || status=$?

pg_url="${CONGVU_TEST_PG_URL:-}"
if [[ -z "$pg_url" ]]; then
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    pg_url="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  else
    pg_url=$(scripts/pg.sh start)
  fi
fi
echo "== pytest on PostgreSQL ($pg_url)"
CONGVU_TEST_DATABASE_URL="$pg_url" pytest -q "$@" || status=$?
exit $status
