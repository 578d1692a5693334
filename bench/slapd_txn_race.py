"""Does slapd hang when an LDAP transaction ends on one connection while other writes are in flight on others?

    .venv/bin/python bench/slapd_txn_race.py --writes modrdn|modify|txn [--window 64] [--connections 1]
        [--entries 4000] [--chroot /var/cache/congvu/trixie]

A private slapd (the project's configuration) with ``--entries`` entries. One connection ends transactions of
200 modifies in a loop; meanwhile the others move every entry back and forth four times (modify DN, or a
modify of each, or transactions of their own), ``--window`` requests in flight on each of ``--connections``
connections. ``--chroot``: Debian 13's slapd 2.6 from ``scripts/trixie-chroot.sh`` instead. A hang shows as a
timeout (30 s) on both sides. This is why every batch of directory writes holds ``provisioning.directory_lock``
(docs/benchmarks.md has the figures). Prints what happened; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ldap3  # noqa: E402

from provisioning.ldap_pipeline import REPLACE, all_succeeded, modify_dn_request, modify_request, pipelined  # noqa: E402
from provisioning.ldap_txn import add_in_one_transaction, in_one_transaction  # noqa: E402
from services.common import ServiceConfig, free_port  # noqa: E402
from services.slapd import Slapd  # noqa: E402

BASE = "dc=gialai,dc=gov,dc=vn"
ADMIN = f"cn=admin,{BASE}"
PASSWORD = "race-admin-pw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writes", choices=["modrdn", "modify", "txn"], default="modrdn")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--entries", type=int, default=4000)
    parser.add_argument("--chroot", type=Path, default=None, help="run the slapd of this Debian chroot")
    args = parser.parse_args()
    n = args.entries
    base = (args.chroot / "var/lib/congvu") if args.chroot else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="congvu-txn-race-", dir=base))
    tmp.chmod(0o755)
    config = ServiceConfig(tmp, BASE, ADMIN, PASSWORD, ldap_port=free_port())
    svc = Slapd(config, tmp, chroot=args.chroot)
    svc.start()

    def connect() -> ldap3.Connection:
        server = ldap3.Server(svc.url)
        return ldap3.Connection(server, ADMIN, PASSWORD, auto_bind=True, receive_timeout=30, raise_exceptions=True)

    try:
        setup, ender = connect(), connect()
        for ou in ("A", "B", "T"):
            setup.add(f"ou={ou},{BASE}", ["organizationalUnit"], {"ou": ou})
        for start in range(0, n, 500):
            for ou in ("A", "T"):
                entries = [
                    (f"uid=u{i},ou={ou},{BASE}", ["inetOrgPerson"], {"uid": [f"u{i}"], "cn": [f"n {i}"], "sn": ["x"]})
                    for i in range(start, min(n, start + 500))
                ]
                add_in_one_transaction(setup, entries)
        writers = [connect() for _ in range(args.connections)]
        stop, errors, ended = threading.Event(), [], [0]

        def end_transactions() -> None:
            try:
                while not stop.is_set():
                    k = ended[0] % max(1, n // 200) * 200
                    reqs = [
                        modify_request(f"uid=u{i},ou=T,{BASE}", {"sn": (REPLACE, [f"s{ended[0]}"])})
                        for i in range(k, min(n, k + 200))
                    ]
                    in_one_transaction(
                        ender, lambda control, reqs=reqs: all_succeeded(pipelined(ender, reqs, control, window=1))
                    )
                    ended[0] += 1
            except Exception as exc:  # what happened is the figure
                errors.append(f"transactions: {exc!r}")

        def write(conn: ldap3.Connection, requests: list[bytes]) -> None:
            if args.writes == "txn":
                for k in range(0, len(requests), 200):
                    part = requests[k : k + 200]
                    in_one_transaction(
                        conn, lambda control, part=part: all_succeeded(pipelined(conn, part, control, window=1))
                    )
            else:
                all_succeeded(pipelined(conn, requests, window=args.window))

        ender_thread = threading.Thread(target=end_transactions)
        ender_thread.start()
        started = time.monotonic()
        try:
            src = "A"
            for rnd, dst in enumerate("BABA"):
                if args.writes == "modrdn":
                    reqs = [
                        modify_dn_request(f"uid=u{i},ou={src},{BASE}", f"uid=u{i},ou={dst},{BASE}") for i in range(n)
                    ]
                else:
                    reqs = [
                        modify_request(f"uid=u{i},ou={src},{BASE}", {"cn": (REPLACE, [f"r{rnd} {i}"])})
                        for i in range(n)
                    ]
                    dst = src
                parts = [reqs[k :: len(writers)] for k in range(len(writers))]
                with ThreadPoolExecutor(len(writers)) as pool:
                    list(pool.map(write, writers, parts))
                src = dst
                print(f"round {rnd}: {time.monotonic() - started:.1f} s, {ended[0]} transactions ended", flush=True)
        except Exception as exc:
            errors.append(f"writes: {exc!r}")
        stop.set()
        ender_thread.join()
        shape = f"{args.writes}, window {args.window}, {args.connections} connection(s)"
        print(f"{shape}: {ended[0]} transactions ended; " + ("; ".join(errors) if errors else "no hang"))
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
