"""The departments (sở, ban) of both provinces before the mergers of 1 March 2025. Pure data.

Both had the same departments under the same codes. Bình Định named each after the province ("Sở Nội vụ tỉnh
Bình Định", short "SNV BĐ") and had a culture and sports department where Gia Lai's had tourism as well.
"""

from __future__ import annotations

from collections.abc import Mapping

# Gia Lai's: (code, name, short name).
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


def named_for(province: str, short: str, own: Mapping[str, tuple[str, str]]) -> tuple[tuple[str, str, str], ...]:
    """The departments as another province named them: "<name> tỉnh <province>", "<short name> <short>" (Gia
    Lai's own "tỉnh" dropped first), or its ``own`` (name, short name) before those words, by code."""
    named = []
    for code, name, short_name in DEPARTMENTS:
        name, short_name = own.get(code, (name.removesuffix(" tỉnh"), short_name.removesuffix(" tỉnh")))
        named.append((code, f"{name} tỉnh {province}", f"{short_name} {short}"))
    return tuple(named)
