"""Reading one log file on several cores: blocks of whole lines go to worker processes, in order back.

The main process reads the file (plain or gzip) from its offset in the blocks of
:func:`audit.logfiles.read_raw_blocks`, groups ``TASK_BLOCKS`` of them into a task and hands tasks to a
process pool; each worker decodes and parses its blocks with a :class:`~audit.parsing.LogParser` of its own
and returns their tally as rows (:class:`~audit.tally.TallyRows`). The main process takes the results back
in file order and adds them up, so what it stores at each commit, and the offset it stores with it, are
exactly those of the sequential path: the blocks (and the lines in them) are the same, and sums do not
depend on who added them.

One thing crosses blocks: a Postfix submission whose qmgr ``from=`` line lies in a later task. A worker
returns the submissions still waiting at the end of its task; the main process looks for their qmgr line in
the next task's text (which it still holds) and counts the message as the sequential parser would, giving
up on one once it waited ``queue_max_age`` (see :class:`audit.programs.PostfixLines`). Two corner cases
are the sequential parser's own and left as they are: more than ``queue_cap`` submissions waiting at once,
and a qmgr line that comes within seconds of ``queue_max_age`` (the "latest event" it is measured from may
then differ by that carried message).

Memory stays flat: at most ``2 × workers`` tasks are out at a time, and a tally holds mailboxes × days.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from audit.logfiles import decode_block
from audit.markers import follows_qmgr, is_dovecot_file
from audit.parsing import MAX_EXAMPLES, QUEUE_MAX_AGE, LogParser
from audit.tally import DailyTally, RowTally, TallyRows

TASK_BLOCKS = 8  # 1 MiB blocks per task: big enough that handing a task over costs little next to reading it
MAX_WORKERS = 4


def default_workers() -> int:
    """Worker processes worth starting here: the cores this process may run on, at most ``MAX_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def make_pool(workers: int, initializer: Callable[[], object] | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes for :class:`ParallelReader`.

    From a process with one thread (the CLI, a benchmark) the workers are forks of it: they start at once
    and share its imported code. A process with threads (the scheduler's, a web worker) must not fork
    (a lock another thread holds stays held in the child), so its workers start from a clean server
    process (``forkserver``) that has this module imported; each then imports the main script once.
    ``initializer`` runs in each worker as it starts.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=initializer)


@dataclass(slots=True)
class Task:
    blocks: list[bytes]
    reference: datetime
    tz: tzinfo


@dataclass(slots=True)
class TaskResult:
    rows: TallyRows
    lines: int
    events: int
    malformed: int
    examples: list[tuple[int, str]]  # line numbers counted from the task's first line
    waiting: dict[str, tuple[str, datetime]]  # Postfix submissions still waiting for their qmgr line
    latest: list[datetime | None]  # the parser's latest event after each block
    block_lines: list[int] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the worker's own time on the task
    peak_rss_kib: int = 0  # the worker's peak memory so far


def count_task(task: Task) -> TaskResult:
    """In a worker: parse and tally a task's blocks, as the sequential path would from an empty queue."""
    started = time.process_time()
    parser = LogParser(reference=task.reference, tz=task.tz)
    tally = RowTally(task.tz)
    texts = [decode_block(data) for data in task.blocks]
    block_lines = [text.count("\n") for text in texts]
    if all(is_dovecot_file(text) for text in texts):
        # Counted together (see LogParser.count_blocks); no Postfix submission can wait in such blocks.
        parser.count_blocks(texts, tally, line_counts=block_lines)
        latest: list[datetime | None] = [None] * (len(texts) - 1) + [parser.latest]
    else:
        latest = []
        for text, count in zip(texts, block_lines, strict=True):
            parser.count_blocks([text], tally, first_line=parser.lines + 1, line_counts=[count])
            latest.append(parser.latest)
    return TaskResult(
        rows=TallyRows.of(tally),
        lines=parser.lines,
        events=parser.events,
        malformed=parser.malformed,
        examples=list(parser.examples),
        waiting=dict(parser.waiting_submissions),
        latest=latest,
        block_lines=block_lines,
        cpu_seconds=time.process_time() - started,
        peak_rss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )


@dataclass
class Merged:
    """What the main process has added up since its last commit, and in all."""

    rows: TallyRows = field(default_factory=TallyRows)
    lines: int = 0
    events: int = 0
    malformed: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)
    worker_seconds: float = 0.0  # what the workers spent (for the benchmark)
    worker_peak_kib: int = 0


class ParallelReader:
    """Hands a file's blocks to ``executor`` and merges the results in order (see the module's docstring).

    ``blocks`` are :func:`~audit.logfiles.read_raw_blocks`'s, ``where`` its offset after the last block
    read. :meth:`results` yields ``(offset, merged)`` after each task: the offset after its last line and
    the running totals, whose ``rows`` the caller stores and replaces when it commits.
    """

    def __init__(
        self,
        executor: Executor,
        workers: int,
        blocks: Iterator[bytes],
        where: Callable[[], int],
        *,
        reference: datetime,
        tz: tzinfo,
        queue_max_age: timedelta = QUEUE_MAX_AGE,
    ) -> None:
        self.executor = executor
        self.window = 2 * workers
        self.blocks = blocks
        self.where = where
        self.reference = reference
        self.tz = tz
        self.queue_max_age = queue_max_age
        self.merged = Merged()
        self._waiting: dict[str, tuple[str, datetime]] = {}  # carried from the task before
        self._latest: datetime | None = None

    def _tasks(self) -> Iterator[tuple[Task, int]]:
        batch: list[bytes] = []
        for data in self.blocks:
            batch.append(data)
            if len(batch) == TASK_BLOCKS:
                yield Task(batch, self.reference, self.tz), self.where()
                batch = []
        if batch:
            yield Task(batch, self.reference, self.tz), self.where()

    def results(self) -> Iterator[tuple[int, Merged]]:
        out: deque[tuple[Future[TaskResult], Task, int]] = deque()
        tasks = self._tasks()
        try:
            for task, end in tasks:
                out.append((self.executor.submit(count_task, task), task, end))
                if len(out) >= self.window:
                    future, done, offset = out.popleft()
                    self._merge(done, future.result())
                    yield offset, self.merged
            while out:
                future, done, offset = out.popleft()
                self._merge(done, future.result())
                yield offset, self.merged
        finally:
            for future, _, _ in out:
                future.cancel()

    def _merge(self, task: Task, result: TaskResult) -> None:
        merged = self.merged
        before = merged.lines
        if self._waiting:
            self._follow_waiting(task, result)  # before the task's own figures: it comes first in the file
        merged.rows.add(result.rows)
        merged.lines += result.lines
        merged.events += result.events
        merged.malformed += result.malformed
        if result.examples or len(merged.examples) > MAX_EXAMPLES:
            found = merged.examples + [(before + number, text) for number, text in result.examples]
            merged.examples = sorted(found)[:MAX_EXAMPLES]  # the first ones in the file, as read in order
        merged.worker_seconds += result.cpu_seconds
        merged.worker_peak_kib = max(merged.worker_peak_kib, result.peak_rss_kib)
        self._waiting.update(result.waiting)
        if result.latest and result.latest[-1] is not None:
            self._latest = result.latest[-1]

    def _follow_waiting(self, task: Task, result: TaskResult) -> None:
        """Count the carried submissions whose qmgr line is in this task, as the sequential parser would."""
        parser = LogParser(reference=self.reference, tz=self.tz, queue_max_age=self.queue_max_age)
        lines_before = 0
        latest = self._latest
        for index, data in enumerate(task.blocks):
            if not self._waiting:
                break
            if latest is not None:  # the sequential parser gives up on old submissions at each block
                cutoff = latest - self.queue_max_age
                self._waiting = {q: w for q, w in self._waiting.items() if w[1] >= cutoff}
            text = decode_block(data)
            for qid in list(self._waiting) if follows_qmgr(text) else ():
                found = _qmgr_line(text, qid)
                if found is None:
                    continue
                start, end = found
                parser.take_waiting(qid, self._waiting.pop(qid))
                event = parser.read_line(text, start, end, self.merged.lines + lines_before)
                if event is not None:
                    tally = DailyTally(self.tz)
                    tally.add(event)
                    self.merged.rows.add(TallyRows.of(tally))
            lines_before += result.block_lines[index]
            latest = result.latest[index] or latest
        self.merged.events += parser.events
        self.merged.malformed += parser.malformed
        self.merged.examples.extend(parser.examples)  # put in order (and cut) by _merge


def _qmgr_line(text: str, qid: str) -> tuple[int, int] | None:
    """Where the first qmgr line about ``qid`` in ``text`` (its ``from=`` or its ``removed``) starts and ends."""
    needle = f": {qid}: "
    pos = text.find(needle)
    while pos >= 0:
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        if "/qmgr[" in text[start:pos] and text.startswith(("from=<", "removed"), pos + len(needle)):
            return start, end
        pos = text.find(needle, pos + 1)
    return None
