"""Plausibility warnings: a placement mistake must never become a silent answer
(docs/clinical-reference.md §6a).

Computed here, once, from the landmarks of one film and its calibration; the measurements
carry them (:attr:`~ovcf_viewer.measure.measurements.ImageMeasurements.warnings`) to every place a
number goes: the measurements and suitability panels, ``measure --json`` and
``suitability --json`` (``"warnings"``), the PDF report and the CSV table.

Codes (stable, part of the JSON interface):

``anterior_posterior_swapped``
    A vertebra whose posterior→anterior direction opposes that of the other vertebrae on the
    film (or the film's known facing): its corners were clicked the other way round, so its
    heights, wedge and type are swapped.
``level_order``
    Level names that contradict the drawing: a level drawn caudal to a level it should lie
    above (T12 drawn below L1).
``implausible_size``
    A calibrated height outside 5–60 mm, or a body depth (endplate length) outside 15–70 mm:
    a wrong calibration, a wrong landmark, or not a vertebral body.
``index_level_mismatch``
    A level marked as an index (fractured) level measures Genant 0 while an unmarked neighbour
    is graded ≥ 1: the index mark is probably on the wrong level.

Coordinates are image ``(x, y) = (column, row)``; directions are compared in millimetre space
(§1), so non-square pixels do not bend them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ovcf_viewer.measure.tolerance import above, below
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import Vertebra, level_index, neighbour_levels

__all__ = [
    "ANTERIOR_POSTERIOR_SWAPPED",
    "BODY_DEPTH_RANGE_MM",
    "HEIGHT_RANGE_MM",
    "IMPLAUSIBLE_SIZE",
    "INDEX_LEVEL_MISMATCH",
    "LEVEL_ORDER",
    "PlausibilityWarning",
    "check_landmarks",
    "index_level_warnings",
]

ANTERIOR_POSTERIOR_SWAPPED = "anterior_posterior_swapped"
LEVEL_ORDER = "level_order"
IMPLAUSIBLE_SIZE = "implausible_size"
INDEX_LEVEL_MISMATCH = "index_level_mismatch"

#: A calibrated vertebral body height outside this range (mm) is implausible (§6a).
HEIGHT_RANGE_MM = (5.0, 60.0)
#: A calibrated body depth (anterior–posterior, along the endplates) outside this range (mm).
BODY_DEPTH_RANGE_MM = (15.0, 70.0)

_HEIGHT_NAMES = {"a": "anterior", "m": "middle", "p": "posterior"}
_SHORT = {
    ANTERIOR_POSTERIOR_SWAPPED: "anterior/posterior swapped?",
    LEVEL_ORDER: "level order?",
    IMPLAUSIBLE_SIZE: "implausible size",
    INDEX_LEVEL_MISMATCH: "index on this level?",
}


@dataclass(frozen=True)
class PlausibilityWarning:
    """One warning: a stable ``code``, the ``level`` it concerns (``None`` for the film) and a
    one-sentence ``message`` for the user."""

    code: str
    level: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "level": self.level, "message": self.message}

    @property
    def short(self) -> str:
        """A few words for a label on the film (the full message goes beside the value)."""
        return _SHORT.get(self.code, self.code)

    def __str__(self) -> str:
        return self.message


Vector = tuple[float, float]


def _mm_vector(a: tuple[float, float], b: tuple[float, float], cal: Calibration) -> Vector:
    return ((b[0] - a[0]) * cal.col_mm, (b[1] - a[1]) * cal.row_mm)


def _mid(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
    return ((p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0)


def _unit(v: Vector) -> Vector | None:
    n = math.hypot(*v)
    return (v[0] / n, v[1] / n) if n > 0 else None


def _dot(u: Vector, v: Vector) -> float:
    return u[0] * v[0] + u[1] * v[1]


def _anterior_direction(v: Vertebra, cal: Calibration) -> Vector | None:
    """Unit vector from the posterior wall's midpoint to the anterior wall's, in mm space."""
    p = v.points
    return _unit(_mm_vector(_mid(p["sp"], p["ip"]), _mid(p["sa"], p["ia"]), cal))


def _superior_direction(v: Vertebra, cal: Calibration) -> Vector | None:
    """Unit vector from the inferior endplate's midpoint to the superior endplate's."""
    p = v.points
    return _unit(_mm_vector(_mid(p["ia"], p["ip"]), _mid(p["sa"], p["sp"]), cal))


def _centroid(v: Vertebra) -> tuple[float, float]:
    xs = [xy[0] for xy in v.points.values()]
    ys = [xy[1] for xy in v.points.values()]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def _swapped(
    vertebrae: Mapping[str, Vertebra], cal: Calibration, anterior_x_sign: int | None
) -> list[PlausibilityWarning]:
    directions = {lv: d for lv, v in vertebrae.items()
                  if (d := _anterior_direction(v, cal)) is not None}
    out = []
    for level, d in directions.items():
        others = {lv: o for lv, o in directions.items() if lv != level}
        expected: Vector | None = None
        against = ""
        if others:
            # A vertebra is swapped when more of the others point the other way than agree
            # with it: one slip among correct neighbours is caught, the neighbours are not.
            opposed = [lv for lv, o in others.items() if _dot(d, o) < 0]
            if 2 * len(opposed) > len(others):
                expected = (-d[0], -d[1])
                against = f"the other vertebrae on this film ({', '.join(opposed)})"
        elif anterior_x_sign is not None and abs(d[0]) > 0.5:
            expected = (float(anterior_x_sign), 0.0)
            against = "the film's facing"
        if expected is not None and _dot(d, expected) < 0:
            out.append(PlausibilityWarning(
                ANTERIOR_POSTERIOR_SWAPPED, level,
                f"{level}: its anterior side points the opposite way to {against}: anterior "
                "and posterior landmarks look swapped (its heights, wedge and type would be "
                "mirrored); check the placement",
            ))
    return out


def _level_order(vertebrae: Mapping[str, Vertebra], cal: Calibration) -> list[PlausibilityWarning]:
    ups = [u for v in vertebrae.values() if (u := _superior_direction(v, cal)) is not None]
    if len(vertebrae) < 2 or not ups:
        return []
    superior = _unit((sum(u[0] for u in ups), sum(u[1] for u in ups)))
    if superior is None:
        return []
    ordered = sorted(vertebrae, key=level_index)
    out = []
    for cranial, caudal in zip(ordered, ordered[1:], strict=False):
        rise = _mm_vector(_centroid(vertebrae[caudal]), _centroid(vertebrae[cranial]), cal)
        if _dot(rise, superior) < 0:
            out.append(PlausibilityWarning(
                LEVEL_ORDER, cranial,
                f"{cranial} is drawn caudal to {caudal}: the level names contradict the "
                "drawing; check the labels",
            ))
    return out


def _size(vertebrae: Mapping[str, Vertebra], cal: Calibration) -> list[PlausibilityWarning]:
    if not cal.is_calibrated:
        return []  # pixels: no size can be judged
    lo_h, hi_h = HEIGHT_RANGE_MM
    lo_d, hi_d = BODY_DEPTH_RANGE_MM
    out = []
    for level, v in vertebrae.items():
        p = v.points
        problems = []
        for key in ("a", "m", "p"):
            if f"s{key}" not in p or f"i{key}" not in p:
                continue  # no middle points: placed in four-corner mode
            h = cal.distance(p[f"s{key}"], p[f"i{key}"])
            if below(h, lo_h) or above(h, hi_h):
                problems.append(f"{_HEIGHT_NAMES[key]} height {h:.1f} mm")
        depth = (cal.distance(p["sp"], p["sa"]) + cal.distance(p["ip"], p["ia"])) / 2.0
        if below(depth, lo_d) or above(depth, hi_d):
            problems.append(f"depth {depth:.1f} mm")
        if problems:
            out.append(PlausibilityWarning(
                IMPLAUSIBLE_SIZE, level,
                f"{level}: {', '.join(problems)} ({cal.unit_tag}) outside the plausible "
                f"{lo_h:g}–{hi_h:g} mm height / {lo_d:g}–{hi_d:g} mm depth of a vertebral "
                "body: check the calibration and the landmarks",
            ))
    return out


def check_landmarks(
    vertebrae: Mapping[str, Vertebra],
    calibration: Calibration,
    *,
    anterior_x_sign: int | None = None,
) -> list[PlausibilityWarning]:
    """The landmark warnings of one film (§6a): swapped anterior/posterior, level order and
    implausible size, for the complete ``vertebrae`` (level → six points).

    ``anterior_x_sign`` is the film's known facing when there is one (``+1``: anterior toward
    increasing x, ``-1``: toward x = 0); it is used only for a lone vertebra, whose direction
    cannot be compared with others'.
    """
    return [
        *_swapped(vertebrae, calibration, anterior_x_sign),
        *_level_order(vertebrae, calibration),
        *_size(vertebrae, calibration),
    ]


def index_level_warnings(
    index_levels: set[str] | frozenset[str], grades: Mapping[str, int]
) -> list[PlausibilityWarning]:
    """``index_level_mismatch`` (§6a): an index level graded Genant 0 next to an unmarked
    level graded ≥ 1. ``grades`` maps every measured level to its Genant grade."""
    out = []
    for level in sorted(index_levels, key=level_index):
        if grades.get(level, -1) != 0:
            continue
        fractured = [lv for lv in neighbour_levels(level)
                     if lv is not None and lv not in index_levels and grades.get(lv, 0) >= 1]
        if fractured:
            named = ", ".join(f"{lv} (Genant {grades[lv]})" for lv in fractured)
            out.append(PlausibilityWarning(
                INDEX_LEVEL_MISMATCH, level,
                f"{level} is marked as an index (fractured) level but measures Genant 0, while "
                f"{named} is not marked: check which level is fractured",
            ))
    return out
