"""Reorganisation benchmark: a province whose every district is dissolved into communes, applied by congvu, against
``ldapmodify -f`` of the same moves (modrdn with newsuperior) and alias additions, on the same private slapd,
each on a fresh copy of the same directory data.

    .venv/bin/python bench/bench_reorganise.py [--mailboxes 12000] [--districts 12] [--memory 3000,12000]
        [--postgres [URL]]

The database is a fresh SQLite file, or with ``--postgres`` a scratch database of its own on that server (default
the local one), dropped afterwards.

congvu end to end: the apply task (read and resolve the plan, every verb in one transaction, commit, then every
directory job). Every mailbox moves to a commune under the province and changes domain (its district had its
own), so every address keeps an alias. ldapmodify gets the same entries moved and the old address added as an
alias, the communes added and the districts removed. Memory: peak RSS of a separate process per size.
Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_db import pg_server, scratch_database  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from sqlalchemy import select  # noqa: E402

from admin_app import create_app  # noqa: E402
from admin_app.migrate import upgrade  # noqa: E402
from core.actors import SYSTEM  # noqa: E402
from provisioning.models import Staff, Unit  # noqa: E402
from provisioning.operations import StaffInput, create_staff_many, create_unit  # noqa: E402
from provisioning.reorg import tasks as reorg_tasks  # noqa: E402
from services.common import ServiceConfig, free_port  # noqa: E402
from services.supervisor import Services  # noqa: E402

BASE = "dc=gialai,dc=gov,dc=vn"
ADMIN = f"cn=admin,{BASE}"
PASSWORD = "bench-admin-pw"
COMMUNES_PER_DISTRICT = 3


@contextlib.contextmanager
def private_services() -> Iterator[tuple[Path, Services]]:
    """A scratch folder and the private servers in it, stopped and removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="congvu-bench-reorg-"))
    tmp.chmod(0o755)
    config = ServiceConfig(
        tmp / "services", BASE, ADMIN, PASSWORD, ldap_port=free_port(), imap_port=free_port(), pop3_port=free_port()
    )
    svc = Services(config)
    svc.start()
    try:
        yield tmp, svc
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def app_for(tmp: Path, url: str, svc: Services):
    return create_app(
        {
            "instance_path": str(tmp / "instance"),
            "env": "testing",
            "database_url": url,
            "ldap_url": svc.ldap_url,
            "ldap_base_dn": BASE,
            "ldap_bind_dn": ADMIN,
            "ldap_bind_password": PASSWORD,
            "ldap_timeout_seconds": 600,
            "mail_domain": "gialai.gov.vn",
            "jitsi_app_secret": "bench-jitsi-secret-that-is-long-enough",
            "events_token": "bench-events-token",
        }
    )


def district_code(d: int) -> str:
    return f"H-{d:02d}"


def commune_code(d: int, c: int) -> str:
    return f"X-{d:02d}-{c}"


def build_province(runtime, mailboxes: int, districts: int) -> None:
    """The province before: districts with their own domains and their mailboxes, in the database and slapd."""
    per = mailboxes // districts
    with runtime.unit_of_work() as session:
        root = create_unit(session, SYSTEM, code="GIALAI", name="Tỉnh Gia Lai", kind="province", parent=None)
        units = [
            create_unit(
                session,
                SYSTEM,
                code=district_code(d),
                name=f"Huyện {d}",
                kind="district",
                parent=root,
                mail_domain=f"h{d:02d}.gialai.gov.vn",
            )
            for d in range(districts)
        ]
    for d, unit_id in enumerate(u.id for u in units):
        with runtime.unit_of_work() as session:
            unit = session.get(Unit, unit_id)
            create_staff_many(
                session,
                SYSTEM,
                [
                    (
                        unit,
                        StaffInput(f"Nguyễn Văn {i}", staff_number=f"N{d:02d}{i:05d}", local_part=f"p{d:02d}{i:05d}"),
                    )
                    for i in range(per)
                ],
                "gialai.gov.vn",
            )
    result = runtime.sync_directory()
    if result.pending or result.failed:
        raise RuntimeError(f"the province did not reach slapd: {result}")


def plan(mailboxes: int, districts: int) -> bytes:
    """Every district dissolved into three new communes under the province; the staff sheet places each person."""
    july = dt.datetime(2025, 7, 1)
    book = Workbook(write_only=True)
    units = book.create_sheet("Đơn vị")
    units.append(["Thao tác", "Mã cũ", "Mã mới", "Tên mới", "Loại", "Đơn vị cha mới", "Ngày hiệu lực"])
    for d in range(districts):
        for c in range(COMMUNES_PER_DISTRICT):
            units.append(["tạo mới", "", commune_code(d, c), f"Xã {d}-{c}", "xã", "GIALAI", july])
        units.append(["giải thể", district_code(d), commune_code(d, 0), "", "", "", july])
    staff = book.create_sheet("Nhân sự")
    staff.append(["Mã nhân sự", "Đơn vị mới"])
    per = mailboxes // districts
    for d in range(districts):
        for i in range(per):
            staff.append([f"N{d:02d}{i:05d}", commune_code(d, i % COMMUNES_PER_DISTRICT)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def congvu_apply(runtime, content: bytes) -> dict[str, float]:
    with runtime.unit_of_work() as session:
        reorg = reorg_tasks.upload(session, SYSTEM, "bench.xlsx", content)
        reorg_id = reorg.id
    worker = runtime.task_worker("bench")
    started = time.perf_counter()
    worker.run_one()
    previewed = time.perf_counter()
    with runtime.unit_of_work() as session:
        from provisioning.history_models import Reorganisation

        row = session.get(Reorganisation, reorg_id)
        if row.preview.get("errors"):
            raise RuntimeError(row.preview["errors"][:3])
        task_id = reorg_tasks.queue_apply(session, SYSTEM, row).id
    applying = time.perf_counter()
    task = worker.run_one(task_id)
    finished = time.perf_counter()
    assert task is not None
    with runtime.unit_of_work() as session:
        from core.tasks import Task

        stored = session.get(Task, task_id)
        if stored.status != "done":
            raise RuntimeError(stored.error)
    return {"preview": previewed - started, "apply": finished - applying}


def ldif_of_moves(runtime, districts: int) -> str:
    """The same change as LDIF: communes added, every entry moved and re-addressed with its old address as alias,
    districts removed (their lists first)."""
    chunks: list[str] = []
    for d in range(districts):
        for c in range(COMMUNES_PER_DISTRICT):
            code = commune_code(d, c)
            chunks.append(
                f"dn: ou={code},{BASE}\nchangetype: add\nobjectClass: organizationalUnit\nobjectClass: congvuUnit\n"
                f"ou: {code}\ndescription: Xa {d}-{c}\ncongvuUnitCode: {code}\n"
            )
    for d in range(districts):  # the lists first, as congvu does: no group to rewrite as each member moves
        chunks.append(f"dn: cn=dl-{district_code(d).lower()},ou={district_code(d)},{BASE}\nchangetype: delete\n")
    with runtime.session_factory() as session:
        rows = session.execute(select(Staff.staff_number, Staff.email).order_by(Staff.id)).all()
    for number, email in rows:
        d, i = int(number[1:3]), int(number[3:])
        local = email.partition("@")[0]
        new = f"{local}@gialai.gov.vn"
        chunks.append(
            f"dn: uid={email},ou={district_code(d)},{BASE}\nchangetype: modrdn\nnewrdn: uid={new}\ndeleteoldrdn: 1\n"
            f"newsuperior: ou={commune_code(d, i % COMMUNES_PER_DISTRICT)},{BASE}\n"
        )
        chunks.append(
            f"dn: uid={new},ou={commune_code(d, i % COMMUNES_PER_DISTRICT)},{BASE}\nchangetype: modify\n"
            f"replace: mail\nmail: {new}\n-\nadd: congvuMailAlias\ncongvuMailAlias: {email}\n-\n"
        )
    for d in range(districts):
        code = district_code(d)
        chunks.append(f"dn: ou={code},{BASE}\nchangetype: delete\n")
    return "\n".join(chunks)


def ldapmodify(ldif: str, svc: Services, tmp: Path) -> float:
    """Seconds of ``ldapmodify -f`` applying ``ldif`` (written to a file before the clock starts)."""
    (tmp / "moves.ldif").write_text(ldif, encoding="utf-8")
    command = ["ldapmodify", "-x", "-H", svc.ldap_url, "-D", ADMIN, "-w", PASSWORD, "-f", str(tmp / "moves.ldif")]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(mailboxes: int, districts: int, *, baseline: bool, postgres: str | None = None) -> dict[str, float]:
    with private_services() as (tmp, svc), contextlib.ExitStack() as stack:
        url = (
            stack.enter_context(scratch_database(postgres, "congvu_reorg"))
            if postgres
            else f"sqlite:///{tmp / 'bench.db'}"
        )
        upgrade(url)
        app = app_for(tmp, url, svc)
        runtime = app.extensions["congvu"]
        build_province(runtime, mailboxes, districts)
        ldif = ldif_of_moves(runtime, districts) if baseline else ""
        data, copy = svc.slapd_dir / "data", tmp / "slapd-data-before"
        if baseline:
            runtime.directory.close()
            svc.stop_slapd()
            shutil.copytree(data, copy)
            svc.start_slapd()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ours = congvu_apply(runtime, plan(mailboxes, districts))
        with runtime.session_factory() as session:  # not timed: everything landed, and nothing else
            from provisioning.reconcile import find_drift

            drift = find_drift(session, runtime.directory, BASE)
        if drift:
            raise RuntimeError(f"{len(drift)} drifts after the reorganisation, e.g. {drift[:3]}")
        figures = {
            **ours,
            "rss_before_mb": rss_before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        runtime.directory.close()
        if baseline:
            svc.stop_slapd()
            shutil.rmtree(data)
            shutil.copytree(copy, data)  # the same directory as before congvu's run
            svc.start_slapd()
            figures["ldapmodify"] = ldapmodify(ldif, svc, tmp)
        runtime.engine.dispose()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mailboxes", type=int, default=12_000)
    parser.add_argument("--districts", type=int, default=12)
    parser.add_argument("--memory", default="3000,12000", help="sizes for the memory runs ('' to skip)")
    parser.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgres", nargs="?", const="", default=None, metavar="URL", help="PostgreSQL server (default: local)"
    )
    args = parser.parse_args()
    postgres = None
    if args.postgres is not None:
        postgres = pg_server(args.postgres or None)
        if postgres is None:
            parser.error("no PostgreSQL server answers")
    if args.memory_child:
        print(json.dumps(run(args.memory_child, args.districts, baseline=False, postgres=postgres)))
        return
    figures = run(args.mailboxes, args.districts, baseline=True, postgres=postgres)
    n = args.mailboxes
    database = "PostgreSQL" if postgres else "SQLite"
    print(f"mailboxes: {n} in {args.districts} districts, into {COMMUNES_PER_DISTRICT} communes each, {database}")
    print(f"congvu preview task: {figures['preview']:.2f} s")
    print(f"congvu apply task end to end: {figures['apply']:.2f} s = {n / figures['apply']:.0f} mailboxes/s")
    print(f"ldapmodify -f same moves and aliases: {figures['ldapmodify']:.2f} s = {n / figures['ldapmodify']:.0f}/s")
    print(f"ratio (congvu rate / ldapmodify rate): {figures['ldapmodify'] / figures['apply']:.2f}")
    for size in [int(x) for x in args.memory.split(",") if x]:
        cmd = [sys.executable, __file__, "--memory-child", str(size), "--districts", str(args.districts)]
        if postgres:
            cmd += ["--postgres", postgres]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        child = json.loads(out)
        print(
            f"memory, {size} mailboxes: peak RSS {child['peak_rss_mb']:.0f} MB (before applying "
            f"{child['rss_before_mb']:.0f} MB), apply {child['apply']:.1f} s"
        )


if __name__ == "__main__":
    main()
