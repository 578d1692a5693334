"""What the directory holds for units, staff and mailing lists: DNs, object classes and attributes.

Pure mapping from database rows to LDAP entries, no connection. Every value that reaches a DN goes through
``escape_rdn`` and every value in a filter through ``escape_filter_chars``; nothing else builds DNs or filters.
"""

from __future__ import annotations

from collections.abc import Iterable

from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from provisioning.models import Staff, Unit

PERSON_CLASSES = ("top", "inetOrgPerson", "congvuMailbox")
UNIT_CLASSES = ("top", "organizationalUnit", "congvuUnit")
PERSON_ATTRS = (
    "cn",
    "sn",
    "givenName",
    "displayName",
    "mail",
    "employeeNumber",
    "title",
    "telephoneNumber",
    "congvuMailStatus",
    "congvuMailQuota",
    "congvuMailAlias",
    "congvuAccountKind",
    "congvuStaffNumber",
)
UNIT_ATTRS = ("ou", "description", "congvuUnitCode")
LIST_CLASSES = ("top", "groupOfNames", "congvuMailingList")


def unit_dn(unit: Unit, base_dn: str) -> str:
    """The province root is the base entry; every other unit is an OU under its parent."""
    if unit.parent is None:
        return base_dn
    return f"ou={escape_rdn(unit.code)},{unit_dn(unit.parent, base_dn)}"


def staff_dn(staff: Staff, base_dn: str) -> str:
    return mailbox_dn(staff.email, unit_dn(staff.unit, base_dn))


def mailbox_dn(email: str, parent_dn: str) -> str:
    """A mailbox's entry under its unit's DN (the address escaped as an RDN value)."""
    return f"uid={escape_rdn(email)},{parent_dn}"


def unit_attributes(unit: Unit) -> dict[str, list[str]]:
    return {"ou": [unit.code], "description": [unit.name], "congvuUnitCode": [unit.code]}


def directory_aliases(staff: Staff) -> list[str]:
    """The aliases the directory carries: not those the expiry job took out (their rows stay, never reissued)."""
    return [a.address for a in staff.aliases if a.removed_at is None]


def staff_attributes(staff: Staff, aliases: Iterable[str] | None = None) -> dict[str, list[str]]:
    """The mailbox's entry; its ``congvuMailAlias`` values are ``aliases``, by default its live ones."""
    if aliases is None:
        aliases = directory_aliases(staff)

    def one(value: str | None) -> list[str]:
        return [value] if value else []

    return {
        "cn": [staff.full_name],
        "sn": [staff.family_name or staff.full_name],
        "givenName": one(staff.given_name),
        "displayName": [staff.full_name],
        "mail": [staff.email],
        "employeeNumber": one(staff.staff_number),
        "title": one(staff.title),
        "telephoneNumber": one(staff.phone),
        "congvuMailStatus": [staff.status],
        "congvuMailQuota": [str(staff.quota_mb)],
        "congvuMailAlias": sorted(aliases),
        "congvuAccountKind": [staff.kind],
        "congvuStaffNumber": one(staff.staff_number),
    }


def list_dn(unit: Unit, base_dn: str) -> str:
    return f"cn={escape_rdn('dl-' + unit.code.lower())},{unit_dn(unit, base_dn)}"


def list_address(unit: Unit, default_domain: str) -> str:
    return f"dl-{unit.code.lower()}@{unit.effective_mail_domain(default_domain)}"


def list_attributes(unit: Unit, default_domain: str, members: list[str]) -> dict[str, list[str]]:
    return {
        "cn": ["dl-" + unit.code.lower()],
        "description": [f"Danh sách thư {unit.name}"],
        "mail": [list_address(unit, default_domain)] if default_domain else [],
        "member": sorted(members),
    }


def mail_filter(address: str) -> str:
    return f"(&(objectClass=congvuMailbox)(mail={escape_filter_chars(address)}))"
