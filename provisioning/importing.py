"""Bulk import of staff lists: a preview of every row, then the whole file or nothing.

Rows are matched to existing staff by staff number, so importing the same file again changes nothing.
The file is streamed twice (preview, apply) rather than held in memory; what is kept per row is a
staff number and an address, so memory grows with the number of people in the file, not with its bytes. The
staff the file names are looked up a thousand rows at a time; of the people already in the database only their
addresses are held (to choose new ones that are free).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor, PermissionDenied
from core.tabular import FileFormatError, Row
from provisioning.accounts import move_staff, set_quota, update_staff
from provisioning.import_plan import (
    SAMPLE_LIMIT,
    ImportError_,
    Planner,
    Preview,
)
from provisioning.models import Staff, Unit
from provisioning.operations import MailboxPolicy, StaffInput, create_staff_many


def preview(
    session: Session,
    actor: Actor,
    unit: Unit,
    rows: Iterable[Row],
    policy: MailboxPolicy,
    *,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Every row that would be created, changed or left alone, and every bad row. Changes nothing."""
    planner = Planner(session, actor, unit, policy)
    result = Preview()
    try:
        for row, outcome in planner.plans(rows):
            result.total += 1
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
    policy: MailboxPolicy,
    *,
    progress: Callable[[int], None] | None = None,
    batch_label: str = "",
) -> Preview:
    """Apply the whole file in the caller's transaction, or raise with every bad row and apply nothing.

    Every row goes through the verbs the console uses: new people through :func:`create_staff_many` (in
    batches, addresses checked from memory), changes through ``update_staff``, ``set_quota`` and
    ``move_staff``, so an import records the same directory jobs and change-trail entries as a person
    clicking through the console would."""
    planner = Planner(session, actor, unit, policy)
    result = Preview()
    creates: list[tuple[Unit, StaffInput]] = []
    done = 0

    def flush_creates() -> None:
        if not creates:
            return
        people = create_staff_many(
            session,
            actor,
            creates,
            policy.default_domain,
            policy.address_policy,
            is_taken=planner.taken.__contains__,  # the file's own planned addresses are the ones given now
            default_quota=policy.default_quota_mb,
            rules=policy.rules,
        )
        for person in people:
            session.expunge(person)  # keeps the session (and memory) small on a big file
        creates.clear()

    try:
        for _row, outcome in planner.plans(rows):
            result.total += 1
            if isinstance(outcome, list):
                result.errors.extend(outcome)
                continue
            if result.errors:
                continue  # keep reading to name every bad row, but build nothing more
            action, values = outcome
            if action == "create":
                result.creates += 1
                creates.append((planner.units[values["unit_code"]], _staff_input(values)))
                if len(creates) >= 500:
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
    if not (result.creates or result.updates):
        return result  # the same file again: nothing changed, nothing to record
    changelog.record_of(
        session,
        actor,
        "import.apply",
        unit,
        after={
            "rows": result.total,
            "created": result.creates,
            "updated": result.updates,
            "unchanged": result.unchanged,
        },
        label=batch_label or unit.name,
    )
    if progress is not None:
        progress(done)
    return result


def _staff_input(values: dict[str, Any]) -> StaffInput:
    return StaffInput(
        values["full_name"],
        values["title"],
        values["staff_number"],
        values["phone"],
        values["kind"],
        values["local_part"],
        values["quota_mb"],
    )


class ImportRefused(ImportError_):
    """The file has bad rows; nothing was applied. ``preview.errors`` names every one."""

    def __init__(self, preview_: Preview) -> None:
        first = "; ".join(str(e) for e in preview_.errors[:3])
        more = f" (and {len(preview_.errors) - 3} more)" if len(preview_.errors) > 3 else ""
        super().__init__(f"{len(preview_.errors)} bad rows, nothing applied: {first}{more}")
        self.preview = preview_


def _apply_update(session: Session, actor: Actor, planner: Planner, values: dict[str, Any]) -> None:
    """A changed row: the same verbs as the console's edit, quota and move."""
    staff = session.get(Staff, values["id"])
    if staff is None:  # pragma: no cover - the planner just saw it
        raise PermissionDenied(f"staff {values['staff_number']} vanished")
    changes = values["changes"]
    fields = {k: values[k] for k in ("full_name", "title", "phone", "kind") if k in changes}
    if fields:
        update_staff(session, actor, staff, fields)
    if "quota_mb" in changes:
        set_quota(session, actor, staff, values["quota_mb"])
    if "unit_code" in changes:
        move_staff(session, actor, staff, planner.units[values["unit_code"]])
