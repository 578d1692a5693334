"""Resolve a plan's unit rows against today's tree: every unit as the plan leaves it, or every problem (unknown
codes, codes already used, a unit changed twice in conflicting ways, merges into ended units, cycles), each
naming sheet, row and column. Reads the database, changes nothing. The people part is
:mod:`provisioning.reorg.people`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.addresses import normalize_domain
from provisioning.errors import ProvisioningError
from provisioning.models import Unit
from provisioning.operations import UNIT_CODE_CHARS, unit_name
from provisioning.reorg.people import resolve_people
from provisioning.reorg.plan import (
    CREATE,
    DISSOLVE,
    DOMAIN,
    KIND,
    MERGE,
    MOVE,
    NEW_CODE,
    NEW_DOMAIN,
    NEW_NAME,
    NEW_PARENT,
    OLD_CODE,
    RENAME,
    Node,
    PlanFile,
    PlanIssue,
    Resolved,
    UnitRow,
)

WORDS = {
    CREATE: "created",
    RENAME: "renamed",
    MOVE: "moved",
    MERGE: "merged",
    DISSOLVE: "dissolved",
    DOMAIN: "given a domain",
}


def resolve(session: Session, plan: PlanFile, default_domain: str) -> Resolved:
    """The plan resolved against the tree (``issues`` empty) or every reason it cannot be applied."""
    return _Resolver(session, plan, default_domain).run()


class _Resolver:
    def __init__(self, session: Session, plan: PlanFile, default_domain: str) -> None:
        self.session = session
        self.plan = plan
        self.sheet = plan.units_sheet
        self.issues: list[PlanIssue] = list(plan.issues)
        self.nodes: dict[str, Node] = {}
        self.ended_codes: dict[str, dt.date] = {}
        self.new_codes: dict[str, str] = {}  # a renamed unit's new code → its key
        self.created: dict[str, int] = {}  # created code → its row
        self.default_domain = default_domain

    def issue(self, row: int, column: str, message: str) -> None:
        self.issues.append(PlanIssue(self.sheet, row, column, message))

    def run(self) -> Resolved:
        self._load()
        for row in self.plan.units:
            self._register(row)
        for row in self.plan.units:
            self._resolve_row(row)
        self._check_ended()
        self._follow_ended_parents()
        self._check_cycles()
        dates = [r.effective_on for r in self.plan.units if r.effective_on is not None]
        resolved = Resolved(
            issues=self.issues,
            effective_on=max(dates) if dates else None,
            nodes=self.nodes,
            default_domain=self.default_domain,
        )
        resolve_people(self.session, self.plan, resolved)
        return resolved

    # -- today's tree ----------------------------------------------------------------------------------

    def _load(self) -> None:
        rows = self.session.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.mail_domain, Unit.path, Unit.ended_on)
        ).all()
        code_of = {r.id: r.code for r in rows if r.ended_on is None}
        for r in rows:
            if r.ended_on is not None:
                self.ended_codes[r.code] = r.ended_on
                continue
            parent = code_of.get(r.parent_id) if r.parent_id is not None else None
            self.nodes[r.code] = Node(
                key=r.code,
                unit_id=r.id,
                code=r.code,
                name=r.name,
                kind=r.kind,
                parent=parent,
                domain=r.mail_domain,
                before_code=r.code,
                before_name=r.name,
                before_parent=parent,
                before_domain=r.mail_domain,
                before_depth=r.path.count("/") - 2,
            )

    def _code_problem(self, code: str, row: int, column: str) -> bool:
        """True (and an issue) if ``code`` cannot be a new unit code."""
        if not code:
            self.issue(row, column, "the new unit's code is required")
        elif not set(code) <= UNIT_CODE_CHARS or len(code) > 40:
            self.issue(row, column, f"unit code {code[:50]!r}: use 1–40 letters A–Z, digits or '-'")
        elif code in self.nodes or code in self.ended_codes:
            self.issue(row, column, f"code {code} is already used by a unit")
        elif code in self.created or code in self.new_codes:
            self.issue(row, column, f"code {code} is given twice in this plan")
        else:
            return False
        return True

    def _register(self, row: UnitRow) -> None:
        """First pass: units the plan creates and codes it gives, so any row may refer to them."""
        if row.action == CREATE:
            if self._code_problem(row.new_code, row.row, NEW_CODE):
                return
            name = self._name(row, required=True)
            if not row.kind:
                self.issue(row.row, KIND, "the kind of the new unit is required")
            domain = self._domain(row) if row.domain else None
            self.created[row.new_code] = row.row
            self.nodes[row.new_code] = Node(
                key=row.new_code,
                unit_id=None,
                code=row.new_code,
                name=name or row.new_code,
                kind=row.kind or "commune",
                parent=None,
                domain=domain,
                created_on=row.effective_on,
                rows={CREATE: row.row},
                parent_row=(row.row, NEW_PARENT),
            )
        elif (
            row.action == RENAME
            and row.new_code
            and row.new_code != row.old_code
            and not self._code_problem(row.new_code, row.row, NEW_CODE)
        ):
            self.new_codes[row.new_code] = row.old_code

    def _name(self, row: UnitRow, *, required: bool) -> str:
        if not row.name:
            if required:
                self.issue(row.row, NEW_NAME, "the new name is required")
            return ""
        try:
            return unit_name(row.name, "name", 200)
        except ProvisioningError as exc:
            self.issue(row.row, NEW_NAME, str(exc))
            return ""

    def _domain(self, row: UnitRow) -> str | None:
        try:
            return normalize_domain(row.domain)
        except ProvisioningError as exc:
            self.issue(row.row, NEW_DOMAIN, str(exc))
            return None

    def ref(self, code: str) -> str | None:
        """The key of the unit ``code`` names: today's code, a code this plan creates or gives."""
        if code in self.nodes:
            return code
        return self.new_codes.get(code)

    def _unknown(self, code: str, row: int, column: str) -> None:
        if code in self.ended_codes:
            self.issue(row, column, f"unit {code} has ended ({self.ended_codes[code]:%d/%m/%Y})")
        else:
            self.issue(row, column, f"no unit has the code {code}")

    # -- the rows --------------------------------------------------------------------------------------

    def _resolve_row(self, row: UnitRow) -> None:
        if row.action == CREATE:
            if row.new_code in self.nodes and self.nodes[row.new_code].created_on is not None:
                self._set_parent(self.nodes[row.new_code], row, required=True)
            return
        if not row.old_code:
            self.issue(row.row, OLD_CODE, "the code of an existing unit is required")
            return
        if row.old_code in self.created:
            self.issue(
                row.row,
                OLD_CODE,
                f"unit {row.old_code} is created by row {self.created[row.old_code]}; "
                "give its name, parent and domain there",
            )
            return
        key = row.old_code if row.old_code in self.nodes else None
        if key is None:
            self._unknown(row.old_code, row.row, OLD_CODE)
            return
        node = self.nodes[key]
        if node.before_parent is None and row.action in (MOVE, MERGE, DISSOLVE):
            self.issue(row.row, OLD_CODE, f"the province root {key} cannot be {WORDS[row.action]}")
            return
        earlier = node.rows.get(row.action)
        getattr(self, f"_row_{row.action}")(node, row, earlier)
        node.rows.setdefault(row.action, row.row)

    def _row_rename(self, node: Node, row: UnitRow, earlier: int | None) -> None:
        name = self._name(row, required=not row.new_code) or node.name
        code = row.new_code if self.new_codes.get(row.new_code) == node.key else node.code
        if earlier is not None and (name, code) != (node.name, node.code):
            self.issue(row.row, NEW_NAME, f"unit {node.key} is renamed differently by row {earlier}")
            return
        node.name, node.code, node.renamed_on = name, code, row.effective_on

    def _set_parent(self, node: Node, row: UnitRow, *, required: bool) -> None:
        if not row.parent:
            if required:
                self.issue(row.row, NEW_PARENT, "the code of the new parent is required")
            return
        parent = self._other_unit(node, row.parent, row.row, NEW_PARENT, "cannot be its own parent")
        if parent is None:
            return
        node.parent, node.parent_row = parent, (row.row, NEW_PARENT)

    def _row_move(self, node: Node, row: UnitRow, earlier: int | None) -> None:
        parent = self.ref(row.parent) if row.parent else None
        if earlier is not None and parent != node.parent:
            self.issue(row.row, NEW_PARENT, f"unit {node.key} is moved elsewhere by row {earlier}")
            return
        self._set_parent(node, row, required=True)
        node.moved_on = row.effective_on

    def _row_domain(self, node: Node, row: UnitRow, earlier: int | None) -> None:
        if not row.domain:
            self.issue(row.row, NEW_DOMAIN, "the new mail domain is required")
            return
        domain = self._domain(row)
        if domain is None:
            return
        if earlier is not None and domain != node.domain:
            self.issue(row.row, NEW_DOMAIN, f"unit {node.key} is given another domain by row {earlier}")
            return
        if domain == node.before_domain:
            self.issue(row.row, NEW_DOMAIN, f"unit {node.key} already uses {domain}")
            return
        node.domain, node.domain_on = domain, row.effective_on

    def _end(self, node: Node, row: UnitRow, kind: str) -> bool:
        other = node.rows.get(MERGE if kind == DISSOLVE else DISSOLVE)
        if other is not None:
            self.issue(row.row, OLD_CODE, f"unit {node.key} is both merged and dissolved (row {other})")
            return False
        node.end_kind, node.ended_on = kind, row.effective_on
        return True

    def _other_unit(self, node: Node, code: str, row: int, column: str, itself: str) -> str | None:
        """The key of the unit ``code`` names, which must not be ``node``; None (and the issue) if it is
        unknown or ``node`` itself (``itself`` says why that cannot be)."""
        key = self.ref(code)
        if key is None:
            self._unknown(code, row, column)
        elif key == node.key:
            self.issue(row, column, f"unit {node.key} {itself}")
            return None
        return key

    def _row_merge(self, node: Node, row: UnitRow, earlier: int | None) -> None:
        if not row.new_code:
            self.issue(row.row, NEW_CODE, "the code of the unit it merges into is required")
            return
        target = self._other_unit(node, row.new_code, row.row, NEW_CODE, "cannot merge into itself")
        if target is None:
            return
        if earlier is not None and target != node.merge_into:
            self.issue(row.row, NEW_CODE, f"unit {node.key} is merged elsewhere by row {earlier}")
            return
        if self._end(node, row, MERGE):
            node.merge_into = target

    def _row_dissolve(self, node: Node, row: UnitRow, earlier: int | None) -> None:
        successor = None
        if row.new_code:
            successor = self._other_unit(node, row.new_code, row.row, NEW_CODE, "cannot succeed itself")
            if successor is None:
                return
        if earlier is not None and successor != node.successor:
            self.issue(row.row, NEW_CODE, f"unit {node.key} is dissolved with another successor by row {earlier}")
            return
        if self._end(node, row, DISSOLVE):
            node.successor = successor

    # -- the plan as a whole ---------------------------------------------------------------------------

    def _check_ended(self) -> None:
        for node in self.nodes.values():
            if node.is_ended:
                for action in (RENAME, MOVE, DOMAIN):
                    if action in node.rows:
                        ended_by = node.rows.get(MERGE) or node.rows.get(DISSOLVE)
                        self.issue(
                            node.rows[action],
                            OLD_CODE,
                            f"unit {node.key} is ended by row {ended_by}; it cannot also be {WORDS[action]}",
                        )
                for other, column in ((node.merge_into, NEW_CODE), (node.successor, NEW_CODE)):
                    if other is not None and self.nodes[other].is_ended:
                        ended_by = self.nodes[other].rows.get(MERGE) or self.nodes[other].rows.get(DISSOLVE)
                        row = node.rows.get(MERGE) or node.rows.get(DISSOLVE) or 0
                        self.issue(row, column, f"unit {other} is itself merged or dissolved by row {ended_by}")
            elif node.parent is not None and node.parent_row is not None and node.follows == "":
                parent = self.nodes[node.parent]
                if parent.is_ended and (node.created_on is not None or node.moved_on is not None):
                    self.issue(
                        node.parent_row[0],
                        NEW_PARENT,
                        f"unit {parent.key} is merged or dissolved by this plan; choose another parent",
                    )

    def _follow_ended_parents(self) -> None:
        """A subunit the plan does not move follows its merged parent into the target, or its dissolved parent
        to the successor; without a successor it must be moved (or ended) by the plan."""
        stranded: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.is_ended or node.parent is None or node.parent_row is not None:
                continue
            parent = self.nodes[node.parent]
            if not parent.is_ended:
                continue
            row = parent.rows.get(MERGE) or parent.rows.get(DISSOLVE) or 0
            heir = parent.merge_into if parent.end_kind == MERGE else parent.successor
            if heir is None:
                stranded.setdefault(parent.key, []).append(node.key)
                continue
            node.parent, node.parent_row, node.follows = heir, (row, NEW_CODE), parent.end_kind
            node.moved_on = parent.ended_on
        for key, children in stranded.items():
            self.issue(
                self.nodes[key].rows[DISSOLVE],
                NEW_CODE,
                f"unit {key} has subunits the plan does not move ({', '.join(sorted(children)[:5])}); "
                "move or end them, or give a successor",
            )

    def _check_cycles(self) -> None:
        reported: set[str] = set()
        for start in self.nodes.values():
            if start.is_ended:
                continue
            path, current = [start.key], start.parent
            while current is not None and current not in path:
                path.append(current)
                current = self.nodes[current].parent
            if current is None or current in reported:
                continue
            cycle = path[path.index(current) :]
            reported.update(cycle)
            culprit = next((self.nodes[k] for k in cycle if self.nodes[k].parent_row is not None), start)
            row, column = culprit.parent_row or (0, NEW_PARENT)
            self.issue(row, column, "these changes make a cycle: " + " → ".join([*cycle, cycle[0]]))
