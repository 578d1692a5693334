"""A run of moved mailboxes goes to slapd as one LDAP transaction (delete at the old DN, add at the new one):
each entry arrives whole, with its password, its identity and its password-policy state, on the real slapd."""

from __future__ import annotations

from collections.abc import Iterator

import ldap3
import pytest

from provisioning.directory import Directory
from tests.factories import unique

PASSWORD = "Mật-khẩu cũ 2025!"


@pytest.fixture
def places(directory: Directory) -> Iterator[tuple[str, str]]:
    """Two units of a test's own under the base: where the entries are, and where they go."""
    base = directory.config.base_dn
    old, new = f"ou={unique('HUYEN')},{base}", f"ou={unique('XA')},{base}"
    for dn in (old, new):
        directory.upsert(dn, ["organizationalUnit"], {"ou": [dn.split(",")[0][3:]]})
    yield old, new
    for dn in (old, new):
        directory.delete_tree(dn)


def person(directory: Directory, parent: str, local: str, **extra: list[str]) -> str:
    dn = f"uid={local}@huyen.gialai.gov.vn,{parent}"
    attributes = {"cn": ["Nguyễn Văn A"], "sn": ["Nguyễn"], "mail": [f"{local}@huyen.gialai.gov.vn"], **extra}
    directory.upsert(dn, ["inetOrgPerson"], attributes | {"userPassword": [PASSWORD]})
    return dn


def operational(directory: Directory, dn: str) -> dict[str, list[str]]:
    return directory.read(dn, ["*", "entryUUID", "createTimestamp", "pwdReset"]) or {}


def binds(directory: Directory, dn: str, password: str) -> bool:
    conn = ldap3.Connection(ldap3.Server(directory.config.url), dn, password)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


def test_a_run_of_moves_lands_whole_and_empties_the_old_unit(directory: Directory, places) -> None:
    old_unit, new_unit = places
    first = person(directory, old_unit, "an", description=["Phó trưởng phòng, kiêm nhiệm"])
    second = person(directory, old_unit, "binh")
    directory.set_must_change(second, True)
    before = {dn: operational(directory, dn) for dn in (first, second)}
    moves = [
        (
            dn,
            f"uid={local}@gialai.gov.vn,{new_unit}",
            {"mail": [f"{local}@gialai.gov.vn"], "congvuMailAlias": [f"{local}@huyen.gialai.gov.vn"]},
        )
        for dn, local in ((first, "an"), (second, "binh"))
    ]
    moves[0][2].pop("congvuMailAlias")  # an entry without the project's classes takes only what it may hold
    moves[1] = (moves[1][0], moves[1][1], {"mail": ["binh@gialai.gov.vn"]})

    assert directory.move_in_background(moves).result() is True

    assert directory.search(old_unit, "(objectClass=inetOrgPerson)") == []  # the unit left empty
    for (old, new, attributes), was in zip(moves, before.values(), strict=True):
        now = operational(directory, new)
        assert now["mail"] == attributes["mail"]
        assert now["uid"] == [new.split(",")[0][4:]]
        assert now["entryUUID"] == was["entryUUID"]  # the same entry, to replicas and federated applications
        assert now["createTimestamp"] == was["createTimestamp"]
        assert now["cn"] == ["Nguyễn Văn A"]
        assert directory.read(old, ["mail"]) is None
        assert binds(directory, new, PASSWORD)  # the password went along as its hash
    assert operational(directory, moves[0][1])["description"] == ["Phó trưởng phòng, kiêm nhiệm"]
    assert directory.must_change(moves[1][1]) is True  # still has to change the one-time password
    assert directory.must_change(moves[0][1]) is False


def test_a_run_with_an_entry_missing_writes_nothing(directory: Directory, places) -> None:
    old_unit, new_unit = places
    here = person(directory, old_unit, "chi")
    gone = f"uid=khong-co@huyen.gialai.gov.vn,{old_unit}"
    moves = [
        (here, f"uid=chi@gialai.gov.vn,{new_unit}", {"mail": ["chi@gialai.gov.vn"]}),
        (gone, f"uid=khong-co@gialai.gov.vn,{new_unit}", {"mail": ["khong-co@gialai.gov.vn"]}),
    ]

    assert directory.move_in_background(moves).result() is False  # the caller takes each the careful way

    assert directory.read(here, ["mail"]) == {"mail": ["chi@huyen.gialai.gov.vn"]}
    assert directory.search(new_unit, "(objectClass=inetOrgPerson)") == []
    assert directory.read(directory.config.base_dn, ["objectClass"]) is not None  # the connection still serves
