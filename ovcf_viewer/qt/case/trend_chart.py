"""The trend chart of the case window: the one trend figure (:mod:`ovcf_viewer.render.trend`,
the same drawing the PDF report embeds) on a matplotlib Qt canvas, with a caption.

The chart is drawn in the theme's colours (:mod:`ovcf_viewer.render.chart_ink`: dark in the
dark reading-room theme) and drawn again when the theme changes. matplotlib is imported when
the chart is created, not when this module is imported.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ovcf_viewer.measure.comparison import TrendSeries
from ovcf_viewer.measure.measurements import DEFORMITY_PCT
from ovcf_viewer.qt.chart_canvas import chart_canvas
from ovcf_viewer.qt.theme import is_dark
from ovcf_viewer.render.chart_ink import DARK, LIGHT, ChartInk
from ovcf_viewer.render.trend import draw_trend

__all__ = ["CAPTION", "TrendChart"]

CAPTION = ("Heights (Ha, Hm, Hp: anterior, middle, posterior) as % of the reference height on "
           "each film (§4 reference; independent of magnification). Kyphosis positive, "
           "lordosis negative (§3). Pain on the visual analogue scale 0–10 where recorded "
           "(§5a). Time in days from the procedure.")


class TrendChart(QWidget):
    """A matplotlib canvas (``FigureCanvasQTAgg``) showing a :class:`TrendSeries`.

    After :meth:`show_trend`, :attr:`height_lines` maps ``(level, key)`` and
    :attr:`kyphosis_lines` maps ``level`` to their matplotlib ``Line2D`` (for tests).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(6.0, 5.0), layout="constrained")
        self.canvas = chart_canvas(self.figure)
        self.canvas.setParent(self)
        # Below this the constrained layout collapses (and matplotlib warns).
        self.canvas.setMinimumSize(360, 320)
        self.caption = QLabel("", self)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)
        self.series: TrendSeries | None = None
        self.heights_axes: Any = None
        self.kyphosis_axes: Any = None
        self.pain_axes: Any = None
        self.pain_line: Any = None
        self.height_lines: dict[tuple[str, str], Any] = {}
        self.kyphosis_lines: dict[str, Any] = {}
        self.variability_deg = 5.0
        self.show_trend(None)

    def ink(self) -> ChartInk:
        """The chart's colours: dark on the dark theme, light otherwise."""
        return DARK if is_dark(self.palette()) else LIGHT

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt override)
        """A theme change: the chart is drawn again in the new theme's colours."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "variability_deg"):
            self.show_trend(self.series, self.variability_deg)

    def show_trend(self, series: TrendSeries | None, variability_deg: float = 5.0) -> None:
        """Redraw for ``series`` (``None``: an empty chart saying why)."""
        self.series, self.variability_deg = series, variability_deg
        artists = draw_trend(self.figure, series, deformity_pct=DEFORMITY_PCT,
                             variability_deg=variability_deg, ink=self.ink())
        self.heights_axes, self.kyphosis_axes = artists.heights_axes, artists.kyphosis_axes
        self.height_lines = artists.height_lines
        self.kyphosis_lines = artists.kyphosis_lines
        self.pain_axes, self.pain_line = artists.pain_axes, artists.pain_line
        self.caption.setText(CAPTION if series is not None and series.points else "")
        self.canvas.draw_idle()
