"""Plane geometry in millimetre space (docs/clinical-reference.md §1, §3).

Inputs are image points ``(x, y) = (column, row)``; every function that returns a length or
an angle first scales them by the :class:`~ovcf_viewer.model.calibration.Calibration` (column
spacing on *x*, row spacing on *y*), because angles differ between pixel and mm space when
pixels are not square. Angles are in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ovcf_viewer.model.calibration import Calibration

__all__ = [
    "angle_at_vertex_deg",
    "distance_mm",
    "kyphosis_angle_deg",
    "line_angle_deg",
]

Point = Sequence[float]


def distance_mm(a: Point, b: Point, calibration: Calibration) -> float:
    """``hypot(dx * col_mm, dy * row_mm)`` (docs/clinical-reference.md §1); pixels when
    uncalibrated."""
    return calibration.distance(a, b)


def _vec(a: Point, b: Point, cal: Calibration) -> tuple[float, float]:
    return ((b[0] - a[0]) * cal.col_mm, (b[1] - a[1]) * cal.row_mm)


def _unit(v: tuple[float, float]) -> tuple[float, float]:
    n = math.hypot(*v)
    if n == 0:
        raise ValueError("two points coincide: a line needs two distinct points")
    return (v[0] / n, v[1] / n)


def _dot(u: tuple[float, float], v: tuple[float, float]) -> float:
    return u[0] * v[0] + u[1] * v[1]


def kyphosis_angle_deg(
    upper_posterior: Point,
    upper_anterior: Point,
    lower_posterior: Point,
    lower_anterior: Point,
    calibration: Calibration,
) -> float:
    """Signed angle between an upper and a lower endplate line, each drawn from its posterior
    to its anterior point: **kyphosis positive, lordosis negative** — positive when the lines
    converge anteriorly (docs/clinical-reference.md §3, SDSG).

    The sign comes from the anatomy alone: the anterior direction is the bisector of the two
    lines, the superior direction points from the lower line towards the upper one. Nothing
    depends on the image's handedness, so mirroring the film (a patient facing the other way)
    leaves the result unchanged. The magnitude is the angle between the lines in mm space.
    """
    u = _vec(upper_posterior, upper_anterior, calibration)
    v = _vec(lower_posterior, lower_anterior, calibration)
    uu, vu = _unit(u), _unit(v)
    bisector = (uu[0] + vu[0], uu[1] + vu[1])
    if math.hypot(*bisector) < 1e-9:
        raise ValueError(
            "the endplate lines point in opposite directions: check anterior/posterior"
        )
    anterior = _unit(bisector)
    superior = (-anterior[1], anterior[0])
    mid_upper = (
        (upper_posterior[0] + upper_anterior[0]) / 2,
        (upper_posterior[1] + upper_anterior[1]) / 2,
    )
    mid_lower = (
        (lower_posterior[0] + lower_anterior[0]) / 2,
        (lower_posterior[1] + lower_anterior[1]) / 2,
    )
    rise = _vec(mid_lower, mid_upper, calibration)
    if _dot(superior, rise) < 0:
        superior = (-superior[0], -superior[1])
    upper_tilt = math.atan2(_dot(u, superior), _dot(u, anterior))
    lower_tilt = math.atan2(_dot(v, superior), _dot(v, anterior))
    return math.degrees(lower_tilt - upper_tilt)


def line_angle_deg(a1: Point, a2: Point, b1: Point, b2: Point, calibration: Calibration) -> float:
    """Unsigned acute-or-obtuse angle in [0, 90] between lines ``a1a2`` and ``b1b2`` in mm
    space: the free two-line Cobb tool, which does not know anatomy."""
    u = _unit(_vec(a1, a2, calibration))
    v = _unit(_vec(b1, b2, calibration))
    cosine = abs(_dot(u, v))
    return math.degrees(math.acos(min(1.0, cosine)))


def angle_at_vertex_deg(a: Point, vertex: Point, b: Point, calibration: Calibration) -> float:
    """Angle ``a–vertex–b`` in [0, 180] degrees, in mm space (the angle tool)."""
    u = _vec(vertex, a, calibration)
    v = _vec(vertex, b, calibration)
    cross = u[0] * v[1] - u[1] * v[0]
    return math.degrees(abs(math.atan2(cross, _dot(u, v))))
