"""The report's formatting: numbers through :mod:`ovcf_viewer.render.format` (the one
definition shared with the GUI and the CLI), plus names, dates and Genant text."""

from __future__ import annotations

from datetime import date
from typing import Any

from ovcf_viewer.measure.measurements import (
    IndexLevelMeasurement,
    VertebraMeasurement,
)
from ovcf_viewer.render import format as fmt
from ovcf_viewer.report.source import MISSING

# Numbers read as everywhere else a person reads them: render.format is the one definition.
_MINUS = fmt.MINUS
_num = fmt.number
format_length = fmt.length
format_signed_length = fmt.signed_length
format_ratio = fmt.ratio
format_angle = fmt.angle
format_signed_angle = fmt.signed_angle
format_pct = fmt.pct
format_signed_pct = fmt.signed_pct


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


_HEIGHT_SHORT = {"a": "Ha", "m": "Hm", "p": "Hp"}


def reduction_text(m: VertebraMeasurement) -> str:
    """Genant's height reduction r with the height it comes from (§4), "34.6 % (Ha)": r is
    the most reduced of Ha, Hm and Hp, so it differs from LOVBH (Ha only) unless Ha is the
    most reduced against the adjacent reference."""
    g = m.genant
    known = {k: v for k, v in g.reductions.items() if v is not None}
    text = format_pct(g.height_reduction_pct)
    if not known:
        return text
    worst = max(known, key=lambda k: known[k])
    return f"{text} ({_HEIGHT_SHORT.get(worst, worst)})"


#: What the report says once, under a table with both columns, so the two percentages are
#: never read as one number printed twice (§4).
REDUCTION_VS_LOVBH = (
    "Height reduction: Genant's r, the most reduced of Ha, Hm and Hp against its reference "
    "(the height named). LOVBH: the anterior height Ha against the mean of the neighbours' Ha. "
    "They coincide when Ha is the most reduced and the reference is the adjacent vertebrae; "
    "they differ for a biconcave or crush fracture and under the own-posterior reference "
    "(docs/clinical-reference.md §4)."
)


def lovbh_text(im: IndexLevelMeasurement) -> str:
    """LOVBH with what it stands on when not two neighbours (§6a): "not assessed" without."""
    value = format_pct(im.lovbh_pct) if im.lovbh_pct is not None else fmt.NOT_ASSESSED
    return value + (f" ({im.lovbh_note})" if im.lovbh_note else "")


def format_points(value: float | None, *, signed: bool = True) -> str:
    """OF score points: whole numbers, signed ("+1", "−1", "0"); ``None`` → "unknown"."""
    return fmt.points(value, signed=signed)


def _plain_value(name: str, value: Any) -> str:
    return fmt.plain(value, name)
