"""Bulk import: preview, all-or-nothing apply, idempotent re-import, slapd stopping half-way."""

import codecs
import datetime as dt
import functools
import io
import threading
import uuid

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.actors import SYSTEM
from core.changelog import ChangeEntry
from core.tabular import read_table
from provisioning.import_plan import ImportError_
from provisioning.importing import ImportRefused, apply, preview
from provisioning.models import ImportBatch, Staff, Unit
from provisioning.sync import apply_pending
from tests.conftest import csrf_token

HEADER = "mã_cán_bộ,họ_và_tên,mã_đơn_vị,chức_vụ,điện_thoại\n"
NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Kpă Thuyên", "Ksor Y Phước", "Rơ Châm H'Yao", "Siu H'Mai", "Nay Blum"]


def csv_file(rows: list[str], bom: bool = True) -> io.BytesIO:
    text = HEADER + "".join(r + "\n" for r in rows)
    return io.BytesIO((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))


def people(prefix: str, n: int, unit_code: str = "") -> list[str]:
    return [f"{prefix}{i:05d},{NAMES[i % len(NAMES)]},{unit_code},Chuyên viên,0905{i:06d}" for i in range(n)]


@pytest.fixture
def district(create_unit) -> Unit:
    """A district with a commune under it, and a second district beside it (outside its subtree)."""
    unit = create_unit(name="Huyện Đức Cơ (thử)", kind="district", mail_domain=f"{uuid.uuid4().hex[:8]}.gialai.gov.vn")
    create_unit(name="Xã Ia Dơk (thử)", kind="commune", parent=unit)
    return unit


@pytest.fixture
def other_district(create_unit) -> Unit:
    return create_unit(name="Huyện Ia Pa (thử)", kind="district")


def _options(runtime) -> dict:
    return {"policy": runtime.mailbox_policy}


def _table(data: io.BytesIO, name: str = "ds.csv"):
    return read_table(io.BytesIO(data.getvalue()), name)


def test_preview_apply_and_the_same_file_again_changes_nothing(db, runtime, directory, own_unit) -> None:
    unit = own_unit("T-IMP-TWICE", "twice.gialai.gov.vn")
    data = csv_file(people("T-IMP-A", 60))
    first = preview(db, SYSTEM, unit, _table(data), **_options(runtime))
    assert (first.total, first.creates, first.updates, first.unchanged, first.errors) == (60, 60, 0, 0, [])
    assert db.scalar(select(func.count(Staff.id)).where(Staff.staff_number.like("T-IMP-A%"))) == 0
    apply(db, SYSTEM, unit, _table(data), **_options(runtime))
    db.commit()
    runtime.sync_directory()
    emails = set(db.scalars(select(Staff.email).where(Staff.staff_number.like("T-IMP-A%"))))
    assert len(emails) == 60  # collisions were numbered, not merged
    found = directory.search(runtime.settings.ldap_base_dn, "(congvuStaffNumber=T-IMP-A*)", ["mail"])
    assert {a["mail"][0] for _, a in found} == emails

    audit_before = db.scalar(select(func.count(ChangeEntry.id)))
    again = preview(db, SYSTEM, unit, _table(data), **_options(runtime))
    assert (again.creates, again.updates, again.unchanged) == (0, 0, 60)
    result = apply(db, SYSTEM, unit, _table(data), **_options(runtime))
    db.commit()
    assert (result.creates, result.updates) == (0, 0)
    assert db.scalar(select(func.count(ChangeEntry.id))) == audit_before


def test_people_already_there_are_found_in_every_chunk_of_rows(db, runtime, own_unit, monkeypatch) -> None:
    """The staff a file names are looked up some rows at a time: a person in a later chunk is still an update
    (not a second mailbox), and a number repeated across chunks is still refused."""
    import provisioning.import_plan as import_plan

    monkeypatch.setattr(import_plan, "LOOKUP_ROWS", 7)
    unit = own_unit("T-IMP-CHUNK", "chunk.gialai.gov.vn")
    apply(db, SYSTEM, unit, _table(csv_file(people("T-IMP-C", 20))), **_options(runtime))
    db.commit()
    rows = people("T-IMP-C", 25)
    rows[16] = rows[16].replace("Chuyên viên", "Trưởng phòng")  # the third chunk
    first = preview(db, SYSTEM, unit, _table(csv_file(rows)), **_options(runtime))
    assert (first.creates, first.updates, first.unchanged, first.errors) == (5, 1, 19, [])
    applied = apply(db, SYSTEM, unit, _table(csv_file(rows)), **_options(runtime))
    db.commit()
    assert (applied.creates, applied.updates) == (5, 1)
    numbers = db.scalars(select(Staff.staff_number).where(Staff.staff_number.like("T-IMP-C%"))).all()
    assert len(numbers) == len(set(numbers)) == 25
    assert db.scalar(select(Staff.title).where(Staff.staff_number == "T-IMP-C00016")) == "Trưởng phòng"
    repeated = preview(db, SYSTEM, unit, _table(csv_file([*rows, rows[2]])), **_options(runtime))
    assert [(e.row, e.column) for e in repeated.errors] == [(27, "mã_cán_bộ")]


def test_addresses_in_use_are_known_across_every_slice_they_are_read_in(db, runtime, own_unit, monkeypatch) -> None:
    """The addresses in use are read some at a time: a namesake still gets the next free address, never one
    already taken, however many slices they came in."""
    import provisioning.import_plan as import_plan

    monkeypatch.setattr(import_plan, "ADDRESS_ROWS", 2)
    unit = own_unit("T-IMP-ADDR", "addr.gialai.gov.vn")
    apply(
        db,
        SYSTEM,
        unit,
        _table(csv_file([f"T-IMP-A{i},Nguyễn Văn An,,Chuyên viên,0905" for i in range(5)])),
        **_options(runtime),
    )
    db.commit()
    applied = apply(
        db, SYSTEM, unit, _table(csv_file(["T-IMP-A9,Nguyễn Văn An,,Chuyên viên,0905"])), **_options(runtime)
    )
    db.commit()
    assert applied.creates == 1
    addresses = db.scalars(select(Staff.email).where(Staff.staff_number.like("T-IMP-A%"))).all()
    assert sorted(addresses) == sorted(f"annv{n}@addr.gialai.gov.vn".replace("annv1@", "annv@") for n in range(1, 7))


def test_changed_row_is_an_update_with_before_and_after(db, runtime, district) -> None:
    unit = district
    apply(db, SYSTEM, unit, _table(csv_file(people("T-IMP-B", 3))), **_options(runtime))
    rows = people("T-IMP-B", 3)
    rows[1] = rows[1].replace("Chuyên viên", "Trưởng phòng")
    result = preview(db, SYSTEM, unit, _table(csv_file(rows)), **_options(runtime))
    assert (result.creates, result.updates, result.unchanged) == (0, 1, 2)
    assert result.samples[0]["changes"] == {"title": ["Chuyên viên", "Trưởng phòng"]}
    apply(db, SYSTEM, unit, _table(csv_file(rows)), **_options(runtime))
    entry = db.scalar(select(ChangeEntry).where(ChangeEntry.action == "staff.update").order_by(ChangeEntry.id.desc()))
    assert entry.before["title"] == "Chuyên viên"
    assert entry.after["title"] == "Trưởng phòng"


def test_three_bad_rows_apply_nothing_and_are_all_named(db, runtime, district, other_district) -> None:
    unit = district
    rows = people("T-IMP-C", 8)
    rows[1] = "T-IMP-C90001,,,Chuyên viên,0905"  # row 3: no name
    rows[3] = rows[2]  # row 5: staff number again
    rows[5] = f"T-IMP-C90002,Lê Văn Tám,{other_district.code},Chuyên viên,0905"  # row 7: unit outside Đức Cơ
    before = db.scalar(select(func.count(Staff.id)))
    with pytest.raises(ImportRefused) as refused:
        apply(db, SYSTEM, unit, _table(csv_file(rows)), **_options(runtime))
    errors = refused.value.preview.errors
    assert [(e.row, e.column) for e in errors] == [(3, "họ_và_tên"), (5, "mã_cán_bộ"), (7, "mã_đơn_vị")]
    assert "row 3" in str(refused.value)
    db.rollback()
    assert db.scalar(select(func.count(Staff.id))) == before


def test_unknown_column_and_bad_encoding_are_clear(db, runtime, district) -> None:
    unit = district
    with pytest.raises(ImportError_, match="unknown column 'ho_tenn'"):
        preview(db, SYSTEM, unit, _table(io.BytesIO(b"ma_can_bo,ho_tenn\n1,x\n")), **_options(runtime))
    legacy = "ma_can_bo,ho_ten\nT1,Đinh Văn Hưng\n".encode("cp1258")
    with pytest.raises(ImportError_, match="not valid UTF-8"):
        preview(db, SYSTEM, unit, _table(io.BytesIO(legacy)), **_options(runtime))


def test_xlsx_import(db, runtime, district) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Mã cán bộ", "Họ và tên", "Chức vụ"])
    ws.append(["T-IMP-X1", "Rơ Mah Hloanh", "Văn thư"])
    ws.append([12345, "Đinh Văn Hyun", None])
    buf = io.BytesIO()
    wb.save(buf)
    result = apply(db, SYSTEM, district, _table(buf, "ds.xlsx"), **_options(runtime))
    assert result.creates == 2
    assert db.scalar(select(Staff).where(Staff.staff_number == "12345")).full_name == "Đinh Văn Hyun"


@pytest.fixture
def own_unit(create_unit):
    """A unit with a mail domain of its own: the directory is shared by the whole test run while the
    database is rolled back per test, so big imports must not reuse another test's addresses."""

    def _own_unit(code: str, domain: str) -> Unit:
        return create_unit(code=code, name=f"Đơn vị {code}", kind="department", mail_domain=domain)

    return _own_unit


def test_slapd_stopped_in_the_middle_every_row_lands_exactly_once(db, runtime, services, directory, own_unit) -> None:
    unit = own_unit("T-IMP-STOP", "stop.gialai.gov.vn")
    apply(db, SYSTEM, unit, _table(csv_file(people("T-IMP-S", 2000))), **_options(runtime))
    db.commit()
    stopped = threading.Event()

    def stop_half_way(done: int, _total: int) -> None:
        if done >= 700 and not stopped.is_set():
            stopped.set()
            services.stop_slapd()

    sync = functools.partial(
        apply_pending,
        runtime.session_factory,
        runtime.directory,
        runtime.settings.ldap_base_dn,
        runtime.secret_key,
        default_domain="gialai.gov.vn",
    )
    try:
        first = sync(progress=stop_half_way)
    finally:
        services.start_slapd()
    assert first.unavailable
    assert 700 <= first.applied < 2000
    assert first.pending > 0
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    second = sync(now=later)
    from provisioning.models import DirectoryJob

    errors = {j.last_error for j in db.scalars(select(DirectoryJob).where(DirectoryJob.status != "done"))}
    assert second.pending == 0, errors
    found = directory.search(
        runtime.settings.ldap_base_dn, "(congvuStaffNumber=T-IMP-S*)", ["mail", "congvuStaffNumber"]
    )
    numbers = [a["congvuStaffNumber"][0] for _, a in found]
    assert len(numbers) == 2000
    assert len(set(numbers)) == 2000


def test_console_import_preview_then_apply(client_as, db, runtime, district) -> None:
    worker = runtime.task_worker("test-worker")  # the background worker, run here between the requests
    client = client_as("unit_admin", unit=district)
    unit = district
    token = csrf_token(client, f"/units/{unit.id}/import")
    response = client.post(
        f"/units/{unit.id}/import",
        data={"file": (csv_file(people("T-IMP-W", 5)), "danh-sach.csv"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    waiting = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-phase"' in waiting  # queued: the page says it waits, and refreshes itself
    batch = db.get(ImportBatch, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert worker.run_one(batch.task_id) is not None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="creates">5<' in page
    assert db.scalar(select(func.count(Staff.id)).where(Staff.staff_number.like("T-IMP-W%"))) == 0
    apply_url = response.headers["Location"] + "/apply"
    assert client.post(apply_url, data={"csrf_token": token}).status_code == 302  # not confirmed
    db.refresh(batch)
    assert batch.status == "previewed"  # nothing queued
    assert db.scalar(select(func.count(Staff.id)).where(Staff.staff_number.like("T-IMP-W%"))) == 0
    done = client.post(apply_url, data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 302
    db.refresh(batch)
    assert worker.run_one(batch.task_id) is not None
    db.expire_all()
    assert db.scalar(select(func.count(Staff.id)).where(Staff.staff_number.like("T-IMP-W%"))) == 5
    applied = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="creates">5<' in applied
    assert 'id="import-progress"' not in applied


def test_export_cells_cannot_run_as_formulas(client_as, db, district, other_district) -> None:
    from openpyxl import load_workbook

    from provisioning.operations import StaffInput, create_staff

    for unit in (district, other_district):
        create_staff(db, SYSTEM, unit, StaffInput("Nguyễn Văn An", title='=HYPERLINK("http://x")'), "gialai.gov.vn")
    db.commit()
    client = client_as("unit_admin", unit=district)
    unit = district
    xlsx = client.get(f"/staff/export.xlsx?unit={unit.id}")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    titles = [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x")' in titles
    assert not any(isinstance(t, str) and t.startswith("=") for t in titles)
    codes = {row[3] for row in sheet.iter_rows(min_row=2, values_only=True)}
    inside = {u.code for u in db.scalars(select(Unit).where(Unit.path.startswith(district.path)))}
    assert codes <= inside  # only their subtree
    assert other_district.code not in codes
    csv_text = client.get(f"/staff/export.csv?unit={unit.id}").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
