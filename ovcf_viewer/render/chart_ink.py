"""The colours a chart is drawn in: :data:`LIGHT` for paper and the light theme, :data:`DARK`
for the dark reading-room theme, where a white chart would be the brightest thing in the room.

The series keep their hues in both (red Ha, blue Hm, green Hp …), lightened on the dark ground
so each line stands at least 3:1 against it (WCAG 2.1 for graphical objects); lines also differ
by marker and dash, so the figure still reads in black and white. Solid colours, no alpha:
svglib (the PDF path) drops SVG opacity.

:func:`rc` gives the matplotlib settings that put the ink on every text, tick, spine, legend
and grid a figure draws inside ``matplotlib.rc_context(rc(ink))``. Qt-free; matplotlib is not
imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DARK", "LIGHT", "ChartInk", "rc"]


@dataclass(frozen=True)
class ChartInk:
    face: str  # figure and axes ground
    text: str  # titles, labels, ticks, annotations
    muted: str  # secondary text (the cut-off's label)
    edge: str  # spines
    grid: str
    band: str  # the variability band (under the lines)
    cutoff: str  # the deformity cut-off line
    kyphosis: str
    pain: str
    heights: tuple[str, str, str]  # Ha, Hm, Hp of a treated level
    adjacent: tuple[str, ...]  # adjacent levels' Ha, in turn
    progress: tuple[str, str]  # training: point error, grade agreement
    repeat: str  # training: an attempt on a picture practised before


LIGHT = ChartInk(
    face="#ffffff", text="#000000", muted="#555555", edge="#000000", grid="#e3e3e3",
    band="#d6e4f2", cutoff="#777777", kyphosis="#333333", pain="#b35806",
    heights=("#d62728", "#1f77b4", "#2ca02c"),
    adjacent=("#9467bd", "#8c564b", "#cc4fa6", "#7f7f7f"),  # pink darkened: 2.7 → 4:1
    progress=("#d06d00", "#2a9d55"), repeat="#8a8a8a",
)

DARK = ChartInk(
    face="#1e1f22", text="#e8e8e8", muted="#b0b0b0", edge="#9a9a9a", grid="#3a3c40",
    band="#2b3d55", cutoff="#a0a0a0", kyphosis="#e0e0e0", pain="#f1a340",
    heights=("#ff6b6b", "#5aa9ff", "#5fd35f"),
    adjacent=("#c3a6ff", "#d9a28f", "#f59ad0", "#bdbdbd"),
    progress=("#ffa040", "#4fd08a"), repeat="#9a9a9a",
)


def rc(ink: ChartInk) -> dict[Any, str]:
    """matplotlib settings drawing text, ticks, spines, legends and grids in ``ink`` (keys
    typed ``Any``: matplotlib's stubs want each literal rcParams name)."""
    return {
        "figure.facecolor": ink.face, "figure.edgecolor": ink.face,
        "axes.facecolor": ink.face, "axes.edgecolor": ink.edge,
        "axes.labelcolor": ink.text, "axes.titlecolor": ink.text,
        "text.color": ink.text, "xtick.color": ink.text, "ytick.color": ink.text,
        "xtick.labelcolor": ink.text, "ytick.labelcolor": ink.text,
        "legend.facecolor": ink.face, "legend.edgecolor": ink.grid,
        "legend.labelcolor": ink.text, "grid.color": ink.grid,
        "savefig.facecolor": ink.face,
    }
