"""Many mailboxes at once — disable (with a reason), enable, reset passwords, move — picked on the staff list.

The preview says, person by person, exactly what will change and what will not (and why); the work then runs
as a background task through the same verbs as one person's page (``accounts.disable``, ``enable``,
``reset_password``, ``move_staff``), in one transaction with the task's own record of being done, so a worker
that dies is replaced without doing anything twice. A password reset also makes credential slips: one PDF
per unit, kept encrypted until downloaded once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor, PermissionDenied
from core.tasks import Task, TaskContext, TaskFailed, submit
from provisioning import accounts
from provisioning.directory_jobs import password_cipher
from provisioning.errors import ProvisioningError
from provisioning.models import AccountStatus, Role, Staff, Unit
from provisioning.roles import holds_equal_or_wider
from provisioning.slips import CredentialSlip, SignInHelp, SlipPerson, render_slips

ACTIONS = ("disable", "enable", "reset_password", "move")
MAX_PEOPLE = 5000


@dataclass(frozen=True)
class BulkRow:
    staff_id: int
    name: str
    email: str
    unit: str
    change: str  # what will happen, in Vietnamese; "" when nothing changes
    problem: str  # why it will not, in Vietnamese; "" when it will


def _check(action: str, staff_ids: list[int], reason: str) -> None:
    if action not in ACTIONS:
        raise ProvisioningError(f"action {action[:40]!r}: one of {', '.join(ACTIONS)}")
    if not staff_ids:
        raise ProvisioningError("choose at least one mailbox")
    if len(staff_ids) > MAX_PEOPLE:
        raise ProvisioningError(f"at most {MAX_PEOPLE} mailboxes at once")
    if action == "disable" and not reason.strip():
        raise ProvisioningError("reason: say why the mailboxes are disabled")


def preview(
    session: Session, actor: Actor, staff_ids: list[int], action: str, *, reason: str = "", unit: Unit | None = None
) -> list[BulkRow]:
    """What applying would do to each chosen person (read only)."""
    _check(action, staff_ids, reason)
    if action == "move":
        if unit is None:
            raise ProvisioningError("unit: choose where the mailboxes move")
        actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    people = session.scalars(select(Staff).where(Staff.id.in_(set(staff_ids))).order_by(Staff.full_name)).all()
    rows: list[BulkRow] = []
    for person in people:
        change, problem = _decide(actor, person, action, reason, unit)
        rows.append(BulkRow(person.id, person.full_name, person.email, person.unit.name, change, problem))
    missing = set(staff_ids) - {p.id for p in people}
    rows += [BulkRow(sid, "", "", "", "", "không còn tồn tại") for sid in sorted(missing)]
    return rows


def _decide(actor: Actor, person: Staff, action: str, reason: str, unit: Unit | None) -> tuple[str, str]:
    """(what will change, why nothing will), in Vietnamese, for one person: the preview shows it, the task
    acts on it, so what runs is what was shown."""
    if not actor.can(Role.UNIT_ADMIN, person.unit) or holds_equal_or_wider(actor, person):
        return "", "ngoài phạm vi quản trị của bạn"
    if action == "disable":
        if person.status == AccountStatus.DISABLED:
            return "", "đã khóa"
        if person.status == AccountStatus.ARCHIVED:
            return "", "đã lưu trữ"
        return f"khóa: {reason.strip()}", ""
    if action == "enable":
        return ("", "đang hoạt động") if person.status == AccountStatus.ACTIVE else ("mở lại", "")
    if action == "reset_password":
        if person.status == AccountStatus.ARCHIVED:
            return "", "đã lưu trữ"
        return "đặt mật khẩu dùng một lần (in phiếu)", ""
    if action == "move" and unit is not None:
        if person.unit_id == unit.id:
            return "", f"đã ở {unit.name}"
        return f"chuyển từ {person.unit.name} sang {unit.name}", ""
    return "", "không còn đơn vị đến"


def queue(
    session: Session, actor: Actor, staff_ids: list[int], action: str, *, reason: str = "", unit: Unit | None = None
) -> Task:
    """Queue the change for the people the preview says will change; PermissionDenied if none may."""
    rows = preview(session, actor, staff_ids, action, reason=reason, unit=unit)
    chosen = [r.staff_id for r in rows if r.change]
    if not chosen:
        raise ProvisioningError("nothing to change: every chosen mailbox is already so or outside your scope")
    params = {
        "action": action,
        "staff_ids": chosen,
        "reason": reason.strip()[:500],
        "unit_id": unit.id if unit else None,
    }
    return submit(session, actor, "staff.bulk", params, total=len(chosen))


def run(ctx: TaskContext, *, secret_key: str, help_: SignInHelp, today: dt.date) -> dict[str, Any]:
    """The task: every change in one unit of work, slips included; then the directory."""
    params = ctx.params
    action, ids = params["action"], list(params["staff_ids"])
    work = ctx.boundary.begin(ctx.origin)
    try:
        session = work.session
        done = session.scalars(select(CredentialSlip.id).where(CredentialSlip.task_id == ctx.task_id)).all()
        if done:
            # An earlier run committed the resets with their slips (the worker then died): only its directory
            # work may be left, which the worker applied before calling again. Other actions converge by
            # themselves: a person already disabled, enabled or moved is skipped below.
            work.rollback()
            return {"applied": True, "action": action, "changed": 0, "skipped": 0, "slips": list(done)}
        unit = session.get(Unit, params["unit_id"]) if params.get("unit_id") else None
        slips: dict[int, list[SlipPerson]] = defaultdict(list)
        unit_names: dict[int, str] = {}
        changed, skipped = 0, 0
        people = session.scalars(select(Staff).where(Staff.id.in_(ids)).order_by(Staff.full_name)).all()
        for n, person in enumerate(people, 1):
            if n % 50 == 0:
                ctx.progress(n, len(ids), "changes")
            change, _why_not = _decide(ctx.actor, person, action, params["reason"], unit)
            if not change:
                skipped += 1
                continue
            try:
                if action == "disable":
                    accounts.disable(session, ctx.actor, person, params["reason"])
                elif action == "enable":
                    accounts.enable(session, ctx.actor, person)
                elif action == "reset_password":
                    password = accounts.reset_password(session, ctx.actor, person, secret_key=secret_key)
                    slips[person.unit_id].append(SlipPerson(person.full_name, person.email, password))
                    unit_names[person.unit_id] = person.unit.name
                elif unit is not None:
                    accounts.move_staff(session, ctx.actor, person, unit)
                changed += 1
            except (PermissionDenied, ProvisioningError):
                skipped += 1
        cipher = password_cipher(secret_key)
        slip_ids: list[int] = []
        for unit_id, slip_people in slips.items():
            pdf = render_slips(unit_names[unit_id], slip_people, help_, today)
            slip = CredentialSlip(
                task_id=ctx.task_id,
                unit_id=unit_id,
                unit_name=unit_names[unit_id],
                people=len(slip_people),
                actor=ctx.actor.label,
                content=cipher.encrypt(pdf),
            )
            session.add(slip)
            session.flush()
            slip_ids.append(slip.id)
        result = {"applied": True, "action": action, "changed": changed, "skipped": skipped, "slips": slip_ids}
    except BaseException:
        work.rollback()
        raise
    recorded = work.recorded
    work.commit(apply=False)
    ctx.apply_intents(recorded, "directory")
    return result


def take_slip(session: Session, actor: Actor, slip_id: int, secret_key: str) -> tuple[CredentialSlip, bytes]:
    """The slip's PDF, once: its content is deleted as it is handed over. Only who made it, or a system admin."""
    slip = session.get(CredentialSlip, slip_id)
    if slip is None:
        raise TaskFailed("Không có phiếu này.")
    if not (actor.is_system_admin or slip.actor == actor.label):
        raise PermissionDenied(f"{actor.name} may not take the credential slips of another admin")
    if slip.content is None:
        raise TaskFailed("Phiếu này đã được tải về một lần; mật khẩu trên đó không lấy lại được. Hãy đặt lại mật khẩu.")
    pdf = password_cipher(secret_key).decrypt(slip.content)
    slip.content = None
    slip.downloaded_at = dt.datetime.now(dt.UTC)
    session.flush()
    return slip, pdf


def rows_as_dicts(rows: list[BulkRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
