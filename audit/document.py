"""What the report's PDF needs to be a Vietnamese administrative report (Decree 30/2020/NĐ-CP, Appendix I):
the issuing body and its superior, number and symbol, place and date, who receives it and who signs it. All of it
comes from configuration (``CONGVU_REPORT_*``); the date is the day the snapshot was generated. Also the labels
and definitions of the report's figures that every export prints (the tree of the month and the comparison
across a reorganisation among them)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from audit.definitions import COMPARISON_VI, TREE_VI
from config import Settings

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
DOCUMENT_TYPE = "BC"  # báo cáo
MEASURE_LABELS = (
    ("counted", "Hộp thư tính"),
    ("active", "Hoạt động"),
    ("regular", "Thường xuyên"),
    ("engaged", "Có gửi thư"),
)
MEETING_DEFINITIONS = (
    (
        "Cuộc họp chủ trì",
        "Cuộc họp do điểm cầu của đơn vị (gồm đơn vị trực thuộc) chủ trì, bắt đầu trong tháng, không tính cuộc "
        "họp đã hủy.",
    ),
    (
        "Cuộc họp tham gia",
        "Cuộc họp có ít nhất một điểm cầu của đơn vị trong danh sách điểm cầu (kể cả điểm chủ trì); một cuộc họp "
        "có nhiều điểm cầu của các đơn vị trực thuộc chỉ tính một lần cho đơn vị cấp trên.",
    ),
    (
        "Điểm cầu kế hoạch / tham dự",
        "Lượt điểm cầu của đơn vị có trong cuộc họp, và lượt đã tham dự: Jitsi ghi nhận điểm cầu kết nối, hoặc "
        "thư ký điểm danh có mặt; điểm cầu được điểm danh vắng không tính.",
    ),
    (
        "Phút tham dự",
        "Số phút Jitsi ghi nhận các điểm cầu tham dự của đơn vị đã kết nối (các lần kết nối của một điểm cầu "
        "được gộp).",
    ),
    (
        "Tỷ lệ và thay đổi",
        "Tỷ lệ là phần trăm trên số hộp thư tính, làm tròn một chữ số thập phân; thay đổi là tỷ lệ thường xuyên "
        "tháng này trừ tháng trước, tính bằng điểm phần trăm.",
    ),
    # Not about meetings, but printed with these notes by the PDF and every export (audit.definitions).
    ("Cây đơn vị", TREE_VI),
    ("So sánh giữa các tháng", COMPARISON_VI),
)


def split_lines(text: str) -> list[str]:
    """A setting holding several lines: one per line or separated by ';' (for an environment variable)."""
    return [part.strip() for part in re.split(r"[;\n]", text) if part.strip()]


@dataclass(frozen=True)
class ReportDocument:
    """The administrative frame around the report's figures."""

    issuer: str = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
    superior: str = "UBND TỈNH GIA LAI"
    symbol: str = "SKHCN"
    number: str = ""
    place: str = "Gia Lai"
    recipients: tuple[str, ...] = ()
    signer_title: tuple[str, ...] = ("GIÁM ĐỐC",)
    signer_name: str = ""
    issued_on: dt.date = field(default_factory=dt.date.today)
    locale: str = "vi"

    @property
    def number_line(self) -> str:
        """``Số: 12/BC-SKHCN``; without a number, room for the clerk who registers the document to write it."""
        number = self.number.strip() or "\u00a0" * 6
        symbol = f"{DOCUMENT_TYPE}-{self.symbol.strip()}" if self.symbol.strip() else DOCUMENT_TYPE
        return f"Số: {number}/{symbol}"

    @property
    def place_and_date(self) -> str:
        """``Gia Lai, ngày 01 tháng 12 năm 2026``: days below 10 and the months 1 and 2 take a leading zero."""
        day = self.issued_on
        month = f"{day.month:02d}" if day.month < 3 else str(day.month)
        return f"{self.place}, ngày {day.day:02d} tháng {month} năm {day.year}"

    def recipient_lines(self) -> list[str]:
        """The "Nơi nhận" list as printed: ``- UBND tỉnh;`` … the last item closed by a full stop."""
        items = [r.rstrip(";.") for r in self.recipients]
        return [f"- {item}{'.' if i == len(items) - 1 else ';'}" for i, item in enumerate(items)]


def document_from(settings: Settings, issued_on: dt.date) -> ReportDocument:
    """The document frame as configured, dated ``issued_on``."""
    return ReportDocument(
        issuer=settings.report_issuer.strip(),
        superior=settings.report_superior.strip(),
        symbol=settings.report_symbol.strip(),
        number=settings.report_number.strip(),
        place=settings.report_place.strip() or settings.province_name,
        recipients=tuple(split_lines(settings.report_recipients_text)),
        signer_title=tuple(split_lines(settings.report_signer_title)),
        signer_name=settings.report_signer_name.strip(),
        issued_on=issued_on,
        locale=settings.default_locale,
    )
