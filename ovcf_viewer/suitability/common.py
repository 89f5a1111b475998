"""Shared vocabulary of the rule engine (option ids, statuses, effects, OF types, the
disclaimer) and the plain number formatting its reason texts use."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.model.findings import FINDINGS_FORMAT, FINDINGS_VERSION, OF_TYPES, _suggest
from ovcf_viewer.render import format as fmt

__all__ = ["FINDINGS_FORMAT", "FINDINGS_VERSION", "OF_TYPES", "_suggest"]  # re-exported

DISCLAIMER = "Decision support only; the treating clinician decides."

OPTION_IDS: tuple[str, ...] = ("conservative", "pvp", "pkp", "expandable", "refer")
AUGMENTATION_IDS: tuple[str, ...] = ("pvp", "pkp", "expandable")
STATUSES: tuple[str, ...] = ("favoured", "possible", "caution", "contraindicated",
                             "needs_findings", "not_indicated")
#: Effects a rule can have on an option, most severe first (the order reasons are listed in).
EFFECTS: tuple[str, ...] = ("contraindicate", "caution", "against", "favour", "note")
APPROACHES: tuple[str, ...] = ("unilateral", "bilateral")
VISCOSITIES: tuple[str, ...] = ("low", "medium", "high")

_EFFECT_PREFIX = {
    "contraindicate": "Contraindication",
    "caution": "Caution",
    "against": "Against",
    "favour": "For",
    "note": "Note",
    "unilateral": "Unilateral",  # approach votes
    "bilateral": "Bilateral",
}


# ============================================================================ formatting helpers


def _num(value: float) -> str:
    """1 decimal, trailing zero dropped, true minus: 35 → "35", −3.25 → "−3.2"
    (:func:`ovcf_viewer.render.format.compact`)."""
    return fmt.compact(value)


def _plain(value: Any) -> str:
    return fmt.plain(value)


# Threshold comparisons on values rounded like the Genant grading, so a value constructed to
# be exactly at a threshold is treated as at it, not 1e-12 below.
def _at_or_above(value: float, limit: float) -> bool:
    return round(value, 9) >= round(limit, 9)


def _above(value: float, limit: float) -> bool:
    return round(value, 9) > round(limit, 9)

