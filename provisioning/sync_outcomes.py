"""What applying directory jobs achieved, written back to their rows: successes in bulk at a chunk's end,
failures with their backoff, and the moves still on their way to slapd (:class:`MovesInFlight`), recorded by a
later chunk once slapd has answered."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import boundary, bulk
from core.db import utcnow
from provisioning.directory import DirectoryError, DirectoryUnavailable
from provisioning.directory_jobs import Applier
from provisioning.models import DirectoryJob, DirectoryJobStatus, Staff

MAX_BACKOFF_SECONDS = 600


@dataclass
class SyncResult(boundary.ApplyResult):
    applied: int = 0


def record_failure(job: DirectoryJob, exc: DirectoryError, result: SyncResult, ensured: set[int]) -> bool:
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


class Landed:
    """What a chunk's jobs achieved, written in two statements at the chunk's end rather than as an ORM update
    per job and per mailbox (the objects are given the values as committed, so the chunk reads them right)."""

    def __init__(self) -> None:
        self.jobs: list[int] = []
        self.dns: list[dict[str, object]] = []

    def placed(self, staff: Staff, dn: str) -> None:
        if staff.directory_dn != dn:
            set_committed_value(staff, "directory_dn", dn)
            self.dns.append({"id": staff.id, "directory_dn": dn})

    def write(self, session: Session) -> None:
        now = utcnow()
        for start in range(0, len(self.jobs), 500):
            session.execute(
                update(DirectoryJob)
                .where(DirectoryJob.id.in_(self.jobs[start : start + 500]))
                .values(status=DirectoryJobStatus.DONE, done_at=now, last_error="")
                .execution_options(synchronize_session=False)
            )
        last = {row["id"]: row for row in self.dns}  # a person placed twice in the chunk: where they were put last
        bulk.update_rows(session, Staff.__table__, list(last.values()))  # type: ignore[arg-type]


def record_success(job: DirectoryJob, result: SyncResult, landed: Landed | None = None) -> None:
    if landed is None:
        job.status = DirectoryJobStatus.DONE
        job.done_at = utcnow()
        job.last_error = ""
    else:
        for name, value in (("status", DirectoryJobStatus.DONE), ("last_error", "")):
            set_committed_value(job, name, value)
        landed.jobs.append(job.id)
    result.applied += 1


def apply_one(applier: Applier, job: DirectoryJob, result: SyncResult, ensured: set[int]) -> bool:
    """The careful path for one job (read, compare, move, modify); True if the directory went away."""
    try:
        applier.apply(job)
    except DirectoryError as exc:
        return record_failure(job, exc, result, ensured)
    record_success(job, result)
    return False


@dataclass
class _Sent:
    future: Future[bool]
    placed: list[tuple[int, int, str]]  # (job id, staff id, new dn), in the jobs' order


class MovesInFlight:
    """Runs of moves handed to slapd on the mover thread (``Directory.move_in_background``) while the next
    chunk is read and prepared. Their jobs stay pending until a later chunk's transaction records what slapd
    said (a worker that stops before then leaves them pending: applied again, they converge)."""

    def __init__(self) -> None:
        self._sent: list[_Sent] = []

    def __bool__(self) -> bool:
        return bool(self._sent)

    def send(self, applier: Applier, moves: list[tuple[DirectoryJob, Staff, str, str, dict[str, list[str]]]]) -> None:
        future = applier.directory.move_in_background([(old, new, attrs) for _, _, old, new, attrs in moves])
        self._sent.append(_Sent(future, [(job.id, staff.id, new) for job, staff, _old, new, _attrs in moves]))

    def record(self, session: Session, applier: Applier, result: SyncResult, ensured: set[int], landed: Landed) -> bool:
        """Record every run sent so far (waiting for slapd's answer) in ``session``'s transaction; a refused run
        takes the careful path job by job. True if the directory went away (the rest stays pending)."""
        sent, self._sent = self._sent, []
        for i, run in enumerate(sent):
            if run.future.result():
                for job_id, staff_id, dn in run.placed:
                    landed.jobs.append(job_id)
                    landed.dns.append({"id": staff_id, "directory_dn": dn})
                    result.applied += 1
                continue
            for job_id, _staff_id, _dn in run.placed:
                job = session.get(DirectoryJob, job_id)
                if job is None or job.status == DirectoryJobStatus.DONE:
                    continue
                if apply_one(applier, job, result, ensured):
                    for later in sent[i + 1 :]:
                        later.future.result()  # they hold the connection in turn: let them end, unrecorded
                    return True
        return False
