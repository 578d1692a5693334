"""The pages of a file a unit admin uploads for background tasks to preview and apply (a staff list, another
directory's LDIF export): the upload form, and what the batch's page shows of its task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from admin_app.context import db
from admin_app.error_words import domain_message
from core.tasks import Task
from provisioning.errors import ProvisioningError
from provisioning.models import ImportBatch, Unit


class FormRefusal(Exception):
    """What the upload form says back, already in the page's language (a choice left out, say)."""


def upload_page(
    unit: Unit,
    template: str,
    batch_endpoint: str,
    suffixes: tuple[str, ...],
    refusals: tuple[str, str],
    upload: Callable[[FileStorage], ImportBatch],
) -> Any:
    """GET: the form. POST: the file goes to ``upload``, then the batch's page follows; or the form comes back
    (422) saying why not: ``refusals`` when no file is chosen or its name does not end in one of ``suffixes``,
    a :class:`FormRefusal` or a domain error from ``upload``."""
    if request.method != "POST":
        return render_template(template, unit=unit, error=None)
    file = request.files.get("file")
    no_file, wrong_kind = refusals
    try:
        if file is None or not file.filename:
            raise FormRefusal(no_file)
        if not file.filename.lower().endswith(suffixes):
            raise FormRefusal(wrong_kind)
        batch = upload(file)
    except FormRefusal as exc:
        return render_template(template, unit=unit, error=str(exc)), 422
    except ProvisioningError as exc:
        return render_template(template, unit=unit, error=domain_message(exc)), 422
    return redirect(url_for(batch_endpoint, batch_id=batch.id))


def task_of(batch: ImportBatch) -> dict[str, Any]:
    """The batch's task (None before one is queued) and whether it is still at work, for the batch's page."""
    task = db().get(Task, batch.task_id) if batch.task_id else None
    return {"task": task, "is_running": task is not None and not task.is_finished}
