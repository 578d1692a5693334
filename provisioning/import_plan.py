"""The import's plan: which columns a staff list may have, and what each row would do (create, change, leave
alone) or why it is refused. Reads the database, changes nothing; :mod:`provisioning.importing` uses it for
the preview and again, row by row, while applying."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.bulk import chunked
from core.tabular import Row
from provisioning.models import AccountKind, MailAlias, Role, Staff, Unit
from provisioning.names import (
    InvalidNameError,
    clean_name,
    generate_local_part,
    split_name,
    unique_local_part,
    validate_local_part,
)
from provisioning.operations import MailboxPolicy

# Accepted header names (after lower-casing and spaces → underscores); Vietnamese first.
COLUMNS: dict[str, tuple[str, ...]] = {
    "staff_number": ("mã_cán_bộ", "ma_can_bo", "mã_cb", "số_hiệu_cán_bộ", "staff_number"),
    "full_name": ("họ_và_tên", "họ_tên", "ho_ten", "ho_va_ten", "full_name"),
    "unit_code": ("mã_đơn_vị", "ma_don_vi", "unit_code"),
    "title": ("chức_vụ", "chuc_vu", "title"),
    "phone": ("điện_thoại", "dien_thoai", "số_điện_thoại", "phone"),
    "kind": ("loại_tài_khoản", "loại", "loai", "kind"),
    "email": ("địa_chỉ_thư", "thư_điện_tử", "email"),
    "quota_mb": ("dung_lượng_mb", "quota_mb"),
}
REQUIRED = ("staff_number", "full_name")
KIND_WORDS = {
    "cá_nhân": AccountKind.PERSONAL,
    "cá nhân": AccountKind.PERSONAL,
    "personal": AccountKind.PERSONAL,
    "dùng chung": AccountKind.FUNCTIONAL,
    "chức năng": AccountKind.FUNCTIONAL,
    "functional": AccountKind.FUNCTIONAL,
    "dịch vụ": AccountKind.SERVICE,
    "service": AccountKind.SERVICE,
    "thử nghiệm": AccountKind.TEST,
    "kiểm thử": AccountKind.TEST,
    "test": AccountKind.TEST,
    "": AccountKind.PERSONAL,
}
UPDATABLE = ("full_name", "title", "phone", "kind", "unit_code", "quota_mb")
SAMPLE_LIMIT = 500  # rows of each kind kept for showing; the counts cover every row


class ImportError_(ValueError):
    """The file as a whole cannot be imported (no such column, unreadable); the message says why."""


@dataclass(frozen=True)
class RowIssue:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


@dataclass
class Preview:
    total: int = 0
    creates: int = 0
    updates: int = 0
    unchanged: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "creates": self.creates,
            "updates": self.updates,
            "unchanged": self.unchanged,
            "errors": [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors],
            "samples": self.samples,
        }


def resolve_columns(header: Iterable[str]) -> dict[str, str]:
    """Map our field names to the file's column names; unknown columns are an error (typos lose data)."""
    header = list(header)
    mapping: dict[str, str] = {}
    for column in header:
        for name, accepted in COLUMNS.items():
            if column in accepted:
                if name in mapping:
                    raise ImportError_(f"columns {mapping[name]!r} and {column!r} both mean {name}")
                mapping[name] = column
                break
        else:
            known = ", ".join(a[0] for a in COLUMNS.values())
            raise ImportError_(f"row 1: unknown column {column!r}; known columns: {known}")
    missing = [name for name in REQUIRED if name not in mapping]
    if missing:
        raise ImportError_(f"row 1: the column {COLUMNS[missing[0]][0]!r} ({missing[0]}) is required")
    return mapping


LOOKUP_ROWS = 1000  # rows whose staff numbers are looked up in one query
ADDRESS_ROWS = 10_000  # addresses in use read at a time


@dataclass
class _Existing:
    id: int
    full_name: str
    title: str
    phone: str
    kind: str
    unit_id: int
    quota_mb: int
    email: str


class Planner:
    """Decides, row by row, what the import would do. Used for the preview and again for applying."""

    def __init__(self, session: Session, actor: Actor, unit: Unit, policy: MailboxPolicy) -> None:
        actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
        self.session, self.actor, self.unit = session, actor, unit
        self.default_domain, self.policy = policy.default_domain, policy.address_policy
        self.default_quota = policy.default_quota_mb
        self.units = {u.code: u for u in session.scalars(select(Unit).where(Unit.path.startswith(unit.path)))}
        # The staff the file names, looked up a chunk of rows at a time (:meth:`plans`), so memory does not grow
        # with the people already in the database (300,000 in a merged city).
        self.existing: dict[str, _Existing] = {}
        self.unit_paths = {u.id: u.path for u in self.units.values()}
        # Addresses in use in the database, and those this file's earlier rows will take; read in slices, so
        # the query's result is never whole in memory beside the set (86 → 37 MB at 300,000).
        self.taken: set[str] = set(session.scalars(select(Staff.email).execution_options(yield_per=ADDRESS_ROWS)))
        self.taken.update(session.scalars(select(MailAlias.address).execution_options(yield_per=ADDRESS_ROWS)))
        self.planned: set[str] = set()
        self.seen_numbers: dict[str, int] = {}
        self.columns: dict[str, str] | None = None

    def plans(self, rows: Iterable[Row]) -> Iterator[tuple[Row, tuple[str, dict[str, Any]] | list[RowIssue]]]:
        """Each row with what :meth:`plan` makes of it; the staff numbers of ``LOOKUP_ROWS`` rows are looked up
        in one query before they are planned."""
        for chunk in chunked(rows, LOOKUP_ROWS):
            self._look_up(chunk)
            for row in chunk:
                yield row, self.plan(row)

    def _look_up(self, rows: list[Row]) -> None:
        if self.columns is None:
            self.columns = resolve_columns(rows[0].values.keys())
        column = self.columns["staff_number"]
        numbers = {number for row in rows if (number := row.values.get(column, "").strip())}
        found = self.session.execute(
            select(
                Staff.id,
                Staff.staff_number,
                Staff.full_name,
                Staff.title,
                Staff.phone,
                Staff.kind,
                Staff.unit_id,
                Staff.quota_mb,
                Staff.email,
            ).where(Staff.staff_number.in_(numbers))
        )
        self.existing = {
            row.staff_number: _Existing(
                row.id, row.full_name, row.title, row.phone, row.kind, row.unit_id, row.quota_mb, row.email
            )
            for row in found
        }

    def plan(self, row: Row) -> tuple[str, dict[str, Any]] | list[RowIssue]:
        """('create'|'update'|'unchanged', values) for a good row, or every problem of a bad one."""
        if self.columns is None:
            self.columns = resolve_columns(row.values.keys())
        get = {name: row.values.get(column, "").strip() for name, column in self.columns.items()}
        issues: list[RowIssue] = []

        def bad(name: str, message: str) -> None:
            issues.append(RowIssue(row.number, self.columns.get(name, name) if self.columns else name, message))

        number = get.get("staff_number", "")
        if not number:
            bad("staff_number", "empty")
        elif len(number) > 40:
            bad("staff_number", "longer than 40 characters")
        elif number in self.seen_numbers:
            bad("staff_number", f"{number} appears again (first in row {self.seen_numbers[number]})")
        try:
            full_name = clean_name(get.get("full_name", ""))
            if not full_name:
                raise InvalidNameError("empty")
            split_name(full_name)
        except InvalidNameError as exc:
            bad("full_name", str(exc))
            full_name = ""
        unit = self.unit
        code = get.get("unit_code", "")
        if code:
            found = self.units.get(code.upper())
            if found is None:
                bad("unit_code", f"{code} is not {self.unit.name} or one of its units")
            else:
                unit = found
        kind = KIND_WORDS.get(get.get("kind", "").lower())
        if kind is None:
            bad("kind", f"{get.get('kind')!r}: use cá nhân, dùng chung, dịch vụ or thử nghiệm")
        quota = self.default_quota
        if get.get("quota_mb"):
            try:
                quota = int(get["quota_mb"])
                if not 1 <= quota <= 1_048_576:
                    raise ValueError
            except ValueError:
                bad("quota_mb", f"{get['quota_mb']!r} is not a whole number of MB between 1 and 1048576")
        if issues:
            if number and number not in self.seen_numbers:
                self.seen_numbers[number] = row.number
            return issues
        self.seen_numbers[number] = row.number
        values = {
            "staff_number": number,
            "full_name": full_name,
            "unit_code": unit.code,
            "title": get.get("title", ""),
            "phone": get.get("phone", ""),
            "kind": str(kind),
            "quota_mb": quota,
        }
        current = self.existing.get(number)
        if current is not None:
            if current.unit_id not in self.unit_paths:
                return [
                    RowIssue(
                        row.number,
                        self.columns.get("staff_number", "staff_number"),
                        f"{number} belongs to a unit outside {self.unit.name}",
                    )
                ]
            old = {
                "full_name": current.full_name,
                "title": current.title,
                "phone": current.phone,
                "kind": current.kind,
                "unit_code": next(c for c, u in self.units.items() if u.id == current.unit_id),
                "quota_mb": current.quota_mb,
            }
            if not get.get("quota_mb"):
                values["quota_mb"] = current.quota_mb
            changes = {k: [old[k], values[k]] for k in UPDATABLE if old[k] != values[k]}
            values["email"] = current.email
            values["id"] = current.id
            values["changes"] = changes
            return ("update" if changes else "unchanged"), values
        domain = unit.effective_mail_domain(self.default_domain)
        try:
            if get.get("email"):
                local = validate_local_part(get["email"].split("@")[0])
                if self.is_taken(f"{local}@{domain}"):
                    return [
                        RowIssue(row.number, self.columns.get("email", "email"), f"{local}@{domain} is already in use")
                    ]
            else:
                local = unique_local_part(
                    generate_local_part(full_name, self.policy), lambda lp: self.is_taken(f"{lp}@{domain}")
                )
        except InvalidNameError as exc:
            column = "email" if get.get("email") else "full_name"
            return [RowIssue(row.number, self.columns.get(column, column), str(exc))]
        values["email"] = f"{local}@{domain}"
        values["local_part"] = local
        self.planned.add(values["email"])  # later rows of the file must not get the same address
        return "create", values

    def is_taken(self, address: str) -> bool:
        return address in self.taken or address in self.planned
