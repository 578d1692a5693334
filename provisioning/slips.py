"""Credential slips: a printable A4 PDF per unit with one slip per person — full name, address, one-time
password, where and how to sign in — and cut marks between slips. Kept encrypted until it is downloaded
once, then its content is deleted; the passwords appear nowhere else."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class CredentialSlip(Base):
    __tablename__ = "credential_slips"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    unit_name: Mapped[str] = mapped_column(String(200))
    people: Mapped[int] = mapped_column(default=0)
    actor: Mapped[str] = mapped_column(String(300))
    # The PDF, encrypted with the instance's key; emptied when downloaded.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    downloaded_at: Mapped[dt.datetime | None] = mapped_column()

    def __repr__(self) -> str:
        return f"<CredentialSlip {self.id} {self.unit_name!r} people={self.people}>"


@dataclass(frozen=True)
class SlipPerson:
    name: str
    email: str
    password: str


@dataclass(frozen=True)
class SignInHelp:
    """Where people sign in, from configuration (CONGVU_WEBMAIL_URL, CONGVU_MAIL_CLIENT_IMAP/SMTP)."""

    webmail: str
    imap: str
    smtp: str
    province: str


SLIPS_PER_PAGE = 4


def render_slips(unit_name: str, people: list[SlipPerson], help_: SignInHelp, issued: dt.date) -> bytes:
    """The PDF: four slips per A4 page, dashed cut lines between them."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from core.pdf_fonts import sans

    regular, bold = sans()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"Phiếu tài khoản thư điện tử – {unit_name}")
    width, height = A4
    slip_h = height / SLIPS_PER_PAGE
    margin = 42
    for i, person in enumerate(people):
        slot = i % SLIPS_PER_PAGE
        if i and slot == 0:
            pdf.showPage()
        top = height - slot * slip_h
        if slot:
            pdf.setDash(4, 3)
            pdf.setLineWidth(0.5)
            pdf.line(12, top, width - 12, top)
            pdf.setDash()
            pdf.setFont(regular, 7)
            pdf.drawString(14, top + 2, "✂")
        y = top - 34
        pdf.setFont(bold, 11)
        pdf.drawString(margin, y, f"PHIẾU TÀI KHOẢN THƯ ĐIỆN TỬ CÔNG VỤ – {help_.province.upper()}")
        pdf.setFont(regular, 9)
        pdf.drawRightString(width - margin, y, f"{unit_name} · cấp ngày {issued:%d/%m/%Y}")
        rows = [
            ("Họ và tên", person.name, bold),
            ("Địa chỉ thư", person.email, bold),
            ("Mật khẩu dùng một lần", person.password, bold),
            ("Thư điện tử trên web", help_.webmail, regular),
            ("Máy chủ nhận thư (IMAP)", help_.imap, regular),
            ("Máy chủ gửi thư (SMTP)", help_.smtp, regular),
        ]
        y -= 24
        for label, value, font in rows:
            pdf.setFont(regular, 10)
            pdf.drawString(margin, y, label + ":")
            pdf.setFont(font, 12 if font == bold else 10)
            pdf.drawString(margin + 150, y, value)
            y -= 18
        pdf.setFont(regular, 8.5)
        pdf.drawString(
            margin, y - 4, "Đổi mật khẩu ngay ở lần đăng nhập đầu tiên. Không chia sẻ phiếu này; hủy phiếu sau khi đổi."
        )
    pdf.showPage()
    pdf.save()
    return out.getvalue()
