#!/bin/sh
# Final delivery for congvu's private Postfix (closed network: the demo and the tests), run by pipe(8) as
# the 'mail' user for one recipient at a time: the message on stdin goes into the Maildir
# MAILDIR_BASE/<domain>/<localpart>/new, under a name that sorts in delivery order (<sec>.M<usec>P<pid>).
# Usage: deliver-maildir.sh MAILDIR_BASE DOMAIN LOCALPART
# Exit 67 (EX_NOUSER, bounce) for an address that would name a path outside the base; 75 (EX_TEMPFAIL,
# Postfix retries) if the write fails.
set -u
umask 077
[ $# -eq 3 ] || exit 64
base=$1
domain=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')
local=$(printf '%s' "$3" | tr '[:upper:]' '[:lower:]')
case "$domain" in "" | .* | */*) exit 67 ;; esac
case "$local" in "" | .* | */*) exit 67 ;; esac
box="$base/$domain/$local"
now=$(date +%s.%N)
sec=${now%.*}
nsec=${now#*.}
name="$sec.M${nsec%???}P$$.congvu"
set -C
mkdir -p "$box/tmp" "$box/new" "$box/cur" || exit 75
if ! cat >"$box/tmp/$name"; then
  rm -f "$box/tmp/$name"
  exit 75
fi
mv "$box/tmp/$name" "$box/new/$name" || exit 75
