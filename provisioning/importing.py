"""Bulk import of staff lists: a preview of every row, then the whole file or nothing.

Rows are matched to existing staff by staff number, so importing the same file again changes nothing.
The file is streamed twice (preview, apply) rather than held in memory; what is kept per row is a
staff number and an address, so memory grows with the number of people, not with the file's bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.db import utcnow
from core.tabular import FileFormatError, Row
from provisioning.models import AccountKind, AccountStatus, DirectoryJob, MailAlias, Role, Staff, Unit
from provisioning.names import (
    InvalidNameError,
    clean_name,
    generate_local_part,
    split_name,
    unique_local_part,
    validate_local_part,
)
from provisioning.operations import staff_snapshot

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

    def __init__(
        self, session: Session, actor: Actor, unit: Unit, default_domain: str, policy: str, default_quota: int
    ) -> None:
        actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
        self.session, self.actor, self.unit = session, actor, unit
        self.default_domain, self.policy, self.default_quota = default_domain, policy, default_quota
        self.units = {u.code: u for u in session.scalars(select(Unit).where(Unit.path.startswith(unit.path)))}
        self.existing = {
            row.staff_number: _Existing(
                row.id, row.full_name, row.title, row.phone, row.kind, row.unit_id, row.quota_mb, row.email
            )
            for row in session.execute(
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
                ).where(Staff.staff_number.isnot(None))
            )
        }
        self.unit_paths = {u.id: u.path for u in self.units.values()}
        self.taken: set[str] = set(session.scalars(select(Staff.email)))
        self.taken.update(session.scalars(select(MailAlias.address)))
        self.seen_numbers: dict[str, int] = {}
        self.columns: dict[str, str] | None = None

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
                if f"{local}@{domain}" in self.taken:
                    return [
                        RowIssue(row.number, self.columns.get("email", "email"), f"{local}@{domain} is already in use")
                    ]
            else:
                local = unique_local_part(
                    generate_local_part(full_name, self.policy), lambda lp: f"{lp}@{domain}" in self.taken
                )
        except InvalidNameError as exc:
            column = "email" if get.get("email") else "full_name"
            return [RowIssue(row.number, self.columns.get(column, column), str(exc))]
        values["email"] = f"{local}@{domain}"
        self.taken.add(values["email"])  # later rows of the file must not get the same address
        return "create", values


def preview(
    session: Session,
    actor: Actor,
    unit: Unit,
    rows: Iterable[Row],
    *,
    default_domain: str,
    policy: str = "given_initials",
    default_quota: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Every row that would be created, changed or left alone, and every bad row. Changes nothing."""
    planner = Planner(session, actor, unit, default_domain, policy, default_quota)
    result = Preview()
    try:
        for row in rows:
            result.total += 1
            outcome = planner.plan(row)
            if isinstance(outcome, list):
                result.errors.extend(outcome)
            else:
                action, values = outcome
                counter = {"create": "creates", "update": "updates", "unchanged": "unchanged"}[action]
                setattr(result, counter, getattr(result, counter) + 1)
                if len(result.samples) < SAMPLE_LIMIT and action != "unchanged":
                    result.samples.append(
                        {
                            "row": row.number,
                            "action": action,
                            **{
                                k: v
                                for k, v in values.items()
                                if k in ("staff_number", "full_name", "email", "unit_code", "changes")
                            },
                        }
                    )
            if progress is not None and result.total % 200 == 0:
                progress(result.total)
    except FileFormatError as exc:
        raise ImportError_(str(exc)) from None
    if progress is not None:
        progress(result.total)
    return result


def apply(
    session: Session,
    actor: Actor,
    unit: Unit,
    rows: Iterable[Row],
    *,
    default_domain: str,
    policy: str = "given_initials",
    default_quota: int = 2048,
    progress: Callable[[int], None] | None = None,
    batch_label: str = "",
) -> Preview:
    """Apply the whole file in the caller's transaction, or raise with every bad row and apply nothing."""
    planner = Planner(session, actor, unit, default_domain, policy, default_quota)
    result = Preview()
    pending_creates: list[dict[str, Any]] = []
    units_touched: set[int] = set()
    done = 0

    def flush_creates() -> None:
        if not pending_creates:
            return
        staff_rows = []
        for values in pending_creates:
            parts = split_name(values["full_name"])
            target = planner.units[values["unit_code"]]
            units_touched.add(target.id)
            staff_rows.append(
                Staff(
                    unit_id=target.id,
                    full_name=values["full_name"],
                    family_name=parts.family,
                    middle_name=parts.middle,
                    given_name=parts.given,
                    title=values["title"],
                    staff_number=values["staff_number"],
                    phone=values["phone"],
                    kind=values["kind"],
                    email=values["email"],
                    status=AccountStatus.ACTIVE,
                    quota_mb=values["quota_mb"],
                )
            )
        session.add_all(staff_rows)
        session.flush()
        session.execute(
            insert(DirectoryJob),
            [
                {
                    "action": "sync_staff",
                    "object_id": s.id,
                    "payload": {},
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "created_at": utcnow(),
                    "next_attempt_at": utcnow(),
                }
                for s in staff_rows
            ],
        )
        changelog.record_many(
            session,
            actor,
            [("staff.create", "staff", s.id, s.email, s.unit_id, None, staff_snapshot(s)) for s in staff_rows],
        )
        for s in staff_rows:
            session.expunge(s)  # keeps the session (and memory) small on a big file
        pending_creates.clear()

    try:
        for row in rows:
            result.total += 1
            outcome = planner.plan(row)
            if isinstance(outcome, list):
                result.errors.extend(outcome)
                continue
            if result.errors:
                continue  # keep reading to name every bad row, but build nothing more
            action, values = outcome
            if action == "create":
                result.creates += 1
                pending_creates.append(values)
                if len(pending_creates) >= 500:
                    flush_creates()
            elif action == "update":
                result.updates += 1
                _apply_update(session, actor, planner, values)
            else:
                result.unchanged += 1
            done += 1
            if progress is not None and done % 200 == 0:
                progress(done)
    except FileFormatError as exc:
        raise ImportError_(str(exc)) from None
    if result.errors:
        raise ImportRefused(result)
    flush_creates()
    if units_touched:
        session.execute(
            insert(DirectoryJob),
            [
                {
                    "action": "sync_list",
                    "object_id": uid,
                    "payload": {},
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                    "created_at": utcnow(),
                    "next_attempt_at": utcnow(),
                }
                for uid in units_touched
            ],
        )
    if not (result.creates or result.updates):
        return result  # the same file again: nothing changed, nothing to record
    session.info["directory_changed"] = True
    changelog.record(
        session,
        actor,
        "import.apply",
        "unit",
        unit.id,
        target_label=batch_label or unit.name,
        unit_id=unit.id,
        after={
            "rows": result.total,
            "created": result.creates,
            "updated": result.updates,
            "unchanged": result.unchanged,
        },
    )
    if progress is not None:
        progress(done)
    return result


class ImportRefused(ImportError_):
    """The file has bad rows; nothing was applied. ``preview.errors`` names every one."""

    def __init__(self, preview_: Preview) -> None:
        first = "; ".join(str(e) for e in preview_.errors[:3])
        more = f" (and {len(preview_.errors) - 3} more)" if len(preview_.errors) > 3 else ""
        super().__init__(f"{len(preview_.errors)} bad rows, nothing applied: {first}{more}")
        self.preview = preview_


def _apply_update(session: Session, actor: Actor, planner: Planner, values: dict[str, Any]) -> None:
    staff = session.get(Staff, values["id"])
    if staff is None:  # pragma: no cover - the planner just saw it
        raise PermissionDenied(f"staff {values['staff_number']} vanished")
    before = staff_snapshot(staff)
    staff.full_name = values["full_name"]
    parts = split_name(values["full_name"])
    staff.family_name, staff.middle_name, staff.given_name = parts.family, parts.middle, parts.given
    staff.title, staff.phone, staff.kind, staff.quota_mb = (
        values["title"],
        values["phone"],
        values["kind"],
        values["quota_mb"],
    )
    staff.unit_id = planner.units[values["unit_code"]].id
    session.flush()
    session.add(DirectoryJob(action="sync_staff", object_id=staff.id, payload={}))
    session.add(DirectoryJob(action="sync_list", object_id=staff.unit_id, payload={}))
    changelog.record(
        session,
        actor,
        "staff.update",
        "staff",
        staff.id,
        target_label=staff.email,
        unit_id=staff.unit_id,
        before=before,
        after=staff_snapshot(staff),
    )
