#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with Dovecot 2.4, slapd 2.6 and Postfix 3.10, built once with debootstrap and
# cached outside the clone, so tests can run the mail host's next release against the project's own servers.
# Usage: scripts/trixie-chroot.sh [--print]   prints the chroot's path on success (builds it when missing).
# CONGVU_TRIXIE_CHROOT overrides the place (default /var/cache/congvu/trixie). Exit 2 when it cannot be built
# (not root, no debootstrap, no network); the reason is on stderr.
set -euo pipefail

dir="${CONGVU_TRIXIE_CHROOT:-/var/cache/congvu/trixie}"
mirror="${CONGVU_TRIXIE_MIRROR:-http://deb.debian.org/debian}"
# Changing the list rebuilds the chroot: the stamp records it.
packages="dovecot-imapd,dovecot-pop3d,dovecot-ldap,slapd,ldap-utils,postfix,postfix-ldap"
stamp="$dir/.congvu-stamp"
want="trixie $packages"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$dir"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "trixie-chroot: debootstrap and chroot need root" >&2
  exit 2
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  echo "trixie-chroot: debootstrap is not installed (scripts/bootstrap.sh --test installs it)" >&2
  exit 2
fi

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
# Another run may have finished the build while this one waited for the lock.
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$dir"
  exit 0
fi

work="$dir.build"
rm -rf "$work"
log="$dir.build.log"
echo "trixie-chroot: building $dir with debootstrap (about five minutes; log $log)" >&2
# Two stages so that a policy-rc.d is in place before any package's postinst runs: slapd's and Dovecot's
# would otherwise start daemons on the host's network from inside the chroot.
if ! debootstrap --foreign --variant=minbase --include="$packages" trixie "$work" "$mirror" >"$log" 2>&1; then
  echo "trixie-chroot: debootstrap could not download trixie from $mirror (see $log)" >&2
  rm -rf "$work"
  exit 2
fi
printf '#!/bin/sh\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod +x "$work/usr/sbin/policy-rc.d"
if ! chroot "$work" /debootstrap/debootstrap --second-stage >>"$log" 2>&1; then
  echo "trixie-chroot: the second stage of debootstrap failed (see $log)" >&2
  rm -rf "$work"
  exit 2
fi
# Packages may have started nothing, but their configured daemons must not run on boot of anything either.
rm -f "$work"/etc/rc?.d/S* 2>/dev/null || true
rm -rf "$work/var/cache/apt/archives"/*.deb
echo "$want" >"$work/.congvu-stamp"
rm -rf "$dir"
mv "$work" "$dir"
echo "$dir"
