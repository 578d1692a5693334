"""How each kind of directory job is applied: read the object's current state from the database and make its
slapd entry match (units before their children, moves of whole subtrees, lists rebuilt from addresses,
passwords through the Password Modify operation and then wiped)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn
from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioning.directory import Directory, DirectoryError
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
from provisioning.models import AccountKind, AccountStatus, DirectoryJob, Staff, Unit


def password_cipher(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"congvu-directory-jobs:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


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
        if unit is None or unit.ended_on is not None:
            return  # an ended unit's entry goes with its delete_unit job
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
        attrs = staff_attributes(staff)
        return staff, staff_dn(staff, self.base_dn), attrs

    def moved_mailbox(self, job: DirectoryJob) -> tuple[Staff, str, str, dict[str, list[str]]] | None:
        """(staff, old dn, new dn, attributes) if the job moves a mailbox written before to a new DN (a unit
        change, a new address), else None. Runs of them go to slapd in one transaction; if that is refused
        (the entry is not where the database last wrote it), each takes the careful path."""
        if job.action != "sync_staff":
            return None
        staff = self.session.get(Staff, job.object_id)
        if staff is None or staff.directory_dn is None or staff.removed_from_directory_at is not None:
            return None
        dn = staff_dn(staff, self.base_dn)
        if staff.directory_dn.lower() == dn.lower():
            return None
        for ancestor in [*staff.unit.ancestors(), staff.unit]:
            self._ensure_unit(ancestor)
        if staff.directory_dn.lower() == dn.lower():
            return None  # its unit's move took it along already
        return staff, staff.directory_dn, dn, staff_attributes(staff)

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
        self.directory.upsert(dn, PERSON_CLASSES, staff_attributes(staff))
        staff.directory_dn = dn

    def _apply_sync_list(self, job: DirectoryJob) -> None:
        """The unit's distribution list: a group of its active personal and functional mailboxes."""
        unit = self.session.get(Unit, job.object_id)
        if unit is None or unit.ended_on is not None:
            return  # an ended unit's list goes with its entry (delete_unit)
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
        if dn and self.directory.read(dn, ["ou"]) is None:
            dn = ""  # not there (its parent moved since): found by its code
        if not dn:
            found = self.directory.search(
                self.base_dn, f"(congvuUnitCode={escape_filter_chars(job.payload.get('code', ''))})", ["ou"]
            )
            dn = found[0][0] if found else ""
        if not dn:
            return
        # By now its mailboxes and subunits have moved away; what is left is its own distribution list. A
        # mailbox still there (its move failed) is never deleted with it: the entry waits for a repair.
        if self.directory.search(dn, "(objectClass=congvuMailbox)", ["1.1"]):
            raise DirectoryError(f"unit entry {dn} still holds mailboxes; it is removed once they have moved")
        self.directory.delete_tree(dn)

    def _apply_delete_list(self, job: DirectoryJob) -> None:
        """The list named by a unit's earlier code (a reorganisation gave it a new one)."""
        unit = self.session.get(Unit, job.object_id)
        if unit is None or not job.payload.get("code"):
            return
        old = "dl-" + job.payload["code"].lower()
        self.directory.delete(f"cn={escape_rdn(old)},{unit_dn(unit, self.base_dn)}")

    def _apply_set_password(self, job: DirectoryJob) -> None:
        staff = self.session.get(Staff, job.object_id)
        token = job.payload.get("password", "")
        if staff is None or not token:
            return
        try:
            password = password_cipher(self.secret_key).decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise DirectoryError(f"job {job.id}: the password cannot be decrypted; set it again") from exc
        dn = staff_dn(staff, self.base_dn)
        self.directory.set_password(dn, password)
        # ppolicy marks a password set by an administrator as reset (must change at first use);
        # an admin-chosen password without that flag clears the mark.
        self.directory.set_must_change(dn, job.payload.get("must_change") == "1")
        job.payload = {}  # the secret is not kept once slapd has it

    def _apply_set_password_hash(self, job: DirectoryJob) -> None:
        """A hash brought in from another directory (``{SSHA}``, ``{CRYPT}``…) becomes the entry's
        userPassword as it is: the owner keeps their password. Not a reset, so no must-change mark."""
        staff = self.session.get(Staff, job.object_id)
        value = job.payload.get("hash", "")
        if staff is None or not value:
            job.payload = {}
            return
        dn = staff_dn(staff, self.base_dn)
        if self.directory.read(dn, ["mail"]) is None:
            raise DirectoryError(f"job {job.id}: the entry of {staff.email} is not in the directory yet")
        self.directory.upsert(dn, PERSON_CLASSES, {"userPassword": [value]})
        self.directory.set_must_change(dn, False)
        job.payload = {}  # the hash is not kept once slapd has it

    def _apply_delete_dn(self, job: DirectoryJob) -> None:
        if job.payload.get("subtree") == "1":
            self.directory.delete_tree(job.payload["dn"])
        else:
            self.directory.delete(job.payload["dn"])
