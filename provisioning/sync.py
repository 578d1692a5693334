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
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from ldap3.utils.conv import escape_filter_chars
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db import unit_of_work, utcnow
from provisioning.directory import Directory, DirectoryError, DirectoryUnavailable
from provisioning.entries import (
    LIST_CLASSES,
    PERSON_CLASSES,
    UNIT_CLASSES,
    list_attributes,
    list_dn,
    mailbox_dn,
    staff_attributes,
    staff_dn,
    unit_attributes,
    unit_dn,
)
from provisioning.models import AccountKind, AccountStatus, DirectoryJob, DirectoryJobStatus, Staff, Unit

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 600


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"congvu-directory-jobs:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def enqueue(session: Session, action: str, object_id: int | None, **payload: str) -> DirectoryJob:
    """Record a directory intent in the caller's transaction."""
    job = DirectoryJob(action=action, object_id=object_id, payload=dict(payload))
    session.add(job)
    return job


def enqueue_password(
    session: Session, staff: Staff, password: str, secret_key: str, *, must_change: bool = False
) -> DirectoryJob:
    token = _fernet(secret_key).encrypt(password.encode()).decode()
    return enqueue(session, "set_password", staff.id, password=token, must_change="1" if must_change else "0")


@dataclass
class SyncResult:
    applied: int = 0
    failed: int = 0
    pending: int = 0
    unavailable: bool = False


class Applier:
    def __init__(
        self,
        session: Session,
        directory: Directory,
        base_dn: str,
        secret_key: str,
        ensured: set[int],
        default_domain: str = "",
    ) -> None:
        self.default_domain = default_domain
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
        dn = unit_dn(unit, self.base_dn)
        old = unit.directory_dn
        if old and old.lower() != dn.lower() and self.directory.read(old, ["ou"]) is not None:
            # A move (or a merge of its parent): the subtree goes along in one modify_dn.
            self.directory.move(old, dn)
            self._rebase_descendants(old, dn)
        self.directory.upsert(dn, UNIT_CLASSES, unit_attributes(unit))
        unit.directory_dn = dn
        self.ensured.add(unit.id)

    def _rebase_descendants(self, old: str, new: str) -> None:
        """After a subtree move, remember the new place of everything that was under ``old``."""
        suffix = "," + old.lower()
        for model in (Unit, Staff):
            rows = self.session.scalars(select(model).where(model.directory_dn.isnot(None)))
            for row in rows:
                if row.directory_dn and row.directory_dn.lower().endswith(suffix):
                    row.directory_dn = row.directory_dn[: -len(suffix)] + "," + new

    def new_mailbox(self, job: DirectoryJob) -> tuple[Staff, str, dict[str, list[str]]] | None:
        """(staff, dn, attributes) if the job adds a mailbox never written before, else None.

        Such entries need no compare; they can go to slapd in parallel (bulk imports)."""
        if job.action != "sync_staff":
            return None
        staff = self.session.get(Staff, job.object_id)
        if staff is None or staff.directory_dn is not None or staff.removed_from_directory_at is not None:
            return None
        for ancestor in [*staff.unit.ancestors(), staff.unit]:
            self._ensure_unit(ancestor)
        attrs = staff_attributes(staff, [a.address for a in staff.aliases])
        return staff, staff_dn(staff, self.base_dn), attrs

    def _apply_sync_staff(self, job: DirectoryJob) -> None:
        staff = self.session.get(Staff, job.object_id)
        if staff is None:
            return
        dn = staff_dn(staff, self.base_dn)
        if staff.removed_from_directory_at is not None:
            # Archived past the retention: the entry goes, the record and the address stay.
            for candidate in {staff.directory_dn, dn} - {None}:
                self.directory.delete(candidate)  # type: ignore[arg-type]
            staff.directory_dn = None
            return
        for ancestor in [*staff.unit.ancestors(), staff.unit]:
            self._ensure_unit(ancestor)
        if self.directory.read(dn, ["mail"]) is None:
            old_dn = staff.directory_dn if staff.directory_dn and staff.directory_dn.lower() != dn.lower() else None
            if old_dn is not None and self.directory.read(old_dn, ["mail"]) is None:
                old_dn = None
            if old_dn is None:
                old_dn = self.directory.find_by_mail(staff.email)
            if old_dn is not None and old_dn.lower() != dn.lower():
                self.directory.move(old_dn, dn)
        self.directory.upsert(dn, PERSON_CLASSES, staff_attributes(staff, [a.address for a in staff.aliases]))
        staff.directory_dn = dn

    def _apply_sync_list(self, job: DirectoryJob) -> None:
        """The unit's distribution list: a group of its active personal and functional mailboxes."""
        unit = self.session.get(Unit, job.object_id)
        if unit is None:
            return
        for ancestor in [*unit.ancestors(), unit]:
            self._ensure_unit(ancestor)
        # Addresses only, not Staff objects: a unit of 50,000 would otherwise load 50,000 ORM objects.
        emails = self.session.scalars(
            select(Staff.email).where(
                Staff.unit_id == unit.id,
                Staff.status == AccountStatus.ACTIVE,
                Staff.kind.in_([AccountKind.PERSONAL, AccountKind.FUNCTIONAL]),
            )
        ).all()
        dn = list_dn(unit, self.base_dn)
        if not emails:
            self.directory.delete(dn)  # groupOfNames needs a member; an empty list is no list
            return
        parent = unit_dn(unit, self.base_dn)  # every member is in this unit: staff_dn without the objects
        attributes = list_attributes(unit, self.default_domain, [mailbox_dn(e, parent) for e in emails])
        self.directory.upsert(dn, LIST_CLASSES, attributes)

    def _apply_delete_unit(self, job: DirectoryJob) -> None:
        dn = job.payload.get("dn") or ""
        if not dn:
            found = self.directory.search(
                self.base_dn, f"(congvuUnitCode={escape_filter_chars(job.payload.get('code', ''))})", ["ou"]
            )
            dn = found[0][0] if found else ""
        if not dn:
            return
        # By now its mailboxes and subunits have moved away; what is left is its own distribution list.
        self.directory.delete_tree(dn)

    def _apply_set_password(self, job: DirectoryJob) -> None:
        staff = self.session.get(Staff, job.object_id)
        token = job.payload.get("password", "")
        if staff is None or not token:
            return
        try:
            password = _fernet(self.secret_key).decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DirectoryError(f"job {job.id}: the password cannot be decrypted; set it again") from exc
        dn = staff_dn(staff, self.base_dn)
        self.directory.set_password(dn, password)
        # ppolicy marks a password set by an administrator as reset (must change at first use);
        # an admin-chosen password without that flag clears the mark.
        self.directory.set_must_change(dn, job.payload.get("must_change") == "1")
        job.payload = {}  # the secret is not kept once slapd has it

    def _apply_delete_dn(self, job: DirectoryJob) -> None:
        if job.payload.get("subtree") == "1":
            self.directory.delete_tree(job.payload["dn"])
        else:
            self.directory.delete(job.payload["dn"])


CHUNK = 200  # jobs per database transaction


def _record_failure(job: DirectoryJob, exc: DirectoryError, result: SyncResult, ensured: set[int]) -> bool:
    """Note a failed attempt with backoff; True if the directory is down (stop for now)."""
    ensured.clear()
    job.attempts += 1
    job.last_error = str(exc)[:1000]
    delay = min(MAX_BACKOFF_SECONDS, 2 ** min(job.attempts, 10))
    job.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
    if isinstance(exc, DirectoryUnavailable):
        result.unavailable = True
        return True
    job.status = DirectoryJobStatus.FAILED
    result.failed += 1
    return False


def _record_success(job: DirectoryJob, result: SyncResult) -> None:
    job.status = DirectoryJobStatus.DONE
    job.done_at = utcnow()
    job.last_error = ""
    result.applied += 1


def _apply_chunk(
    session: Session, applier: Applier, chunk_ids: list[int], result: SyncResult, ensured: set[int]
) -> bool:
    """Apply one chunk of jobs in order; runs of new mailboxes are added over parallel connections.

    Returns True if the directory went away (the rest stays pending)."""
    jobs = session.scalars(
        select(DirectoryJob).where(DirectoryJob.id.in_(chunk_ids)).order_by(DirectoryJob.id).with_for_update()
    ).all()
    adds: list[tuple[DirectoryJob, Staff, str, dict[str, list[str]]]] = []

    def flush_adds() -> bool:
        if not adds:
            return False
        entries = [(dn, PERSON_CLASSES, attrs) for _, _, dn, attrs in adds]
        if len(entries) > 1 and applier.directory.add_in_transaction(entries):
            # One LDAP transaction for the run: slapd syncs the disk once, not once per mailbox.
            for job, staff, dn, _attrs in adds:
                staff.directory_dn = dn
                _record_success(job, result)
            adds.clear()
            return False
        outcomes = applier.directory.add_many(entries)
        is_down = False
        for (job, staff, dn, _attrs), outcome in zip(adds, outcomes, strict=True):
            if is_down:
                break
            if outcome == "added":
                staff.directory_dn = dn
                _record_success(job, result)
                continue
            try:
                if isinstance(outcome, DirectoryUnavailable):
                    raise outcome
                # Refused (the entry or its address exists, maybe stale at another place): take the careful
                # path, which compares, moves a stale entry holding the address, and modifies.
                applier.apply(job)
            except DirectoryError as exc:
                is_down = _record_failure(job, exc, result, ensured)
                continue
            _record_success(job, result)
        adds.clear()
        return is_down

    for job in jobs:
        if job.status == DirectoryJobStatus.DONE:
            continue
        try:
            fresh = applier.new_mailbox(job)
        except DirectoryError as exc:
            if _record_failure(job, exc, result, ensured):
                return True
            continue
        if fresh is not None:
            adds.append((job, *fresh))
            continue
        if flush_adds():
            return True
        try:
            applier.apply(job)
        except DirectoryError as exc:
            if _record_failure(job, exc, result, ensured):
                return True
            continue
        _record_success(job, result)
    return flush_adds()


def apply_pending(
    factory: sessionmaker[Session],
    directory: Directory,
    base_dn: str,
    secret_key: str,
    *,
    limit: int = 10_000,
    now: dt.datetime | None = None,
    default_domain: str = "",
    progress: Callable[[int, int], None] | None = None,
    ids: list[int] | None = None,
    origin: str | None = None,
) -> SyncResult:
    """Apply jobs in order, in chunks of their own transactions. Stops at the first sign that slapd is down.

    With ``ids`` (what one unit of work just recorded) or ``origin`` (what one task recorded), only those
    jobs that are still pending, due or not; otherwise the due backlog (the scheduler's retry)."""
    result = SyncResult()
    ensured: set[int] = set()
    now = now or utcnow()
    with unit_of_work(factory) as session:
        query = (
            select(DirectoryJob.id, DirectoryJob.action, DirectoryJob.object_id)
            .where(DirectoryJob.status != DirectoryJobStatus.DONE)
            .order_by(DirectoryJob.id)
        )
        if origin is not None:
            query = query.where(DirectoryJob.origin == origin)
        if ids is None and origin is None:
            query = query.where(DirectoryJob.next_attempt_at <= now).limit(limit)
            rows = session.execute(query).all()
        elif ids is None:
            rows = session.execute(query).all()
        else:
            rows = []
            for start in range(0, len(ids), 500):
                rows.extend(session.execute(query.where(DirectoryJob.id.in_(ids[start : start + 500]))).all())
            rows.sort()
        # A list job rebuilds the whole list from the database: only the last one per unit matters
        # (a 2,000-row import queues 2,000 of them).
        last_list_job = {obj: job_id for job_id, action, obj in rows if action == "sync_list"}
        superseded = [job_id for job_id, action, obj in rows if action == "sync_list" and last_list_job[obj] != job_id]
        for chunk in range(0, len(superseded), 500):
            session.execute(
                update(DirectoryJob)
                .where(DirectoryJob.id.in_(superseded[chunk : chunk + 500]))
                .values(status=DirectoryJobStatus.DONE, done_at=utcnow(), last_error="superseded")
            )
        skip = set(superseded)
        ids = [job_id for job_id, _action, _obj in rows if job_id not in skip]
    for start in range(0, len(ids), CHUNK):
        chunk_ids = ids[start : start + CHUNK]
        with unit_of_work(factory) as session:
            applier = Applier(session, directory, base_dn, secret_key, ensured, default_domain)
            is_stopped = _apply_chunk(session, applier, chunk_ids, result, ensured)
        if progress is not None:
            progress(result.applied + result.failed, len(ids))
        if is_stopped:
            log.warning("directory unavailable; %s jobs stay pending", len(ids) - result.applied - result.failed)
            break
    with unit_of_work(factory) as session:
        result.pending = (
            session.scalar(select(func.count(DirectoryJob.id)).where(DirectoryJob.status != DirectoryJobStatus.DONE))
            or 0
        )
    return result
