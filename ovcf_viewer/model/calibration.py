"""Pixel-to-millimetre calibration of one image (docs/clinical-reference.md §1).

Conventions, written down once for the whole package:

* Image coordinates are ``(x, y) = (column, row)`` as floats, ``(0, 0)`` at the centre of
  the top-left pixel.
* Millimetres come only from a :class:`Calibration`, which keeps the row spacing (distance
  between the centres of adjacent rows, i.e. along *y*) and the column spacing (along *x*)
  separately, and names where they came from.
* DICOM Pixel Spacing (0028,0030) and Imager Pixel Spacing (0018,1164) are both stored as
  ``[row spacing, column spacing]``.

The source preference order is docs/clinical-reference.md §1: manual, pixel spacing ("in the
patient"), magnification-corrected (only when the user enables it), detector plane, none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

__all__ = [
    "Calibration",
    "CalibrationHeader",
    "CalibrationSource",
    "PLAUSIBLE_SPACING_MM",
    "PROJECTION_MODALITIES",
    "resolve_calibration",
]

#: Modalities whose images are projections onto a detector (PS3.3 §10.7.1.1).
PROJECTION_MODALITIES = frozenset({"CR", "DX", "MG", "RF", "XA", "IO", "PX", "RG", "DF"})

# Spacings that agree to this many mm are "equal" (PS3.3 §10.7: equal means no correction).
_EQUAL_TOLERANCE_MM = 1e-6

#: Plausible pixel spacings of a radiograph, mm per pixel. Outside them a calibration is a
#: typing or header error (a 1e308 mm line gives infinite heights), refused with a clear
#: message rather than measured (docs/clinical-reference.md §6a).
PLAUSIBLE_SPACING_MM = (1e-3, 10.0)


class CalibrationSource(StrEnum):
    """Where a calibration came from (docs/clinical-reference.md §1), in preference order."""

    MANUAL = "manual"
    PIXEL_SPACING = "pixel_spacing"
    MAGNIFICATION = "magnification"
    DETECTOR = "detector"
    NONE = "none"

    @property
    def unit_tag(self) -> str:
        """Short unit label shown beside every length, like Cornerstone's "mm Proj"."""
        return _UNIT_TAGS[self]

    @property
    def description(self) -> str:
        """Plain-language name used in panels and reports."""
        return _DESCRIPTIONS[self]


_UNIT_TAGS = {
    CalibrationSource.MANUAL: "mm (manual)",
    CalibrationSource.PIXEL_SPACING: "mm (pixel spacing)",
    CalibrationSource.MAGNIFICATION: "mm (mag.-corrected)",
    CalibrationSource.DETECTOR: "mm at detector",
    CalibrationSource.NONE: "px",
}

_DESCRIPTIONS = {
    CalibrationSource.MANUAL: "manual calibration on this image",
    CalibrationSource.PIXEL_SPACING: "Pixel Spacing (0028,0030), corrected to the patient",
    CalibrationSource.MAGNIFICATION: (
        "Imager Pixel Spacing ÷ radiographic magnification factor (refers to the table, "
        "under-corrects the spine)"
    ),
    CalibrationSource.DETECTOR: (
        "detector plane (Imager Pixel Spacing, uncorrected): overstates true size by about 5-40 %"
    ),
    CalibrationSource.NONE: "no calibration: lengths in pixels",
}


@dataclass(frozen=True)
class Calibration:
    """Row and column spacing in mm per pixel, and where they came from.

    With ``source == NONE`` every "length" is in pixels (column widths) and the column
    spacing is 1.0; the row spacing is 1.0 too, unless the header's Pixel Aspect Ratio says
    rows are taller than columns are wide: then it is that ratio, so ratios, percentages and
    angles stay valid on such an image as well (docs/clinical-reference.md §1).
    """

    source: CalibrationSource
    row_mm: float = 1.0
    col_mm: float = 1.0
    detail: str = ""

    def __post_init__(self) -> None:
        for name in ("row_mm", "col_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.source is not CalibrationSource.NONE:
            lo, hi = PLAUSIBLE_SPACING_MM
            for name in ("row_mm", "col_mm"):
                value = getattr(self, name)
                if not lo <= value <= hi:
                    raise ValueError(
                        f"{self.source.value} calibration: {name} {value:g} mm per pixel is not "
                        f"a plausible pixel spacing (expected {lo:g}–{hi:g} mm): check the "
                        "calibration"
                    )
        if self.source is CalibrationSource.NONE and self.col_mm != 1.0:
            raise ValueError("an uncalibrated image measures in column widths: col_mm must be 1")

    @classmethod
    def none(cls, detail: str = "", *, pixel_aspect: float = 1.0) -> Calibration:
        """No calibration: lengths in pixels. ``pixel_aspect`` is the height of a row in
        column widths (Pixel Aspect Ratio, 0028,0034), 1.0 for square pixels."""
        return cls(CalibrationSource.NONE, float(pixel_aspect), 1.0, detail)

    @property
    def is_calibrated(self) -> bool:
        return self.source is not CalibrationSource.NONE

    @property
    def unit(self) -> str:
        """``"mm"`` or ``"px"``: the bare unit of every length under this calibration."""
        return "mm" if self.is_calibrated else "px"

    @property
    def unit_tag(self) -> str:
        return self.source.unit_tag

    def statement(self) -> str:
        """One line for panels and reports: source, spacing and any detail."""
        if not self.is_calibrated:
            return f"Calibration: none, lengths in pixels{self._detail_suffix()}"
        return (
            f"Calibration: {self.source.description}; row {self.row_mm:.4g} mm × "
            f"column {self.col_mm:.4g} mm per pixel{self._detail_suffix()}"
        )

    def _detail_suffix(self) -> str:
        return f" ({self.detail})" if self.detail else ""

    def to_mm(self, points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        """Image ``(x, y)`` points scaled to millimetre space (pixels when uncalibrated)."""
        return [(float(x) * self.col_mm, float(y) * self.row_mm) for x, y in points]

    def distance(self, a: Sequence[float], b: Sequence[float]) -> float:
        """Distance between two image points: ``hypot(dx * col_mm, dy * row_mm)`` (§1)."""
        return math.hypot((b[0] - a[0]) * self.col_mm, (b[1] - a[1]) * self.row_mm)

    def to_json(self) -> dict[str, object]:
        return {"source": self.source.value, "row_mm": self.row_mm, "col_mm": self.col_mm}


@dataclass(frozen=True)
class CalibrationHeader:
    """The header values calibration is resolved from, kept so it can be re-resolved when the
    user toggles magnification correction without reading the file again.

    Spacings are ``(row_mm, col_mm)`` as DICOM stores them, or ``None`` when absent.
    """

    modality: str = ""
    pixel_spacing: tuple[float, float] | None = None
    imager_pixel_spacing: tuple[float, float] | None = None
    magnification_factor: float | None = None  # (0018,1114)
    distance_source_to_detector: float | None = None  # SID (0018,1110)
    distance_source_to_patient: float | None = None  # SOD (0018,1111)
    pixel_spacing_calibration_type: str = ""  # (0028,0A02) GEOMETRY / FIDUCIAL
    pixel_spacing_calibration_description: str = ""  # (0028,0A04)
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def is_projection(self) -> bool:
        return self.modality.upper() in PROJECTION_MODALITIES

    def effective_magnification(self) -> tuple[float, str] | None:
        """ERMF (0018,1114), else SID/SOD; ``None`` when neither gives a factor ≥ 1.

        A projection always magnifies (the patient lies between source and detector, so
        SID ≥ SOD): a factor below 1 is a header error and would *enlarge* every length.
        """
        ermf = self.magnification_factor
        if ermf is not None and math.isfinite(ermf) and ermf >= 1.0:
            return ermf, "Estimated Radiographic Magnification Factor"
        sid, sod = self.distance_source_to_detector, self.distance_source_to_patient
        if sid and sod and sod > 0 and math.isfinite(sid / sod) and sid / sod >= 1.0:
            return sid / sod, "SID/SOD"
        return None


#: Pixel Aspect Ratios beyond this are header errors, shown and measured as square.
_ASPECT_LIMITS = (1.0 / 16.0, 16.0)


def _pixel_aspect_ratio(value: str) -> float:
    """Pixel Aspect Ratio (0028,0034) ``"vertical\\horizontal"`` as row height in column
    widths (PS3.3 C.7.6.3.1.7); 1.0 when absent or unusable."""
    parts = [p.strip() for p in str(value).split("\\") if p.strip()]
    try:
        vertical, horizontal = (float(p) for p in parts)
    except ValueError:
        return 1.0
    if vertical <= 0 or horizontal <= 0:
        return 1.0
    ratio = vertical / horizontal
    return ratio if _ASPECT_LIMITS[0] <= ratio <= _ASPECT_LIMITS[1] else 1.0


def _plausible(spacing: tuple[float, float]) -> bool:
    lo, hi = PLAUSIBLE_SPACING_MM
    return all(math.isfinite(v) and lo <= v <= hi for v in spacing)


def _spacing_equal(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return all(abs(x - y) <= _EQUAL_TOLERANCE_MM for x, y in zip(a, b, strict=True))


def resolve_calibration(
    header: CalibrationHeader,
    *,
    use_magnification: bool = False,
    manual: Calibration | None = None,
) -> Calibration:
    """Choose the calibration for an image exactly as docs/clinical-reference.md §1 orders it.

    1. ``manual`` when the user calibrated this image;
    2. Pixel Spacing when present *and different from* Imager Pixel Spacing, or present on a
       non-projection image without Imager Pixel Spacing (spacing "in the patient");
    3. Imager Pixel Spacing ÷ magnification (ERMF, else SID/SOD) when ``use_magnification``;
    4. Imager Pixel Spacing alone: the detector plane. Pixel Spacing *equal* to Imager Pixel
       Spacing is the detector plane too (PS3.3 §10.7), and so is Pixel Spacing alone on a
       projection image, whose plane DICOM leaves unstated;
    5. none: pixels.

    An already corrected Pixel Spacing is never divided by the magnification factor again.
    """
    if manual is not None:
        if manual.source is not CalibrationSource.MANUAL:
            raise ValueError("a manual calibration must have source MANUAL")
        return manual

    ps, ips = header.pixel_spacing, header.imager_pixel_spacing
    ignored = [f"{name} {spacing[0]:g}\\{spacing[1]:g} mm is not plausible, ignored"
               for name, spacing in (("Pixel Spacing", ps), ("Imager Pixel Spacing", ips))
               if spacing is not None and not _plausible(spacing)]
    if ps is not None and not _plausible(ps):
        ps = None
    if ips is not None and not _plausible(ips):
        ips = None
    if ignored:
        if ps is None and ips is None:
            return Calibration.none("; ".join(ignored))
        header = replace(header, pixel_spacing=ps, imager_pixel_spacing=ips)
    if ps is not None:
        corrected = (ips is not None and not _spacing_equal(ps, ips)) or (
            ips is None and not header.is_projection
        )
        if not corrected and ips is None and header.pixel_spacing_calibration_type:
            # A projection image whose Pixel Spacing says how it was calibrated.
            corrected = True
        if corrected:
            parts = [
                p
                for p in (
                    header.pixel_spacing_calibration_type,
                    header.pixel_spacing_calibration_description,
                )
                if p
            ]
            return Calibration(CalibrationSource.PIXEL_SPACING, ps[0], ps[1], ", ".join(parts))

    detector = ips if ips is not None else ps
    if detector is None:
        aspect = _pixel_aspect_ratio(header.extra.get("pixel_aspect_ratio", ""))
        if aspect != 1.0:
            return Calibration.none(
                f"no pixel spacing in the header; rows scaled by Pixel Aspect Ratio "
                f"{header.extra['pixel_aspect_ratio']} (lengths in column widths)",
                pixel_aspect=aspect,
            )
        return Calibration.none("no Pixel Spacing or Imager Pixel Spacing in the header")

    if ips is not None and ps is not None and _spacing_equal(ps, ips):
        detector_detail = "Pixel Spacing equals Imager Pixel Spacing: no correction was made"
    elif ips is None:
        detector_detail = "Pixel Spacing on a projection image without Imager Pixel Spacing"
    else:
        detector_detail = ""

    if use_magnification:
        mag = header.effective_magnification()
        if mag is not None:
            factor, origin = mag
            row_mm, col_mm = detector[0] / factor, detector[1] / factor
            if _plausible((row_mm, col_mm)):
                return Calibration(
                    CalibrationSource.MAGNIFICATION, row_mm, col_mm, f"÷ {factor:.4g} ({origin})"
                )
            # A factor so large the corrected spacing is no pixel spacing (it may underflow
            # to zero): a header error, said beside the detector-plane calibration used.
            detector_detail = "; ".join(
                part for part in (
                    detector_detail,
                    f"magnification correction not applied: {origin} {factor:.4g} would give "
                    "an implausible pixel spacing",
                ) if part
            )
    return Calibration(CalibrationSource.DETECTOR, detector[0], detector[1], detector_detail)
