"""Directory jobs: recorded with the change, applied to slapd after the commit, retried with backoff.

A job names an object (a unit, a member of staff); applying it reads the object's current state from the
database and makes the directory match, so applying twice is harmless and the latest state always wins.
A password travels encrypted (key derived from the instance secret) and is wiped once slapd has it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

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
from provisioning.sync_outcomes import (
    Landed,
    MovesInFlight,
    SyncResult,
    apply_one,
    record_failure,
    record_success,
)

log = logging.getLogger(__name__)


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


CHUNK = 200  # jobs per database transaction


def _apply_chunk(
    session: Session,
    applier: Applier,
    chunk_ids: list[int],
    result: SyncResult,
    ensured: set[int],
    in_flight: MovesInFlight,
) -> bool:
    """Apply one chunk of jobs in order; runs of new mailboxes are added over parallel connections, runs of
    moved ones go to slapd while the next chunk is prepared (``in_flight``), and what the runs sent before this
    chunk achieved is recorded with it. Returns True if the directory went away (the rest stays pending)."""
    landed = Landed()
    settle = lambda: in_flight.record(session, applier, result, ensured, landed)  # noqa: E731
    is_down = _apply_jobs(session, applier, chunk_ids, result, ensured, landed, settle, in_flight)
    if not chunk_ids or is_down:  # the last round, or slapd went away: nothing is left unrecorded
        is_down = settle() or is_down
    landed.write(session)  # in the chunk's transaction, like the failures the ORM writes
    return is_down


def _apply_jobs(
    session: Session,
    applier: Applier,
    chunk_ids: list[int],
    result: SyncResult,
    ensured: set[int],
    landed: Landed,
    settle: Callable[[], bool],
    in_flight: MovesInFlight,
) -> bool:
    """The chunk's jobs in order. Before any other write to slapd, the runs of moves still in flight are
    settled (recorded, or a refused one taken the careful way): the directory sees the jobs in their order."""
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
        if settle():
            return True
        entries = [(dn, PERSON_CLASSES, attrs) for _, _, dn, attrs in adds]
        if len(entries) > 1 and applier.directory.add_in_transaction(entries):
            # One LDAP transaction for the run: slapd syncs the disk once, not once per mailbox.
            for job, staff, dn, _attrs in adds:
                landed.placed(staff, dn)
                record_success(job, result, landed)
            adds.clear()
            return False
        outcomes = applier.directory.add_many(entries)
        is_down = False
        for (job, staff, dn, _attrs), outcome in zip(adds, outcomes, strict=True):
            if is_down:
                break
            if outcome == "added":
                landed.placed(staff, dn)
                record_success(job, result, landed)
            elif isinstance(outcome, DirectoryUnavailable):
                is_down = record_failure(job, outcome, result, ensured)
            else:
                # Refused (the entry or its address exists, maybe stale at another place): take the careful
                # path, which compares, moves a stale entry holding the address, and modifies.
                is_down = apply_one(applier, job, result, ensured)
        adds.clear()
        return is_down

    moves: list[tuple[DirectoryJob, Staff, str, str, dict[str, list[str]]]] = []

    def flush_moves() -> bool:
        """A run of moved mailboxes sent to slapd in one LDAP transaction; recorded (or, if refused, each taken
        the careful way) with a later chunk."""
        if not moves:
            return False
        if settle():
            return True
        in_flight.send(applier, moves)
        moves.clear()
        return False

    for job in jobs:
        if job.status == DirectoryJobStatus.DONE:
            continue
        try:
            fresh = applier.new_mailbox(job)
            moved = None if fresh is not None else applier.moved_mailbox(job)
        except DirectoryError as exc:
            if record_failure(job, exc, result, ensured):
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
        if flush_adds() or flush_moves() or settle() or apply_one(applier, job, result, ensured):
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
    in_flight = MovesInFlight()
    for start in [*range(0, len(ids), CHUNK), len(ids)]:  # the last round only records the moves in flight
        chunk_ids = ids[start : start + CHUNK]
        if not chunk_ids and not in_flight:
            break
        with unit_of_work(factory) as session:
            applier = Applier(session, directory, base_dn, secret_key, ensured, default_domain)
            is_stopped = _apply_chunk(session, applier, chunk_ids, result, ensured, in_flight)
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
