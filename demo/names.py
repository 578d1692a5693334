"""Realistic names for the demo staff: Kinh names (family, middle, given) and Jrai and Bahnar names of the
Central Highlands, with apostrophes, one-letter parts and two-word family names. Deterministic for an RNG.
"""

from __future__ import annotations

import random

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


def weighted(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


def kinh_name(rng: random.Random) -> str:
    family = weighted(rng, KINH_FAMILY)
    if rng.random() < 0.5:
        middle, given = rng.choice(MALE_MIDDLE), rng.choice(MALE_GIVEN)
    else:
        middle, given = rng.choice(FEMALE_MIDDLE), rng.choice(FEMALE_GIVEN)
    if rng.random() < 0.2:  # four-part names ("Trần Thị Minh Khai")
        middle += " " + rng.choice(("Minh", "Ngọc", "Thanh", "Bảo", "Hoài", "Quốc"))
    return f"{family} {middle} {given}"


def highlands_name(rng: random.Random) -> str:
    family = rng.choice(HIGHLANDS_FAMILY)
    if rng.random() < 0.5:
        prefix = rng.choice(HIGHLANDS_MALE_PREFIX)
        given = rng.choice(HIGHLANDS_MALE)
        return " ".join(p for p in (family, prefix, given) if p)
    return f"{family} {rng.choice(HIGHLANDS_FEMALE)}"


def phone(rng: random.Random) -> str:
    prefix = rng.choice(("090", "091", "093", "094", "097", "098", "032", "033", "034", "035", "086", "088"))
    return prefix + "".join(str(rng.randint(0, 9)) for _ in range(7))
