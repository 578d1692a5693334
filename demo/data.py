"""The demo's two provinces as they were before the 2025 reorganisation, in one installation. Pure data.

Gia Lai (root ``GL``, the installation's own domain gialai.gov.vn) had 17 district-level units; Bình Định (unit
``BD`` under it, with its own domain binhdinh.gov.vn, its units' codes prefixed ``BD-``) had 11 (see
:mod:`demo.binhdinh`). Both had the departments of before March 2025. Each district is listed with some of its
communes and wards of then and the share of Jrai and Bahnar names among its staff (``demo.staff`` draws the
people). What became of them in 2025 is in :mod:`demo.communes` and :mod:`demo.plan2025`.
"""

from __future__ import annotations

from demo.binhdinh import BINH_DINH
from demo.departments import DEPARTMENTS
from demo.specs import BridgePointSpec, DistrictSpec, ProvinceSpec, UnitSpec

GIA_LAI_DOMAIN = "gialai.gov.vn"

# Some of Gia Lai's departments' own divisions (phòng, ban, trung tâm): (department, code suffix, name). They
# follow their department when it merges; the religious affairs board moves to the new Sở Dân tộc và Tôn giáo.
DIVISIONS = (
    ("STTTT", "CNTT", "Phòng Công nghệ thông tin"),
    ("STTTT", "TTCNTT", "Trung tâm Công nghệ thông tin và Truyền thông"),
    ("SKHDT", "DKKD", "Phòng Đăng ký kinh doanh"),
    ("STC", "QLNS", "Phòng Quản lý ngân sách"),
    ("SNV", "BTDKT", "Ban Thi đua - Khen thưởng"),
    ("SNV", "BTG", "Ban Tôn giáo"),
    ("SYT", "NVY", "Phòng Nghiệp vụ Y"),
)

# District-level units of Gia Lai before 1 July 2025, with some of their communes and wards.
DISTRICTS = (
    DistrictSpec(
        "PLEIKU",
        "Thành phố Pleiku",
        ("Phường Hội Thương", "Phường Diên Hồng", "Phường Yên Đỗ", "Xã Biển Hồ", "Xã Chư Á", "Xã Ia Kênh"),
        0.15,
    ),
    DistrictSpec("ANKHE", "Thị xã An Khê", ("Phường An Bình", "Phường Tây Sơn", "Xã Cửu An", "Xã Song An"), 0.15),
    DistrictSpec(
        "AYUNPA",
        "Thị xã Ayun Pa",
        ("Phường Cheo Reo", "Phường Đoàn Kết", "Xã Ia Rbol", "Xã Chư Băh"),
        0.45,
    ),
    DistrictSpec(
        "CHUPAH",
        "Huyện Chư Păh",
        ("Thị trấn Phú Hòa", "Xã Ia Ly", "Xã Hòa Phú", "Xã Nghĩa Hưng", "Xã Ia Nhin"),
        0.4,
    ),
    DistrictSpec(
        "CHUPRONG",
        "Huyện Chư Prông",
        ("Thị trấn Chư Prông", "Xã Ia Drang", "Xã Ia Piơr", "Xã Bàu Cạn", "Xã Ia Me"),
        0.45,
    ),
    DistrictSpec("CHUSE", "Huyện Chư Sê", ("Thị trấn Chư Sê", "Xã Ia Blang", "Xã Dun", "Xã Al Bá"), 0.35),
    DistrictSpec(
        "DAKDOA",
        "Huyện Đak Đoa",
        ("Thị trấn Đak Đoa", "Xã Glar", "Xã Hà Bầu", "Xã K'Dang", "Xã Nam Yang"),
        0.5,
    ),
    DistrictSpec("DAKPO", "Huyện Đak Pơ", ("Thị trấn Đak Pơ", "Xã Hà Tam", "Xã Yang Bắc"), 0.35),
    DistrictSpec("DUCCO", "Huyện Đức Cơ", ("Thị trấn Chư Ty", "Xã Ia Dơk", "Xã Ia Krêl", "Xã Ia Dom"), 0.5),
    DistrictSpec("IAGRAI", "Huyện Ia Grai", ("Thị trấn Ia Kha", "Xã Ia Sao", "Xã Ia Dêr", "Xã Ia Hrung"), 0.45),
    DistrictSpec("IAPA", "Huyện Ia Pa", ("Xã Ia Mrơn", "Xã Pờ Tó", "Xã Chư Răng", "Xã Kim Tân"), 0.7),
    DistrictSpec("KBANG", "Huyện Kbang", ("Thị trấn Kbang", "Xã Sơn Lang", "Xã Đak Rong", "Xã Kông Bơ La"), 0.45),
    DistrictSpec(
        "KONGCHRO",
        "Huyện Kông Chro",
        ("Thị trấn Kông Chro", "Xã Chư Krêy", "Xã Đak Song", "Xã Yang Trung"),
        0.65,
    ),
    DistrictSpec(
        "KRONGPA",
        "Huyện Krông Pa",
        ("Thị trấn Phú Túc", "Xã Ia Rsai", "Xã Chư Gu", "Xã Uar", "Xã Ia Mlăh"),
        0.7,
    ),
    DistrictSpec(
        "MANGYANG",
        "Huyện Mang Yang",
        ("Thị trấn Kon Dơng", "Xã Đak Yă", "Xã Lơ Pang", "Xã Kon Thụp"),
        0.55,
    ),
    DistrictSpec(
        "PHUTHIEN",
        "Huyện Phú Thiện",
        ("Thị trấn Phú Thiện", "Xã Ia Sol", "Xã Chrôh Pơnan", "Xã Ia Ake"),
        0.5,
    ),
    DistrictSpec("CHUPUH", "Huyện Chư Pưh", ("Thị trấn Nhơn Hòa", "Xã Ia Hrú", "Xã Ia Le", "Xã Ia Phang"), 0.45),
)

GIA_LAI = ProvinceSpec(
    root=UnitSpec("GL", "Ủy ban nhân dân tỉnh Gia Lai", "UBND tỉnh", "province", None),
    prefix="",
    office_name="Văn phòng Ủy ban nhân dân tỉnh",
    departments=DEPARTMENTS,
    districts=DISTRICTS,
    hall_location="Tầng 3, trụ sở UBND tỉnh, Pleiku",
    staff_prefix="GL",
)
ROOT = GIA_LAI.root
PROVINCES = (GIA_LAI, BINH_DINH)


def province_units(p: ProvinceSpec) -> list[UnitSpec]:
    """One province's tree, parents before children (Bình Định's root hangs under Gia Lai's)."""
    short = "VP UBND tỉnh" if not p.prefix else "VP UBND tỉnh Bình Định"
    out = [p.root, UnitSpec(p.office_code, p.office_name, short, "office", p.root.code)]
    out += [UnitSpec(p.code(code), name, short, "department", p.root.code) for code, name, short in p.departments]
    if p.root is GIA_LAI.root:
        out += [UnitSpec(f"{d}-{suffix}", name, name, "department", d) for d, suffix, name in DIVISIONS]
    for district in p.districts:
        out.append(UnitSpec(district.code, district.name, district.short_name, "district", p.root.code))
        for i, commune in enumerate(district.communes, start=1):
            out.append(UnitSpec(district.commune_code(i), commune, commune, "commune", district.code))
    return out


def units() -> list[UnitSpec]:
    """The whole tree of 2024, parents before children."""
    return [u for p in PROVINCES for u in province_units(p)]


def province_of(unit_code: str) -> ProvinceSpec:
    """The province a unit of 2024 belonged to."""
    return _PROVINCE_OF[unit_code]


_PROVINCE_OF = {u.code: p for p in PROVINCES for u in province_units(p)}


def domain_of(p: ProvinceSpec) -> str:
    return p.root.mail_domain or GIA_LAI_DOMAIN


def bridge_points() -> list[BridgePointSpec]:
    """Each province's hall (the host), its ICT department's meeting room and its districts' halls; Gia Lai's
    military command too. Gia Lai's 20 are those of its 2019 conference with the 17 districts."""
    points: list[BridgePointSpec] = []
    for p in PROVINCES:
        domain = domain_of(p)
        of = "" if not p.prefix else " Bình Định"
        points += [
            BridgePointSpec(
                f"Hội trường UBND tỉnh{of}",
                p.office_code,
                p.hall_location,
                200,
                "Màn hình LED 4x3 m; 2 camera PTZ; bàn trộn âm thanh 16 kênh",
                domain,
            ),
            BridgePointSpec(
                f"Phòng họp trực tuyến Sở TT&TT{of}",
                p.code("STTTT"),
                f"Trụ sở Sở Thông tin và Truyền thông{of}",
                40,
                "Màn hình 86 inch; camera hội nghị; micro cổ ngỗng",
                domain,
            ),
        ]
        if not p.prefix:
            points.append(
                BridgePointSpec(
                    "Bộ Chỉ huy Quân sự tỉnh",
                    p.office_code,
                    "Bộ Chỉ huy Quân sự tỉnh Gia Lai",
                    30,
                    "Thiết bị đầu cuối hội nghị truyền hình",
                    domain,
                )
            )
        for d in p.districts:
            points.append(
                BridgePointSpec(
                    f"Điểm cầu {d.short_name}",
                    d.code,
                    f"Hội trường UBND {d.name[0].lower()}{d.name[1:]}",
                    60,
                    "Màn hình 75 inch; camera hội nghị; loa hội trường",
                    domain,
                )
            )
    return points
