"""Vertebral measurements from six-point landmarks (docs/clinical-reference.md §3, §4).

Inputs: an :class:`~ovcf_viewer.model.landmarks.ImageAnnotations` (points in image
coordinates, §1) and a :class:`~ovcf_viewer.model.calibration.Calibration`. Outputs: frozen
dataclasses of plain numbers. Lengths are in mm, or pixels when the calibration source is
``none`` (then ratios, percentages and angles are still valid). Angles are in degrees,
kyphosis positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ovcf_viewer.measure import tolerance
from ovcf_viewer.measure.geometry import kyphosis_angle_deg
from ovcf_viewer.measure.plausibility import (
    PlausibilityWarning,
    check_landmarks,
    index_level_warnings,
)
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import ImageAnnotations, Vertebra, level_index, neighbour_levels
from ovcf_viewer.model.settings import COBB_DEFINITIONS, GENANT_REFERENCES, Settings

__all__ = [
    "DEFORMITY_PCT",
    "DEFORMITY_RATIO",
    "GenantResult",
    "ImageMeasurements",
    "IndexLevelMeasurement",
    "VertebraMeasurement",
    "genant_grade",
    "genant_type",
    "measure_image",
    "vertebral_heights",
]

#: Ratio below which a vertebra is deformed on the fixed-cut-off rule (Siminoski 2006, §3),
#: and the same cut-off in % of reference (the trend figure's line). Defined here only.
DEFORMITY_PCT = 80.0
DEFORMITY_RATIO = DEFORMITY_PCT / 100.0
#: Percentage points within which the three reductions count as uniform (crush), §4.
UNIFORM_WITHIN_PP = 5.0
# Boundaries (Genant, the 0.80 ratio cut-off, the 5 pp crush spread) are compared with the
# tolerance of ovcf_viewer.measure.tolerance, so a reduction constructed to be exactly 25 % is
# graded as 25 %, not 24.999999999 %.

HEIGHT_KEYS = ("a", "m", "p")


#: What a vertebra placed in four-corner mode cannot give (no middle points): the JSON's
#: ``unavailable`` list names these keys.
FOUR_CORNER_UNAVAILABLE = ("hm", "biconcavity_ratio", "genant_type_biconcave")


def vertebral_heights(
    vertebra: Vertebra, calibration: Calibration
) -> tuple[float, float | None, float]:
    """``(Ha, Hm, Hp)`` = ``|sa−ia|``, ``|sm−im|``, ``|sp−ip|`` in mm
    (docs/clinical-reference.md §3); ``Hm`` is ``None`` for a vertebra placed in
    four-corner mode (no middle points)."""
    p = vertebra.points
    middle = calibration.distance(p["sm"], p["im"]) if "sm" in p and "im" in p else None
    return (
        calibration.distance(p["sa"], p["ia"]),
        middle,
        calibration.distance(p["sp"], p["ip"]),
    )


def genant_grade(height_reduction: float) -> int:
    """Genant semi-quantitative grade for a height reduction given as a fraction (§4):
    0 below 20 %, 1 from 20 % to below 25 %, 2 from 25 % to 40 % inclusive, 3 above 40 %."""
    r = height_reduction
    if tolerance.below(r, 0.20):
        return 0
    if tolerance.below(r, 0.25):
        return 1
    if tolerance.at_most(r, 0.40):
        return 2
    return 3


def genant_type(reductions: dict[str, float | None], grade: int) -> str:
    """Wedge if the anterior height is the most reduced, biconcave if the middle, crush if the
    posterior or all three within 5 percentage points of each other (§4); ``none`` for
    grade 0. ``reductions`` maps ``a``/``m``/``p`` to fractions (``p`` may be ``None`` when
    graded against the vertebra's own posterior height, ``m`` when the vertebra was placed
    in four-corner mode: it can then never be typed biconcave)."""
    if grade == 0:
        return "none"
    known = {k: v for k, v in reductions.items() if v is not None}
    if len(known) == 3:
        spread_pp = (max(known.values()) - min(known.values())) * 100
        if tolerance.at_most(spread_pp, UNIFORM_WITHIN_PP):
            return "crush"
    worst = max(known, key=lambda k: known[k])
    return {"a": "wedge", "m": "biconcave", "p": "crush"}[worst]


@dataclass(frozen=True)
class GenantResult:
    """Genant grade and type with the reference it was measured against (§4)."""

    grade: int
    type: str
    height_reduction: float  # fraction: max over a, m, p of (1 − H_x / H_ref,x)
    reductions: dict[str, float | None]
    reference: str  # "adjacent" or "own_posterior" (the one actually used)
    reference_levels: tuple[str, ...]
    reference_heights_mm: dict[str, float | None]
    note: str = ""
    #: How many neighbours the adjacent reference uses when not two, and which were left out
    #: (treated, index levels, Genant ≥ 1), e.g. "one untreated, unfractured neighbour (T12);
    #: left out L2: Genant 2" (§6a); "" with two.
    reference_note: str = ""

    @property
    def height_reduction_pct(self) -> float:
        return self.height_reduction * 100.0


@dataclass(frozen=True)
class VertebraMeasurement:
    """One vertebra (§3): heights in mm (px when uncalibrated), ratios, wedge angle."""

    level: str
    anterior_height_mm: float
    middle_height_mm: float | None  # None in four-corner mode
    posterior_height_mm: float
    wedge_ratio: float  # Ha / Hp
    biconcavity_ratio: float | None  # Hm / Hp; None in four-corner mode
    crush_ratio: float | None  # Hp / mean Hp of placed adjacent vertebrae
    crush_reference_levels: tuple[str, ...]
    wedge_angle_deg: float  # superior vs inferior endplate, kyphosis positive
    genant: GenantResult
    #: A treated (cemented) level on a film after its procedure: it reads "treated", not a
    #: Genant grade as if it were an untreated body (§5).
    treated: bool = False
    landmark_mode: str = "six_point"

    @property
    def genant_label(self) -> str:
        """``treated``, or ``grade 2 wedge (34.6 %)`` (§4, §5)."""
        if self.treated:
            return "treated"
        g = self.genant
        return f"grade {g.grade} {g.type} ({g.height_reduction_pct:.1f} %)"

    @property
    def heights(self) -> dict[str, float]:
        """The heights this vertebra has: ``a``, ``m`` (six-point only) and ``p``."""
        out = {"a": self.anterior_height_mm}
        if self.middle_height_mm is not None:
            out["m"] = self.middle_height_mm
        out["p"] = self.posterior_height_mm
        return out

    @property
    def unavailable(self) -> tuple[str, ...]:
        """What this vertebra cannot give (four-corner mode: no middle points)."""
        return FOUR_CORNER_UNAVAILABLE if self.landmark_mode == "four_corner" else ()

    @property
    def deformed_ratios(self) -> list[str]:
        """Which ratios fall below the 0.80 fixed cut-off (Siminoski 2006)."""
        out = []
        for name, value in (
            ("wedge", self.wedge_ratio),
            ("biconcavity", self.biconcavity_ratio),
            ("crush", self.crush_ratio),
        ):
            if value is not None and tolerance.below(value, DEFORMITY_RATIO):
                out.append(name)
        return out


@dataclass(frozen=True)
class IndexLevelMeasurement:
    """An index (fractured) level (§3, §4): segmental kyphosis from the superior endplate of
    the vertebra above to the inferior endplate of the vertebra below, and LOVBH."""

    level: str
    segmental_kyphosis_deg: float | None
    upper_level: str | None
    lower_level: str | None
    wedge_angle_deg: float
    lovbh_pct: float | None
    lovbh_reference_levels: tuple[str, ...]
    #: Said next to the value when LOVBH uses one untreated, unfractured neighbour or none.
    lovbh_note: str = ""

    def cobb_deg(self, cobb_definition: str) -> float | None:
        """The angle the report calls "Cobb" under the *setting* (§3)."""
        if cobb_definition == "segmental":
            return self.segmental_kyphosis_deg
        return self.wedge_angle_deg

    @property
    def segmental_endplates(self) -> str:
        if self.upper_level and self.lower_level:
            return (
                f"superior endplate of {self.upper_level} to inferior endplate of "
                f"{self.lower_level}"
            )
        return "needs the vertebrae above and below"


@dataclass(frozen=True)
class ImageMeasurements:
    calibration: Calibration
    vertebrae: dict[str, VertebraMeasurement]
    index_levels: dict[str, IndexLevelMeasurement]
    genant_reference: str
    cobb_definition: str
    notes: tuple[str, ...] = field(default=())
    #: Plausibility warnings of §6a (:mod:`ovcf_viewer.measure.plausibility`).
    warnings: tuple[PlausibilityWarning, ...] = field(default=())

    @property
    def length_suffix(self) -> str:
        """``_mm`` for calibrated lengths, ``_px`` for pixels: the JSON and CSV key suffix,
        so a pixel count never sits under a millimetre name."""
        return "_mm" if self.calibration.is_calibrated else "_px"

    def warnings_for(self, level: str | None) -> list[PlausibilityWarning]:
        """The warnings about ``level`` (``None``: those about the whole film)."""
        return [w for w in self.warnings if w.level == level]

    def vertebra_json(self, m: VertebraMeasurement) -> dict[str, Any]:
        """One vertebra's ``measure --json`` entry (lengths under ``_mm`` or ``_px`` names)."""
        unit = self.length_suffix
        return {
            f"ha{unit}": m.anterior_height_mm,
            f"hm{unit}": m.middle_height_mm,
            f"hp{unit}": m.posterior_height_mm,
            "wedge_ratio": m.wedge_ratio,
            "biconcavity_ratio": m.biconcavity_ratio,
            "crush_ratio": m.crush_ratio,
            "wedge_angle_deg": m.wedge_angle_deg,
            "genant_grade": None if m.treated else m.genant.grade,
            "genant_type": "treated" if m.treated else m.genant.type,
            "height_reduction_pct": m.genant.height_reduction_pct,
            "genant_reference_used": m.genant.reference,
            "genant_reference_levels": list(m.genant.reference_levels),
            "genant_reference_note": m.genant.reference_note or m.genant.note,
            "treated": m.treated,
            "landmark_mode": m.landmark_mode,
            "unavailable": [f"hm{unit}" if k == "hm" else k for k in m.unavailable],
        }

    def to_json(self) -> dict[str, Any]:
        """The ``ovcf-viewer measure --json`` document."""
        return {
            "calibration": {
                "source": self.calibration.source.value,
                "row_mm": self.calibration.row_mm,
                "col_mm": self.calibration.col_mm,
                "unit": self.calibration.unit,
                "statement": self.calibration.statement(),
            },
            "vertebrae": {level: self.vertebra_json(m) for level, m in self.vertebrae.items()},
            "index_levels": {
                level: {
                    "segmental_kyphosis_deg": m.segmental_kyphosis_deg,
                    "segmental_endplates": m.segmental_endplates,
                    "lovbh_pct": m.lovbh_pct,
                    "lovbh_reference_levels": list(m.lovbh_reference_levels),
                    "lovbh_note": m.lovbh_note,
                    "cobb_deg": m.cobb_deg(self.cobb_definition),
                }
                for level, m in self.index_levels.items()
            },
            "settings": {
                "genant_reference": self.genant_reference,
                "cobb_definition": self.cobb_definition,
            },
            "notes": list(self.notes),
            "warnings": [w.to_json() for w in self.warnings],
        }


def _wedge_angle(vertebra: Vertebra, calibration: Calibration) -> float:
    """Angle between the vertebra's own superior (sp→sa) and inferior (ip→ia) endplates."""
    p = vertebra.points
    return kyphosis_angle_deg(p["sp"], p["sa"], p["ip"], p["ia"], calibration)


def _placed_neighbours(level: str, complete: dict[str, Vertebra]) -> list[str]:
    return [lv for lv in neighbour_levels(level) if lv is not None and lv in complete]


def _left_out(level: str, complete: dict[str, Vertebra], excluded: dict[str, str]) -> str:
    """"T12: index level, L2: Genant 2" for the placed neighbours left out of a reference."""
    return ", ".join(f"{lv}: {excluded[lv]}" for lv in _placed_neighbours(level, complete)
                     if lv in excluded)


def _reference_note(refs: list[str], left_out: str) -> str:
    """Says how many neighbours a reference uses when it is not the usual two (§6a)."""
    if len(refs) == 2:
        return ""
    note = f"one untreated, unfractured neighbour ({refs[0]})" if refs else (
        "no untreated, unfractured neighbour")
    return note + (f"; left out {left_out}" if left_out else "")


def _genant(
    level: str,
    heights: dict[str, dict[str, float]],
    complete: dict[str, Vertebra],
    excluded: dict[str, str],
    reference: str,
) -> GenantResult:
    own = heights[level]
    note = ""
    left_out = _left_out(level, complete, excluded)
    if reference == "adjacent":
        refs = [lv for lv in _placed_neighbours(level, complete) if lv not in excluded]
        if refs:
            ref_heights: dict[str, float | None] = {
                k: _mean_height(heights, refs, k) for k in HEIGHT_KEYS
            }
            reductions: dict[str, float | None] = {
                k: _reduction(own.get(k), ref_heights[k]) for k in HEIGHT_KEYS
            }
            known = [v for v in reductions.values() if v is not None]
            r = max(known)
            grade = genant_grade(r)
            return GenantResult(
                grade,
                genant_type(reductions, grade),
                r,
                reductions,
                "adjacent",
                tuple(refs),
                ref_heights,
                reference_note=_reference_note(refs, left_out),
            )
        note = "no placed, non-fractured neighbour: graded against its own posterior height"
        if left_out:
            note += f" (left out {left_out})"
    # own posterior: Ha and Hm against Hp of the same vertebra; crush cannot be graded (§4).
    reductions = {
        "a": 1.0 - own["a"] / own["p"],
        "m": _reduction(own.get("m"), own["p"]),
        "p": None,
    }
    r = max(v for v in reductions.values() if v is not None)
    grade = genant_grade(r)
    return GenantResult(
        grade,
        genant_type(reductions, grade),
        r,
        reductions,
        "own_posterior",
        (level,),
        {"a": own["p"], "m": own["p"], "p": None},
        note,
    )


def _mean_height(heights: dict[str, dict[str, float]], levels: list[str], key: str
                 ) -> float | None:
    """Mean of ``key`` over ``levels``; ``None`` if any of them lacks it (four-corner)."""
    if not levels or any(key not in heights[lv] for lv in levels):
        return None
    return sum(heights[lv][key] for lv in levels) / len(levels)


def _reduction(own: float | None, reference: float | None) -> float | None:
    """``1 − own / reference``; ``None`` when either is unknown."""
    if own is None or reference is None:
        return None
    return 1.0 - own / reference


def _graded_excluding_fractured(
    heights: dict[str, dict[str, float]],
    complete: dict[str, Vertebra],
    excluded: dict[str, str],
    reference: str,
) -> dict[str, GenantResult]:
    """Genant results of every complete vertebra whose adjacent references leave out the
    treated and index levels and every neighbour graded ≥ 1 (§4, §6a). ``excluded`` (level →
    why) is extended in place with the fractured levels found. A fractured neighbour raises
    nobody's grade, so levels are graded again until no new fractured one appears (the set
    only grows: this ends)."""
    while True:
        results = {lv: _genant(lv, heights, complete, excluded, reference) for lv in complete}
        fractured = {lv: f"Genant {g.grade}" for lv, g in results.items()
                     if g.grade >= 1 and lv not in excluded}
        excluded.update(fractured)
        if not fractured or reference != "adjacent":
            return results


def measure_image(
    annotations: ImageAnnotations,
    calibration: Calibration,
    settings: Settings | None = None,
    *,
    treated_levels: tuple[str, ...] | list[str] = (),
    after_procedure: bool = False,
    anterior_x_sign: int | None = None,
) -> ImageMeasurements:
    """Measure every complete vertebra and every index level on one image (§3, §4, §6a).

    - Heights ``Ha``, ``Hm``, ``Hp``; wedge ratio ``Ha/Hp``; biconcavity ``Hm/Hp``; crush
      ratio ``Hp / mean Hp`` of the placed adjacent vertebrae (``None`` without any).
    - Genant grade and type against the *setting*'s reference. The adjacent reference uses only
      untreated, unfractured neighbours (not treated, not index levels, not Genant ≥ 1) and says
      how many; without any it falls back to the vertebra's own posterior height, and says so.
    - For index levels: segmental kyphosis (superior endplate above to inferior endplate
      below; ``None`` unless both are placed) and LOVBH ``((A1+A2) − 2·A0)/(A1+A2) × 100``
      over the same untreated, unfractured neighbours (with one, ``(A1 − A0)/A1 × 100``, said
      so; with none, ``None``).
    - ``treated_levels`` (the case's augmented levels, §5) count as index levels and are never
      a reference; with ``after_procedure`` their :attr:`VertebraMeasurement.treated` is set, so
      they read "treated" rather than a Genant grade.
    - :attr:`ImageMeasurements.warnings`: the plausibility checks of §6a
      (:mod:`ovcf_viewer.measure.plausibility`); ``anterior_x_sign`` is the film's known facing.
    """
    settings = settings or Settings()
    if settings.genant_reference not in GENANT_REFERENCES:
        raise ValueError(f"unknown Genant reference {settings.genant_reference!r}")
    if settings.cobb_definition not in COBB_DEFINITIONS:
        raise ValueError(f"unknown Cobb definition {settings.cobb_definition!r}")
    complete = annotations.complete_vertebrae()
    treated = {lv for lv in treated_levels if lv in complete}
    marked = set(annotations.index_levels)
    index_set = marked | treated
    heights: dict[str, dict[str, float]] = {}
    for level, vertebra in complete.items():
        ha, hm, hp = vertebral_heights(vertebra, calibration)
        present = [h for h in (ha, hm, hp) if h is not None]
        if min(present) <= 0:
            raise ValueError(f"{level}: a height is zero, two landmarks coincide")
        if not all(math.isfinite(h) for h in present):
            raise ValueError(f"{level}: a height is not a finite number: check the calibration")
        heights[level] = {"a": ha, "p": hp} | ({"m": hm} if hm is not None else {})

    # Why each is left out of its neighbours' references: after the procedure a treated level
    # is "treated"; before it, it is the fractured index level it was marked as.
    excluded = {lv: "index level" for lv in marked}
    excluded.update({lv: "treated" for lv in treated
                     if after_procedure or lv not in excluded})
    genants = _graded_excluding_fractured(heights, complete, excluded,
                                          settings.genant_reference)
    if settings.genant_reference != "adjacent":  # LOVBH still leaves fractured ones out
        excluded.update({lv: f"Genant {g.grade}" for lv, g in genants.items()
                         if g.grade >= 1 and lv not in excluded})

    vertebrae: dict[str, VertebraMeasurement] = {}
    notes: list[str] = []
    for level, vertebra in complete.items():
        h = heights[level]
        neighbours = _placed_neighbours(level, complete)
        crush_ratio = (
            h["p"] / (sum(heights[lv]["p"] for lv in neighbours) / len(neighbours))
            if neighbours
            else None
        )
        genant = genants[level]
        if genant.note:
            notes.append(f"{level}: {genant.note}")
        vertebrae[level] = VertebraMeasurement(
            level=level,
            anterior_height_mm=h["a"],
            middle_height_mm=h.get("m"),
            posterior_height_mm=h["p"],
            wedge_ratio=h["a"] / h["p"],
            biconcavity_ratio=h["m"] / h["p"] if "m" in h else None,
            crush_ratio=crush_ratio,
            crush_reference_levels=tuple(neighbours),
            wedge_angle_deg=_wedge_angle(vertebra, calibration),
            genant=genant,
            treated=after_procedure and level in treated,
            landmark_mode=vertebra.mode,
        )
        if vertebra.mode == "four_corner":
            notes.append(
                f"{level}: placed in four-corner mode: Hm, the biconcavity ratio and the "
                "biconcave Genant type are unavailable"
            )

    index_results: dict[str, IndexLevelMeasurement] = {}
    for level in sorted(index_set & set(complete), key=level_index):
        above, below = neighbour_levels(level)
        upper = complete.get(above) if above else None
        lower = complete.get(below) if below else None
        kyphosis = None
        if upper is not None and lower is not None:
            kyphosis = kyphosis_angle_deg(
                upper.points["sp"],
                upper.points["sa"],
                lower.points["ip"],
                lower.points["ia"],
                calibration,
            )
        refs = [lv for lv in (above, below)
                if lv is not None and lv in complete and lv not in excluded]
        lovbh = None
        if refs:
            mean_a = sum(heights[lv]["a"] for lv in refs) / len(refs)
            lovbh = (mean_a - heights[level]["a"]) / mean_a * 100.0
        index_results[level] = IndexLevelMeasurement(
            level=level,
            segmental_kyphosis_deg=kyphosis,
            upper_level=above if upper is not None else None,
            lower_level=below if lower is not None else None,
            wedge_angle_deg=vertebrae[level].wedge_angle_deg,
            lovbh_pct=lovbh,
            lovbh_reference_levels=tuple(refs),
            lovbh_note=_reference_note(refs, _left_out(level, complete, excluded)),
        )
    warnings = check_landmarks(complete, calibration, anterior_x_sign=anterior_x_sign)
    warnings += index_level_warnings(
        frozenset(marked & set(complete)), {lv: g.grade for lv, g in genants.items()}
    )
    return ImageMeasurements(
        calibration=calibration,
        vertebrae=vertebrae,
        index_levels=index_results,
        genant_reference=settings.genant_reference,
        cobb_definition=settings.cobb_definition,
        notes=tuple(notes),
        warnings=tuple(warnings),
    )
