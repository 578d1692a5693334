"""The report's charts, drawn in the PDF with reportlab's graphics (vectors, the document's font; no network,
no image files): the province's shares this month against last month, and the regular-use share per unit."""

from __future__ import annotations

from typing import Any

from audit.formatting import Formats

BLUE = "#1f5f99"
LIGHT = "#9cc3e6"
MAX_UNITS = 45  # bars in the per-unit chart: the largest units when there are more


def province_chart(data: dict[str, Any], width: float, font: str, formats: Formats) -> Any:
    """Grouped bars: active, regular and engaged shares of the province, last month and this month."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors

    height = 170.0
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 46, 30, width - 190, height - 46
    keys = ("active", "regular", "engaged")
    chart.data = [
        [100 * (data["province_previous"].get(f"{k}_share") or 0) for k in keys],
        [100 * (data["province"].get(f"{k}_share") or 0) for k in keys],
    ]
    chart.categoryAxis.categoryNames = ["Hoạt động", "Thường xuyên", "Có gửi thư"]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 25
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = lambda v: formats.percent(v / 100, decimals=0)
    chart.bars[0].fillColor = colors.HexColor(LIGHT)
    chart.bars[1].fillColor = colors.HexColor(BLUE)
    chart.barLabelFormat = lambda v: formats.percent(v / 100)
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6.5
    chart.barLabels.nudge = 6
    chart.groupSpacing = 12
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 130, height - 30
    legend.fontName, legend.fontSize = font, 8
    legend.colorNamePairs = [
        (colors.HexColor(LIGHT), f"Tháng {formats.month(data['previous_month'])}"),
        (colors.HexColor(BLUE), f"Tháng {formats.month(data['month'])}"),
    ]
    drawing.add(legend)
    return drawing


def chart_units(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The units directly under the province that count mailboxes, highest regular-use share first."""
    units = [u for u in data["units"] if u["depth"] == 1 and u["subtree"]["counted"]]
    if len(units) > MAX_UNITS:
        units = sorted(units, key=lambda u: -u["subtree"]["counted"])[:MAX_UNITS]
    return sorted(units, key=lambda u: (-(u["subtree"]["regular_share"] or 0), u["name"]))


def units_chart(units: list[dict[str, Any]], width: float, font: str, formats: Formats) -> Any:
    """Horizontal bars: each unit's regular-use share (its subtree), the share printed at the bar's end."""
    from reportlab.graphics.charts.barcharts import HorizontalBarChart
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib import colors
    from reportlab.pdfbase.pdfmetrics import stringWidth

    size = 6.5
    names = [_short(u["name"]) for u in units]
    label_width = min(max((stringWidth(n, font, size) for n in names), default=0) + 8, width * 0.45)
    row = 11.0
    height = 28 + row * max(len(units), 1)
    drawing = Drawing(width, height)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 18
    chart.width, chart.height = width - label_width - 40, height - 24
    chart.data = [[100 * (u["subtree"]["regular_share"] or 0) for u in reversed(units)]]
    chart.categoryAxis.categoryNames = list(reversed(names))
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = size
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 20
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = size
    chart.valueAxis.labelTextFormat = lambda v: formats.percent(v / 100, decimals=0)
    chart.bars[0].fillColor = colors.HexColor(BLUE)
    chart.barLabelFormat = lambda v: formats.percent(v / 100)
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = size
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    return drawing


def _short(name: str, limit: int = 48) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
