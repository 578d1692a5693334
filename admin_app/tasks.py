"""The background tasks this installation runs, wired to their handlers (the composition of the domains)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit import report_tasks
from audit.report import Definitions
from core.outbox import SendResult
from core.tasks import Handler, TaskContext
from provisioning import import_tasks
from provisioning.operations import MailboxPolicy

MAIL_TASK = "mail.send"


def handlers(
    policy: MailboxPolicy, definitions: Definitions, send_mail: Callable[..., SendResult]
) -> dict[str, Handler]:
    """Task kind → handler. A handler gets a :class:`core.tasks.TaskContext` and returns the task's result."""

    def deliver(ctx: TaskContext) -> dict[str, Any]:
        result = send_mail(ids=[int(i) for i in ctx.params.get("ids", [])])
        return {"sent": result.sent, "failed": result.failed, "unavailable": result.unavailable}

    return {
        import_tasks.PREVIEW: lambda ctx: import_tasks.run(ctx, policy),
        import_tasks.APPLY: lambda ctx: import_tasks.run(ctx, policy),
        report_tasks.GENERATE: lambda ctx: report_tasks.run(ctx, definitions),
        MAIL_TASK: deliver,
    }
