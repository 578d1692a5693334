"""Bình Định before 1 July 2025, hosted in the same installation as Gia Lai: its own mail domain, its
departments of before the March 2025 mergers and its 11 district-level units (Quy Nhơn city; An Nhơn and Hoài
Nhơn towns; Tuy Phước, Phù Cát, Phù Mỹ, Hoài Ân, An Lão, Vĩnh Thạnh, Tây Sơn, Vân Canh districts), each with
some of its communes and wards of then. Pure data."""

from __future__ import annotations

from demo.departments import named_for
from demo.specs import DistrictSpec, ProvinceSpec, UnitSpec

BINH_DINH_DOMAIN = "binhdinh.gov.vn"

# Bình Định had a Sở Du lịch of its own, so its culture department was culture and sports only.
DEPARTMENTS = named_for("Bình Định", "BĐ", {"SVHTTDL": ("Sở Văn hóa và Thể thao", "SVH&TT")})

DISTRICTS = (
    DistrictSpec(
        "QUYNHON",
        "Thành phố Quy Nhơn",
        ("Phường Lê Lợi", "Phường Trần Phú", "Phường Ghềnh Ráng", "Phường Nhơn Bình", "Xã Nhơn Châu"),
        0.02,
    ),
    DistrictSpec(
        "ANNHON",
        "Thị xã An Nhơn",
        ("Phường Bình Định", "Phường Đập Đá", "Xã Nhơn Hậu", "Xã Nhơn Lộc"),
        0.02,
    ),
    DistrictSpec(
        "HOAINHON",
        "Thị xã Hoài Nhơn",
        ("Phường Bồng Sơn", "Phường Tam Quan", "Phường Hoài Thanh", "Xã Hoài Sơn"),
        0.02,
    ),
    DistrictSpec(
        "TUYPHUOC",
        "Huyện Tuy Phước",
        ("Thị trấn Tuy Phước", "Thị trấn Diêu Trì", "Xã Phước Sơn", "Xã Phước Hòa"),
        0.02,
    ),
    DistrictSpec("PHUCAT", "Huyện Phù Cát", ("Thị trấn Ngô Mây", "Xã Cát Tiến", "Xã Cát Hanh", "Xã Cát Sơn"), 0.02),
    DistrictSpec(
        "PHUMY",
        "Huyện Phù Mỹ",
        ("Thị trấn Phù Mỹ", "Thị trấn Bình Dương", "Xã Mỹ Chánh", "Xã Mỹ Hiệp"),
        0.02,
    ),
    DistrictSpec(
        "HOAIAN",
        "Huyện Hoài Ân",
        ("Thị trấn Tăng Bạt Hổ", "Xã Ân Hảo Tây", "Xã Ân Tường Đông", "Xã Đak Mang"),
        0.1,
    ),
    DistrictSpec("ANLAO", "Huyện An Lão", ("Thị trấn An Lão", "Xã An Hòa", "Xã An Vinh", "Xã An Toàn"), 0.4),
    DistrictSpec(
        "VINHTHANH",
        "Huyện Vĩnh Thạnh",
        ("Thị trấn Vĩnh Thạnh", "Xã Vĩnh Sơn", "Xã Vĩnh Kim", "Xã Vĩnh Quang"),
        0.4,
    ),
    DistrictSpec(
        "TAYSON",
        "Huyện Tây Sơn",
        ("Thị trấn Phú Phong", "Xã Bình Tường", "Xã Tây Giang", "Xã Bình Nghi"),
        0.03,
    ),
    DistrictSpec(
        "VANCANH",
        "Huyện Vân Canh",
        ("Thị trấn Vân Canh", "Xã Canh Thuận", "Xã Canh Hiệp", "Xã Canh Liên"),
        0.45,
    ),
)

BINH_DINH = ProvinceSpec(
    root=UnitSpec("BD", "Ủy ban nhân dân tỉnh Bình Định", "UBND tỉnh Bình Định", "province", "GL", BINH_DINH_DOMAIN),
    prefix="BD-",
    office_name="Văn phòng Ủy ban nhân dân tỉnh Bình Định",
    departments=DEPARTMENTS,
    districts=DISTRICTS,
    hall_location="Trụ sở UBND tỉnh Bình Định, 01 Trần Phú, Quy Nhơn",
    staff_prefix="BD",
)
