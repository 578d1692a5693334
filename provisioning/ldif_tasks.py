"""LDIF imports as background tasks: upload → preview task → apply task, like staff lists
(:mod:`provisioning.import_tasks`).

The upload is stored as an :class:`~provisioning.models.ImportBatch` without the passwords that will not be
kept: cleartext and weak hashes are replaced by a marker naming their scheme before the file reaches the
database (:func:`provisioning.ldif.redact_passwords`), and after applying the kept hashes go too (they wait
in their directory jobs). The one-time passwords of the others are kept encrypted with the instance key in
the batch until an admin takes them, once (:func:`take_passwords`).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from core import changelog
from core.actors import Actor
from core.db import utcnow
from core.tasks import Task, TaskContext, TaskFailed
from provisioning.directory_jobs import password_cipher
from provisioning.errors import ProvisioningError
from provisioning.file_tasks import (
    applying,
    batch_failures,
    batch_unit,
    begin_step,
    finish_batch,
    previewing,
    queue_batch,
    upload_name,
)
from provisioning.ldif import read_entries, redact_passwords
from provisioning.ldif_import import LdifRefused, apply, preview
from provisioning.ldif_plan import Addresses
from provisioning.models import ImportBatch, Role, Unit
from provisioning.operations import MailboxPolicy

PREVIEW, APPLY = "ldif.preview", "ldif.apply"


def upload(
    session: Session, actor: Actor, unit: Unit, filename: str, content: bytes, addresses: str = Addresses.PRIMARY
) -> ImportBatch:
    """Keep an uploaded LDIF export for ``unit`` (without the passwords that will not be kept), queue its preview."""
    actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
    name = upload_name(filename, content, (".ldif",), "use an .ldif file")
    if addresses not in set(Addresses):
        raise ProvisioningError(f"addresses {addresses[:20]!r}: use primary or alias")
    batch = ImportBatch(
        unit_id=unit.id,
        filename=name,
        content=redact_passwords(content),
        actor=actor.label,
        status="uploaded",
        summary={"addresses": addresses},
    )
    session.add(batch)
    session.flush()
    changelog.record_of(
        session, actor, "import.ldif_upload", batch, after={"bytes": len(content), "addresses": addresses}
    )
    queue(session, actor, batch, do_apply=False)
    return batch


def queue(session: Session, actor: Actor, batch: ImportBatch, *, do_apply: bool, alias_days: int = 365) -> Task:
    """Queue the preview, or (for a previewed file without unreadable lines) the application, of ``batch``.
    ``alias_days``: how long kept addresses stay aliases (``CONGVU_REORG_ALIAS_DAYS``)."""
    actor.require(Role.UNIT_ADMIN, batch.unit, f"unit {batch.unit.name}")
    if do_apply and (batch.status != "previewed" or batch.summary.get("unreadable") or "takes" not in batch.summary):
        raise ProvisioningError(f"{batch.filename}: only a previewed file without unreadable lines can be applied")
    params = {"batch_id": batch.id, "addresses": str(batch.summary.get("addresses", Addresses.PRIMARY))}
    if do_apply:
        params["alias_days"] = int(alias_days)
    return queue_batch(session, actor, batch, APPLY if do_apply else PREVIEW, params, do_apply=do_apply)


def run(ctx: TaskContext, policy: MailboxPolicy) -> dict[str, Any]:
    """The task handler for both steps."""
    step = begin_step(ctx, APPLY)
    if step.done_before:
        return _public(step.batch.summary)
    content, filename, unit_id = step.batch.content, step.batch.filename, step.batch.unit_id
    total = content.count(b"\ndn:") + content.startswith(b"dn:")
    ctx.progress(0, total, step.phase)
    options: dict[str, Any] = {
        "policy": policy,
        "addresses": ctx.params.get("addresses", Addresses.PRIMARY),
        "progress": lambda n: ctx.progress(n, max(n, total), step.phase),
    }
    with batch_failures(ctx, filename):
        try:
            if step.applying:
                return _apply(ctx, unit_id, content, filename, options)
            return _preview(ctx, unit_id, content, options)
        except LdifRefused as exc:
            _finish(ctx, "previewed", exc.preview.as_dict())
            raise TaskFailed(
                f"Tệp {filename} có {exc.preview.unreadable} dòng không đọc được; không người nào được nhập."
            ) from None


def _preview(ctx: TaskContext, unit_id: int, content: bytes, options: dict[str, Any]) -> dict[str, Any]:
    with previewing(ctx) as session:
        result = preview(session, ctx.actor, batch_unit(session, unit_id), read_entries(content), **options)
    _finish(ctx, "previewed", result.as_dict())
    return result.as_dict()


def _apply(ctx: TaskContext, unit_id: int, content: bytes, filename: str, options: dict[str, Any]) -> dict[str, Any]:
    with applying(ctx) as work:
        result = apply(
            work.session,
            ctx.actor,
            batch_unit(work.session, unit_id),
            read_entries(content),
            alias_days=int(ctx.params.get("alias_days", 365)),
            label=filename,
            **options,
        )
        batch = work.session.get(ImportBatch, ctx.params["batch_id"])
        assert batch is not None
        summary = result.as_dict()
        if result.passwords:
            secret = json.dumps(sorted(result.passwords.items())).encode()
            summary["handout"] = password_cipher(options["policy"].secret_key).encrypt(secret).decode()
        # In the same transaction as the people: a worker that stops after this commit never applies them again.
        # The kept hashes now wait in their directory jobs; the stored file keeps none.
        batch.status, batch.summary, batch.content = "applied", summary, redact_passwords(content, lambda _v: False)
        batch.total_rows = batch.done_rows = result.total
        batch.finished_at = utcnow()
    return _public(summary)


def take_passwords(session: Session, actor: Actor, batch: ImportBatch, secret_key: str) -> list[tuple[str, str]]:
    """The one-time passwords of an applied import, (address, password), handed out once: they are wiped
    from the batch in the caller's transaction, and the change trail notes who took them."""
    actor.require(Role.UNIT_ADMIN, batch.unit, f"unit {batch.unit.name}")
    token = batch.summary.get("handout")
    if not token:
        return []
    pairs = [(str(a), str(p)) for a, p in json.loads(password_cipher(secret_key).decrypt(str(token).encode()))]
    batch.summary = _public(batch.summary) | {"handed_out": len(pairs)}
    changelog.record_of(session, actor, "import.ldif_passwords", batch, after={"one_time_passwords": len(pairs)})
    return pairs


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary as a task result or a page may show it: without the encrypted passwords."""
    return {k: v for k, v in summary.items() if k != "handout"}


def _finish(ctx: TaskContext, status: str, summary: dict[str, Any]) -> None:
    finish_batch(ctx, status, summary, int(summary.get("total", 0)))
