"""DejaVu fonts for PDFs that must carry every Vietnamese diacritic (Debian's fonts-dejavu-core)."""

from __future__ import annotations

from pathlib import Path

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


def sans() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) once; returns their names for ReportLab."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    names = ("CongvuSans", "CongvuSans-Bold")
    if names[0] in pdfmetrics.getRegisteredFontNames():
        return names
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            pdfmetrics.registerFont(TTFont(names[0], str(regular)))
            pdfmetrics.registerFont(TTFont(names[1], str(bold if bold.is_file() else regular)))
            return names
    raise RuntimeError("DejaVu Sans is missing: install the Debian package fonts-dejavu-core")
