"""The demo's 2025 plans applied as a province's IT department applies them: the file is uploaded, its preview
runs as a background task, then its application, each run here by a worker in this process (as the scheduler's
worker would) through :mod:`provisioning.reorg.tasks`. Nothing is written around the reorganisation verbs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from admin_app.runtime import Runtime
from core.tasks import Task, TaskStatus
from demo.communes import seat
from demo.data import PROVINCES
from demo.plan2025 import Plan
from demo.world import DEMO_ACTOR, DemoError
from meetings.models import BridgePoint
from meetings.operations.points import update_bridge_point
from meetings.reorg import rehome_point
from provisioning.history_models import Reorganisation
from provisioning.models import Unit


def apply_plan(runtime: Runtime, plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """Upload ``plan``, preview it, apply it; the applied plan's summary. A refused plan is a DemoError naming
    its first problems."""
    from provisioning.reorg import tasks as reorg_tasks

    worker = runtime.task_worker("cli:demo load")
    with runtime.unit_of_work("cli:demo load") as session:
        reorg = reorg_tasks.upload(session, DEMO_ACTOR, plan.filename, plan.xlsx())
        reorg_id, task_id = reorg.id, reorg.task_id
    if task_id is None:
        raise DemoError(f"{plan.filename}: uploading queued no preview")
    _run(runtime, worker, task_id, f"{plan.filename}: preview")
    with runtime.unit_of_work("cli:demo load") as session:
        reorg = session.get(Reorganisation, reorg_id)
        assert reorg is not None
        problems = _problems(reorg.preview)
        if reorg.status != "previewed" or problems:
            raise DemoError(f"{plan.filename}: the preview refused the plan ({reorg.status}): {problems[:5]}")
        counts = reorg.preview.get("counts", {})
        progress(f"{plan.filename}: previewed: {_brief(counts)}")
        task_id = reorg_tasks.queue_apply(session, DEMO_ACTOR, reorg).id
    _run(runtime, worker, task_id, f"{plan.filename}: apply")
    with runtime.unit_of_work("cli:demo load") as session:
        reorg = session.get(Reorganisation, reorg_id)
        assert reorg is not None
        if reorg.status != "applied":
            raise DemoError(f"{plan.filename}: not applied ({reorg.status})")
        summary = dict(reorg.summary)
    progress(f"{plan.filename}: applied: {_brief(summary)}")
    return summary


def _run(runtime: Runtime, worker: Any, task_id: int, what: str) -> None:
    worker.run_one(only=task_id)
    with runtime.unit_of_work() as session:
        task = session.get(Task, task_id)
        assert task is not None
        if task.status != TaskStatus.DONE:
            raise DemoError(f"{what}: the task ended {task.status}: {task.error}")


def _problems(preview: dict[str, Any]) -> list[str]:
    issues = preview.get("errors") or preview.get("issues") or []
    return [
        f"{i.get('sheet')}, row {i.get('row')}, {i.get('column')}: {i.get('message')}"
        if isinstance(i, dict)
        else str(i)
        for i in issues
    ]


def _brief(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int | float) and v) or "nothing"


def reopen_district_halls(runtime: Runtime, progress: Callable[[str], None]) -> None:
    """A district split over several communes has no single successor, so the plan retired its hall's bridge
    point; as the IT department did the day after, each hall is given to the commune at the old district seat
    and opened again (its name and equipment stay)."""
    reopened = 0
    with runtime.unit_of_work("cli:demo load") as session:
        for district in (d for p in PROVINCES for d in p.districts):
            point = session.scalar(select(BridgePoint).where(BridgePoint.name == f"Điểm cầu {district.short_name}"))
            commune = session.scalar(select(Unit).where(Unit.code == seat(district.suffix)))
            if point is None or commune is None or point.is_active:
                continue
            rehome_point(
                session, DEMO_ACTOR, point, commune, f"Điểm cầu của {commune.name} (trụ sở {district.name} cũ)"
            )
            update_bridge_point(session, DEMO_ACTOR, point, is_active=True)
            reopened += 1
    progress(f"bridge points of the old district halls given to the communes at the old seats: {reopened}")
