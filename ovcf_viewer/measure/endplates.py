"""The endplate lines a segmental kyphosis is measured between, as line segments to draw
(docs/clinical-reference.md §3): the superior endplate of the vertebra above the index level
(its ``sp``–``sa`` corners) and the inferior endplate of the vertebra below (``ip``–``ia``),
each extended beyond the body so the angle between them reads at a glance. The viewer and the
PDF figure draw the same lines.

Coordinates are image coordinates ``(x, y) = (column, row)`` (docs/clinical-reference.md §1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ovcf_viewer.measure.measurements import ImageMeasurements
from ovcf_viewer.model.landmarks import ImageAnnotations

__all__ = ["ENDPLATE_EXTENSION", "EndplateLine", "segmental_endplate_lines"]

#: How far each line is drawn past both corners, as a fraction of the endplate's length.
ENDPLATE_EXTENSION = 0.35

Point = tuple[float, float]


@dataclass(frozen=True)
class EndplateLine:
    """One endplate line for ``index_level``'s kyphosis: ``level``'s ``endplate``
    (``"superior"`` or ``"inferior"``) from posterior to anterior, extended."""

    index_level: str
    level: str
    endplate: str
    start: Point
    end: Point


def _extended(posterior: Point, anterior: Point, extension: float) -> tuple[Point, Point]:
    dx, dy = anterior[0] - posterior[0], anterior[1] - posterior[1]
    return ((posterior[0] - dx * extension, posterior[1] - dy * extension),
            (anterior[0] + dx * extension, anterior[1] + dy * extension))


def segmental_endplate_lines(
    annotations: ImageAnnotations,
    measurements: ImageMeasurements | None,
    extension: float = ENDPLATE_EXTENSION,
) -> list[EndplateLine]:
    """The two lines of every index level whose segmental kyphosis was measured (both
    neighbours placed), in level order; none for an index level without both neighbours."""
    if measurements is None:
        return []
    lines: list[EndplateLine] = []
    for level, index in measurements.index_levels.items():
        if index.segmental_kyphosis_deg is None or not index.upper_level \
                or not index.lower_level:
            continue
        upper = annotations.vertebrae.get(index.upper_level)
        lower = annotations.vertebrae.get(index.lower_level)
        if upper is None or lower is None:
            continue
        for vertebra, endplate, post, ant in ((upper, "superior", "sp", "sa"),
                                              (lower, "inferior", "ip", "ia")):
            if post not in vertebra.points or ant not in vertebra.points:
                continue
            start, end = _extended(vertebra.points[post], vertebra.points[ant], extension)
            lines.append(EndplateLine(level, vertebra.level, endplate, start, end))
    return lines
