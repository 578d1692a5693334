#!/usr/bin/env bash
# Install everything congvu needs on a Debian machine (idempotent): Debian packages, a virtualenv with
# the project and its tools. Usage: scripts/bootstrap.sh [--test]   (--test adds the browser and test tools)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

packages=(slapd ldap-utils dovecot-imapd dovecot-pop3d dovecot-ldap postfix postfix-ldap fonts-dejavu-core fonts-dejavu-extra ca-certificates)
if ((want_test)); then
  # debootstrap: the cached Debian 13 chroot (scripts/trixie-chroot.sh); rsync: log shipping (scripts/ship-logs.sh);
  # nginx: config/deploy/nginx-congvu.conf in front of gunicorn (tests/test_deploy_audit.py); rsyslog: its RFC 3339
  # and classic files (tests/test_logs_dovecot24.py). The tests run both privately, never as system services.
  packages+=(chromium pflogsumm postgresql-client debootstrap rsync nginx rsyslog)
fi
python_bin=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' 2>/dev/null; then
    python_bin=$(command -v "$candidate")
    break
  fi
done
if [[ -z "$python_bin" ]] || ! "$python_bin" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3 python3-venv)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  # Keep the packages' own system daemons from starting: congvu runs private ones on loopback.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
if [[ -z "$python_bin" ]]; then
  python_bin=$(command -v python3)
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
extras=""
((want_test)) && extras="[test]"
stamp=".venv/.congvu-installed${extras:+-test}"
if [[ ! -f "$stamp" || pyproject.toml -nt "$stamp" ]]; then
  echo "bootstrap: installing Python packages"
  .venv/bin/python -m pip install -q --disable-pip-version-check -U pip
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}"
  touch "$stamp"
fi
