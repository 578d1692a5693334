"""The monthly report through the console, the API, the command line and the scheduler job."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_app.jobs import execute
from admin_app.runtime import Runtime
from audit.models import MonthlyReport
from core.outbox import MailJob
from provisioning.models import Role, Unit
from tests.factories import csrf_token
from tests.mail_helpers import wait_for_mail
from tests.test_usage_report import _write_fixture_logs, fixture_units  # noqa: F401  (fixture)


@pytest.fixture
def report_units(province: Unit, fixture_units: dict[str, Any]) -> dict[str, Any]:
    """The usage report's Sở Thử nghiệm and its mailboxes, under the province root of this test."""
    return fixture_units


@dataclasses.dataclass
class Ingested:
    paths: dict[str, Path]
    output: str


@pytest.fixture
def ingested(report_units: dict[str, Any], cli: Any, tmp_path: Path) -> Ingested:
    """The usage report's December logs, ingested through the command line as an operator does."""
    paths = _write_fixture_logs(tmp_path)
    result = cli(["logs", "ingest", *(str(p) for p in paths.values())])
    assert result.exit_code == 0, result.output
    return Ingested(paths, result.output)


def test_auditor_generates_the_report_and_the_xlsx_matches_the_page(
    runtime: Any, client_as: Any, cli: Any, db: Session, ingested: Ingested
) -> None:
    assert "1 malformed lines were skipped" in ingested.output
    again = cli(["logs", "ingest", str(ingested.paths["dovecot"])])
    assert "nothing new" in again.output

    client = client_as(Role.AUDITOR)
    response = client.post("/reports", data={"csrf_token": csrf_token(client, "/reports"), "month": "2026-12"})
    assert response.status_code == 302
    waiting = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="task-progress"' in waiting  # built in the background: the page follows the task
    task_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert runtime.task_worker("test-worker").run_one(task_id) is not None
    done = client.get(response.headers["Location"])
    assert done.status_code == 302  # finished: the task's page opens the new version
    report_id = int(done.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/reports/{report_id}").get_data(as_text=True)
    assert "<svg" in page
    assert "Sở Thử nghiệm Đắk Đoa" in page
    assert "ngày làm việc khác nhau" in page  # the definitions are printed with the figures

    def page_row(code: str) -> list[str]:
        match = re.search(rf'<tr data-code="{code}">(.*?)</tr>', page, re.S)
        assert match, code
        return [
            re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
        ]

    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{report_id}.xlsx").data))
    sheet = workbook["Đơn vị"]
    for code in ("T-SO", "T-SO-A", "T-SO-B"):
        shown = page_row(code)
        xlsx = next(r for r in sheet.iter_rows(values_only=True) if r[0] == code)
        assert shown[0] == xlsx[1].strip()  # unit name
        assert [int(shown[1]), int(shown[2]), int(shown[4]), int(shown[6])] == [xlsx[2], xlsx[3], xlsx[5], xlsx[7]]
        for page_pct, cell in ((shown[3], xlsx[4]), (shown[5], xlsx[6]), (shown[7], xlsx[8])):
            # The page writes shares as the locale does (vi: "75,0 %"), the XLSX keeps the number (75.0).
            assert page_pct == ("—" if cell is None else f"{cell:.1f}".replace(".", ",") + " %")
    assert client.get(f"/reports/{report_id}.pdf").data.startswith(b"%PDF")
    assert client.get(f"/reports/{report_id}.csv").data.startswith(b"\xef\xbb\xbf")

    # Regenerating keeps the first version.
    again = client.post("/reports", data={"csrf_token": csrf_token(client, "/reports"), "month": "2026-12"})
    assert runtime.task_worker("test-worker").run_one(int(again.headers["Location"].rsplit("/", 1)[1])) is not None
    versions = db.scalars(select(MonthlyReport.version).where(MonthlyReport.month == "2026-12")).all()
    assert sorted(versions) == [1, 2]


def test_reports_are_for_auditors_and_system_admins(client_as: Any) -> None:
    client = client_as(Role.UNIT_ADMIN)
    assert client.get("/reports").status_code == 403


@pytest.mark.usefixtures("ingested")
def test_api_and_cli_produce_the_same_report(
    runtime: Any, client: Any, cli: Any, token_as: Any, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {token_as(Role.AUDITOR)}"}
    queued = client.post("/api/v1/reports", json={"month": "2026-12"}, headers=headers)
    assert queued.status_code == 202
    assert queued.get_json()["status"] == "queued"
    assert runtime.task_worker("test-worker").run_one(queued.get_json()["id"]) is not None
    task = client.get(f"/api/v1/tasks/{queued.get_json()['id']}", headers=headers).get_json()
    assert task["status"] == "done", task
    body = client.get(f"/api/v1/reports/{task['result']['report_id']}", headers=headers).get_json()
    so = next(u for u in body["data"]["units"] if u["code"] == "T-SO")
    assert so["subtree"]["regular_share"] == 0.5
    assert client.post("/api/v1/reports", json={"month": "December"}, headers=headers).status_code == 422
    xlsx = client.get(f"/api/v1/reports/{body['id']}/export.xlsx", headers=headers)
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"
    secretary = {"Authorization": f"Bearer {token_as(Role.SECRETARY)}"}
    assert client.get("/api/v1/reports", headers=secretary).status_code == 403

    out = tmp_path / "bao-cao.pdf"
    result = cli(["report", "monthly", "--month", "2026-12", "--format", "pdf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    bad = cli(["report", "monthly", "--month", "13/2026", "-o", str(out)])
    assert bad.exit_code != 0
    assert "month" in bad.output


def test_monthly_job_mails_summary_and_xlsx_to_recipients(
    runtime: Runtime,
    db: Session,
    services: Any,
    report_units: dict[str, Any],
) -> None:
    recipient = "lanhdao.baocao@gialai.gov.vn"
    original = runtime.settings
    runtime.settings = dataclasses.replace(original, report_recipients=f"{recipient}, vanphong.baocao@gialai.gov.vn")
    try:
        run = execute(runtime, "report.monthly")
    finally:
        runtime.settings = original
    assert run.is_ok, run.message
    jobs = db.scalars(select(MailJob).where(MailJob.kind == "report")).all()
    assert sorted(j.recipient for j in jobs) == ["lanhdao.baocao@gialai.gov.vn", "vanphong.baocao@gialai.gov.vn"]
    (message,) = wait_for_mail(services, recipient)
    assert message["Subject"].startswith("Báo cáo sử dụng thư điện tử công vụ tháng")
    assert "Thường xuyên" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = [p for p in message.iter_attachments() if p.get_filename().endswith(".xlsx")]
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert "Đơn vị" in workbook.sheetnames
