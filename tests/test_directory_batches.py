"""Batches of directory writes from two processes at once: slapd 2.5.13 hangs, for every client, when an LDAP
transaction ends while two or more other writes are in flight (``provisioning.directory_lock``). Each test here
has a slapd of its own, so a hang would not take the suite's slapd with it."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ldap3
import pytest

from admin_app.runtime import Runtime
from provisioning import directory_lock
from provisioning.directory import Directory, DirectoryConfig
from services.common import ServiceConfig, free_port
from services.supervisor import Services

BASE = "dc=gialai,dc=gov,dc=vn"
ADMIN = f"cn=admin,{BASE}"
PASSWORD = "batches-admin-pw"
PERSON = ["top", "inetOrgPerson"]
MOVED, IMPORTS = 3000, 40  # without the shared lock, slapd 2.5.13 hung in the second run of moves here


@pytest.fixture
def slapd() -> Iterator[Services]:
    state = Path(tempfile.mkdtemp(prefix="congvu-batches-"))
    state.chmod(0o755)
    svc = Services(ServiceConfig(state / "services", BASE, ADMIN, PASSWORD, ldap_port=free_port()))
    svc.start_slapd()
    try:
        yield svc
    finally:
        svc.stop_slapd()
        shutil.rmtree(state, ignore_errors=True)


def _person(uid: str, ou: str) -> tuple[str, list[str], dict[str, list[str]]]:
    return f"uid={uid},ou={ou},{BASE}", PERSON, {"uid": [uid], "cn": [f"Nguyễn Văn {uid}"], "sn": ["Nguyễn"]}


def _count(svc: Services, ou: str) -> int:
    conn = ldap3.Connection(ldap3.Server(svc.ldap_url), ADMIN, PASSWORD, auto_bind=True)
    conn.search(f"ou={ou},{BASE}", "(objectClass=inetOrgPerson)", ldap3.LEVEL, attributes=["uid"], paged_size=5000)
    found = len(conn.entries)
    conn.unbind()
    return found


def test_a_reorganisations_moves_and_an_imports_transactions_from_two_processes_both_land(
    slapd: Services, runtime: Runtime, tmp_path: Path
) -> None:
    # Two Directory objects with the installation's lock (PostgreSQL advisory lock, or the instance's lock
    # file), as the worker running a reorganisation and a web process applying an import would have.
    def process() -> Directory:
        config = DirectoryConfig(slapd.ldap_url, BASE, ADMIN, PASSWORD, 10)
        return Directory(config, directory_lock.for_database(runtime.engine, tmp_path))

    worker, web = process(), process()
    try:
        for ou in ("cu", "moi", "nhap"):
            worker.upsert(f"ou={ou},{BASE}", ["top", "organizationalUnit"], {"ou": [ou]})
        people = [_person(f"p{n:04d}", "cu") for n in range(MOVED)]
        for k in range(0, MOVED, 500):
            assert worker.add_in_transaction(people[k : k + 500])

        moves = [(dn, dn.replace(",ou=cu,", ",ou=moi,"), {"sn": ["Trần"]}) for dn, _c, _a in people]
        imported: list[bool] = []

        def imports() -> None:
            for batch in range(IMPORTS):
                entries = [_person(f"n{batch:02d}{k:02d}", "nhap") for k in range(50)]
                imported.append(web.add_in_transaction(entries))

        importer = threading.Thread(target=imports)
        importer.start()
        runs = [worker.move_in_background(moves[k : k + 200]) for k in range(0, len(moves), 200)]
        moved = [run.result(timeout=120) for run in runs]
        importer.join(timeout=120)

        assert moved == [True] * (MOVED // 200)
        assert imported == [True] * IMPORTS
        assert (_count(slapd, "cu"), _count(slapd, "moi"), _count(slapd, "nhap")) == (0, MOVED, IMPORTS * 50)
        assert web.read(f"uid=p{MOVED - 1:04d},ou=moi,{BASE}", ["sn"]) == {"sn": ["Trần"]}
    finally:
        worker.close()
        web.close()


def test_the_installations_lock_keeps_a_second_holder_waiting(runtime: Runtime, tmp_path: Path) -> None:
    first = directory_lock.for_database(runtime.engine, tmp_path)
    second = directory_lock.for_database(runtime.engine, tmp_path)
    first.acquire()
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(second.acquire)
        with pytest.raises(TimeoutError):
            waiting.result(timeout=0.5)
        first.release()  # released from the thread that took it or another: the mover releases for the caller
        waiting.result(timeout=10)
        second.release()


def test_entries_added_in_one_transaction_read_back_as_given(slapd: Services) -> None:
    # The adds are BER-encoded by congvu itself (ldap_pipeline.add_request): Vietnamese text, LDAP-special
    # characters in the DN and values, and a long value come back from slapd exactly as given.
    directory = Directory(DirectoryConfig(slapd.ldap_url, BASE, ADMIN, PASSWORD, 10))
    try:
        directory.upsert(f"ou=dac biet,{BASE}", ["top", "organizationalUnit"], {"ou": ["dac biet"]})
        given = {
            "uid": ["lê.thị+ánh@gialai.gov.vn"],
            "cn": ['Lê Thị Ánh, (Phó) \\ "Giám đốc" #1 <Sở> = ;'],
            "sn": ["Lê"],
            "description": ["Ủy ban nhân dân " * 40],
            "mail": ["le.thi.anh@gialai.gov.vn"],
        }
        dn = f"uid=l\\C3\\AA.th\\E1\\BB\\8B\\2B\\C3\\A1nh@gialai.gov.vn,ou=dac biet,{BASE}"
        other = f"uid=hai,ou=dac biet,{BASE}"
        assert directory.add_in_transaction(
            [(dn, PERSON, given), (other, PERSON, {"uid": ["hai"], "cn": ["Hai"], "sn": "Hà", "title": []})]  # type: ignore[list-item]
        )
        assert directory.read(dn, list(given)) == given
        # No empty value sent; a value given bare (as ldap3 takes it) is one value, not its characters.
        assert directory.read(other, ["uid", "title", "sn"]) == {"uid": ["hai"], "title": [], "sn": ["Hà"]}
    finally:
        directory.close()
