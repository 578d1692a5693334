"""The reorganisation plan as read from its file and as resolved against today's tree.

A :class:`PlanFile` holds the rows as written (and the problems found reading them); :func:`resolve` in
:mod:`provisioning.reorg.resolve` turns it into a :class:`Resolved` plan: every unit as it will be, every
person who moves, every address that changes, or the list of every problem, each naming sheet, row and
column. The preview shows a resolved plan; applying carries it out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

UNITS_SHEET = "Đơn vị"
STAFF_SHEET = "Nhân sự"

# The columns as the format documents them (errors name them this way).
ACTION, OLD_CODE, NEW_CODE, NEW_NAME, KIND, NEW_PARENT, NEW_DOMAIN, EFFECTIVE_ON = (
    "Thao tác",
    "Mã cũ",
    "Mã mới",
    "Tên mới",
    "Loại",
    "Đơn vị cha mới",
    "Tên miền mới",
    "Ngày hiệu lực",
)
STAFF_NUMBER, NEW_UNIT = "Mã nhân sự", "Đơn vị mới"

CREATE, RENAME, MOVE, MERGE, DISSOLVE, DOMAIN = "create", "rename", "move", "merge", "dissolve", "domain"
ACTIONS = (CREATE, RENAME, MOVE, MERGE, DISSOLVE, DOMAIN)


@dataclass(frozen=True)
class PlanIssue:
    """One problem of the plan, where it is in the file (row 1 is the header)."""

    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"sheet {self.sheet}, row {self.row}, column {self.column}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UnitRow:
    row: int
    action: str
    old_code: str
    new_code: str
    name: str
    kind: str
    parent: str
    domain: str
    effective_on: dt.date | None


@dataclass(frozen=True)
class StaffRow:
    row: int
    staff_number: str
    unit_code: str


@dataclass
class PlanFile:
    units: list[UnitRow] = field(default_factory=list)
    staff: list[StaffRow] = field(default_factory=list)
    issues: list[PlanIssue] = field(default_factory=list)
    units_sheet: str = UNITS_SHEET
    staff_sheet: str = STAFF_SHEET


@dataclass
class Node:
    """A unit as the plan leaves it. ``key`` is its code today (or, for a unit the plan creates, its code)."""

    key: str
    unit_id: int | None
    code: str
    name: str
    kind: str
    parent: str | None  # key of the parent once the plan is applied (of an ended unit: its parent today)
    domain: str | None  # its own mail domain once the plan is applied
    before_code: str = ""
    before_name: str = ""
    before_parent: str | None = None
    before_domain: str | None = None
    before_depth: int = 0
    created_on: dt.date | None = None
    renamed_on: dt.date | None = None
    moved_on: dt.date | None = None
    domain_on: dt.date | None = None
    ended_on: dt.date | None = None
    end_kind: str = ""  # merge | dissolve
    merge_into: str | None = None
    successor: str | None = None  # a dissolved unit's successor for those the staff sheet does not place
    rows: dict[str, int] = field(default_factory=dict)  # action → the row that asked for it
    # Why its parent changes: (row, column) of the move, create, or the merge/dissolve of its old parent;
    # ``follows`` says which (a subunit follows its merged parent to the target, its dissolved parent to the
    # successor).
    parent_row: tuple[int, str] | None = None
    follows: str = ""

    @property
    def is_ended(self) -> bool:
        return self.ended_on is not None

    @property
    def status(self) -> str:
        if self.created_on is not None:
            return "new"
        if self.end_kind == MERGE:
            return "merged"
        if self.end_kind == DISSOLVE:
            return "dissolved"
        if self.moved_on is not None:
            return "moved"
        if self.renamed_on is not None:
            return "renamed"
        if self.domain_on is not None:
            return "domain"
        return "unchanged"


@dataclass(frozen=True)
class PersonMove:
    """A person who goes to another unit: from ``from_key`` to ``to_key`` on ``effective_on``."""

    staff_id: int
    from_key: str
    to_key: str
    effective_on: dt.date


@dataclass(frozen=True)
class AddressChange:
    staff_id: int
    name: str
    old: str
    new: str
    collision: str | None  # how a collision was resolved, or None


@dataclass
class Resolved:
    """The plan resolved against the tree: what applying it will do, or every reason it cannot."""

    issues: list[PlanIssue]
    effective_on: dt.date | None
    nodes: dict[str, Node] = field(default_factory=dict)
    moves: list[PersonMove] = field(default_factory=list)
    addresses: list[AddressChange] = field(default_factory=list)
    # Ended unit key → the units that received its people (merge target, or the dissolved unit's receivers).
    receivers: dict[str, list[str]] = field(default_factory=dict)
    # Mailboxes per unit key (not archived), and list members (active personal/functional), before and after.
    mailboxes_before: dict[str, int] = field(default_factory=dict)
    mailboxes_after: dict[str, int] = field(default_factory=dict)
    members_before: dict[str, int] = field(default_factory=dict)
    members_after: dict[str, int] = field(default_factory=dict)
    default_domain: str = ""

    @property
    def is_clean(self) -> bool:
        return not self.issues

    def successor_of(self, key: str) -> str | None:
        """The single unit an ended unit became, or None (split, or nobody went anywhere)."""
        node = self.nodes[key]
        if node.end_kind == MERGE:
            return node.merge_into
        received = self.receivers.get(key, [])
        if len(received) == 1:
            return received[0]
        if not received and node.successor:
            return node.successor
        return None

    def final_domain(self, key: str) -> str:
        """The effective mail domain of a unit once the plan is applied."""
        seen: set[str] = set()
        current: str | None = key
        while current is not None and current not in seen:
            seen.add(current)
            node = self.nodes[current]
            if node.domain:
                return node.domain
            current = node.parent
        return self.default_domain

    def final_depth(self, key: str) -> int:
        depth, current, seen = 0, self.nodes[key].parent, {key}
        while current is not None and current not in seen:
            seen.add(current)
            depth += 1
            current = self.nodes[current].parent
        return depth
