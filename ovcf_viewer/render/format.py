"""How a number reads where a person reads it — the Qt panels, the CLI's text output, the PDF
report — written once. Machine outputs (JSON, CSV) keep full precision and ASCII and do not
come through here.

Conventions (docs/clinical-reference.md §1 for units):

* Lengths 1 decimal, with the calibration's unit tag when the caller passes it ("23.4 mm
  (Pixel Spacing)", "152.0 px" — never "mm" on pixels); angles 1 decimal with "°";
  percentages 1 decimal with " %"; ratios 2 decimals (the 0.80 deformity cut-off is read at
  that precision).
* Negative numbers carry a true minus sign "−" (U+2212), not the ASCII hyphen: in the report's
  proportional fonts and the Qt tables a hyphen is short, easy to miss and reads as a dash;
  "−" is as wide as "+" so signed columns line up. "−0.0" is printed as "0.0". Signed
  changes carry "+" as well.
* A value that could not be measured is :data:`MISSING` ("—"); an input nobody assessed is
  :data:`NOT_ASSESSED` ("not assessed") where the text must say so.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MINUS", "MISSING", "NOT_ASSESSED", "angle", "compact", "length", "number", "pct",
    "plain", "points", "ratio", "signed_angle", "signed_length", "signed_pct",
]

MINUS = "\u2212"
MISSING = "—"  # em dash: a value that cannot be measured (the table notes say why)
NOT_ASSESSED = "not assessed"
LENGTH_DECIMALS = 1
ANGLE_DECIMALS = 1
PCT_DECIMALS = 1
RATIO_DECIMALS = 2


def number(value: float, decimals: int, *, signed: bool = False) -> str:
    """``value`` to ``decimals`` places with a true minus sign ("+" too when ``signed``);
    a value that rounds to zero has no sign."""
    text = f"{value:.{decimals}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    elif signed and float(text) != 0:
        text = "+" + text
    return text


def _with_unit(text: str, unit: str | None) -> str:
    return f"{text} {unit}" if unit else text


def length(value: float | None, unit: str | None = None) -> str:
    """A height or distance, 1 decimal; ``unit`` is the calibration's unit tag (omit it only
    where a column header carries it)."""
    return MISSING if value is None else _with_unit(number(value, LENGTH_DECIMALS), unit)


def signed_length(value: float | None, unit: str | None = None) -> str:
    return MISSING if value is None else _with_unit(
        number(value, LENGTH_DECIMALS, signed=True), unit)


def angle(value: float | None) -> str:
    """An angle in degrees, 1 decimal, "°" (kyphosis positive, §3)."""
    return MISSING if value is None else number(value, ANGLE_DECIMALS) + "°"


def signed_angle(value: float | None) -> str:
    return MISSING if value is None else number(value, ANGLE_DECIMALS, signed=True) + "°"


def pct(value: float | None) -> str:
    """A percentage given in percent (not a fraction), 1 decimal, " %"."""
    return MISSING if value is None else number(value, PCT_DECIMALS) + " %"


def signed_pct(value: float | None) -> str:
    return MISSING if value is None else number(value, PCT_DECIMALS, signed=True) + " %"


def ratio(value: float | None) -> str:
    """A dimensionless ratio (Ha/Hp, Hm/Hp, crush), 2 decimals."""
    return MISSING if value is None else number(value, RATIO_DECIMALS)


def compact(value: float) -> str:
    """1 decimal with a trailing ".0" dropped, for numbers inside sentences (reason texts):
    35 → "35", 40.44 → "40.4", −3.25 → "−3.2"."""
    text = number(value, 1)
    return text[:-2] if text.endswith(".0") else text


def points(value: float | None, *, signed: bool = True) -> str:
    """Score points as given (whole numbers print without decimals): an item's points signed
    ("+1", "−1", "0"), a total with ``signed=False`` ("6", "−1"); ``None`` → "unknown"."""
    if value is None:
        return "unknown"
    text = f"{value:+g}" if signed else f"{value:g}"
    if text in ("+0", "-0"):
        return "0"
    return text.replace("-", MINUS)


def plain(value: Any, name: str = "") -> str:
    """A measured input or finding for reading: unknown, yes/no, a percentage or an angle
    by its name's unit suffix (``_pct``, ``_deg``), numbers :func:`compact`."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        if name.endswith("_pct"):
            return pct(float(value))
        if name.endswith("_deg"):
            return angle(float(value))
        return compact(float(value)) if isinstance(value, float) else number(value, 0)
    return str(value)
