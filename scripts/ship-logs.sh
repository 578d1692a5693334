#!/usr/bin/env bash
# Ship a mail host's log to the machine that runs `congvu scheduler`, for its logs.follow job.
# Usage: scripts/ship-logs.sh SOURCE DEST_DIR
#   SOURCE   the log on the mail host: [user@]host:/var/log/mail.log (over ssh), or a local path
#   DEST_DIR a folder on this machine; point CONGVU_USAGE_LOG_FILES at DEST_DIR/<name of the log>
# Copies the log and its just-rotated predecessor (.1 or .1.gz) as they are. Run it more often than the mail
# host rotates (config/deploy/congvu-ship-logs@.timer: every minute). Nothing is lost or counted twice, whatever
# stops when: rsync writes each copy under a temporary name and renames it only when complete, a copy is
# byte for byte the mail host's file, and congvu knows a file by its first line and resumes it at the offset
# committed with its counts (a rotated copy keeps its first line, so its unread tail is read from the .1).
set -euo pipefail
if (($# != 2)); then
  sed -n '3,6p' "$0" >&2
  exit 2
fi
source_log="$1"
dest="$2"
mkdir -p "$dest"
# --ignore-missing-args: no predecessor yet is normal. No --inplace/--append: a file must never be seen half
# copied, nor a rotated file's copy be grown from its successor.
exec rsync --times --compress --timeout=120 --ignore-missing-args \
  "$source_log" "$source_log.1" "$source_log.1.gz" "$dest/"
