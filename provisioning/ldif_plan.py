"""What bringing in another directory's LDIF export would do, entry by entry: who is taken (with which
address, alias and password), who is already here, and who cannot be taken and why. Reads the database,
changes nothing; :mod:`provisioning.ldif_import` uses it for the preview and again while applying.

Addresses (a decision, see also the README):

- ``primary`` (the default): the exported address stays the person's address, so its domain must be the
  mail domain of the unit they are brought into (give the unit the other province's domain first, or bring
  them into a unit that has it).
- ``alias``: the person gets a new address by the installation's policy in the unit's domain and keeps the
  exported one as an alias for ``CONGVU_REORG_ALIAS_DAYS``; the exported domain must then be one of the
  province's mail domains (for a unit admin: of their subtree), or mail to the alias would never arrive.

An address in use, or once used (aliases count, expired ones too), is never given again: such an entry is
refused, unless it is the same person brought in before (same address, name and staff number), which makes
applying the same file twice change nothing.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from core.validation import clean_text
from provisioning.addresses import check_address, known_domains, normalize_domain, subtree_domains
from provisioning.errors import ProvisioningError
from provisioning.ldif import Entry, Problem
from provisioning.models import MailAlias, Role, Staff, Unit
from provisioning.names import (
    InvalidNameError,
    clean_name,
    fold_ascii,
    generate_local_part,
    split_name,
    unique_local_part,
    validate_local_part,
)
from provisioning.operations import MailboxPolicy
from provisioning.password_hashes import classify

PERSON_CLASSES = frozenset({"person", "organizationalperson", "inetorgperson"})
SAMPLE_LIMIT = 500


class Addresses(enum.StrEnum):
    PRIMARY = "primary"
    ALIAS = "alias"


@dataclass(frozen=True)
class Take:
    """An entry to bring in. ``password_hash`` is None when the person gets a one-time password."""

    line: int
    dn: str
    full_name: str
    title: str
    phone: str
    staff_number: str | None
    email: str  # the address they will have
    local_part: str
    alias: str | None  # the exported address, kept as an alias (``alias`` mode)
    scheme: str  # of the exported password: 'SSHA', 'cleartext', 'none'…
    password_hash: str | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        """What the preview shows: never the hash."""
        return {
            "line": self.line,
            "dn": self.dn,
            "full_name": self.full_name,
            "email": self.email,
            "alias": self.alias,
            "staff_number": self.staff_number,
            "password": "kept" if self.password_hash else "one_time",
            "scheme": self.scheme,
        }


@dataclass(frozen=True)
class Refusal:
    """An entry that is not taken: ``code`` for the console's wording, ``message`` in English for the CLI."""

    line: int
    dn: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.dn or 'no dn'}): {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ").strip()


class Planner:
    """Decides, entry by entry, what the import would do. Used for the preview and again for applying."""

    def __init__(
        self, session: Session, actor: Actor, unit: Unit, policy: MailboxPolicy, addresses: str = Addresses.PRIMARY
    ) -> None:
        actor.require(Role.UNIT_ADMIN, unit, f"unit {unit.name}")
        if addresses not in set(Addresses):
            raise ProvisioningError(f"addresses {addresses[:20]!r}: use primary or alias")
        self.session, self.actor, self.unit, self.policy = session, actor, unit, policy
        self.addresses = Addresses(addresses)
        self.domain = unit.effective_mail_domain(policy.default_domain)
        self.rules = policy.rules
        if self.addresses is Addresses.ALIAS:
            allowed = subtree_domains(session, actor, policy.default_domain)
            self.alias_domains = known_domains(session, self.rules)
            if allowed is not None:
                self.alias_domains &= allowed
        self.taken: set[str] = set(session.scalars(select(Staff.email)))
        self.taken.update(session.scalars(select(MailAlias.address)))
        self.numbers: set[str] = set(session.scalars(select(Staff.staff_number).where(Staff.staff_number.isnot(None))))
        self.planned: set[str] = set()
        self.seen_addresses: dict[str, int] = {}
        self.seen_numbers: dict[str, int] = {}

    def is_taken(self, address: str) -> bool:
        return address in self.taken or address in self.planned

    def plan(self, item: Entry | Problem) -> Take | Refusal | None:
        """A :class:`Take`, a :class:`Refusal`, or None for someone brought in before (unchanged)."""
        if isinstance(item, Problem):
            return Refusal(item.line, item.dn, "unreadable", f"cannot read the line: {item.message}")
        entry = item

        def refuse(code: str, message: str, attribute: str = "") -> Refusal:
            return Refusal(entry.lines.get(attribute, entry.line), entry.dn, code, message)

        classes = {c.strip().lower() for c in entry.values("objectclass")}
        if not classes & PERSON_CLASSES:
            shown = ", ".join(sorted(classes))[:80] or "none"
            return refuse("not_person", f"not a person entry (objectClass: {shown})")
        raw = entry.first("mail").lower()
        if not raw:
            return refuse("no_mail", "no mail address")
        local, sep, domain = raw.partition("@")
        try:
            if not sep:
                raise InvalidNameError(raw)
            local, domain = validate_local_part(local), normalize_domain(domain)
        except (InvalidNameError, ProvisioningError):
            return refuse("bad_address", f"mail {raw[:80]!r} is not an address we can use", "mail")
        address = f"{local}@{domain}"
        first = self.seen_addresses.setdefault(address, entry.lines.get("mail", entry.line))
        if first != entry.lines.get("mail", entry.line):
            return refuse("duplicate", f"{address} appears again in the file (first at line {first})", "mail")
        if self.addresses is Addresses.PRIMARY and domain != self.domain:
            return refuse(
                "outside_domain",
                f"{address}: kept as the address, it must be in {self.unit.name}'s domain {self.domain} "
                "(give the unit that domain, or bring the entries in with --addresses alias)",
                "mail",
            )
        if self.addresses is Addresses.ALIAS and domain not in self.alias_domains:
            return refuse("outside_domain", f"{address}: {domain} is not one of the province's mail domains", "mail")
        try:
            full_name = self._name(entry)
            title = clean_text(_one_line(entry.first("title")), "title", max_length=200, error=ProvisioningError)
            phone = clean_text(
                _one_line(entry.first("telephonenumber")), "telephoneNumber", max_length=40, error=ProvisioningError
            )
        except (InvalidNameError, ProvisioningError) as exc:
            return refuse("bad_name", str(exc), "cn")
        number = entry.first("employeenumber") or None
        if number is not None:
            if len(number) > 40 or any(not ch.isprintable() for ch in number):
                return refuse(
                    "bad_staff_number", f"employeeNumber {number[:50]!r}: at most 40 characters", "employeenumber"
                )
            first_number = self.seen_numbers.setdefault(number, entry.line)
            if first_number != entry.line:
                return refuse(
                    "duplicate",
                    f"employeeNumber {number} appears again (first at line {first_number})",
                    "employeenumber",
                )
        if address in self.taken:
            if self._brought_in_before(address, full_name, number):
                return None
            return refuse("address_taken", f"{address} is in use, or was once used, in the province", "mail")
        if number is not None and number in self.numbers:
            return refuse("staff_number_taken", f"employeeNumber {number} belongs to someone else", "employeenumber")
        try:
            check_address(self.session, self.actor, address, self.rules)
        except ProvisioningError as exc:
            return refuse("reserved", str(exc), "mail")
        if self.addresses is Addresses.ALIAS:
            try:
                new_local = unique_local_part(
                    generate_local_part(full_name, self.policy.address_policy),
                    lambda lp: self.rules.is_reserved(lp) or self.is_taken(f"{lp}@{self.domain}"),
                )
            except InvalidNameError as exc:
                return refuse("bad_name", str(exc), "cn")
            email, alias = f"{new_local}@{self.domain}", address
        else:
            new_local, email, alias = local, address, None
        self.planned.update({email, address})
        if number is not None:
            self.numbers.add(number)
        scheme, kept = "none", None
        for value in entry.values("userpassword"):
            verdict = classify(value)
            if verdict.is_kept:
                scheme, kept = verdict.scheme, value
                break
            if scheme == "none":
                scheme = verdict.scheme
        return Take(entry.line, entry.dn, full_name, title, phone, number, email, new_local, alias, scheme, kept)

    def _name(self, entry: Entry) -> str:
        """cn, else sn and givenName in the Vietnamese order (family name first)."""
        raw = entry.first("cn") or " ".join(p for p in (entry.first("sn"), entry.first("givenname")) if p)
        text = clean_text(_one_line(raw), "cn", max_length=200, error=ProvisioningError)
        name = clean_name(text)
        if not name:
            raise InvalidNameError("cn: no name (neither cn nor sn and givenName)")
        split_name(name)
        return name

    def _brought_in_before(self, address: str, full_name: str, number: str | None) -> bool:
        """Is ``address`` (as address or alias) the same person's, in this unit's subtree?"""
        owner = self.session.scalar(select(Staff).where(Staff.email == address))
        if owner is None:
            alias = self.session.scalar(select(MailAlias).where(MailAlias.address == address))
            owner = alias.staff if alias is not None else None
        if owner is None or not owner.unit.path.startswith(self.unit.path):
            return False
        if number is not None and owner.staff_number != number:
            return False
        return fold_ascii(owner.full_name) == fold_ascii(full_name)
