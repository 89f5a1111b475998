"""The trend figure (docs/clinical-reference.md §5): one matplotlib figure drawn the same way
in the case window (embedded with the Qt canvas) and in the PDF report (as vector graphics).

Top axes: each treated level's anterior, middle and posterior heights (Ha, Hm, Hp) as % of
the reference height on the same film (solid lines, distinct markers), and the adjacent
levels' anterior heights (dashed), so a collapsing neighbour shows; a dotted line marks the
deformity cut-off (§3; the caller passes the one constant,
``ovcf_viewer.measure.measurements.DEFORMITY_PCT``). Bottom axes: each treated level's
kyphosis (the angle the *setting* calls Cobb), with a band of ± the variability *setting*
around the post-operative value: a follow-up point outside the band is a loss of correction
beyond measurement variability. When a pain score is recorded (§5a), a third axes under them
shows the pain VAS (0–10) at each timepoint that has one, on the same time axis.

The x axis is time, in days from the procedure (else from the first dated film). Pre- and
post-operative films are days apart and follow-ups months, so beyond ±1 day the axis is
logarithmic (``symlog``): every film keeps its true day and its own place. Each point is
labelled with its timepoint above the top axes. Films without a date fall back to evenly
spaced timepoints, and the axis says so.

matplotlib is imported inside the functions (heavy; off the start-up path). Lines differ by
marker and dash as well as colour, so the figure reads on a black-and-white printout. The
colours come from a :class:`~ovcf_viewer.render.chart_ink.ChartInk`: light on paper and in the
light theme, dark in the dark reading-room theme.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ovcf_viewer.render.chart_ink import LIGHT, ChartInk, rc

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ovcf_viewer.measure.comparison import TrendSeries

__all__ = ["LINEAR_DAYS", "TrendArtists", "draw_trend", "trend_svg", "x_days"]

#: Within ± this many days of the procedure the time axis is linear, beyond it logarithmic.
LINEAR_DAYS = 1.0
_HEIGHT_MARKERS = {"a": "o", "m": "s", "p": "^"}
_SHORT = {"preop": "Pre-op", "postop": "Post-op", "followup": "FU"}


@dataclass
class TrendArtists:
    """What :func:`draw_trend` drew, for tests: ``height_lines[(level, key)]`` and
    ``kyphosis_lines[level]`` are matplotlib ``Line2D``; ``x`` the x value of each point."""

    heights_axes: Any
    kyphosis_axes: Any
    x: list[float] = field(default_factory=list)
    x_title: str = ""
    height_lines: dict[tuple[str, str], Any] = field(default_factory=dict)
    kyphosis_lines: dict[str, Any] = field(default_factory=dict)
    #: Pain VAS (§5a): third axes and its line, only when a score is recorded.
    pain_axes: Any = None
    pain_line: Any = None


def x_days(series: TrendSeries) -> tuple[list[float], str, bool]:
    """The x value of each point, the axis title and whether it is a time axis.

    Days from the procedure when every point has them; else days from the first film when
    every point has a date; else 0, 1, 2 … (evenly spaced timepoints)."""
    points = series.points
    if points and all(p.days_from_procedure is not None for p in points):
        return [float(p.days_from_procedure or 0) for p in points], "days from procedure", True
    if points and all(p.date is not None for p in points):
        first = min(p.date for p in points if p.date is not None)
        return ([float((p.date - first).days) for p in points if p.date is not None],
                "days from the first film", True)
    return [float(i) for i in range(len(points))], "timepoint (films without dates)", False


def draw_trend(
    figure: Figure,
    series: TrendSeries | None,
    *,
    deformity_pct: float,
    variability_deg: float = 5.0,
    font_scale: float = 1.0,
    ink: ChartInk = LIGHT,
) -> TrendArtists:
    """Clear ``figure`` and draw ``series`` on two axes sharing the time axis, three when a
    pain VAS is recorded (§5a; ``None`` or no points: an empty figure saying why).
    ``deformity_pct`` is the cut-off line, in % of reference; ``variability_deg`` the
    half-width of the post-operative kyphosis band; ``ink`` the colours."""
    import matplotlib

    figure.clear()
    figure.set_facecolor(ink.face)
    with matplotlib.rc_context(rc(ink)):
        return _draw_trend(figure, series, deformity_pct, variability_deg, font_scale, ink)


def _draw_trend(figure: Figure, series: TrendSeries | None, deformity_pct: float,
                variability_deg: float, font_scale: float, ink: ChartInk) -> TrendArtists:
    pain = list(getattr(series, "pain_vas", ()) or ()) if series is not None else []
    ax_p = None
    if any(v is not None for v in pain):  # pain VAS recorded: a third axes (§5a)
        ax_h, ax_k, ax_p = figure.subplots(3, 1, sharex=True, height_ratios=(3, 2, 1.4))
    else:
        ax_h, ax_k = figure.subplots(2, 1, sharex=True)
    artists = TrendArtists(ax_h, ax_k, pain_axes=ax_p)
    small, label_size, title_size = 7 * font_scale, 8 * font_scale, 9 * font_scale
    ax_h.set_ylabel("height, % of reference", fontsize=label_size)
    ax_k.set_ylabel("kyphosis (°)", fontsize=label_size)
    for ax in (ax_h, ax_k):
        ax.tick_params(labelsize=small)
    if series is None or not series.points:
        ax_h.text(0.5, 0.5, "No case with timepoints", ha="center", va="center",
                  transform=ax_h.transAxes)
        return artists
    xs, x_title, is_time = x_days(series)
    artists.x, artists.x_title = xs, x_title

    adjacent = [lv for lv in series.heights_pct if lv not in series.treated_levels]
    for level, by_key in series.heights_pct.items():
        treated = level in series.treated_levels
        for key in ("a", "m", "p") if treated else ("a",):
            ys = [_nan(v) for v in by_key[key]]
            if treated:
                colour = ink.heights["amp".index(key)]
                marker, style = _HEIGHT_MARKERS[key], "-"
            else:
                colour = ink.adjacent[adjacent.index(level) % len(ink.adjacent)]
                marker, style = "o", "--"
            (line,) = ax_h.plot(xs, ys, style, color=colour, marker=marker, markersize=4,
                                linewidth=1.2, label=f"{level} H{key}")
            artists.height_lines[(level, key)] = line
    ax_h.axhline(deformity_pct, color=ink.cutoff, linestyle=":", linewidth=1)
    ax_h.annotate(f"{deformity_pct:g} % (deformity cut-off)", (0.99, deformity_pct),
                  xycoords=("axes fraction", "data"), ha="right", va="bottom",
                  fontsize=small, color=ink.muted)
    if artists.height_lines:
        ax_h.legend(fontsize=small, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax_h.set_title("Vertebral heights, % of the reference on the same film",
                   fontsize=title_size, pad=4 + 2.2 * small)  # room for the timepoint names
    ax_h.grid(True, color=ink.grid)

    post_index = next((i for i, p in enumerate(series.points) if p.kind == "postop"), None)
    for level, values in series.kyphosis_deg.items():
        (line,) = ax_k.plot(xs, [_nan(v) for v in values], "-", color=ink.kyphosis, marker="D",
                            markersize=4, linewidth=1.2,
                            label=f"{level} ({series.kyphosis_definition})")
        artists.kyphosis_lines[level] = line
        centre = values[post_index] if post_index is not None else None
        if centre is not None:
            ax_k.axhspan(centre - variability_deg, centre + variability_deg,
                         color=ink.band, zorder=0,
                         label=f"post-op ± {variability_deg:g}° variability")
    if series.kyphosis_deg:
        ax_k.legend(fontsize=small, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax_k.set_title(f"Kyphosis ({series.kyphosis_definition}), kyphosis positive",
                   fontsize=title_size)
    ax_k.grid(True, color=ink.grid)
    bottom = ax_k
    if ax_p is not None:
        _draw_pain(ax_p, xs, pain, artists, small, label_size, title_size, ink)
        ax_k.tick_params(axis="x", labelbottom=False)
        bottom = ax_p
    _time_axis(bottom, ax_h, xs, x_title, is_time, series, small, label_size)
    return artists


def _draw_pain(ax_p: Any, xs: list[float], pain: list[float | None], artists: TrendArtists,
               small: float, label_size: float, title_size: float, ink: ChartInk) -> None:
    """Pain VAS 0–10 at the timepoints where it was recorded (§5a), each value written."""
    known = [(x, v) for x, v in zip(xs, pain, strict=True) if v is not None]
    (artists.pain_line,) = ax_p.plot([x for x, _ in known], [v for _, v in known], "-",
                                     color=ink.pain, marker="v", markersize=4,
                                     linewidth=1.2, label="pain VAS")
    for x, v in known:
        ax_p.annotate(f"{v:g}", (x, v), textcoords="offset points", xytext=(0, 3),
                      ha="center", fontsize=small)
    ax_p.set_ylim(0, 11)
    ax_p.set_yticks([0, 5, 10])
    ax_p.set_ylabel("pain VAS", fontsize=label_size)
    ax_p.tick_params(labelsize=small)
    ax_p.set_title("Pain, visual analogue scale 0–10", fontsize=title_size)
    ax_p.grid(True, color=ink.grid)


def _time_axis(ax_k: Any, ax_h: Any, xs: list[float], title: str, is_time: bool,
               series: TrendSeries, small: float, label_size: float) -> None:
    from matplotlib.ticker import FixedLocator

    span = max(xs) - min(xs) if xs else 0.0
    if is_time and span > 10 * LINEAR_DAYS:
        ax_k.set_xscale("symlog", linthresh=LINEAR_DAYS, linscale=1.0)
        title += f" (logarithmic beyond ±{LINEAR_DAYS:g} d)"
    if is_time:
        ticks = sorted({round(x) for x in xs} | {0})
        ax_k.xaxis.set_major_locator(FixedLocator(ticks))
        ax_k.set_xticklabels([_signed_days(t) for t in ticks], fontsize=small)
    else:
        ax_k.set_xticks(xs)
        ax_k.set_xticklabels([str(i + 1) for i in range(len(xs))], fontsize=small)
    ax_k.xaxis.set_minor_locator(FixedLocator([]))
    lo, hi = min(xs), max(xs)
    if ax_k.get_xscale() == "symlog":
        ax_k.set_xlim(_symlog_pad(lo, -1), _symlog_pad(hi, 1))
    else:
        pad = max((hi - lo) * 0.06, 0.5)
        ax_k.set_xlim(lo - pad, hi + pad)
    ax_k.set_xlabel(title, fontsize=label_size)
    # The timepoints, named above the top axes at their days.
    # Films on the same day share one tick ("Pre-op / Post-op").
    names: dict[float, list[str]] = {}
    for x, point in zip(xs, series.points, strict=True):
        names.setdefault(x, []).append(_point_label(point))
    # (Text at data x, not a secondary axis: matplotlib's secondary axis ignores symlog.)
    for x, labels in names.items():
        ax_h.annotate(" / ".join(dict.fromkeys(labels)), (x, 1.0),
                      xycoords=("data", "axes fraction"), xytext=(0, 2),
                      textcoords="offset points", ha="center", va="bottom", fontsize=small)
    ax_h.tick_params(axis="x", labelbottom=False)


def _symlog_pad(x: float, direction: int) -> float:
    """A little room beyond ``x`` on a symlog axis (in its own, stretched units)."""
    if abs(x) <= LINEAR_DAYS:
        return x + direction * 0.5 * LINEAR_DAYS
    return math.copysign(abs(x) * (1.25 if (x > 0) == (direction > 0) else 0.8), x)


def _point_label(point: Any) -> str:
    text = _SHORT.get(point.kind, point.kind)
    if point.kind == "followup":
        text = point.label.replace("Follow-up", "FU")
    return text


def _signed_days(days: float) -> str:
    # A true minus sign, as everywhere a person reads a signed number (render.format).
    return f"−{abs(days):g}" if days < 0 else f"{days:g}"


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def trend_svg(series: TrendSeries | None, *, deformity_pct: float, width_in: float,
              height_in: float, variability_deg: float = 5.0) -> bytes:
    """The trend figure as SVG (text as paths: no fonts needed to show it), for the PDF."""
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), layout="constrained")
    draw_trend(figure, series, deformity_pct=deformity_pct, variability_deg=variability_deg,
               font_scale=0.9)
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()
