"""The address namespace: reserved local parts, which mail domains exist, and which a unit admin may use.

- Reserved local parts (postmaster, abuse, hostmaster, webmaster, root, noreply, the suite's sender, any
  ``dl-`` name, configured extras) and the contact mailboxes of other units' bridge points are refused to
  everyone but a system admin, as a mailbox and as an alias.
- Mail domains are DNS names (IDNA; kept in their ASCII form). The province's domains are the configured
  ones plus those a system admin has given a unit; a unit admin may use only the domains of their subtree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import idna
from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from core.actors import Actor, TreePlace
from provisioning.errors import ProvisioningError
from provisioning.models import Role, Unit

RESERVED_LOCAL_PARTS = frozenset(
    {"postmaster", "abuse", "hostmaster", "webmaster", "root", "noreply", "no-reply", "mailer-daemon"}
)
LIST_PREFIX = "dl-"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Bridge points belong to the meetings package, which sits above this one: their contacts are read by name.
_POINTS = table("bridge_points", column("contact_email"), column("unit_id"))


@dataclass(frozen=True)
class AddressRules:
    """This installation's namespace, built once from settings (see ``Runtime.mailbox_policy``)."""

    default_domain: str = ""
    mail_from: str = ""
    extra_domains: tuple[str, ...] = ()
    extra_reserved: tuple[str, ...] = ()

    def reserved_local_parts(self) -> frozenset[str]:
        sender = self.mail_from.partition("@")[0].strip().lower()
        return (
            RESERVED_LOCAL_PARTS
            | {p.strip().lower() for p in self.extra_reserved if p.strip()}
            | ({sender} if sender else set())
        )

    def is_reserved(self, local: str) -> bool:
        local = local.lower()
        return local in self.reserved_local_parts() or local.startswith(LIST_PREFIX)


def normalize_domain(value: str, field: str = "mail domain") -> str:
    """A DNS name in its ASCII (IDNA) form, lower case; anything else is refused naming ``field``."""
    text = value.strip().rstrip(".").lower()
    try:
        ascii_name = idna.encode(text, uts46=True).decode("ascii") if text else ""
    except (idna.IDNAError, UnicodeError, ValueError):
        ascii_name = ""
    labels = ascii_name.split(".")
    if (
        not ascii_name
        or len(ascii_name) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ProvisioningError(f"{field} {value[:80]!r}: give a domain name such as 'gialai.gov.vn'")
    return ascii_name


def known_domains(session: Session, rules: AddressRules) -> set[str]:
    """The province's mail domains: configured, and every domain a unit has been given."""
    given = {d for d in session.scalars(select(Unit.mail_domain).where(Unit.mail_domain.isnot(None))) if d}
    return {d for d in (rules.default_domain, *rules.extra_domains) if d} | given


def subtree_domains(session: Session, actor: Actor, default_domain: str) -> set[str] | None:
    """Domains the actor may use (None: all): the effective domain of each unit they administer and every
    domain given inside those subtrees."""
    if actor.is_system_admin:
        return None
    paths = [p for r, p in actor.roles if r == Role.UNIT_ADMIN and p is not None]
    domains: set[str] = set()
    for path in paths:
        unit_id = int(path.rstrip("/").rsplit("/", 1)[-1])
        unit = session.get(Unit, unit_id)
        if unit is not None:
            domains.add(unit.effective_mail_domain(default_domain))
        domains |= {d for d in session.scalars(select(Unit.mail_domain).where(Unit.path.startswith(path))) if d}
    return domains


def check_domain_use(session: Session, actor: Actor, domain: str, rules: AddressRules, what: str) -> None:
    """``domain`` must be one of the province's and, for a unit admin, one of their subtree's."""
    if domain not in known_domains(session, rules):
        raise ProvisioningError(f"{what}: {domain} is not one of the province's mail domains")
    allowed = subtree_domains(session, actor, rules.default_domain)
    if allowed is not None and domain not in allowed:
        raise ProvisioningError(f"{what}: {domain} is not a mail domain of a unit you administer")


def check_unit_domain(session: Session, actor: Actor, value: str, rules: AddressRules) -> str:
    """A unit's new mail domain: any DNS name for a system admin (that adds it), else one of the subtree's."""
    domain = normalize_domain(value)
    allowed = subtree_domains(session, actor, rules.default_domain)
    if allowed is not None and domain not in allowed:
        raise ProvisioningError(
            f"mail domain {domain}: not a domain of a unit you administer; a system admin adds new domains"
        )
    return domain


def is_contact_of_other_unit(session: Session, actor: Actor, address: str) -> bool:
    """Is ``address`` the contact mailbox of a bridge point outside the actor's subtree?"""
    stmt = select(Unit.path).join(_POINTS, _POINTS.c.unit_id == Unit.id).where(_POINTS.c.contact_email == address)
    paths = list(session.scalars(stmt))
    if not paths or actor.is_system_admin:
        return False
    return any(not actor.can(Role.UNIT_ADMIN, TreePlace(p)) for p in paths)


def check_address(session: Session, actor: Actor, address: str, rules: AddressRules, what: str = "address") -> None:
    """Refuse a reserved or someone else's address to anyone but a system admin."""
    if actor.is_system_admin:
        return
    local = address.partition("@")[0]
    if rules.is_reserved(local):
        raise ProvisioningError(f"{what} {address}: {local!r} is reserved; only a system admin may use it")
    if is_contact_of_other_unit(session, actor, address):
        raise ProvisioningError(f"{what} {address}: it is the contact mailbox of another unit's bridge point")
