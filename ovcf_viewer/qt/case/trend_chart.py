"""The trend chart: heights as % of reference and kyphosis across a case's timepoints
(docs/clinical-reference.md §5), drawn with matplotlib inside the Qt window.

Top axes: each treated level's anterior, middle and posterior heights as % of the reference
height on the same film (solid), and the adjacent levels' anterior heights (dashed), so a
collapsing neighbour shows; a dotted line marks 80 % (the deformity cut-off of §3). Bottom
axes: each treated level's kyphosis (the angle the *setting* calls Cobb) with a band of
± the variability *setting* around the post-operative value: a follow-up point outside the
band is a loss of correction beyond measurement variability. The x axis has the
films in time order, evenly spaced (a real time scale would crowd the pre- and
post-operative films together); ticks name the timepoints and their dates.

matplotlib is imported when the chart is created, not when this module is imported.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ovcf_viewer.measure.comparison import HEIGHT_NAMES, TrendSeries

__all__ = ["TrendChart"]

_HEIGHT_STYLES = {"a": ("#d62728", "o"), "m": ("#1f77b4", "s"), "p": ("#2ca02c", "^")}
_ADJACENT_COLOURS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
DEFORMITY_PCT = 80.0


class TrendChart(QWidget):
    """A matplotlib canvas (``FigureCanvasQTAgg``) showing a :class:`TrendSeries`.

    After :meth:`show_trend`, :attr:`height_lines` maps ``(level, key)`` and
    :attr:`kyphosis_lines` maps ``level`` to their matplotlib ``Line2D``, for tests and
    for the report that wants the same picture.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(6.0, 5.0), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setParent(self)
        # Below this the constrained layout collapses (and matplotlib warns).
        self.canvas.setMinimumSize(360, 320)
        self.heights_axes, self.kyphosis_axes = self.figure.subplots(2, 1, sharex=True)
        self.caption = QLabel("", self)
        self.caption.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.caption)
        self.series: TrendSeries | None = None
        self.height_lines: dict[tuple[str, str], object] = {}
        self.kyphosis_lines: dict[str, object] = {}
        self.show_trend(None)

    def show_trend(self, series: TrendSeries | None, variability_deg: float = 5.0) -> None:
        """Redraw for ``series`` (``None``: an empty chart saying why)."""
        self.series = series
        self.height_lines = {}
        self.kyphosis_lines = {}
        ax_h, ax_k = self.heights_axes, self.kyphosis_axes
        ax_h.clear()
        ax_k.clear()
        ax_h.set_ylabel("height, % of reference")
        ax_k.set_ylabel("kyphosis (°)")
        if series is None or not series.points:
            ax_h.text(0.5, 0.5, "No case with timepoints", ha="center", va="center",
                      transform=ax_h.transAxes)
            self.caption.setText("")
            self.canvas.draw_idle()
            return
        xs, labels, x_title = self._x_axis(series)
        for level in series.heights_pct:
            treated = level in series.treated_levels
            keys = ("a", "m", "p") if treated else ("a",)
            for key in keys:
                ys = [v if v is not None else float("nan") for v in series.heights_pct[level][key]]
                if treated:
                    colour, marker = _HEIGHT_STYLES[key]
                    style = "-"
                else:
                    adj = [lv for lv in series.heights_pct if lv not in series.treated_levels]
                    colour = _ADJACENT_COLOURS[adj.index(level) % len(_ADJACENT_COLOURS)]
                    marker, style = "o", "--"
                (line,) = ax_h.plot(xs, ys, style, color=colour, marker=marker,
                                    label=f"{level} {HEIGHT_NAMES[key]}")
                self.height_lines[(level, key)] = line
        ax_h.axhline(DEFORMITY_PCT, color="#999999", linestyle=":", linewidth=1)
        ax_h.annotate("80 %", (1.0, DEFORMITY_PCT), xycoords=("axes fraction", "data"),
                      ha="right", va="bottom", fontsize=7, color="#777777")
        if series.heights_pct:  # no treated level yet: nothing to label (and no warning)
            ax_h.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax_h.set_title("Vertebral heights, % of the reference on the same film", fontsize=9)
        ax_h.grid(True, alpha=0.3)

        post_index = next((i for i, p in enumerate(series.points) if p.kind == "postop"), None)
        for level, values in series.kyphosis_deg.items():
            ys = [v if v is not None else float("nan") for v in values]
            (line,) = ax_k.plot(xs, ys, "-", color="#333333", marker="D",
                                label=f"{level} ({series.kyphosis_definition})")
            self.kyphosis_lines[level] = line
            if post_index is not None and values[post_index] is not None:
                centre = values[post_index]
                ax_k.axhspan(centre - variability_deg, centre + variability_deg,
                             color="#1f77b4", alpha=0.12,
                             label=f"post-op ± {variability_deg:g}° variability")
        if series.kyphosis_deg:
            ax_k.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax_k.set_title(f"Kyphosis ({series.kyphosis_definition}), kyphosis positive",
                       fontsize=9)
        ax_k.set_xlim(-0.3, len(xs) - 0.7)
        ax_k.grid(True, alpha=0.3)
        ax_k.set_xticks(xs)
        ax_k.set_xticklabels(labels, fontsize=8)
        ax_k.set_xlabel(x_title)
        self.caption.setText(
            "Heights as % of the reference height on each film (§4 reference; independent of "
            "magnification). Kyphosis positive, lordosis negative (§3).")
        self.canvas.draw_idle()

    @staticmethod
    def _x_axis(series: TrendSeries) -> tuple[list[float], list[str], str]:
        days = [p.days_from_procedure for p in series.points]
        short = {"preop": "Pre-op", "postop": "Post-op", "followup": "Follow-up"}
        labels = []
        for p in series.points:
            text = short[p.kind]
            if p.kind == "followup" and p.days_from_procedure is not None:
                text = p.label.replace("Follow-up", "FU")
            labels.append(text + (f"\n{p.date.isoformat()}" if p.date else ""))
        # Evenly spaced: days would crowd the pre- and post-operative films together.
        return [float(i) for i in range(len(days))], labels, "timepoint"
