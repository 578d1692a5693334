"""The shapes of the demo's data (units, districts, bridge points) and how their codes are made. Pure data."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    short_name: str
    kind: str
    parent_code: str | None
    mail_domain: str | None = None


# A district-level unit's kind as its short name writes it: "Huyện Chư Sê" is "H. Chư Sê".
DISTRICT_KINDS = {"Thành phố": "TP", "Thị xã": "TX", "Huyện": "H."}


@dataclass(frozen=True)
class DistrictSpec:
    """A district-level unit before 1 July 2025 (a city, town or district, by its name): some of its communes
    then, and the share of Jrai, Bahnar (and, in Bình Định's west, H're and Chăm H'roi) names among its staff."""

    suffix: str
    name: str
    communes: tuple[str, ...]
    highlands_share: float

    def __post_init__(self) -> None:
        if not any(self.name.startswith(f"{kind} ") for kind in DISTRICT_KINDS):
            raise ValueError(f"district {self.name!r}: the name must begin with {', '.join(DISTRICT_KINDS)}")

    @property
    def short_name(self) -> str:
        """ "Thành phố Pleiku" → "TP Pleiku", "Thị xã An Khê" → "TX An Khê", "Huyện Chư Sê" → "H. Chư Sê"."""
        kind = next(k for k in DISTRICT_KINDS if self.name.startswith(f"{k} "))
        return f"{DISTRICT_KINDS[kind]}{self.name[len(kind) :]}"

    @property
    def code(self) -> str:
        return f"H-{self.suffix}"

    def commune_code(self, index: int) -> str:
        return f"X-{self.suffix}-{index:02d}"


@dataclass(frozen=True)
class ProvinceSpec:
    """One province before the merger: its root unit, office, departments (codes without the prefix) and
    districts. Bình Định's units carry the prefix ``BD-`` so that both trees fit one installation."""

    root: UnitSpec
    prefix: str
    office_name: str
    departments: tuple[tuple[str, str, str], ...]
    districts: tuple[DistrictSpec, ...]
    hall_location: str
    staff_prefix: str

    def code(self, department: str) -> str:
        return f"{self.prefix}{department}"

    @property
    def office_code(self) -> str:
        return self.code("VPUBND")


@dataclass(frozen=True)
class BridgePointSpec:
    name: str
    unit_code: str
    location: str
    capacity: int
    equipment: str
    domain: str

    @property
    def contact_email(self) -> str:
        """The point's functional mailbox (the technician on duty reads it): diemcau.<unit code>@domain."""
        return f"diemcau.{self.unit_code.lower()}@{self.domain}"


def ascii_code(name: str) -> str:
    """ "Xã Ia Pa" → "IAPA", "Phường Quy Nhơn Đông" → "QUYNHONDONG": the name without its kind word,
    diacritics or spaces, in capitals (đ becomes d)."""
    words = name.split()
    if words and words[0].lower() in ("xã", "phường"):
        words = words[1:]
    text = unicodedata.normalize("NFD", " ".join(words).replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^A-Z0-9]", "", text.upper())
