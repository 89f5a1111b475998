"""The hand-drawn (reportlab vector) trend chart of the comparison section."""

from __future__ import annotations

import math
from typing import Any

from ovcf_viewer.report.formatting import _num
from ovcf_viewer.report.styles import _INK, _MUTED, _RULE, FONT, FONT_BOLD, FONT_ITALIC, _color


def _trend_drawing(trend: Any, width: float, height: float) -> Any:
    """Two vector panels: treated-level heights as % of reference (left) and kyphosis
    (right) per timepoint. Lines differ by dash pattern and marker, not colour alone, so the
    chart reads on a black-and-white printout."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String

    drawing = Drawing(width, height)
    points = trend.points
    n = len(points)
    gap = 26.0
    panel_w = (width - gap) / 2

    def panel(x0: float, title: str, series: list[tuple[str, list[float | None], Any, Any]],
              unit: str, lo_hi: tuple[float, float] | None) -> None:
        top, bottom, left, right = height - 14, 30.0, x0 + 30, x0 + panel_w - 6
        drawing.add(String(x0, height - 8, title, fontName=FONT_BOLD, fontSize=7.6,
                           fillColor=_color(_INK)))
        values = [v for _l, vs, _c, _d in series for v in vs if v is not None]
        if not values:
            drawing.add(String(left, (top + bottom) / 2, "not measurable on these films",
                               fontName=FONT_ITALIC, fontSize=7, fillColor=_color(_MUTED)))
            return
        lo, hi = (min(values), max(values)) if lo_hi is None else lo_hi
        lo, hi = min(lo, min(values)), max(hi, max(values))
        pad = max((hi - lo) * 0.12, 2.0)
        lo, hi = lo - pad, hi + pad
        step = _nice_step((hi - lo) / 4)
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step
        drawing.add(Rect(left, bottom, right - left, top - bottom, strokeColor=_color(_RULE),
                         strokeWidth=0.5, fillColor=None))

        def y_of(v: float) -> float:
            return bottom + (v - lo) / (hi - lo) * (top - bottom)

        def x_of(i: int) -> float:
            return left + (i + 0.5) * (right - left) / max(n, 1)

        tick = lo
        while tick <= hi + 1e-9:
            y = y_of(tick)
            drawing.add(Line(left, y, right, y, strokeColor=_color(_RULE), strokeWidth=0.25))
            drawing.add(String(left - 3, y - 2.3, _num(tick, 0) + unit, fontName=FONT,
                               fontSize=6.2, fillColor=_color(_MUTED), textAnchor="end"))
            tick += step
        if unit == "%" and lo < 100 < hi:
            drawing.add(Line(left, y_of(100), right, y_of(100), strokeColor=_color(_MUTED),
                             strokeWidth=0.6))
        for i, point in enumerate(points):
            label = point.label.split(" (")[0]
            label = {"Pre-operative": "Pre-op", "Post-operative": "Post-op"}.get(label, label)
            drawing.add(String(x_of(i), bottom - 9, label, fontName=FONT, fontSize=6.4,
                               fillColor=_color(_INK), textAnchor="middle"))
            if point.days_from_procedure is not None and point.kind != "preop":
                drawing.add(String(x_of(i), bottom - 17, f"day {point.days_from_procedure}",
                                   fontName=FONT, fontSize=5.8, fillColor=_color(_MUTED),
                                   textAnchor="middle"))
        legend_x = left
        for label, vs, colour, dash in series:
            coords = [(x_of(i), y_of(v)) for i, v in enumerate(vs) if v is not None]
            if len(coords) >= 2:
                drawing.add(PolyLine([c for xy in coords for c in xy], strokeColor=colour,
                                     strokeWidth=1.1, strokeDashArray=dash))
            known = [v for v in vs if v is not None]
            for j, ((x, y), v) in enumerate(zip(coords, known, strict=True)):
                drawing.add(Circle(x, y, 1.8, fillColor=colour, strokeColor=None))
                # label on the side the outgoing line does not take (below when it rises)
                rises = j + 1 < len(coords) and coords[j + 1][1] > y + 0.5
                dy = -8.0 if rises else 2.5
                drawing.add(String(x + 3.5, y + dy, _num(v, 1 if unit == "°" else 0) + unit,
                                   fontName=FONT,
                                   fontSize=5.6, fillColor=colour))
            drawing.add(Line(legend_x, 4, legend_x + 12, 4, strokeColor=colour,
                             strokeWidth=1.1, strokeDashArray=dash))
            drawing.add(String(legend_x + 15, 2, label, fontName=FONT, fontSize=6.2,
                               fillColor=_color(_INK)))
            legend_x += 22 + len(label) * 3.4

    palette = [(_color((0.12, 0.35, 0.62)), None), (_color((0.80, 0.42, 0.05)), [3, 2]),
               (_color((0.25, 0.55, 0.30)), [1, 1.6]), (_color((0.45, 0.2, 0.5)), [5, 2, 1, 2])]
    height_series = []
    for level in trend.treated_levels:
        for j, key in enumerate(("a", "m", "p")):
            values = list(trend.heights_pct.get(level, {}).get(key, ()))
            if values:
                colour, dash = palette[j % len(palette)]
                height_series.append((f"{level} H{key}", values, colour, dash))
    panel(0.0, "Height, % of reference", height_series, "%", (80.0, 100.0))
    kyph_series = []
    for j, level in enumerate(trend.treated_levels):
        values = list(trend.kyphosis_deg.get(level, ()))
        colour, dash = palette[j % len(palette)]
        kyph_series.append((f"{level} kyphosis", values, colour, dash))
    panel(panel_w + gap, "Kyphosis (°)", kyph_series, "°", None)
    return drawing


def _nice_step(raw: float) -> float:
    if raw <= 0:
        return 1.0
    exponent = math.floor(math.log10(raw))
    base = 10**exponent
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * base:
            return m * base
    return 10 * base
