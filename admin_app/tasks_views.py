"""A background task's page: what it is doing, how far it is, how it ended, and where its result is.

Every web worker shows the same page, because the task's state lives in its row."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext as _

from admin_app.auth import current_actor, login_required
from admin_app.context import db
from core.tasks import Task

bp = Blueprint("tasks", __name__)


def task_label(kind: str) -> str:
    return {
        "import.preview": _("Import preview"),
        "import.apply": _("Import"),
        "reorg.preview": _("Reorganisation preview"),
        "reorg.apply": _("Reorganisation"),
        "report.generate": _("Usage report"),
        "staff.bulk": _("Changes to many mailboxes"),
    }.get(kind, kind)


def result_url(task: Task) -> str | None:
    """Where the result of a finished task is shown."""
    if task.kind == "report.generate" and task.result.get("report_id"):
        return url_for("reports.report_detail", report_id=task.result["report_id"])
    if task.kind.startswith("reorg.") and task.params.get("reorganisation_id"):
        return url_for("reorg.plan", reorg_id=task.params["reorganisation_id"])
    if task.kind == "staff.bulk":
        return url_for("bulk.done", task_id=task.id)
    if task.kind.startswith("import.") and task.params.get("batch_id"):
        return url_for("accounts.batch", batch_id=task.params["batch_id"])
    return None


@bp.route("/tasks/<int:task_id>")
@login_required
def task_page(task_id: int) -> Any:
    actor = current_actor()
    task = db().get(Task, task_id)
    # A task is shown to the person who started it and to system admins; to anyone else it does not exist.
    if task is None or actor is None or not (actor.is_system_admin or task.actor.get("name") == actor.name):
        abort(404)
    target = result_url(task)
    if task.status == "done" and target is not None:
        return redirect(target)
    return render_template("task.html", task=task, label=task_label(task.kind), result_url=target)
