"""Presence from what Jitsi reported, independent of the order it arrived in: one participant's intervals in
the room, as the union of

- each occupant stream's joins and leaves (event-sync; a stream is one occupant JID in the main room or in one
  breakout room, so a reconnect or a move to a breakout room is a second stream of the same participant);
- the runs of room polls (``mod_muc_size``) in which the participant was seen: they stand in for a "joined"
  event-sync lost, and an orphan "left" closes the run it ends;
- cut short where a poll no longer saw a participant whose main-room stream has no "left" (a lost leave),
  provided polls ever recognised this participant (else their absence proves nothing).

Pure functions on plain values; ``meetings.attendance`` stores the result.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Interval = tuple[dt.datetime, dt.datetime | None]  # end None: still in the room


@dataclass(frozen=True)
class Observation:
    kind: str  # joined | left | seen
    stream: str  # occupant JID (+ "#breakout-id"); "poll:<participant>" for what polls saw
    at: dt.datetime


def intervals(observations: Iterable[Observation], polls: Sequence[dt.datetime]) -> list[Interval]:
    """The participant's merged presence intervals. ``polls``: every time the room was polled (sorted)."""
    obs = list(observations)
    seen = sorted({o.at for o in obs if o.kind == "seen"})
    seen_set = set(seen)
    absent = [p for p in polls if p not in seen_set]
    streams: dict[str, list[Observation]] = {}
    for o in obs:
        if o.kind in ("joined", "left"):
            streams.setdefault(o.stream, []).append(o)
    found: list[Interval] = []
    orphan_leaves: list[dt.datetime] = []
    for stream, events in streams.items():
        open_at: dt.datetime | None = None
        for o in sorted(events, key=lambda o: (o.at, o.kind == "left")):
            if o.kind == "joined":
                open_at = o.at if open_at is None else open_at
            elif open_at is not None:
                found.append((open_at, o.at))
                open_at = None
            else:
                orphan_leaves.append(o.at)
        if open_at is not None:
            in_breakout = "#" in stream  # polls list the main room only
            found.append((open_at, None if in_breakout or not seen else _cut(open_at, seen, absent)))
    runs = _poll_runs(polls, seen_set)
    for leave in orphan_leaves:
        for run in runs:
            if run[0] <= leave and not any(run[1] < p <= leave for p in absent):
                run[1] = max(run[1], leave)
    found += [(start, end) for start, end in runs]
    return union(found)


def _cut(open_at: dt.datetime, seen: list[dt.datetime], absent: list[dt.datetime]) -> dt.datetime | None:
    """Where an open main-room presence ends: at the last sighting before the first poll that missed it."""
    i = bisect.bisect_right(absent, open_at)
    if i == len(absent):
        return None
    first_absent = absent[i]
    before = [s for s in seen if open_at <= s < first_absent]
    return before[-1] if before else open_at


def _poll_runs(polls: Sequence[dt.datetime], seen: set[dt.datetime]) -> list[list[dt.datetime]]:
    runs: list[list[dt.datetime]] = []
    current: list[dt.datetime] | None = None
    for p in sorted(polls):
        if p in seen:
            if current is None:
                current = [p, p]
                runs.append(current)
            current[1] = p
        else:
            current = None
    return runs


def union(spans: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals; an open end absorbs everything after its start."""
    out: list[Interval] = []
    for start, end in sorted(spans, key=lambda s: s[0]):
        if out:
            last_start, last_end = out[-1]
            if last_end is None:
                continue
            if start <= last_end:
                out[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        out.append((start, end))
    return out


def minutes(spans: Iterable[Interval], until: dt.datetime) -> float:
    """Total minutes of merged intervals, open ones counted up to ``until``."""
    total = 0.0
    for start, end in union(spans):
        stop = until if end is None else end
        total += max(0.0, (stop - start).total_seconds())
    return round(total / 60, 1)
