"""The background tasks this installation runs, wired to their handlers (the composition of the domains)."""

from __future__ import annotations

from audit import report_tasks
from audit.report import Definitions
from core.tasks import Handler
from provisioning import import_tasks
from provisioning.operations import MailboxPolicy


def handlers(policy: MailboxPolicy, definitions: Definitions) -> dict[str, Handler]:
    """Task kind → handler. A handler gets a :class:`core.tasks.TaskContext` and returns the task's result."""
    return {
        import_tasks.PREVIEW: lambda ctx: import_tasks.run(ctx, policy),
        import_tasks.APPLY: lambda ctx: import_tasks.run(ctx, policy),
        report_tasks.GENERATE: lambda ctx: report_tasks.run(ctx, definitions),
    }
