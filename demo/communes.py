"""The commune-level units of the new Gia Lai from 1 July 2025: 135 (110 xã, 25 phường), each listed under the
district-level unit most of it came from, the commune at the old district seat first.

Names follow the National Assembly Standing Committee's resolutions of June 2025 where we know them (the
wards of Pleiku, Quy Nhơn, An Nhơn and Hoài Nhơn; the communes named after their old districts); where we
were unsure the name is a plausible one of the area. Pure data.
"""

from __future__ import annotations

from demo.specs import ascii_code

EFFECTIVE_2025 = "01/07/2025"

# Old district code suffix → the new communes and wards (seat first).
NEW_COMMUNES: dict[str, tuple[str, ...]] = {
    # Gia Lai: 8 wards, 69 communes
    "PLEIKU": (
        "Phường Pleiku",
        "Phường Hội Phú",
        "Phường Thống Nhất",
        "Phường Diên Hồng",
        "Phường An Phú",
        "Xã Biển Hồ",
        "Xã Gào",
    ),
    "ANKHE": ("Phường An Khê", "Phường An Bình", "Xã Cửu An"),
    "AYUNPA": ("Phường Ayun Pa", "Xã Ia Rbol", "Xã Ia Sao"),
    "CHUPAH": ("Xã Chư Păh", "Xã Ia Ly", "Xã Ia Khươl", "Xã Ia Phí", "Xã Ia Kreng"),
    "CHUPRONG": ("Xã Chư Prông", "Xã Bàu Cạn", "Xã Ia Boòng", "Xã Ia Lâu", "Xã Ia Pia", "Xã Ia Tôr"),
    "CHUSE": ("Xã Chư Sê", "Xã Bờ Ngoong", "Xã Ia Ko", "Xã Al Bá"),
    "CHUPUH": ("Xã Chư Pưh", "Xã Ia Hrú", "Xã Ia Le"),
    "DAKDOA": ("Xã Đak Đoa", "Xã Kon Gang", "Xã Ia Băng", "Xã K'Dang", "Xã Đak Sơmei"),
    "DAKPO": ("Xã Đak Pơ", "Xã Ya Hội"),
    "DUCCO": ("Xã Đức Cơ", "Xã Ia Dơk", "Xã Ia Krêl", "Xã Ia Dom", "Xã Ia Nan", "Xã Ia Pnôn"),
    "IAGRAI": ("Xã Ia Grai", "Xã Ia Krái", "Xã Ia Hrung", "Xã Ia Chia"),
    "IAPA": ("Xã Ia Pa", "Xã Pờ Tó", "Xã Ia Tul", "Xã Chư Mố"),
    "KBANG": ("Xã Kbang", "Xã Kông Bơ La", "Xã Tơ Tung", "Xã Sơn Lang", "Xã Đak Rong", "Xã Krong"),
    "KONGCHRO": ("Xã Kông Chro", "Xã Ya Ma", "Xã Chư Krêy", "Xã SRó", "Xã Đak Song", "Xã Chơ Long"),
    "KRONGPA": ("Xã Phú Túc", "Xã Ia Rsai", "Xã Uar", "Xã Ia Dreh", "Xã Krông Pa"),
    "MANGYANG": ("Xã Mang Yang", "Xã Lơ Pang", "Xã Kon Chiêng", "Xã Hra", "Xã Ayun"),
    "PHUTHIEN": ("Xã Phú Thiện", "Xã Chư A Thai", "Xã Ia Hiao"),
    # Bình Định: 17 wards, 41 communes
    "QUYNHON": (
        "Phường Quy Nhơn",
        "Phường Quy Nhơn Đông",
        "Phường Quy Nhơn Tây",
        "Phường Quy Nhơn Nam",
        "Phường Quy Nhơn Bắc",
        "Xã Nhơn Châu",
    ),
    "ANNHON": (
        "Phường An Nhơn",
        "Phường Bình Định",
        "Phường An Nhơn Đông",
        "Phường An Nhơn Nam",
        "Phường An Nhơn Bắc",
        "Xã An Nhơn Tây",
    ),
    "HOAINHON": (
        "Phường Hoài Nhơn",
        "Phường Bồng Sơn",
        "Phường Tam Quan",
        "Phường Hoài Nhơn Đông",
        "Phường Hoài Nhơn Tây",
        "Phường Hoài Nhơn Nam",
        "Phường Hoài Nhơn Bắc",
    ),
    "TUYPHUOC": ("Xã Tuy Phước", "Xã Tuy Phước Đông", "Xã Tuy Phước Tây", "Xã Tuy Phước Bắc"),
    "PHUCAT": ("Xã Phù Cát", "Xã Xuân An", "Xã Ngô Mây", "Xã Cát Tiến", "Xã Đề Gi", "Xã Hòa Hội", "Xã Hội Sơn"),
    "PHUMY": (
        "Xã Phù Mỹ",
        "Xã An Lương",
        "Xã Bình Dương",
        "Xã Phù Mỹ Đông",
        "Xã Phù Mỹ Tây",
        "Xã Phù Mỹ Nam",
        "Xã Phù Mỹ Bắc",
    ),
    "HOAIAN": ("Xã Hoài Ân", "Xã Ân Hảo", "Xã Ân Tường", "Xã Kim Sơn", "Xã Vạn Đức"),
    "ANLAO": ("Xã An Lão", "Xã An Vinh", "Xã An Toàn", "Xã An Hòa"),
    "VINHTHANH": ("Xã Vĩnh Thạnh", "Xã Vĩnh Thịnh", "Xã Vĩnh Quang", "Xã Vĩnh Sơn"),
    "TAYSON": ("Xã Tây Sơn", "Xã Bình Khê", "Xã Bình Phú", "Xã Bình Hiệp", "Xã Bình An"),
    "VANCANH": ("Xã Vân Canh", "Xã Canh Vinh", "Xã Canh Liên"),
}


def is_ward(name: str) -> bool:
    return name.startswith("Phường ")


def new_code(name: str) -> str:
    """``Phường Quy Nhơn Đông`` → ``PH-QUYNHONDONG``, ``Xã Ia Pa`` → ``XA-IAPA``."""
    return ("PH-" if is_ward(name) else "XA-") + ascii_code(name)


def seat(district_suffix: str) -> str:
    """The code of the commune or ward at the old district's seat."""
    return new_code(NEW_COMMUNES[district_suffix][0])


def successor_of_old_commune(district_suffix: str, old_name: str, index: int) -> str:
    """Where an old commune or ward went: the new one of the same name if there is one, a township (thị trấn)
    to the seat, the others in turn to the district's new communes."""
    new = NEW_COMMUNES[district_suffix]
    bare = old_name.split(" ", 1)[1] if old_name.startswith(("Xã ", "Phường ")) else ""
    for name in new:
        if bare and name.split(" ", 1)[1] == bare:
            return new_code(name)
    if old_name.startswith("Thị trấn"):
        return new_code(new[0])
    return new_code(new[index % len(new)])
