"""``congvu reorganise preview|apply PLAN``: a reorganisation plan from a file, previewed and applied as the
console does it (the same upload, preview task and apply task), the tasks run here by an in-process worker."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from admin_app.cli.core import _cli_actor, cli_unit_of_work, main, runtime
from core.tasks import Task, Worker
from provisioning.history_models import Reorganisation
from provisioning.reorg import tasks as reorg_tasks
from provisioning.reorg.sheets import workbook_from_csv


class _EchoWorker(Worker):
    """A worker that also prints its task's progress on the terminal (a line per phase, then every second)."""

    def _reporter(self, task_id: int) -> Callable[[int, int, str], None]:
        write = super()._reporter(task_id)
        last = {"phase": "", "at": 0.0}

        def report(done: int, total: int, phase: str) -> None:
            write(done, total, phase)
            now = time.monotonic()
            if phase != last["phase"] or now - last["at"] >= 1 or (total and done >= total):
                last["phase"], last["at"] = phase, now
                click.echo(f"  {phase}: {done}/{total}")

        return report


def _worker() -> Worker:
    plain = runtime().task_worker("cli:reorganise")
    return _EchoWorker(
        plain.boundary,
        plain.handlers,
        name=plain.name,
        timeout=plain.timeout,
        resume=plain.resume,
        side_factory=plain.side_factory,
    )


def _content(plan: Path, staff: Path | None) -> tuple[str, bytes]:
    if plan.suffix.lower() == ".csv":
        # Stored as one workbook: the units sheet and, if given, the staff sheet.
        return plan.with_suffix(".xlsx").name, workbook_from_csv(
            plan.read_bytes(), staff.read_bytes() if staff else None
        )
    if staff is not None:
        raise click.UsageError("--staff goes with a CSV plan; an XLSX plan carries its staff sheet itself")
    return plan.name, plan.read_bytes()


def _run(worker: Worker, task_id: int | None) -> Task:
    task = worker.run_one(task_id)
    if task is None:
        raise click.ClickException(f"task {task_id} was taken by another worker")
    with runtime().session_factory() as session:
        stored = session.get(Task, task.id)
        assert stored is not None
        session.expunge(stored)
    return stored


def _reorg(reorg_id: int) -> Reorganisation:
    with runtime().session_factory() as session:
        reorg = session.get(Reorganisation, reorg_id)
        assert reorg is not None
        session.expunge(reorg)
    return reorg


def _print_preview(preview: dict[str, Any]) -> None:
    counts = preview.get("counts", {})
    if preview.get("already_applied"):
        click.echo(f"this plan was applied before (plan {preview['already_applied']}): nothing to change")
    if counts:
        click.echo(
            f"effective on {preview.get('effective_on')}; units changed: {counts.get('units_changed', 0)}, "
            f"staff moved: {counts.get('staff_moved', 0)}, addresses changed: {counts.get('addresses_changed', 0)}, "
            f"roles revoked: {counts.get('roles_revoked', 0)}, points re-homed: {counts.get('points_rehomed', 0)}, "
            f"points retired: {counts.get('points_retired', 0)}"
        )
    for row in preview.get("tree", []):
        if row["status"] != "unchanged":
            click.echo(
                f"  {'  ' * row['depth']}{row['code']} {row['name']}: {row['status']} "
                f"({row['mailboxes_before']} → {row['mailboxes_after']} mailboxes)"
            )
    for address in preview.get("addresses", []):
        note = f"  ({address['collision']})" if address["collision"] else ""
        click.echo(f"  {address['old']} → {address['new']}{note}")
    for point in preview.get("points", []):
        successor = f" → {point['successor']}" if point["successor"] else ""
        click.echo(f"  point {point['point']} ({point['unit']}): {point['action']}{successor}")
        for booking in point["bookings"]:
            click.echo(f"    {booking['starts_at']} {booking['meeting']}: {booking['action']}")
    for role in preview.get("roles", []):
        new = f" → {role['new_unit']}" if role["new_unit"] else ""
        click.echo(f"  role {role['role']} of {role['person']} on {role['unit']}: {role['action']}{new}")
    errors = preview.get("errors", [])
    for error in errors:
        click.echo(
            f"sheet {error['sheet']}, row {error['row']}, column {error['column']}: {error['message']}", err=True
        )
    if errors:
        click.echo(f"{len(errors)} errors: nothing can be applied", err=True)


def _preview(plan: Path, staff: Path | None) -> Reorganisation:
    name, content = _content(plan, staff)
    with cli_unit_of_work() as session:
        reorg = reorg_tasks.upload(session, _cli_actor("reorganise"), name, content)
        reorg_id, task_id = reorg.id, reorg.task_id
    click.echo(f"plan {reorg_id} ({name}): preview")
    task = _run(_worker(), task_id)
    if task.status != "done":
        raise click.ClickException(task.error)
    reorg = _reorg(reorg_id)
    _print_preview(reorg.preview)
    if reorg.preview.get("errors"):
        sys.exit(1)
    return reorg


@main.group("reorganise")
def reorganise_group() -> None:
    """Reorganise the unit tree from a plan file (XLSX: sheets "Đơn vị" and "Nhân sự", or CSV)."""


_plan = click.argument("plan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
_staff = click.option(
    "--staff", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The staff sheet as CSV."
)


@reorganise_group.command("preview")
@_plan
@_staff
@with_appcontext
def preview_command(plan: Path, staff: Path | None) -> None:
    """Show what the plan would change, or every error (exit status 1)."""
    _preview(plan, staff)


@reorganise_group.command("apply")
@_plan
@_staff
@click.option("--yes", is_flag=True, help="Apply without asking.")
@with_appcontext
def apply_command(plan: Path, staff: Path | None, yes: bool) -> None:
    """Preview the plan, then apply it: the database at once, then the directory with progress."""
    reorg = _preview(plan, staff)
    if not yes:
        click.confirm("Apply this plan?", abort=True)
    with cli_unit_of_work() as session:
        row = session.get(Reorganisation, reorg.id)
        assert row is not None
        task_id = reorg_tasks.queue_apply(session, _cli_actor("reorganise apply"), row).id
    click.echo(f"plan {reorg.id}: applying")
    task = _run(_worker(), task_id)
    if task.status != "done":
        raise click.ClickException(task.error)
    if task.result.get("nothing_to_change"):
        click.echo("nothing to change: this plan was applied before")
        return
    done = ", ".join(f"{k}: {v}" for k, v in sorted(task.result.items()))
    click.echo(f"applied: {done}")
