"""The demo staff of 2024: personal mailboxes spread over both provinces' units by size, plus functional, service
and test accounts. Deterministic for a seed; the share of Jrai and Bahnar names follows the district. Staff
numbers carry the province (GL000001, BD000001); the 2025 plan's staff sheet names people by them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo.data import PROVINCES, province_of, units
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
DIVISION_LEAD_TITLES = ("Trưởng phòng", "Phó Trưởng phòng")
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
    kind_of = {u.code: u.kind for u in tree}
    # A department's own division (phòng, ban, trung tâm) is a department under a department.
    divisions = {u.code for u in tree if u.kind == "department" and kind_of.get(u.parent_code or "") == "department"}
    share_by_unit: dict[str, float] = {}
    weight: dict[str, float] = {}
    for unit in tree:
        if unit.kind == "province":
            continue
        if unit.code in divisions:
            weight[unit.code] = rng.randint(8, 20)
        elif unit.kind == "office":
            weight[unit.code] = 90
        elif unit.kind == "department":
            weight[unit.code] = rng.randint(40, 150)
        elif unit.kind == "district":
            weight[unit.code] = rng.randint(30, 80)
        else:
            weight[unit.code] = rng.randint(10, 25)
    for district in (d for p in PROVINCES for d in p.districts):
        share_by_unit[district.code] = district.highlands_share
        for i in range(1, len(district.communes) + 1):
            share_by_unit[district.commune_code(i)] = district.highlands_share
    total_weight = sum(weight.values())
    codes = list(weight)
    allotted = {code: int(count * weight[code] / total_weight) for code in codes}
    for code in rng.sample(codes, count - sum(allotted.values())):
        allotted[code] += 1

    staff: list[StaffSpec] = []
    serial = dict.fromkeys((p.staff_prefix for p in PROVINCES), 0)

    def add(full_name: str, unit_code: str, title: str, kind: str) -> None:
        prefix = province_of(unit_code).staff_prefix
        serial[prefix] += 1
        staff.append(StaffSpec(full_name, unit_code, title, f"{prefix}{serial[prefix]:06d}", phone(rng), kind))

    for code in codes:
        share = share_by_unit.get(code, 0.08)
        kind = kind_of[code]
        leads = {"department": LEAD_TITLES, "office": LEAD_TITLES, "district": DISTRICT_LEAD_TITLES}.get(
            kind, COMMUNE_LEAD_TITLES
        )
        if code in divisions:
            leads = DIVISION_LEAD_TITLES
        for n in range(allotted[code]):
            name = highlands_name(rng) if rng.random() < share else kinh_name(rng)
            title = leads[n] if n < len(leads) else weighted(rng, COMMUNE_TITLES if kind == "commune" else STAFF_TITLES)
            add(name, code, title, "personal")
    short = {u.code: u.short_name for u in tree}
    for code in codes:
        if kind_of[code] in ("department", "district", "office") and code not in divisions:
            add(f"Văn thư {short[code]}", code, "Hộp thư chung", "functional")
    add("Hệ thống Quản lý văn bản", "STTTT", "Tài khoản dịch vụ", "service")
    add("Hệ thống Quản lý văn bản Bình Định", "BD-STTTT", "Tài khoản dịch vụ", "service")
    add("Cổng dịch vụ công", "STTTT", "Tài khoản dịch vụ", "service")
    add("Tài khoản Kiểm thử", "STTTT", "Kiểm thử", "test")
    return staff
