"""A demo province modelled on Gia Lai: its units and bridge points. Pure data.

The 17 district-level units are Gia Lai's before the 2025 reorganisation, each with some of its communes and
wards and the share of Jrai and Bahnar names among its staff (``demo.staff`` draws the people).
"""

from __future__ import annotations

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


def district_code(suffix: str) -> str:
    return f"H-{suffix}"


def commune_code(district: str, index: int) -> str:
    return f"X-{district}-{index:02d}"


def units() -> list[UnitSpec]:
    """The tree, parents before children."""
    out = [ROOT, OFFICE]
    out += [UnitSpec(code, name, short, "department", ROOT.code) for code, name, short in DEPARTMENTS]
    for suffix, name, short, communes, _share in DISTRICTS:
        code = district_code(suffix)
        out.append(UnitSpec(code, name, short, "district", ROOT.code))
        for i, commune in enumerate(communes, start=1):
            out.append(UnitSpec(commune_code(suffix, i), commune, commune, "commune", code))
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
                district_code(suffix),
                f"Hội trường UBND {name.lower()}",
                60,
                "Màn hình 75 inch; camera hội nghị; loa hội trường",
            )
        )
    return points
