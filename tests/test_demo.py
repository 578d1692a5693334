"""The demo province: today's Gia Lai, built by its history (Gia Lai and Bình Định as they were in 2024, then
the 2025 plans applied as reorganisation jobs), in the database and in the real slapd; its people can use
their mailbox, Bình Định's old addresses are aliases, and reports of earlier months show the tree of then."""

import datetime as dt
import imaplib
import io

import pytest
from sqlalchemy import func, select

from audit.definitions import definitions_from
from audit.report import build_report
from demo.communes import NEW_COMMUNES, new_code
from demo.data import GIA_LAI, PROVINCES
from demo.plan2025 import JULY_FILE, MARCH_FILE, PLANS_DIR, plans
from demo.staff import generate_staff
from meetings.models import BridgePoint
from provisioning.history_models import Reorganisation, UnitSuccession
from provisioning.models import AccountKind, Staff, Unit
from tests.conftest import DEMO_STAFF

MERGED_AWAY = (
    "Sở Thông tin và Truyền thông",
    "Sở Kế hoạch và Đầu tư",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Giao thông vận tải",
    "Sở Tài nguyên và Môi trường",
    "Sở Nông nghiệp và Phát triển nông thôn",
)


def _live(kind: str | None = None):
    query = select(Unit).where(Unit.ended_on.is_(None))
    return query.where(Unit.kind == kind) if kind else query


def _unit(db, code: str) -> Unit:
    unit = db.scalar(select(Unit).where(Unit.code == code))
    assert unit is not None, code
    return unit


def test_today_gia_lai_has_135_communes_and_wards_and_no_district(db) -> None:
    communes = db.scalars(_live("commune")).all()
    assert len(communes) == 135
    assert sum(u.name.startswith("Phường ") for u in communes) == 25
    assert sum(u.name.startswith("Xã ") for u in communes) == 110
    root = db.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    assert root is not None
    assert root.code == GIA_LAI.root.code
    assert {u.parent_id for u in communes} == {root.id}  # two levels: province and commune
    assert {"Phường Quy Nhơn", "Phường Pleiku", "Xã Ia Pa", "Xã Vân Canh", "Phường Hoài Nhơn"} <= {
        u.name for u in communes
    }
    assert db.scalar(select(func.count()).select_from(_live("district").subquery())) == 0
    # The 28 district-level units of before are kept, ended on 1 July 2025.
    ended = db.scalars(select(Unit).where(Unit.kind == "district")).all()
    assert len(ended) == 17 + 11
    assert {u.ended_on for u in ended} == {dt.date(2025, 7, 1)}
    assert db.scalar(select(func.count(Staff.id))) >= DEMO_STAFF
    assert db.scalar(select(func.count(Staff.id)).join(Unit).where(Unit.ended_on.isnot(None))) == 0


def test_departments_are_the_merged_ones_of_2025(db) -> None:
    root = db.scalar(select(Unit).where(Unit.parent_id.is_(None)))
    assert root is not None
    names = {u.name for u in db.scalars(_live("department").where(Unit.parent_id == root.id))}
    assert {
        "Sở Nông nghiệp và Môi trường",
        "Sở Khoa học và Công nghệ",
        "Sở Tài chính",
        "Sở Nội vụ",
        "Sở Xây dựng",
    } <= names
    assert not names & set(MERGED_AWAY)
    assert not [n for n in names if "Bình Định" in n]  # Bình Định's departments merged into Gia Lai's
    assert len(names) == 14
    # Divisions followed their merged department; the religious affairs board moved to its new department.
    assert _unit(db, "STTTT-CNTT").parent.code == "SKHCN"
    assert _unit(db, "SKHDT-DKKD").parent.code == "STC"
    assert _unit(db, "SNV-BTG").parent.name == "Sở Dân tộc và Tôn giáo"
    ict, science = _unit(db, "STTTT"), _unit(db, "SKHCN")
    assert ict.ended_on == dt.date(2025, 3, 1)
    succession = db.scalar(select(UnitSuccession).where(UnitSuccession.predecessor_id == ict.id))
    assert succession is not None
    assert (succession.successor_id, succession.kind) == (science.id, "merge")
    assert _unit(db, "BD").ended_on == dt.date(2025, 7, 1)
    applied = db.scalars(select(Reorganisation.filename).where(Reorganisation.status == "applied")).all()
    assert sorted(applied) == sorted([MARCH_FILE, JULY_FILE])


def test_binh_dinh_people_keep_their_old_address_as_an_alias(db, runtime, directory) -> None:
    people = db.scalars(
        select(Staff).where(Staff.staff_number.like("BD%"), Staff.kind == AccountKind.PERSONAL).order_by(Staff.id)
    ).all()
    assert people
    for person in people:
        assert person.email.endswith("@gialai.gov.vn"), person.email
        old = [a for a in person.aliases if a.address.endswith("@binhdinh.gov.vn")]
        assert len(old) == 1, person.email
        assert old[0].expires_at is not None
    person = people[0]
    (entry,) = directory.search(runtime.settings.ldap_base_dn, f"(mail={person.email})", ["congvuMailAlias"])
    assert sorted(a.address for a in person.aliases) == sorted(entry[1]["congvuMailAlias"])


def test_district_staff_were_placed_in_their_communes(db) -> None:
    iapa = {new_code(name) for name in NEW_COMMUNES["IAPA"]}
    placed = db.scalars(select(Unit.code).join(Staff).where(Staff.unit_id == Unit.id).distinct()).all()
    assert iapa & set(placed)
    # The old district's hall became the hall of the commune at its seat.
    point = db.scalar(select(BridgePoint).where(BridgePoint.name == "Điểm cầu H. Chư Păh"))
    assert point is not None
    assert point.is_active
    assert point.unit.code == "XA-CHUPAH"
    assert all(p.unit.ended_on is None for p in db.scalars(select(BridgePoint).where(BridgePoint.is_active)))


def test_the_june_2025_report_shows_the_districts_and_july_the_communes(db, runtime) -> None:
    definitions = definitions_from(runtime.settings)
    june = build_report(db, "2025-06", definitions)
    july = build_report(db, "2025-07", definitions)
    june_units = {u["code"]: u for u in june["units"]}
    july_units = {u["code"]: u for u in july["units"]}
    assert sum(u["kind"] == "district" for u in june_units.values()) == 28
    assert "H-IAPA" in june_units
    assert "XA-IAPA" not in june_units
    assert "STTTT" not in june_units
    assert "SNNMT" in june_units
    assert "BD" in june_units
    assert "BD" not in july_units
    assert june_units["H-IAPA"]["subtree"]["counted"] > 0  # its people were there in June
    assert sum(u["kind"] == "district" for u in july_units.values()) == 0
    assert sum(u["kind"] == "commune" for u in july_units.values()) == 135
    assert july_units["XA-IAPA"]["subtree"]["counted"] > 0
    assert june["province"]["counted"] == july["province"]["counted"]  # nobody lost on the way


def test_every_demo_mailbox_is_in_the_directory(db, runtime, directory) -> None:
    entries = directory.search(runtime.settings.ldap_base_dn, "(objectClass=congvuMailbox)", ["mail"])
    in_ldap = {attrs["mail"][0] for _, attrs in entries}
    in_db = set(db.scalars(select(Staff.email)))
    assert in_db <= in_ldap
    units = directory.search(runtime.settings.ldap_base_dn, "(objectClass=organizationalUnit)", ["congvuUnitCode"])
    live = db.scalar(select(func.count()).select_from(_live().subquery()))
    assert len([u for u in units if u[1].get("congvuUnitCode")]) >= live - 1


def test_ethnic_names_get_sensible_addresses(db) -> None:
    jrai = db.scalars(
        select(Staff).where(Staff.family_name.in_(["Ksor", "Kpă", "Siu", "Nay", "Rơ Châm", "Rơ Mah"]))
    ).all()
    assert jrai, "the demo should contain Jrai names"
    for person in jrai:
        local = person.email.split("@")[0]
        assert local.isascii()
        assert local[0].isalpha()


def test_demo_login_reads_mail_over_imap(runtime, demo_logins, services) -> None:
    login = demo_logins["secretary"]
    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    try:
        imap.login(login.login, login.password)
        status, _ = imap.select("INBOX")
        assert status == "OK"
    finally:
        imap.logout()


def test_a_binh_dinh_person_signs_in_to_imap_with_the_old_address(db, demo_logins, services) -> None:
    login = demo_logins["secretary"]  # came from Bình Định's office
    person = db.scalar(select(Staff).where(Staff.email == login.login))
    assert person is not None
    (old,) = [a.address for a in person.aliases if a.address.endswith("@binhdinh.gov.vn")]
    imap = imaplib.IMAP4("127.0.0.1", services.config.imap_port)
    try:
        imap.login(old, login.password)
        assert imap.select("INBOX")[0] == "OK"
    finally:
        imap.logout()


def test_the_shipped_plans_are_the_generators_output() -> None:
    from openpyxl import load_workbook

    for plan in plans(generate_staff()):
        shipped = load_workbook(PLANS_DIR / plan.filename, read_only=True)
        made = load_workbook(io.BytesIO(plan.xlsx()), read_only=True)
        assert shipped.sheetnames == made.sheetnames
        for name in made.sheetnames:
            assert list(shipped[name].values) == list(made[name].values), (plan.filename, name)
    assert sum(len(NEW_COMMUNES[d.suffix]) for p in PROVINCES for d in p.districts) == 135


def test_demo_load_refuses_a_loaded_database(runtime) -> None:
    from demo.loader import DemoError, load_demo

    with pytest.raises(DemoError, match="already"):
        load_demo(runtime, staff_count=10)
