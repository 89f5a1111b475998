"""Threshold comparisons with a tolerance (docs/clinical-reference.md §4, §5).

A value constructed to sit exactly on a threshold (a 2 mm change, a 25 % reduction) comes out
of floating-point arithmetic a few ulps either side of it: 1.9999999999999964 mm. Every
clinical threshold is therefore compared with :data:`TOLERANCE`, so a value within it of the
threshold counts as *equal* to it — "a change equal to the setting is not smaller" (§5).
"""

from __future__ import annotations

__all__ = ["TOLERANCE", "at_least", "at_most", "below", "above"]

#: Absolute tolerance, in the unit of the value compared (mm, degrees, fraction, ratio).
TOLERANCE = 1e-6


def below(value: float, threshold: float) -> bool:
    """``value < threshold``, where a value within :data:`TOLERANCE` of it is not below."""
    return value < threshold - TOLERANCE


def at_least(value: float, threshold: float) -> bool:
    """``value ≥ threshold`` with :data:`TOLERANCE` (the complement of :func:`below`)."""
    return not below(value, threshold)


def above(value: float, threshold: float) -> bool:
    """``value > threshold``, where a value within :data:`TOLERANCE` of it is not above."""
    return value > threshold + TOLERANCE


def at_most(value: float, threshold: float) -> bool:
    """``value ≤ threshold`` with :data:`TOLERANCE` (the complement of :func:`above`)."""
    return not above(value, threshold)
