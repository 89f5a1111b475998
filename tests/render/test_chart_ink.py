"""Chart colours (render.chart_ink): on either ground every text reads (≥ 4.5:1) and every
line stands out (≥ 3:1, WCAG 2.1 for graphical objects); the trend figure draws in them."""

import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.text import Text

from ovcf_viewer.measure.measurements import DEFORMITY_PCT
from ovcf_viewer.render.chart_ink import DARK, LIGHT, ChartInk
from ovcf_viewer.render.trend import draw_trend
from tests.render.test_trend import series


def contrast(first: str, second: str) -> float:
    def luminance(colour: str) -> float:
        def channel(c: float) -> float:
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (channel(c) for c in to_rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("ink", [LIGHT, DARK], ids=["light", "dark"])
def test_every_colour_reads_on_its_ground(ink: ChartInk):
    assert contrast(ink.text, ink.face) >= 4.5
    assert contrast(ink.muted, ink.face) >= 4.5
    lines = [*ink.heights, *ink.adjacent, ink.kyphosis, ink.pain, *ink.progress, ink.repeat,
             ink.cutoff]
    for colour in lines:
        assert contrast(colour, ink.face) >= 3.0, colour
    # The band sits under the kyphosis line, which must still stand out on it.
    assert contrast(ink.kyphosis, ink.band) >= 3.0


@pytest.mark.parametrize("ink", [LIGHT, DARK], ids=["light", "dark"])
def test_the_trend_figure_is_drawn_in_the_ink(ink: ChartInk):
    figure = Figure(figsize=(6, 5), layout="constrained")
    artists = draw_trend(figure, series(), deformity_pct=DEFORMITY_PCT, ink=ink)
    figure.canvas.draw()  # tick labels exist once drawn
    assert to_rgb(figure.get_facecolor()) == to_rgb(ink.face)
    for axes in (artists.heights_axes, artists.kyphosis_axes):
        assert to_rgb(axes.get_facecolor()) == to_rgb(ink.face)
        legend = axes.get_legend()
        assert to_rgb(legend.get_frame().get_facecolor()) == to_rgb(ink.face)
    texts = [t for t in figure.findobj(Text) if t.get_text().strip()]
    assert len(texts) > 10
    for text in texts:
        assert contrast(text.get_color(), ink.face) >= 4.5, text.get_text()
    for line in [*artists.height_lines.values(), *artists.kyphosis_lines.values()]:
        assert contrast(line.get_color(), ink.face) >= 3.0, line.get_label()
    assert to_rgb(artists.height_lines[("L1", "a")].get_color()) == to_rgb(ink.heights[0])
