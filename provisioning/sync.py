"""Directory jobs: recorded with the change, applied to slapd after the commit, retried with backoff.

A job names an object (a unit, a member of staff); applying it reads the object's current state from the
database and makes the directory match, so applying twice is harmless and the latest state always wins.
A password travels encrypted (key derived from the instance secret) and is wiped once slapd has it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from provisioning.db import unit_of_work, utcnow
from provisioning.directory import (
    PERSON_CLASSES,
    UNIT_CLASSES,
    Directory,
    DirectoryError,
    DirectoryUnavailable,
    staff_attributes,
    staff_dn,
    unit_attributes,
    unit_dn,
)
from provisioning.models import DirectoryJob, DirectoryJobStatus, Staff, Unit

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 600


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"congvu-directory-jobs:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def enqueue(session: Session, action: str, object_id: int | None, **payload: str) -> DirectoryJob:
    """Record a directory intent in the caller's transaction."""
    job = DirectoryJob(action=action, object_id=object_id, payload=dict(payload))
    session.add(job)
    session.info["directory_changed"] = True  # the boundary applies jobs right after its commit
    return job


def enqueue_password(session: Session, staff: Staff, password: str, secret_key: str) -> DirectoryJob:
    token = _fernet(secret_key).encrypt(password.encode()).decode()
    return enqueue(session, "set_password", staff.id, password=token)


@dataclass
class SyncResult:
    applied: int = 0
    failed: int = 0
    pending: int = 0
    unavailable: bool = False


class Applier:
    def __init__(
        self, session: Session, directory: Directory, base_dn: str, secret_key: str, ensured: set[int]
    ) -> None:
        self.ensured = ensured  # units already brought in line during this run
        self.session = session
        self.directory = directory
        self.base_dn = base_dn
        self.secret_key = secret_key

    def apply(self, job: DirectoryJob) -> None:
        handler = getattr(self, f"_apply_{job.action}", None)
        if handler is None:
            raise DirectoryError(f"job {job.id}: unknown action {job.action!r}")
        handler(job)

    def _apply_sync_unit(self, job: DirectoryJob) -> None:
        unit = self.session.get(Unit, job.object_id)
        if unit is None:
            return
        for ancestor in unit.ancestors():  # a parent must exist before its child (idempotent)
            self._ensure_unit(ancestor)
        self.ensured.discard(unit.id)  # the job is about this unit: always compare it
        self._ensure_unit(unit)

    def _ensure_unit(self, unit: Unit) -> None:
        if unit.parent is None or unit.id in self.ensured:
            return  # the province root is the base entry, created with the directory itself
        self.ensured.add(unit.id)
        self.directory.upsert(unit_dn(unit, self.base_dn), UNIT_CLASSES, unit_attributes(unit))

    def _apply_sync_staff(self, job: DirectoryJob) -> None:
        staff = self.session.get(Staff, job.object_id)
        if staff is None:
            return
        dn = staff_dn(staff, self.base_dn)
        for ancestor in [*staff.unit.ancestors(), staff.unit]:
            self._ensure_unit(ancestor)
        if self.directory.read(dn, ["mail"]) is None:
            old_dn = self.directory.find_by_mail(staff.email)
            if old_dn is not None and old_dn.lower() != dn.lower():
                self.directory.move(old_dn, dn)
        self.directory.upsert(dn, PERSON_CLASSES, staff_attributes(staff))

    def _apply_set_password(self, job: DirectoryJob) -> None:
        staff = self.session.get(Staff, job.object_id)
        token = job.payload.get("password", "")
        if staff is None or not token:
            return
        try:
            password = _fernet(self.secret_key).decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DirectoryError(f"job {job.id}: the password cannot be decrypted; set it again") from exc
        self.directory.set_password(staff_dn(staff, self.base_dn), password)
        job.payload = {}  # the secret is not kept once slapd has it

    def _apply_delete_dn(self, job: DirectoryJob) -> None:
        self.directory.delete(job.payload["dn"])


def apply_pending(
    factory: sessionmaker[Session],
    directory: Directory,
    base_dn: str,
    secret_key: str,
    *,
    limit: int = 10_000,
    now: dt.datetime | None = None,
) -> SyncResult:
    """Apply due jobs in order, each in its own transaction. Stops at the first sign that slapd is down."""
    result = SyncResult()
    ensured: set[int] = set()
    now = now or utcnow()
    with unit_of_work(factory) as session:
        ids = list(
            session.scalars(
                select(DirectoryJob.id)
                .where(DirectoryJob.status != DirectoryJobStatus.DONE, DirectoryJob.next_attempt_at <= now)
                .order_by(DirectoryJob.id)
                .limit(limit)
            )
        )
    for job_id in ids:
        with unit_of_work(factory) as session:
            job = session.get(DirectoryJob, job_id, with_for_update=True)
            if job is None or job.status == DirectoryJobStatus.DONE:
                continue
            try:
                Applier(session, directory, base_dn, secret_key, ensured).apply(job)
            except DirectoryError as exc:
                ensured.clear()
                job.attempts += 1
                job.last_error = str(exc)[:1000]
                delay = min(MAX_BACKOFF_SECONDS, 2 ** min(job.attempts, 10))
                job.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
                if isinstance(exc, DirectoryUnavailable):
                    result.unavailable = True
                    log.warning("directory unavailable; %s jobs stay pending", len(ids) - result.applied)
                    break
                job.status = DirectoryJobStatus.FAILED
                result.failed += 1
                continue
            job.status = DirectoryJobStatus.DONE
            job.done_at = utcnow()
            job.last_error = ""
            result.applied += 1
    with unit_of_work(factory) as session:
        result.pending = len(
            session.scalars(select(DirectoryJob.id).where(DirectoryJob.status != DirectoryJobStatus.DONE)).all()
        )
    return result
