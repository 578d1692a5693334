"""A demo province modelled on Gia Lai: units, bridge points and staff with realistic names. Pure data.

Deterministic for a seed. The 17 district-level units are Gia Lai's before the 2025 reorganisation; the
share of Jrai and Bahnar names is higher in the districts where those peoples mostly live.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    short_name: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True)
class BridgePointSpec:
    name: str
    unit_code: str
    location: str
    capacity: int
    equipment: str

    def contact_email(self, domain: str) -> str:
        """The point's functional mailbox (the technician on duty reads it): diemcau.<unit code>@domain."""
        return f"diemcau.{self.unit_code.lower()}@{domain}"


@dataclass(frozen=True)
class StaffSpec:
    full_name: str
    unit_code: str
    title: str
    staff_number: str
    phone: str
    kind: str


ROOT = UnitSpec("GIALAI", "Ủy ban nhân dân tỉnh Gia Lai", "UBND tỉnh", "province", None)
OFFICE = UnitSpec("VPUBND", "Văn phòng Ủy ban nhân dân tỉnh", "VP UBND tỉnh", "office", "GIALAI")

DEPARTMENTS = (
    ("SNV", "Sở Nội vụ", "SNV"),
    ("STC", "Sở Tài chính", "STC"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư", "SKH&ĐT"),
    ("STTTT", "Sở Thông tin và Truyền thông", "STT&TT"),
    ("SGDDT", "Sở Giáo dục và Đào tạo", "SGD&ĐT"),
    ("SYT", "Sở Y tế", "SYT"),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn", "SNN&PTNT"),
    ("STNMT", "Sở Tài nguyên và Môi trường", "STN&MT"),
    ("SXD", "Sở Xây dựng", "SXD"),
    ("SGTVT", "Sở Giao thông vận tải", "SGTVT"),
    ("SCT", "Sở Công Thương", "SCT"),
    ("STP", "Sở Tư pháp", "STP"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội", "SLĐ-TB&XH"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch", "SVHTT&DL"),
    ("SKHCN", "Sở Khoa học và Công nghệ", "SKH&CN"),
    ("SNGV", "Sở Ngoại vụ", "SNgV"),
    ("TTRA", "Thanh tra tỉnh", "TTr tỉnh"),
    ("BDT", "Ban Dân tộc", "BDT"),
    ("BQLKKT", "Ban Quản lý Khu kinh tế tỉnh", "BQL KKT"),
)

# District-level units of Gia Lai before 1 July 2025, with some of their communes and wards.
# (code suffix, name, short name, [communes], share of Jrai/Bahnar names)
DISTRICTS = (
    (
        "PLEIKU",
        "Thành phố Pleiku",
        "TP Pleiku",
        ["Phường Hội Thương", "Phường Diên Hồng", "Phường Yên Đỗ", "Xã Biển Hồ", "Xã Chư Á", "Xã Ia Kênh"],
        0.15,
    ),
    ("ANKHE", "Thị xã An Khê", "TX An Khê", ["Phường An Bình", "Phường Tây Sơn", "Xã Cửu An", "Xã Song An"], 0.15),
    (
        "AYUNPA",
        "Thị xã Ayun Pa",
        "TX Ayun Pa",
        ["Phường Cheo Reo", "Phường Đoàn Kết", "Xã Ia Rbol", "Xã Chư Băh"],
        0.45,
    ),
    (
        "CHUPAH",
        "Huyện Chư Păh",
        "H. Chư Păh",
        ["Thị trấn Phú Hòa", "Xã Ia Ly", "Xã Hòa Phú", "Xã Nghĩa Hưng", "Xã Ia Nhin"],
        0.4,
    ),
    (
        "CHUPRONG",
        "Huyện Chư Prông",
        "H. Chư Prông",
        ["Thị trấn Chư Prông", "Xã Ia Drang", "Xã Ia Piơr", "Xã Bàu Cạn", "Xã Ia Me"],
        0.45,
    ),
    ("CHUSE", "Huyện Chư Sê", "H. Chư Sê", ["Thị trấn Chư Sê", "Xã Ia Blang", "Xã Dun", "Xã Al Bá"], 0.35),
    (
        "DAKDOA",
        "Huyện Đak Đoa",
        "H. Đak Đoa",
        ["Thị trấn Đak Đoa", "Xã Glar", "Xã Hà Bầu", "Xã K'Dang", "Xã Nam Yang"],
        0.5,
    ),
    ("DAKPO", "Huyện Đak Pơ", "H. Đak Pơ", ["Thị trấn Đak Pơ", "Xã Hà Tam", "Xã Yang Bắc"], 0.35),
    ("DUCCO", "Huyện Đức Cơ", "H. Đức Cơ", ["Thị trấn Chư Ty", "Xã Ia Dơk", "Xã Ia Krêl", "Xã Ia Dom"], 0.5),
    ("IAGRAI", "Huyện Ia Grai", "H. Ia Grai", ["Thị trấn Ia Kha", "Xã Ia Sao", "Xã Ia Dêr", "Xã Ia Hrung"], 0.45),
    ("IAPA", "Huyện Ia Pa", "H. Ia Pa", ["Xã Ia Mrơn", "Xã Pờ Tó", "Xã Chư Răng", "Xã Kim Tân"], 0.7),
    ("KBANG", "Huyện Kbang", "H. Kbang", ["Thị trấn Kbang", "Xã Sơn Lang", "Xã Đak Rong", "Xã Kông Bơ La"], 0.45),
    (
        "KONGCHRO",
        "Huyện Kông Chro",
        "H. Kông Chro",
        ["Thị trấn Kông Chro", "Xã Chư Krêy", "Xã Đak Song", "Xã Yang Trung"],
        0.65,
    ),
    (
        "KRONGPA",
        "Huyện Krông Pa",
        "H. Krông Pa",
        ["Thị trấn Phú Túc", "Xã Ia Rsai", "Xã Chư Gu", "Xã Uar", "Xã Ia Mlăh"],
        0.7,
    ),
    (
        "MANGYANG",
        "Huyện Mang Yang",
        "H. Mang Yang",
        ["Thị trấn Kon Dơng", "Xã Đak Yă", "Xã Lơ Pang", "Xã Kon Thụp"],
        0.55,
    ),
    (
        "PHUTHIEN",
        "Huyện Phú Thiện",
        "H. Phú Thiện",
        ["Thị trấn Phú Thiện", "Xã Ia Sol", "Xã Chrôh Pơnan", "Xã Ia Ake"],
        0.5,
    ),
    ("CHUPUH", "Huyện Chư Pưh", "H. Chư Pưh", ["Thị trấn Nhơn Hòa", "Xã Ia Hrú", "Xã Ia Le", "Xã Ia Phang"], 0.45),
)

KINH_FAMILY = (
    ("Nguyễn", 32),
    ("Trần", 11),
    ("Lê", 9),
    ("Phạm", 7),
    ("Hoàng", 4),
    ("Huỳnh", 4),
    ("Phan", 4),
    ("Vũ", 3),
    ("Võ", 4),
    ("Đặng", 2),
    ("Bùi", 2),
    ("Đỗ", 2),
    ("Hồ", 2),
    ("Ngô", 2),
    ("Dương", 1),
    ("Lý", 1),
    ("Đinh", 1),
    ("Đoàn", 1),
    ("Trương", 1),
    ("Lương", 1),
    ("Mai", 1),
    ("Tạ", 1),
    ("Châu", 1),
)
MALE_MIDDLE = ("Văn", "Văn", "Đức", "Minh", "Hữu", "Quang", "Thanh", "Công", "Ngọc", "Xuân", "Đình", "Anh")
FEMALE_MIDDLE = ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Hồng", "Mỹ", "Phương")
MALE_GIVEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Đức",
    "Giang",
    "Hải",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Huy",
    "Khánh",
    "Khoa",
    "Long",
    "Lộc",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Tâm",
    "Thắng",
    "Thành",
    "Thịnh",
    "Toàn",
    "Trung",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
)
FEMALE_GIVEN = (
    "Anh",
    "Châu",
    "Chi",
    "Diệp",
    "Dung",
    "Duyên",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hiền",
    "Hoa",
    "Hương",
    "Huyền",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Tâm",
    "Thảo",
    "Thoa",
    "Thủy",
    "Trang",
    "Trinh",
    "Tuyết",
    "Uyên",
    "Vân",
    "Yến",
)
# Jrai and Bahnar family names; "Rơ Châm", "Rơ Mah", "Rah Lan" are two-word family names.
HIGHLANDS_FAMILY = ("Ksor", "Kpă", "Siu", "Nay", "Rơ Châm", "Rơ Mah", "Rah Lan", "Puih", "Rcom", "Đinh", "Hiao")
HIGHLANDS_MALE = ("Blum", "Thuyên", "Phước", "Chung", "Nhứ", "Hyun", "Dơk", "Lăk", "Jư", "Bă", "Thăm", "Ui")
HIGHLANDS_FEMALE = ("H'Yao", "H'Mai", "H'Loan", "H'Nia", "H'Bla", "Hloanh", "Nhí", "H'Lin", "H'Uyên")
HIGHLANDS_MALE_PREFIX = ("Y", "A", "", "")

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


def _district_code(suffix: str) -> str:
    return f"H-{suffix}"


def _commune_code(district: str, index: int) -> str:
    return f"X-{district}-{index:02d}"


def units() -> list[UnitSpec]:
    """The tree, parents before children."""
    out = [ROOT, OFFICE]
    out += [UnitSpec(code, name, short, "department", ROOT.code) for code, name, short in DEPARTMENTS]
    for suffix, name, short, communes, _share in DISTRICTS:
        code = _district_code(suffix)
        out.append(UnitSpec(code, name, short, "district", ROOT.code))
        for i, commune in enumerate(communes, start=1):
            out.append(UnitSpec(_commune_code(suffix, i), commune, commune, "commune", code))
    return out


def bridge_points() -> list[BridgePointSpec]:
    """20 bridge points: the province hall (host), the 17 districts, the ICT department, the military command."""
    points = [
        BridgePointSpec(
            "Hội trường UBND tỉnh",
            OFFICE.code,
            "Tầng 3, trụ sở UBND tỉnh, Pleiku",
            200,
            "Màn hình LED 4x3 m; 2 camera PTZ; bàn trộn âm thanh 16 kênh",
        ),
        BridgePointSpec(
            "Phòng họp trực tuyến Sở TT&TT",
            "STTTT",
            "Trụ sở Sở Thông tin và Truyền thông",
            40,
            "Màn hình 86 inch; camera hội nghị; micro cổ ngỗng",
        ),
        BridgePointSpec(
            "Bộ Chỉ huy Quân sự tỉnh",
            "VPUBND",
            "Bộ Chỉ huy Quân sự tỉnh Gia Lai",
            30,
            "Thiết bị đầu cuối hội nghị truyền hình",
        ),
    ]
    for suffix, name, short, _communes, _share in DISTRICTS:
        points.append(
            BridgePointSpec(
                f"Điểm cầu {short}",
                _district_code(suffix),
                f"Hội trường UBND {name.lower()}",
                60,
                "Màn hình 75 inch; camera hội nghị; loa hội trường",
            )
        )
    return points


def _weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


def _kinh_name(rng: random.Random) -> str:
    family = _weighted(rng, KINH_FAMILY)
    if rng.random() < 0.5:
        middle, given = rng.choice(MALE_MIDDLE), rng.choice(MALE_GIVEN)
    else:
        middle, given = rng.choice(FEMALE_MIDDLE), rng.choice(FEMALE_GIVEN)
    if rng.random() < 0.2:  # four-part names ("Trần Thị Minh Khai")
        middle += " " + rng.choice(("Minh", "Ngọc", "Thanh", "Bảo", "Hoài", "Quốc"))
    return f"{family} {middle} {given}"


def _highlands_name(rng: random.Random) -> str:
    family = rng.choice(HIGHLANDS_FAMILY)
    if rng.random() < 0.5:
        prefix = rng.choice(HIGHLANDS_MALE_PREFIX)
        given = rng.choice(HIGHLANDS_MALE)
        return " ".join(p for p in (family, prefix, given) if p)
    return f"{family} {rng.choice(HIGHLANDS_FEMALE)}"


def _phone(rng: random.Random) -> str:
    prefix = rng.choice(("090", "091", "093", "094", "097", "098", "032", "033", "034", "035", "086", "088"))
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(7))


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
        share_by_unit[_district_code(suffix)] = share
        for i in range(1, len(communes) + 1):
            share_by_unit[_commune_code(suffix, i)] = share
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
        staff.append(StaffSpec(full_name, unit_code, title, f"GL{serial:06d}", _phone(rng), kind))

    for code in codes:
        share = share_by_unit.get(code, 0.08)
        kind = kind_of[code]
        leads = {"department": LEAD_TITLES, "office": LEAD_TITLES, "district": DISTRICT_LEAD_TITLES}.get(
            kind, COMMUNE_LEAD_TITLES
        )
        for n in range(allotted[code]):
            name = _highlands_name(rng) if rng.random() < share else _kinh_name(rng)
            if n < len(leads):
                title = leads[n]
            else:
                title = _weighted(rng, COMMUNE_TITLES if kind == "commune" else STAFF_TITLES)
            add(name, code, title, "personal")
    short = {u.code: u.short_name for u in tree}
    for code in codes:
        if kind_of[code] in ("department", "district", "office"):
            add(f"Văn thư {short[code]}", code, "Hộp thư chung", "functional")
    add("Hệ thống Quản lý văn bản", "STTTT", "Tài khoản dịch vụ", "service")
    add("Cổng dịch vụ công", "STTTT", "Tài khoản dịch vụ", "service")
    add("Tài khoản Kiểm thử", "STTTT", "Kiểm thử", "test")
    return staff
