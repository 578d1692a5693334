"""The demo staff: personal mailboxes spread over the demo units by size, plus functional, service and test
accounts. Deterministic for a seed; the share of Jrai and Bahnar names follows the district.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo.data import DISTRICTS, commune_code, district_code, units
from demo.names import highlands_name, kinh_name, phone, weighted


@dataclass(frozen=True)
class StaffSpec:
    full_name: str
    unit_code: str
    title: str
    staff_number: str
    phone: str
    kind: str


LEAD_TITLES = ("Giám đốc", "Phó Giám đốc", "Phó Giám đốc", "Chánh Văn phòng")
DISTRICT_LEAD_TITLES = ("Chủ tịch UBND", "Phó Chủ tịch UBND", "Phó Chủ tịch UBND", "Chánh Văn phòng HĐND-UBND")
COMMUNE_LEAD_TITLES = ("Chủ tịch UBND xã", "Phó Chủ tịch UBND xã")
STAFF_TITLES = (
    ("Chuyên viên", 55),
    ("Trưởng phòng", 8),
    ("Phó Trưởng phòng", 10),
    ("Chuyên viên chính", 12),
    ("Kế toán", 4),
    ("Văn thư", 3),
    ("Cán sự", 5),
    ("Thanh tra viên", 3),
)
COMMUNE_TITLES = (
    ("Công chức Văn phòng - Thống kê", 30),
    ("Công chức Tư pháp - Hộ tịch", 20),
    ("Công chức Địa chính - Xây dựng", 20),
    ("Công chức Tài chính - Kế toán", 15),
    ("Công chức Văn hóa - Xã hội", 15),
)


def generate_staff(count: int = 2000, seed: int = 2025) -> list[StaffSpec]:
    """``count`` personal mailboxes spread over the units by size, plus one functional mailbox per
    department and district, and a few service and test accounts."""
    rng = random.Random(seed)
    tree = units()
    share_by_unit: dict[str, float] = {}
    weight: dict[str, float] = {}
    for unit in tree:
        if unit.kind == "province":
            continue
        if unit.kind == "office":
            weight[unit.code] = 90
        elif unit.kind == "department":
            weight[unit.code] = rng.randint(40, 150)
        elif unit.kind == "district":
            weight[unit.code] = rng.randint(30, 80)
        else:
            weight[unit.code] = rng.randint(10, 25)
    for suffix, _name, _short, communes, share in DISTRICTS:
        share_by_unit[district_code(suffix)] = share
        for i in range(1, len(communes) + 1):
            share_by_unit[commune_code(suffix, i)] = share
    total_weight = sum(weight.values())
    codes = list(weight)
    allotted = {code: int(count * weight[code] / total_weight) for code in codes}
    for code in rng.sample(codes, count - sum(allotted.values())):
        allotted[code] += 1

    kind_of = {u.code: u.kind for u in tree}
    staff: list[StaffSpec] = []
    serial = 0

    def add(full_name: str, unit_code: str, title: str, kind: str) -> None:
        nonlocal serial
        serial += 1
        staff.append(StaffSpec(full_name, unit_code, title, f"GL{serial:06d}", phone(rng), kind))

    for code in codes:
        share = share_by_unit.get(code, 0.08)
        kind = kind_of[code]
        leads = {"department": LEAD_TITLES, "office": LEAD_TITLES, "district": DISTRICT_LEAD_TITLES}.get(
            kind, COMMUNE_LEAD_TITLES
        )
        for n in range(allotted[code]):
            name = highlands_name(rng) if rng.random() < share else kinh_name(rng)
            title = leads[n] if n < len(leads) else weighted(rng, COMMUNE_TITLES if kind == "commune" else STAFF_TITLES)
            add(name, code, title, "personal")
    short = {u.code: u.short_name for u in tree}
    for code in codes:
        if kind_of[code] in ("department", "district", "office"):
            add(f"Văn thư {short[code]}", code, "Hộp thư chung", "functional")
    add("Hệ thống Quản lý văn bản", "STTTT", "Tài khoản dịch vụ", "service")
    add("Cổng dịch vụ công", "STTTT", "Tài khoản dịch vụ", "service")
    add("Tài khoản Kiểm thử", "STTTT", "Kiểm thử", "test")
    return staff
