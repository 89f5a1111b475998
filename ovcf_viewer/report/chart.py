"""The comparison section's trend chart: the one trend figure (:mod:`ovcf_viewer.render.trend`,
the same drawing as the case window's) embedded as vector graphics.

matplotlib writes the figure as SVG with text as paths; svglib turns that SVG into a reportlab
``Drawing``, which reportlab writes as PDF paths. Vector rather than a 300-dpi PNG: the
chart stays sharp at any zoom and in print, the PDF stays small, and the report's check
that only film crops are raster images keeps holding.
"""

from __future__ import annotations

from typing import Any

from ovcf_viewer.measure.measurements import DEFORMITY_PCT
from ovcf_viewer.render.trend import trend_svg

_POINTS_PER_INCH = 72.0


def _trend_drawing(trend: Any, width: float, height: float, variability_deg: float = 5.0) -> Any:
    """The trend figure for ``trend`` (a :class:`~ovcf_viewer.measure.comparison.TrendSeries`)
    as a reportlab ``Drawing`` of ``width`` × ``height`` points."""
    import io

    from svglib.svglib import svg2rlg

    svg = trend_svg(trend, deformity_pct=DEFORMITY_PCT, width_in=width / _POINTS_PER_INCH,
                    height_in=height / _POINTS_PER_INCH, variability_deg=variability_deg)
    drawing = svg2rlg(io.BytesIO(svg))
    if drawing is None:  # svglib returns None for a document it cannot parse
        raise ValueError("the trend figure could not be converted for the PDF")
    # matplotlib's SVG is in points already; scale exactly to the frame in case it rounds.
    sx, sy = width / drawing.width, height / drawing.height
    drawing.scale(sx, sy)
    drawing.width, drawing.height = width, height
    return drawing
