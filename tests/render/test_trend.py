"""The one trend figure (render.trend): a time axis in true days, the deformity cut-off from
the one constant, the same figure in the window and the PDF (SVG, vector)."""

import math
from datetime import date

import pytest
from matplotlib.figure import Figure

from ovcf_viewer.measure.comparison import TrendPoint, TrendSeries
from ovcf_viewer.measure.measurements import DEFORMITY_PCT, DEFORMITY_RATIO
from ovcf_viewer.render.trend import draw_trend, trend_svg, x_days


def series(days=(-3, 0, 90), dates=True, with_days=True):
    kinds = ["preop", "postop", *["followup"] * (len(days) - 2)]
    labels = ["Pre-operative", "Post-operative",
              *[f"Follow-up ({d} days)" for d in days[2:]]]
    base = date(2025, 3, 10)
    points = tuple(
        TrendPoint(f"1.{i}", label, kind,
                   date.fromordinal(base.toordinal() + d) if dates else None,
                   d if with_days else None)
        for i, (d, kind, label) in enumerate(zip(days, kinds, labels, strict=True)))
    n = len(points)
    heights = {"L1": {"a": (65.0, 85.0, 77.0)[:n], "m": (79.0, None, 87.0)[:n],
                      "p": (102.0,) * n},
               "L2": {"a": (97.0,) * n, "m": (98.0,) * n, "p": (99.0,) * n}}
    return TrendSeries(points, heights, {"L1": (10.9, 3.6, 6.6)[:n]}, "segmental", ("L1",))


def test_the_cutoff_is_one_constant():
    assert DEFORMITY_RATIO * 100 == pytest.approx(DEFORMITY_PCT)


def test_points_sit_at_their_day_on_a_time_axis():
    figure = Figure()
    artists = draw_trend(figure, series(), deformity_pct=DEFORMITY_PCT)
    line = artists.height_lines[("L1", "a")]
    assert list(line.get_xdata()) == [-3.0, 0.0, 90.0]
    assert list(line.get_ydata()) == [65.0, 85.0, 77.0]
    assert math.isnan(artists.height_lines[("L1", "m")].get_ydata()[1])  # not measurable
    assert ("L2", "m") not in artists.height_lines  # adjacent level: anterior only
    assert artists.x_title == "days from procedure"
    # Not categorical: the gap to the follow-up is wider than pre-op → post-op on screen.
    ax = artists.kyphosis_axes
    assert ax.get_xscale() == "symlog"
    to_px = ax.transData.transform
    pre, post, fu = (to_px((x, 0))[0] for x in (-3, 0, 90))
    assert fu - post > post - pre > 0
    cutoff = [ln for ln in artists.heights_axes.get_lines()
              if list(ln.get_ydata()) == [DEFORMITY_PCT, DEFORMITY_PCT]]
    assert len(cutoff) == 1


def test_a_short_series_stays_linear_and_undated_films_are_evenly_spaced():
    artists = draw_trend(Figure(), series(days=(-1, 0, 5)), deformity_pct=DEFORMITY_PCT)
    assert artists.kyphosis_axes.get_xscale() == "linear"
    xs, title, is_time = x_days(series(with_days=False))
    assert (xs, title, is_time) == ([0.0, 3.0, 93.0], "days from the first film", True)
    xs, title, is_time = x_days(series(dates=False, with_days=False))
    assert xs == [0.0, 1.0, 2.0] and not is_time and "without dates" in title


def test_empty_series_says_why():
    artists = draw_trend(Figure(), None, deformity_pct=DEFORMITY_PCT)
    assert not artists.height_lines
    assert "No case with timepoints" in [t.get_text() for t in artists.heights_axes.texts]


def test_pdf_svg_is_vector_with_the_same_drawing():
    svg = trend_svg(series(), deformity_pct=DEFORMITY_PCT, width_in=6.5, height_in=4.0)
    assert svg.startswith(b"<?xml") and b"<image" not in svg
    assert b"<path" in svg


def test_pain_vas_gets_a_third_axes_on_the_same_days():
    from dataclasses import replace

    with_pain = replace(series(), pain_vas=(8.0, None, 2.0))  # post-op score not recorded
    artists = draw_trend(Figure(), with_pain, deformity_pct=DEFORMITY_PCT)
    line = artists.pain_line
    assert list(line.get_xdata()) == [-3.0, 90.0]  # the unknown score is left out, not 0
    assert list(line.get_ydata()) == [8.0, 2.0]
    assert artists.pain_axes.get_ylim() == (0.0, 11.0)
    assert artists.pain_axes.get_xscale() == "symlog"  # shares the time axis
    assert "days from procedure" in artists.pain_axes.get_xlabel()
    plain = draw_trend(Figure(), series(), deformity_pct=DEFORMITY_PCT)
    assert plain.pain_axes is None and plain.pain_line is None
    assert "days from procedure" in plain.kyphosis_axes.get_xlabel()
