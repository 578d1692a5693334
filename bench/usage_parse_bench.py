"""Usage-log parsing benchmark: congvu's parser against ``pflogsumm`` on the same Postfix log.

    .venv/bin/python bench/usage_parse_bench.py [--mailboxes 30000] [--month 2026-10] [--dovecot 2.3|2.4]
        [--dir DIR] [--regenerate]

Generates a month of logs for ``--mailboxes`` mailboxes with ``bench/mail_logs.py`` (or reuses them from
``--dir``), warms the page cache, then times, each in a process of its own and by the wall clock:

* ``/usr/sbin/pflogsumm mail.log`` (Debian's; its report goes to /dev/null);
* congvu's parser on the same ``mail.log``: ``read_blocks`` + ``LogParser.parse_blocks`` + ``DailyTally``,
  that is everything ingestion does short of the database;
* the same on ``dovecot.log`` (written in Dovecot 2.3's words, or 2.4's with ``--dovecot 2.4``), which has
  no pflogsumm to compare with: most of its lines are events.

Prints lines, seconds and lines/s for both, the ratio (target: at least 4), and the parser's peak RSS
(``resource.getrusage``) for the whole file and for its first half: memory must not grow with lines.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audit.events import DEFAULT_TZ  # noqa: E402
from audit.logfiles import file_reference_time, read_blocks  # noqa: E402
from audit.parsing import LogParser  # noqa: E402
from audit.tally import DailyTally  # noqa: E402

PFLOGSUMM = "/usr/sbin/pflogsumm"


def logs_dir(args: argparse.Namespace) -> Path:
    """The month's logs, generated unless the folder already holds them for these parameters."""
    name = f"congvu-usage-bench-{args.mailboxes}-{args.month}-{args.seed}-dovecot{args.dovecot}"
    folder = args.dir or Path(tempfile.gettempdir()) / name
    stamp = folder / "generated.json"
    wanted = {"mailboxes": args.mailboxes, "month": args.month, "seed": args.seed, "dovecot": args.dovecot}
    if not args.regenerate and stamp.exists() and json.loads(stamp.read_text())["parameters"] == wanted:
        return folder
    sys.path.insert(0, str(ROOT / "bench"))
    from mail_logs import synthetic_addresses, write_month

    print(f"generating {args.mailboxes:,} mailboxes, {args.month}, in {folder} ...", flush=True)
    started = time.perf_counter()
    month = datetime.strptime(args.month, "%Y-%m").date()
    counts = write_month(synthetic_addresses(args.mailboxes), month, folder, seed=args.seed, dovecot=args.dovecot)
    stamp.write_text(json.dumps({"parameters": wanted, "lines": counts}))
    print(f"  generated in {time.perf_counter() - started:.0f} s: {counts}", flush=True)
    return folder


def parse_file(path: Path, limit: int | None) -> dict[str, float]:
    """Child process: parse and tally ``path`` (up to about ``limit`` bytes); report figures and peak RSS."""
    started = time.perf_counter()
    parser = LogParser(reference=file_reference_time(path, DEFAULT_TZ))
    tally = DailyTally(DEFAULT_TZ)
    blocks, offset = read_blocks(path)
    for block in blocks:
        tally.add_all(parser.parse_blocks([block], first_line=parser.lines + 1))
        if limit is not None and offset() >= limit:
            break
    seconds = time.perf_counter() - started
    return {
        "lines": parser.lines,
        "events": parser.events,
        "malformed": parser.malformed,
        "rows": len(tally),
        "bytes": offset(),
        "seconds": seconds,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def run_parser(path: Path, limit: int | None = None) -> tuple[dict[str, float], float]:
    command = [sys.executable, __file__, "--child", str(path)]
    if limit is not None:
        command += ["--limit", str(limit)]
    started = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out), time.perf_counter() - started


def warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(8 << 20):
            pass


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--mailboxes", type=int, default=30_000)
    cli.add_argument("--month", default="2026-10")
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--dovecot", choices=("2.3", "2.4"), default="2.3", help="the wording of dovecot.log")
    cli.add_argument("--dir", type=Path)
    cli.add_argument("--regenerate", action="store_true")
    cli.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    cli.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = cli.parse_args(argv)
    if args.child:
        print(json.dumps(parse_file(args.child, args.limit)))
        return 0

    folder = logs_dir(args)
    mail_log = folder / "mail.log"
    size = mail_log.stat().st_size
    print(f"mail.log: {size / 2**20:,.0f} MiB")
    warm(mail_log)

    started = time.perf_counter()
    subprocess.run([PFLOGSUMM, str(mail_log)], check=True, stdout=subprocess.DEVNULL)
    pflogsumm_seconds = time.perf_counter() - started
    pflogsumm_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    full, parser_seconds = run_parser(mail_log)
    half, _ = run_parser(mail_log, size // 2)
    lines = full["lines"]
    pflogsumm_rate = lines / pflogsumm_seconds
    parser_rate = lines / parser_seconds

    print(f"{'':28}{'lines':>12}{'seconds':>10}{'lines/s':>12}{'peak RSS':>12}")
    print(
        f"{'pflogsumm':28}{lines:>12,}{pflogsumm_seconds:>10.2f}{pflogsumm_rate:>12,.0f}"
        f"{pflogsumm_rss / 1024:>9,.0f} MiB"
    )
    print(
        f"{'congvu parser + tally':28}{lines:>12,}{parser_seconds:>10.2f}{parser_rate:>12,.0f}"
        f"{full['max_rss_kib'] / 1024:>9,.0f} MiB"
    )
    print(
        f"  of which in the parser (no interpreter start-up): {full['seconds']:.2f} s, {lines / full['seconds']:,.0f}/s"
    )
    print(f"  events {full['events']:,}, malformed {full['malformed']:,}, tally rows {full['rows']:,}")
    print(f"ratio (congvu / pflogsumm lines per second): {parser_rate / pflogsumm_rate:.2f}  (target >= 4)")
    dovecot_log = folder / "dovecot.log"
    warm(dovecot_log)
    dovecot, dovecot_seconds = run_parser(dovecot_log)
    print(
        f"dovecot.log ({args.dovecot}): {dovecot['lines']:,} lines, {dovecot_seconds:.2f} s, "
        f"{dovecot['lines'] / dovecot_seconds:,.0f} lines/s; in the parser {dovecot['seconds']:.2f} s, "
        f"{dovecot['events']:,} events, malformed {dovecot['malformed']:,}"
    )
    print(
        f"peak RSS of the parser: first half ({half['lines']:,} lines) {half['max_rss_kib'] / 1024:,.0f} MiB, "
        f"whole file ({lines:,} lines) {full['max_rss_kib'] / 1024:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
