"""The frame of the report's PDF as Decree 30/2020/NĐ-CP sets out an administrative report (Appendix I): A4
portrait with the decree's margins (top and bottom 20 mm, left 30 mm, right 15 mm); top left the superior body,
the issuing body and ``Số: …/BC-…``; top right the national title and motto and, in italics, place and date; at
the foot "Nơi nhận" on the left and the signer's position and name on the right. Set in DejaVu Serif (Debian's
fonts-dejavu-core; italics from fonts-dejavu-extra, upright without it) for every Vietnamese diacritic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.document import MOTTO, NATIONAL_TITLE, ReportDocument

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FAMILY = "CongvuSerif"
MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MARGINS = {"top": 20 * MM, "bottom": 20 * MM, "left": 30 * MM, "right": 15 * MM}
FRAME_WIDTH = PAGE_WIDTH - MARGINS["left"] - MARGINS["right"]


def fonts() -> dict[str, str]:
    """Register DejaVu Serif (regular, bold, italic, bold italic; an italic missing falls back to upright)."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = {"regular": FAMILY, "bold": f"{FAMILY}-Bold", "italic": f"{FAMILY}-Italic", "bolditalic": f"{FAMILY}-BI"}
    if FAMILY in pdfmetrics.getRegisteredFontNames():
        return names
    for folder in FONT_DIRS:
        files = {
            "regular": folder / "DejaVuSerif.ttf",
            "bold": folder / "DejaVuSerif-Bold.ttf",
            "italic": folder / "DejaVuSerif-Italic.ttf",
            "bolditalic": folder / "DejaVuSerif-BoldItalic.ttf",
        }
        if not files["regular"].is_file():
            continue
        upright = {"regular": "regular", "bold": "bold", "italic": "regular", "bolditalic": "bold"}
        for style in ("regular", "bold", "italic", "bolditalic"):
            path = next(p for p in (files[style], files[upright[style]], files["regular"]) if p.is_file())
            pdfmetrics.registerFont(TTFont(names[style], str(path)))
        for bold, italic, style in ((0, 0, "regular"), (1, 0, "bold"), (0, 1, "italic"), (1, 1, "bolditalic")):
            addMapping(FAMILY, bold, italic, names[style])
        return names
    raise RuntimeError("DejaVu Serif not found (Debian package fonts-dejavu-core): the PDF needs it for Vietnamese")


def fit_size(text: str, font: str, width: float, largest: float, smallest: float) -> float:
    """The largest type size (in 0.25 pt steps) at which ``text`` stays on one line of ``width``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    size = largest
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.25
    return size


def styles(f: dict[str, str]) -> dict[str, Any]:
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.styles import ParagraphStyle

    def style(name: str, font: str = f["regular"], size: float = 12, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=kw.pop("leading", size * 1.3), **kw)

    return {
        "body": style("body", alignment=TA_JUSTIFY, firstLineIndent=10 * MM, spaceAfter=4),
        "item": style("item", alignment=TA_JUSTIFY, leftIndent=5 * MM, spaceAfter=2, size=11),
        "heading": style("heading", f["bold"], spaceBefore=8, spaceAfter=4),
        "title": style("title", f["bold"], 14, alignment=TA_CENTER, spaceBefore=16),
        "subtitle": style("subtitle", f["bold"], 13, alignment=TA_CENTER, spaceAfter=2),
        "caption": style("caption", f["italic"], 10, alignment=TA_CENTER, spaceBefore=2, spaceAfter=6),
        "center": style("center", alignment=TA_CENTER),
        "small": style("small", size=11),
        "cell": style("cell", size=7.5),
        "head_cell": style("head_cell", f["bold"], 7.5, alignment=TA_CENTER),
    }


def heading(doc: ReportDocument, f: dict[str, str], st: dict[str, Any]) -> list[Any]:
    """The two-column block above the title: bodies and number on the left, title, motto, place and date right."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph, Table, TableStyle
    from reportlab.platypus.flowables import HRFlowable

    left_w, right_w = 68 * MM, FRAME_WIDTH - 68 * MM

    def line(text: str, font: str, largest: float, width: float, smallest: float = 10) -> Paragraph:
        size = fit_size(text, font, width - 4, largest, smallest)
        return Paragraph(
            escape(text),
            ParagraphStyle(text[:20], fontName=font, fontSize=size, leading=size * 1.25, alignment=TA_CENTER),
        )

    issuer = doc.issuer.upper()
    left = [line(doc.superior.upper(), f["regular"], 12.5, left_w), line(issuer, f["bold"], 12.5, left_w)]
    left.append(
        HRFlowable(
            width=min(stringWidth(issuer, f["bold"], 12) * 0.4, 30 * MM), thickness=0.6, spaceBefore=3, color="black"
        )
    )
    motto_size = 13.0
    right = [
        line(NATIONAL_TITLE, f["bold"], 12.5, right_w, 9),
        line(MOTTO, f["bold"], motto_size, right_w),
        HRFlowable(width=stringWidth(MOTTO, f["bold"], motto_size), thickness=0.6, spaceBefore=1, color="black"),
    ]
    number = Paragraph(escape(doc.number_line), st["center"])
    when = Paragraph(escape(doc.place_and_date), ParagraphStyle("when", parent=st["center"], fontName=f["italic"]))
    table = Table([[left, right], [number, when]], colWidths=[left_w, right_w])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),
                ("TOPPADDING", (0, 1), (-1, 1), 8),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, -1), 6),
            ]
        )
    )
    return [table]


def closing(doc: ReportDocument, f: dict[str, str], st: dict[str, Any]) -> Any:
    """ "Nơi nhận" on the left; the signer's position, room for the signature and seal, and name on the right."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

    small = ParagraphStyle("recipient", parent=st["small"], fontSize=10.5, leading=13)
    left: list[Any] = [Paragraph("Nơi nhận:", ParagraphStyle("to", parent=st["small"], fontName=f["bolditalic"]))]
    left += [Paragraph(escape(item), small) for item in doc.recipient_lines()]
    signer = ParagraphStyle("signer", parent=st["center"], fontName=f["bold"])
    right: list[Any] = [Paragraph(escape(t.upper()), signer) for t in doc.signer_title]
    right += [Spacer(1, 24 * MM), Paragraph(escape(doc.signer_name), signer)]
    table = Table([[left, right]], colWidths=[FRAME_WIDTH * 0.5, FRAME_WIDTH * 0.5])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([Spacer(1, 8 * MM), table])


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
