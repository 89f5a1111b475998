"""Number formatting: the one place every number printed in the report goes through."""

from __future__ import annotations

from datetime import date
from typing import Any

from ovcf_viewer.measure.measurements import (
    IndexLevelMeasurement,
    VertebraMeasurement,
)
from ovcf_viewer.report.source import MISSING

# --------------------------------------------------------------------------------------------
# Number formatting: the one place every printed number goes through
# --------------------------------------------------------------------------------------------

_MINUS = "\u2212"


def _num(value: float, decimals: int, *, signed: bool = False) -> str:
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        # "-0.0" is zero: print it without a sign
        text = text[1:] if float(text) == 0 else _MINUS + text[1:]
    elif signed and float(text) != 0:
        text = "+" + text
    return text


def format_length(value: float | None) -> str:
    """A height or distance, 1 decimal, without unit (the column header carries the unit tag)."""
    return MISSING if value is None else _num(value, 1)


def format_signed_length(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True)


def format_ratio(value: float | None) -> str:
    """A dimensionless ratio (Ha/Hp, Hm/Hp, crush), 2 decimals."""
    return MISSING if value is None else _num(value, 2)


def format_angle(value: float | None) -> str:
    """An angle in degrees, 1 decimal, with the degree sign (kyphosis positive, §3)."""
    return MISSING if value is None else _num(value, 1) + "°"


def format_signed_angle(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True) + "°"


def format_pct(value: float | None) -> str:
    """A percentage given in percent (not a fraction), 1 decimal, with " %"."""
    return MISSING if value is None else _num(value, 1) + " %"


def format_signed_pct(value: float | None) -> str:
    return MISSING if value is None else _num(value, 1, signed=True) + " %"


def format_date(value: date | None) -> str:
    return MISSING if value is None else value.isoformat()


def format_patient_name(name: str) -> str:
    """A DICOM Person Name (``FAMILY^Given^Middle^Prefix^Suffix``) as "FAMILY, Given Middle"."""
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    family = parts[0] if parts else ""
    given = " ".join(p for p in parts[1:3] if p)
    if family and given:
        return f"{family}, {given}"
    return family or given


def genant_text(m: VertebraMeasurement) -> str:
    """"2 wedge", "0" (grade 0 has no type), per docs/clinical-reference.md §4; "treated" for a
    treated vertebra after its procedure (§5: a grade would read as "no fracture")."""
    if m.treated:
        return "treated"
    g = m.genant
    return str(g.grade) if g.grade == 0 else f"{g.grade} {g.type}"


def _genant_reference_text(m: VertebraMeasurement) -> str:
    g = m.genant
    if g.reference == "adjacent":
        one = " (one neighbour)" if len(g.reference_levels) == 1 else ""
        return "adjacent " + ", ".join(g.reference_levels) + one
    return "own posterior"


def lovbh_text(im: IndexLevelMeasurement) -> str:
    """LOVBH with what it stands on when not two neighbours (§6a): "not assessed" without."""
    value = format_pct(im.lovbh_pct) if im.lovbh_pct is not None else "not assessed"
    return value + (f" ({im.lovbh_note})" if im.lovbh_note else "")


def format_points(value: float | None) -> str:
    """OF score points: whole numbers without decimals, signed ("+1", "−1", "6")."""
    if value is None:
        return "unknown"
    text = f"{value:g}"
    if text.startswith("-"):
        return _MINUS + text[1:]
    return text


def _plain_value(name: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name.endswith("_pct"):
        return format_pct(float(value))
    if name.endswith("_deg"):
        return format_angle(float(value))
    if isinstance(value, float):
        return f"{value:g}".replace("-", _MINUS)
    return str(value)
