"""/api/v1/tasks: background work the caller started (an import, a report), with its progress and result."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from admin_app.api.core import SCHEMAS, ApiError, actor, endpoint, fields_of
from admin_app.context import db
from core.tasks import Task

SCHEMAS["Task"] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string"},
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "phase": {"type": "string"},
        "done": {"type": "integer"},
        "total": {"type": "integer"},
        "result": {"type": "object", "description": "report.generate: report_id, month, version"},
        "error": {"type": "string"},
    },
}


def task_json(task: Task) -> dict[str, Any]:
    return fields_of(task, "id", "kind", "status", "phase", "done", "total", "result", "error")


@endpoint("/tasks/<int:task_id>", summary="A background task the caller started (system admins: any)", response="Task")
def get_task(task_id: int) -> Any:
    task = db().get(Task, task_id)
    who = actor()
    if task is None or not (who.is_system_admin or task.actor.get("name") == who.name):
        raise ApiError(404, "not_found", f"task {task_id} does not exist")
    return jsonify(task_json(task))
