"""Directory jobs: recorded with the change, applied to slapd after the commit, retried with backoff.

A job names an object (a unit, a member of staff); applying it reads the object's current state from the
database and makes the directory match, so applying twice is harmless and the latest state always wins.
A password travels encrypted (key derived from the instance secret) and is wiped once slapd has it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from core import boundary
from core.bulk import insert_rows
from core.db import unit_of_work, utcnow
from provisioning.directory import Directory, DirectoryError, DirectoryUnavailable
from provisioning.directory_jobs import Applier, password_cipher
from provisioning.entries import (
    PERSON_CLASSES,
)
from provisioning.models import DirectoryJob, DirectoryJobStatus, Staff

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 600


def enqueue(session: Session, action: str, object_id: int | None, **payload: str) -> DirectoryJob:
    """Record a directory intent in the caller's transaction."""
    job = DirectoryJob(action=action, object_id=object_id, payload=dict(payload))
    session.add(job)
    return job


def enqueue_many(session: Session, jobs: list[tuple[str, int | None]]) -> list[int]:
    """Record many directory intents (action, object id) in one insert, for bulk work; returns their ids.

    The same rows :func:`enqueue` writes, without building an ORM object each; the boundary is told of them."""
    if not jobs:
        return []
    origin = boundary.origin_of(session)
    rows = [{"action": action, "object_id": object_id, "origin": origin} for action, object_id in jobs]
    ids = insert_rows(session, DirectoryJob.__table__, rows, returning_ids=True)  # type: ignore[arg-type]
    boundary.note(session, DirectoryJob, ids)
    return ids


def enqueue_password_hashes(session: Session, hashes: list[tuple[int, str]]) -> list[int]:
    """Record ``set_password_hash`` intents (staff id, a hash slapd verifies) for people brought in from
    another directory. A hash, unlike a password, may wait in the job's payload; it is wiped once written."""
    if not hashes:
        return []
    jobs = [enqueue(session, "set_password_hash", staff_id, hash=value) for staff_id, value in hashes]
    session.flush()
    return [job.id for job in jobs]


def enqueue_password(
    session: Session, staff: Staff, password: str, secret_key: str, *, must_change: bool = False
) -> DirectoryJob:
    token = password_cipher(secret_key).encrypt(password.encode()).decode()
    return enqueue(session, "set_password", staff.id, password=token, must_change="1" if must_change else "0")


@dataclass
class SyncResult(boundary.ApplyResult):
    applied: int = 0


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


def _apply_one(applier: Applier, job: DirectoryJob, result: SyncResult, ensured: set[int]) -> bool:
    """The careful path for one job (read, compare, move, modify); True if the directory went away."""
    try:
        applier.apply(job)
    except DirectoryError as exc:
        return _record_failure(job, exc, result, ensured)
    _record_success(job, result)
    return False


def _apply_chunk(
    session: Session, applier: Applier, chunk_ids: list[int], result: SyncResult, ensured: set[int]
) -> bool:
    """Apply one chunk of jobs in order; runs of new mailboxes are added over parallel connections.

    Returns True if the directory went away (the rest stays pending)."""
    jobs = session.scalars(
        select(DirectoryJob).where(DirectoryJob.id.in_(chunk_ids)).order_by(DirectoryJob.id).with_for_update()
    ).all()
    # The chunk's people with their aliases and units in a few queries, not one load per mailbox; held here, or the
    # session's identity map (weak references) would forget them before their jobs come.
    people = [j.object_id for j in jobs if j.action == "sync_staff" and j.object_id is not None]
    _held = (
        session.scalars(
            select(Staff).options(selectinload(Staff.aliases), selectinload(Staff.unit)).where(Staff.id.in_(people))
        ).all()
        if people
        else []
    )
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
            elif isinstance(outcome, DirectoryUnavailable):
                is_down = _record_failure(job, outcome, result, ensured)
            else:
                # Refused (the entry or its address exists, maybe stale at another place): take the careful
                # path, which compares, moves a stale entry holding the address, and modifies.
                is_down = _apply_one(applier, job, result, ensured)
        adds.clear()
        return is_down

    moves: list[tuple[DirectoryJob, Staff, str, str, dict[str, list[str]]]] = []

    def flush_moves() -> bool:
        """A run of moved mailboxes in one LDAP transaction; if refused, each the careful way."""
        if not moves:
            return False
        done = applier.directory.move_in_transaction([(old, new, attrs) for _, _, old, new, attrs in moves])
        is_down = False
        for job, staff, _old, new, _attrs in moves:
            if done:
                staff.directory_dn = new
                _record_success(job, result)
                continue
            if is_down:
                break
            is_down = _apply_one(applier, job, result, ensured)
        moves.clear()
        return is_down

    for job in jobs:
        if job.status == DirectoryJobStatus.DONE:
            continue
        try:
            fresh = applier.new_mailbox(job)
            moved = None if fresh is not None else applier.moved_mailbox(job)
        except DirectoryError as exc:
            if _record_failure(job, exc, result, ensured):
                return True
            continue
        if fresh is not None:
            if flush_moves():
                return True
            adds.append((job, *fresh))
            continue
        if moved is not None:
            if flush_adds():
                return True
            moves.append((job, *moved))
            continue
        if flush_adds() or flush_moves() or _apply_one(applier, job, result, ensured):
            return True
    return flush_adds() or flush_moves()


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
