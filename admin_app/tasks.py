"""The background tasks this installation runs, wired to their handlers (the composition of the domains)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from audit import report_tasks
from audit.report import Definitions
from core.outbox import SendResult
from core.tasks import Handler, TaskContext
from meetings.env import MeetingEnv
from meetings.reorg import BridgePoints
from provisioning import bulk, import_tasks, ldif_tasks
from provisioning.operations import MailboxPolicy
from provisioning.reorg import tasks as reorg_tasks
from provisioning.slips import SignInHelp

MAIL_TASK = "mail.send"


def handlers(
    policy: MailboxPolicy,
    definitions: Definitions,
    send_mail: Callable[..., SendResult],
    *,
    meeting_env: MeetingEnv | None = None,
    reorg_alias_days: int = 365,
    sign_in_help: SignInHelp | None = None,
    tz: dt.tzinfo = dt.UTC,
) -> dict[str, Handler]:
    """Task kind → handler. A handler gets a :class:`core.tasks.TaskContext` and returns the task's result."""
    # A reorganisation's participants from the layers above provisioning (it never imports them).
    participants = (BridgePoints(meeting_env),) if meeting_env is not None else ()
    reorg = reorg_tasks.ReorgSetup(policy, reorg_alias_days, participants)

    def deliver(ctx: TaskContext) -> dict[str, Any]:
        result = send_mail(ids=[int(i) for i in ctx.params.get("ids", [])])
        return {"sent": result.sent, "failed": result.failed, "unavailable": result.unavailable}

    return {
        import_tasks.PREVIEW: lambda ctx: import_tasks.run(ctx, policy),
        import_tasks.APPLY: lambda ctx: import_tasks.run(ctx, policy),
        ldif_tasks.PREVIEW: lambda ctx: ldif_tasks.run(ctx, policy),
        ldif_tasks.APPLY: lambda ctx: ldif_tasks.run(ctx, policy),
        reorg_tasks.PREVIEW: lambda ctx: reorg_tasks.run_preview(ctx, reorg),
        reorg_tasks.APPLY: lambda ctx: reorg_tasks.run_apply(ctx, reorg),
        report_tasks.GENERATE: lambda ctx: report_tasks.run(ctx, definitions),
        MAIL_TASK: deliver,
        "staff.bulk": lambda ctx: bulk.run(
            ctx,
            secret_key=policy.secret_key,
            help_=sign_in_help or SignInHelp("", "", "", ""),
            today=dt.datetime.now(tz).date(),
        ),
    }
