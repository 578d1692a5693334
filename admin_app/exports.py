"""Account exports (CSV, XLSX) shared by the console, the API and the CLI. Cells never become formulas."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.actors import Actor
from core.tabular import write_csv, write_xlsx
from provisioning.models import Unit
from provisioning.queries import visible_staff

HEADER = [
    "mã_cán_bộ",
    "họ_và_tên",
    "địa_chỉ_thư",
    "mã_đơn_vị",
    "đơn_vị",
    "chức_vụ",
    "điện_thoại",
    "loại_tài_khoản",
    "trạng_thái",
    "dung_lượng_mb",
    "bí_danh",
]


def export_accounts(session: Session, actor: Actor, unit: Unit | None, fmt: str) -> bytes:
    """Every mailbox the actor may see (in ``unit``'s subtree if given), as CSV or XLSX bytes."""
    rows = (
        [
            s.staff_number or "",
            s.full_name,
            s.email,
            s.unit.code,
            s.unit.name,
            s.title,
            s.phone,
            s.kind,
            s.status,
            s.quota_mb,
            " ".join(a.address for a in s.aliases),
        ]
        for s in session.scalars(visible_staff(actor, unit=unit).execution_options(yield_per=1000))
    )
    if fmt == "csv":
        return write_csv(HEADER, rows)
    return write_xlsx(HEADER, rows, title="Hộp thư")
