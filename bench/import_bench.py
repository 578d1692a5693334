"""Import benchmark: congvu's end-to-end import against `ldapadd -f` of the equivalent LDIF, same slapd.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--database-url URL] [--memory 10000,50000]

End to end means: parse the CSV, validate every row, write staff rows, directory jobs and audit entries
in one transaction, commit, then apply every job to slapd. ldapadd gets the same entries (same object
classes and attributes) under a sibling unit. Memory is the peak RSS of a separate process per size.
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from admin_app.migrate import upgrade  # noqa: E402
from core.actors import SYSTEM  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from core.tabular import read_table  # noqa: E402
from demo.names import highlands_name as _highlands_name  # noqa: E402
from demo.names import kinh_name as _kinh_name  # noqa: E402
from provisioning.directory import Directory, DirectoryConfig  # noqa: E402
from provisioning.importing import apply  # noqa: E402
from provisioning.operations import MailboxPolicy, create_unit  # noqa: E402
from provisioning.sync import apply_pending  # noqa: E402
from services.common import ServiceConfig, free_port  # noqa: E402
from services.supervisor import Services  # noqa: E402

BASE = "dc=gialai,dc=gov,dc=vn"
ADMIN = f"cn=admin,{BASE}"


def make_csv(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("mã_cán_bộ,họ_và_tên,chức_vụ,điện_thoại\n")
    for i in range(rows):
        name = _highlands_name(rng) if rng.random() < 0.3 else _kinh_name(rng)
        out.write(f"B{i:07d},{name},Chuyên viên,09{rng.randint(10_000_000, 99_999_999)}\n")
    return out.getvalue().encode("utf-8")


def start_services(tmp: Path) -> Services:
    svc = Services(
        ServiceConfig(
            tmp / "services",
            BASE,
            ADMIN,
            "bench-admin-pw",
            ldap_port=free_port(),
            imap_port=free_port(),
            pop3_port=free_port(),
        )
    )
    svc.start()
    return svc


def congvu_import(csv_bytes: bytes, url: str, svc: Services, unit_code: str) -> dict[str, float]:
    """Import into an empty unit, end to end; returns seconds per phase."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        from sqlalchemy import select

        from provisioning.models import Unit

        root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
        if root is None:
            root = create_unit(session, SYSTEM, code="GIALAI", name="UBND tỉnh Gia Lai", kind="province", parent=None)
        create_unit(session, SYSTEM, code=unit_code, name=f"Đơn vị {unit_code}", kind="department", parent=root)
    # A unit of 50,000 gets a distribution list of 50,000 members (one write: memberOf is computed when read).
    directory = Directory(DirectoryConfig(svc.ldap_url, BASE, ADMIN, "bench-admin-pw", 600))
    # Units first, so only the staff remain to be timed.
    apply_pending(factory, directory, BASE, "k" * 40, default_domain="gialai.gov.vn")
    started = time.perf_counter()
    with unit_of_work(factory) as session:
        from sqlalchemy import select

        from provisioning.models import Unit

        unit = session.scalar(select(Unit).where(Unit.code == unit_code))
        apply(session, SYSTEM, unit, read_table(io.BytesIO(csv_bytes), "bench.csv"), MailboxPolicy("gialai.gov.vn"))
    database_done = time.perf_counter()
    rss_after_database = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = apply_pending(factory, directory, BASE, "k" * 40, default_domain="gialai.gov.vn", limit=10**9)
    finished = time.perf_counter()
    directory.close()
    engine.dispose()
    if result.pending or result.failed:
        raise RuntimeError(f"directory jobs left over: {result}")
    return {
        "database": database_done - started,
        "directory": finished - database_done,
        "total": finished - started,
        "peak_rss_after_database_mb": rss_after_database,
    }


def ldif_for(csv_bytes: bytes, unit_code: str) -> str:
    """The same people as LDIF entries, as congvu would write them, under another unit."""
    import base64

    from provisioning.names import generate_local_part, split_name, unique_local_part

    taken: set[str] = set()
    chunks = [
        f"dn: ou={unit_code},{BASE}\nobjectClass: organizationalUnit\nobjectClass: congvuUnit\n"
        f"ou: {unit_code}\ncongvuUnitCode: {unit_code}\n"
    ]
    for row in read_table(io.BytesIO(csv_bytes), "bench.csv"):
        name = row.values["họ_và_tên"]
        parts = split_name(name)
        local = unique_local_part(generate_local_part(name), lambda lp: lp in taken)
        taken.add(local)
        mail = f"{local}.l@gialai.gov.vn"

        def b64(value: str) -> str:
            return base64.b64encode(value.encode()).decode()

        chunks.append(
            f"dn: uid={mail},ou={unit_code},{BASE}\nobjectClass: inetOrgPerson\nobjectClass: congvuMailbox\n"
            f"cn:: {b64(name)}\nsn:: {b64(parts.family or name)}\ngivenName:: {b64(parts.given)}\n"
            f"displayName:: {b64(name)}\nmail: {mail}\nemployeeNumber: {row.values['mã_cán_bộ']}\n"
            f"title:: {b64(row.values['chức_vụ'])}\ntelephoneNumber: {row.values['điện_thoại']}\n"
            f"congvuMailStatus: active\ncongvuMailQuota: 2048\ncongvuAccountKind: personal\n"
            f"congvuStaffNumber: L{row.values['mã_cán_bộ']}\n"
        )
    return "\n".join(chunks)


def ldapadd(ldif: str, svc: Services, tmp: Path) -> float:
    path = tmp / "bench.ldif"
    path.write_text(ldif, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run(
        ["ldapadd", "-x", "-H", svc.ldap_url, "-D", ADMIN, "-w", "bench-admin-pw", "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def memory_child(rows: int, url: str | None) -> None:
    """Run one end-to-end import in this process and print its peak RSS as JSON."""
    tmp = Path(tempfile.mkdtemp(prefix="congvu-bench-mem-"))
    tmp.chmod(0o755)
    svc = start_services(tmp)
    try:
        db_url = url or f"sqlite:///{tmp / 'bench.db'}"
        upgrade(db_url)
        csv_bytes = make_csv(rows)
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        timings = congvu_import(csv_bytes, db_url, svc, "MEM")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            json.dumps(
                {
                    "rows": rows,
                    "peak_rss_mb": peak / 1024,
                    "rss_before_mb": base_rss / 1024,
                    "csv_mb": len(csv_bytes) / 1e6,
                    **timings,
                }
            )
        )
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--memory", default="10000,50000", help="row counts for the memory runs ('' to skip)")
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.database_url)
        return

    tmp = Path(tempfile.mkdtemp(prefix="congvu-bench-"))
    tmp.chmod(0o755)
    svc = start_services(tmp)
    try:
        url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
        upgrade(url)
        csv_bytes = make_csv(args.rows)
        ours = congvu_import(csv_bytes, url, svc, "BENCH")
        theirs = ldapadd(ldif_for(csv_bytes, "LDAPADD"), svc, tmp)
        print(f"rows: {args.rows}   database: {url.split(':')[0]}")
        print(
            f"congvu import end to end: {ours['total']:.2f} s = {args.rows / ours['total']:.0f} rows/s "
            f"(database {ours['database']:.2f} s, directory {ours['directory']:.2f} s)"
        )
        print(f"ldapadd -f same entries:  {theirs:.2f} s = {args.rows / theirs:.0f} entries/s")
        print(f"ratio (congvu rate / ldapadd rate): {theirs / ours['total']:.2f}")
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for size in [int(x) for x in args.memory.split(",") if x]:
        cmd = [sys.executable, __file__, "--memory-child", str(size)]
        if args.database_url:
            cmd += ["--database-url", args.database_url]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        figures = json.loads(out)
        print(
            f"memory, {size} rows ({figures['csv_mb']:.1f} MB CSV): peak RSS {figures['peak_rss_mb']:.0f} MB "
            f"(before import {figures['rss_before_mb']:.0f} MB, after the database part "
            f"{figures['peak_rss_after_database_mb']:.0f} MB), {figures['total']:.1f} s end to end"
        )


if __name__ == "__main__":
    main()
