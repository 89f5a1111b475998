"""Scoring a resident's landmarks against an expert reference (docs/clinical-reference.md §7).

A resident places the six landmarks of docs/clinical-reference.md §2 on the levels a case asks for;
the expert's landmarks on the same image are the reference. The score reports, per level:

* the error of each landmark: ``hypot(dx * col_mm, dy * row_mm)`` (§1, row and column spacing
  kept separately so non-square pixels are scored right), and its components along the
  *reference vertebra's own* anterior and superior axes, so nothing depends on the facing;
* the error of each height ``Ha``, ``Hm``, ``Hp`` (§3) in mm and in % of the reference height;
* the error of the vertebral wedge angle and, at index levels, of the segmental kyphosis (§3),
  in degrees (attempt − reference, kyphosis positive);
* whether the Genant grade (§4) from the resident's landmarks equals the expert's.

The attempt is measured with the reference's index levels, so a grade difference comes from
landmark placement alone. Grade agreement is the fraction of the asked-for levels with the same
grade; a level the resident did not complete counts as a disagreement. Lengths are in mm under
the image's calibration, or in pixels when the image is uncalibrated (``calibration.unit``).

Errors are signed *attempt − reference*. Advice (:class:`Advice`) names the patterns behind the
largest errors, measured in the reference vertebra's anatomical frame.

A *level shift* — every vertebra the resident completed lies on the expert's vertebra one (or
two) levels away, i.e. the vertebrae were counted wrong — is detected first
(:func:`detect_level_shift`). Its one piece of advice then stands alone: placement advice
computed against the wrong vertebra would only mislead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ovcf_viewer.measure.measurements import ImageMeasurements, measure_image
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import (
    LEVELS,
    POINT_NAMES,
    ImageAnnotations,
    Vertebra,
    level_index,
)
from ovcf_viewer.model.settings import Settings

__all__ = [
    "ADVICE_FRACTION",
    "Advice",
    "AttemptScore",
    "LevelScore",
    "LevelShift",
    "PointError",
    "QuantityError",
    "anatomical_axes",
    "detect_level_shift",
    "score_attempt",
]

#: A pattern is worth advice when its displacement reaches this fraction of the reference
#: vertebra's AP depth (≈1.5 mm on a 36-mm lumbar body; scales with uncalibrated pixels too).
ADVICE_FRACTION = 0.04
#: At most this many pieces of advice are shown, largest first.
MAX_ADVICE = 4

HEIGHT_FIELDS = (("ha_mm", "a"), ("hm_mm", "m"), ("hp_mm", "p"))

#: A resident's vertebra is "on" an expert vertebra when its mean landmark distance to it is
#: below this fraction of that vertebra's AP depth (≈7 mm on a 36-mm body), and "off" its own
#: level when the distance to the asked-for vertebra is at least :data:`OFF_LEVEL_FRACTION`.
ON_VERTEBRA_FRACTION = 0.20
OFF_LEVEL_FRACTION = 0.50

Vector = tuple[float, float]


@dataclass(frozen=True)
class PointError:
    """One landmark's error (attempt − reference) in mm space (pixels when uncalibrated).

    ``dx_mm``/``dy_mm`` are along the image columns/rows (``y`` grows downwards);
    ``anterior_mm``/``superior_mm`` are the same vector along the reference vertebra's own
    anterior and superior axes (positive = too far anterior / too far cranial)."""

    level: str
    name: str
    error_mm: float
    dx_mm: float
    dy_mm: float
    anterior_mm: float
    superior_mm: float


@dataclass(frozen=True)
class QuantityError:
    """A measured quantity from the reference and the attempt; ``error`` = attempt − reference
    (same unit), ``error_pct`` = ``error / reference × 100`` for heights, else ``None``."""

    reference: float
    attempt: float
    error: float
    error_pct: float | None = None

    @classmethod
    def of(cls, reference: float, attempt: float, *, percent: bool = False) -> QuantityError:
        error = attempt - reference
        pct = error / reference * 100.0 if percent and reference != 0 else None
        return cls(reference, attempt, error, pct)

    def to_json(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {
            "reference": self.reference, "attempt": self.attempt, "error": self.error,
        }
        if self.error_pct is not None:
            out["error_pct"] = self.error_pct
        return out


@dataclass(frozen=True)
class LevelScore:
    """Everything scored on one level. ``points`` holds only the landmarks the resident placed;
    measurements are ``None`` unless the resident completed the vertebra."""

    level: str
    points: dict[str, PointError]
    missing_points: tuple[str, ...]
    heights: dict[str, QuantityError] | None  # keys ha_mm, hm_mm, hp_mm
    wedge_angle_deg: QuantityError | None
    segmental_kyphosis_deg: QuantityError | None  # index levels with both neighbours placed
    reference_grade: int
    attempt_grade: int | None

    @property
    def mean_point_error_mm(self) -> float | None:
        if not self.points:
            return None
        return sum(p.error_mm for p in self.points.values()) / len(self.points)

    @property
    def grade_agrees(self) -> bool:
        return self.attempt_grade is not None and self.attempt_grade == self.reference_grade


@dataclass(frozen=True)
class Advice:
    """One short piece of advice on a placement pattern. ``kind`` is a stable key
    (``anterior_out``, ``middle_not_deepest``, …); ``size_mm`` how large the pattern is
    (mm, or px when uncalibrated); ``levels`` where it was seen."""

    kind: str
    text: str
    size_mm: float
    levels: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text, "size": self.size_mm,
                "levels": list(self.levels)}


@dataclass(frozen=True)
class LevelShift:
    """Every completed vertebra of the attempt sits on the expert's vertebra ``offset`` levels
    away (+1 = one level caudal: the resident's "L1" is the expert's L2). ``shift_mm`` is the
    mean displacement of the resident's landmarks from the asked-for vertebrae (mm, or px when
    uncalibrated), ``direction`` its anatomical direction ("caudally", "cranially", …, in each
    reference vertebra's own frame, so the facing does not matter); ``marked_as`` maps each
    level the resident named to the vertebra actually marked."""

    offset: int
    shift_mm: float
    direction: str
    marked_as: dict[str, str]

    def headline(self, unit: str) -> str:
        """``"whole vertebra shifted 42.8 mm caudally: check the level"``."""
        return (f"whole vertebra shifted {self.shift_mm:.1f} {unit} {self.direction}: "
                "check the level")

    def detail(self) -> str:
        levels = "one level" if abs(self.offset) == 1 else f"{abs(self.offset)} levels"
        pairs = ", ".join(f"your {named} is {actual}" for named, actual in self.marked_as.items())
        return (f"every vertebra is {levels} {'caudal' if self.offset > 0 else 'cranial'} of "
                f"the one asked for ({pairs}); count again from the sacrum or the last "
                "rib-bearing vertebra")

    def text(self, unit: str) -> str:
        return f"{self.headline(unit)} — {self.detail()}"

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "shift": self.shift_mm, "direction": self.direction,
                "marked_as": dict(self.marked_as)}


@dataclass(frozen=True)
class AttemptScore:
    """The score of one attempt on one image. ``level_shift`` is set when the resident
    marked the wrong vertebrae (:func:`detect_level_shift`); ``advice`` is then that one
    line alone."""

    calibration: Calibration
    levels: dict[str, LevelScore]
    advice: tuple[Advice, ...]
    reference: ImageMeasurements = field(repr=False)
    attempt: ImageMeasurements | None = field(repr=False)
    level_shift: LevelShift | None = None

    @property
    def mean_point_error_mm(self) -> float | None:
        """Mean landmark error over every placed landmark of the scored levels."""
        errors = [p.error_mm for s in self.levels.values() for p in s.points.values()]
        return sum(errors) / len(errors) if errors else None

    @property
    def grade_agreement(self) -> float | None:
        """Fraction (0–1) of scored levels whose Genant grade equals the expert's; a level the
        resident did not complete disagrees. ``None`` with no level to score."""
        if not self.levels:
            return None
        return sum(s.grade_agrees for s in self.levels.values()) / len(self.levels)

    @property
    def incomplete_levels(self) -> tuple[str, ...]:
        return tuple(lv for lv, s in self.levels.items() if s.heights is None)

    def advice_lines(self) -> list[str]:
        return [a.text for a in self.advice]

    def to_json(self) -> dict[str, Any]:
        """The ``ovcf-viewer score --json`` document. Lengths are in ``calibration.unit``."""
        measurements: dict[str, Any] = {}
        for level, s in self.levels.items():
            entry: dict[str, Any] = {}
            if s.heights is not None:
                entry.update({key: q.to_json() for key, q in s.heights.items()})
            if s.wedge_angle_deg is not None:
                entry["wedge_angle_deg"] = s.wedge_angle_deg.to_json()
            if s.segmental_kyphosis_deg is not None:
                entry["segmental_kyphosis_deg"] = s.segmental_kyphosis_deg.to_json()
            entry["genant_grade"] = {
                "reference": s.reference_grade, "attempt": s.attempt_grade,
                "agrees": s.grade_agrees,
            }
            measurements[level] = entry
        cal = self.calibration
        return {
            "points": {
                level: {name: p.error_mm for name, p in s.points.items()}
                for level, s in self.levels.items()
            },
            "mean_point_error_mm": self.mean_point_error_mm,
            "measurements": measurements,
            "grade_agreement": self.grade_agreement,
            "missing": {
                level: list(s.missing_points) for level, s in self.levels.items()
                if s.missing_points
            },
            "calibration": {
                "source": cal.source.value, "row_mm": cal.row_mm, "col_mm": cal.col_mm,
                "unit": cal.unit, "unit_tag": cal.unit_tag, "statement": cal.statement(),
            },
            "advice": [a.to_json() for a in self.advice],
            "level_shift": self.level_shift.to_json() if self.level_shift else None,
        }


# -- geometry in the reference vertebra's frame ----------------------------------------------

def _mm(point: Sequence[float], cal: Calibration) -> Vector:
    return (point[0] * cal.col_mm, point[1] * cal.row_mm)


def _sub(a: Vector, b: Vector) -> Vector:
    return (a[0] - b[0], a[1] - b[1])


def _mid(a: Vector, b: Vector) -> Vector:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def _dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1]


def _unit(v: Vector) -> Vector:
    n = math.hypot(*v)
    if n == 0:
        raise ValueError("the reference vertebra has coincident corners")
    return (v[0] / n, v[1] / n)


def anatomical_axes(vertebra: Vertebra, calibration: Calibration) -> tuple[Vector, Vector]:
    """Unit anterior and superior axes of a complete vertebra in mm space (image ``y`` down).

    Anterior: from the midpoint of the posterior corners (``sp``, ``ip``) to the midpoint of the
    anterior corners (``sa``, ``ia``). Superior: perpendicular to it, pointing from the inferior
    endplate's midpoint towards the superior one. Both follow from the landmarks alone, so they
    are right whichever way the patient faces (docs/clinical-reference.md §2)."""
    p = {n: _mm(vertebra.points[n], calibration) for n in ("sa", "sp", "ia", "ip")}
    anterior = _unit(_sub(_mid(p["sa"], p["ia"]), _mid(p["sp"], p["ip"])))
    superior = (-anterior[1], anterior[0])
    rise = _sub(_mid(p["sa"], p["sp"]), _mid(p["ia"], p["ip"]))
    if _dot(superior, rise) < 0:
        superior = (-superior[0], -superior[1])
    return anterior, superior


def _depth_mm(vertebra: Vertebra, calibration: Calibration) -> float:
    p = vertebra.points
    return (calibration.distance(p["sa"], p["sp"]) + calibration.distance(p["ia"], p["ip"])) / 2


# -- scoring -------------------------------------------------------------------------------

def score_attempt(
    reference: ImageAnnotations,
    attempt: ImageAnnotations,
    calibration: Calibration,
    settings: Settings | None = None,
    levels: Iterable[str] | None = None,
) -> AttemptScore:
    """Score ``attempt`` against ``reference`` on one image (docs/clinical-reference.md §7).

    ``levels`` are the levels the resident was asked to mark (default: every complete
    vertebra of the reference); each must be complete in the reference. Both annotation sets
    are in the same image's pixel coordinates; ``calibration`` converts to mm (§1).
    Raises ``ValueError`` with one line when a requested level has no reference.
    """
    settings = settings or Settings()
    ref_complete = reference.complete_vertebrae()
    wanted = list(levels) if levels is not None else list(ref_complete)
    for level in wanted:
        level_index(level)
        if level not in ref_complete:
            raise ValueError(f"the reference has no complete landmarks for {level}")
    wanted.sort(key=level_index)

    ref_measured = measure_image(reference, calibration, settings)
    scored_attempt = _with_reference_index_levels(attempt, reference)
    unmeasurable = _drop_unmeasurable(scored_attempt, calibration, settings)
    att_measured: ImageMeasurements | None = None
    if scored_attempt.complete_vertebrae():
        att_measured = measure_image(scored_attempt, calibration, settings)

    results: dict[str, LevelScore] = {}
    for level in wanted:
        ref_v = ref_complete[level]
        att_v = attempt.vertebrae.get(level)
        results[level] = _score_level(level, ref_v, att_v, calibration, ref_measured, att_measured)
    shift = detect_level_shift(reference, attempt, wanted, calibration)
    if shift is not None:
        # First and alone: advice measured against the wrong vertebra would mislead.
        advice: tuple[Advice, ...] = (Advice(
            "level_shift", shift.text(calibration.unit), shift.shift_mm,
            tuple(shift.marked_as)),)
    else:
        advice = _advise(wanted, ref_complete, results, calibration,
                         {lv: why for lv, why in unmeasurable.items() if lv in results})
    return AttemptScore(calibration, results, advice, ref_measured, att_measured, shift)


def _mean_distance(a: Vertebra, b: Vertebra, calibration: Calibration) -> float:
    return sum(calibration.distance(a.points[n], b.points[n]) for n in POINT_NAMES) / len(
        POINT_NAMES)


def detect_level_shift(
    reference: ImageAnnotations,
    attempt: ImageAnnotations,
    levels: Iterable[str],
    calibration: Calibration,
) -> LevelShift | None:
    """Whether the resident marked the wrong vertebrae: every asked-for level the resident
    completed lies on the expert's vertebra the same ``offset`` (±1 or ±2) levels away —
    within :data:`ON_VERTEBRA_FRACTION` of its depth — and at least
    :data:`OFF_LEVEL_FRACTION` of a depth from the asked-for one. Needs at least one such
    level; a level whose shifted vertebra the expert did not place counts when it, too, is off
    its own level. ``None`` otherwise (a shift at some levels only is ordinary advice)."""
    ref_complete = reference.complete_vertebrae()
    att_complete = attempt.complete_vertebrae()
    asked = [lv for lv in levels if lv in att_complete and lv in ref_complete]
    if not asked:
        return None
    for offset in (1, -1, 2, -2):
        marked: dict[str, str] = {}
        vectors: list[Vector] = []
        ok = True
        for level in asked:
            own = ref_complete[level]
            placed = att_complete[level]
            depth = _depth_mm(own, calibration)
            if _mean_distance(placed, own, calibration) < OFF_LEVEL_FRACTION * depth:
                ok = False
                break
            i = level_index(level) + offset
            target = LEVELS[i] if 0 <= i < len(LEVELS) else None
            if target is None or target not in ref_complete:
                continue  # nothing to compare with: off its own level is all we know
            if (_mean_distance(placed, ref_complete[target], calibration)
                    >= ON_VERTEBRA_FRACTION * _depth_mm(ref_complete[target], calibration)):
                ok = False
                break
            marked[level] = target
            anterior, superior = anatomical_axes(own, calibration)
            for name in POINT_NAMES:
                d = _sub(_mm(placed.points[name], calibration), _mm(own.points[name], calibration))
                vectors.append((_dot(d, anterior), _dot(d, superior)))
        if ok and marked:
            mean_a = sum(v[0] for v in vectors) / len(vectors)
            mean_s = sum(v[1] for v in vectors) / len(vectors)
            return LevelShift(offset, math.hypot(mean_a, mean_s),
                              _direction_words(mean_a, mean_s), marked)
    return None


def _drop_unmeasurable(
    model: ImageAnnotations, calibration: Calibration, settings: Settings
) -> dict[str, str]:
    """Remove from ``model`` the complete vertebrae that cannot be measured (two landmarks
    coinciding, or one endplate drawn anterior-to-posterior and the other posterior-to-anterior:
    the sides swapped) and return why, by level. Their landmarks are still scored as points."""
    problems: dict[str, str] = {}
    for level, vertebra in model.complete_vertebrae().items():
        alone = ImageAnnotations(model.sop_instance_uid)
        alone.vertebrae[level] = vertebra
        try:
            measure_image(alone, calibration, settings)
        except ValueError as exc:
            problems[level] = str(exc)
    for level in problems:
        model.vertebrae.pop(level)
        if level in model.index_levels:
            model.index_levels.remove(level)
    try:
        measure_image(model, calibration, settings)
    except ValueError as exc:  # segmental kyphosis across two vertebrae facing opposite ways
        for level in list(model.index_levels):
            problems.setdefault(level, str(exc))
        model.index_levels = []
    return problems


def _with_reference_index_levels(
    attempt: ImageAnnotations, reference: ImageAnnotations
) -> ImageAnnotations:
    copy = ImageAnnotations(
        attempt.sop_instance_uid, attempt.file, rows=attempt.rows, columns=attempt.columns
    )
    copy.vertebrae = {lv: v.copy() for lv, v in attempt.vertebrae.items()}
    copy.index_levels = [lv for lv in reference.index_levels if lv in copy.complete_vertebrae()]
    copy.manual_calibration = attempt.manual_calibration
    return copy


def _score_level(
    level: str,
    ref_v: Vertebra,
    att_v: Vertebra | None,
    cal: Calibration,
    ref_m: ImageMeasurements,
    att_m: ImageMeasurements | None,
) -> LevelScore:
    anterior, superior = anatomical_axes(ref_v, cal)
    points: dict[str, PointError] = {}
    placed = att_v.points if att_v is not None else {}
    for name in POINT_NAMES:
        if name not in placed:
            continue
        d = _sub(_mm(placed[name], cal), _mm(ref_v.points[name], cal))
        points[name] = PointError(
            level, name, math.hypot(*d), d[0], d[1], _dot(d, anterior), _dot(d, superior)
        )
    missing = tuple(n for n in POINT_NAMES if n not in placed)
    ref_vm = ref_m.vertebrae[level]
    att_vm = att_m.vertebrae.get(level) if att_m is not None else None
    heights = wedge = kyphosis = None
    if att_vm is not None:
        heights = {
            key: QuantityError.of(ref_vm.heights[k], att_vm.heights[k], percent=True)
            for key, k in HEIGHT_FIELDS
            if k in ref_vm.heights and k in att_vm.heights  # no Hm in four-corner mode
        }
        wedge = QuantityError.of(ref_vm.wedge_angle_deg, att_vm.wedge_angle_deg)
        ref_index = ref_m.index_levels.get(level)
        att_index = att_m.index_levels.get(level) if att_m is not None else None
        if (
            ref_index is not None and att_index is not None
            and ref_index.segmental_kyphosis_deg is not None
            and att_index.segmental_kyphosis_deg is not None
        ):
            kyphosis = QuantityError.of(
                ref_index.segmental_kyphosis_deg, att_index.segmental_kyphosis_deg
            )
    return LevelScore(
        level=level,
        points=points,
        missing_points=missing,
        heights=heights,
        wedge_angle_deg=wedge,
        segmental_kyphosis_deg=kyphosis,
        reference_grade=ref_vm.genant.grade,
        attempt_grade=att_vm.genant.grade if att_vm is not None else None,
    )


# -- advice --------------------------------------------------------------------------------

def _direction_words(anterior_mm: float, superior_mm: float) -> str:
    words = []
    if abs(superior_mm) >= 0.5 * max(abs(anterior_mm), 1e-12):
        words.append("cranially" if superior_mm > 0 else "caudally")
    if abs(anterior_mm) >= 0.5 * max(abs(superior_mm), 1e-12):
        words.append("anteriorly" if anterior_mm > 0 else "posteriorly")
    return " and ".join(words)


def _level_advice(
    score: LevelScore, ref_v: Vertebra, cal: Calibration
) -> list[tuple[str, str, float]]:
    """``(kind, text without levels, size)`` for each pattern found on one level."""
    pts = score.points
    if not pts:
        return []
    unit = cal.unit
    threshold = ADVICE_FRACTION * _depth_mm(ref_v, cal)
    errors = {n: (p.anterior_mm, p.superior_mm) for n, p in pts.items()}
    out: list[tuple[str, str, float]] = []

    # A systematic shift of the whole vertebra: the mean error explains most of the error.
    mean_a = sum(e[0] for e in errors.values()) / len(errors)
    mean_s = sum(e[1] for e in errors.values()) / len(errors)
    shift = math.hypot(mean_a, mean_s)
    residual_rms = math.sqrt(
        sum((e[0] - mean_a) ** 2 + (e[1] - mean_s) ** 2 for e in errors.values()) / len(errors)
    )
    if len(errors) >= 3 and shift >= 2 * threshold and shift >= residual_rms:
        out.append((
            "whole_shift",
            f"whole vertebra shifted {shift:.1f} {unit} "
            f"{_direction_words(mean_a, mean_s)}: check the level",
            shift,
        ))
        errors = {n: (e[0] - mean_a, e[1] - mean_s) for n, e in errors.items()}

    def mean_of(names: tuple[str, ...], index: int, signs: tuple[float, ...] | None = None):
        values = [
            errors[n][index] * (signs[i] if signs else 1.0)
            for i, n in enumerate(names) if n in errors
        ]
        return sum(values) / len(values) if values else None

    anterior_out = mean_of(("sa", "ia"), 0)
    if anterior_out is not None and anterior_out >= threshold:
        out.append(("anterior_out",
                    f"anterior corners placed on the osteophyte: {anterior_out:.1f} {unit} too "
                    "far anterior, outside the body", anterior_out))
    elif anterior_out is not None and anterior_out <= -threshold:
        out.append(("anterior_in",
                    f"anterior corners {-anterior_out:.1f} {unit} inside the body: place them "
                    "on the cortical corner", -anterior_out))

    posterior_out = mean_of(("sp", "ip"), 0)
    if posterior_out is not None and posterior_out <= -threshold:
        out.append(("posterior_out",
                    f"posterior corners on the pedicle/too far posterior by "
                    f"{-posterior_out:.1f} {unit}", -posterior_out))
    elif posterior_out is not None and posterior_out >= threshold:
        out.append(("posterior_in",
                    f"posterior corners {posterior_out:.1f} {unit} inside the body: place them "
                    "on the posterior wall's corner", posterior_out))

    # Middle points: displaced along the endplate, or off the deepest point (towards the disc
    # for sm means cranial, for im caudal).
    along = [abs(errors[n][0]) for n in ("sm", "im") if n in errors]
    # Outward = towards the disc: cranial for sm, caudal for im.
    outward = [errors[n][1] * sign for n, sign in (("sm", 1.0), ("im", -1.0)) if n in errors]
    if along or outward:
        worst_along = max(along, default=0.0)
        worst_off = max(outward, key=abs, default=0.0)
        if max(worst_along, abs(worst_off)) >= threshold:
            if worst_along >= abs(worst_off):
                detail = f"{worst_along:.1f} {unit} along the endplate, not midway"
            else:
                where = "towards the disc" if worst_off > 0 else "into the body"
                detail = f"{abs(worst_off):.1f} {unit} {where}"
            out.append(("middle_not_deepest",
                        f"middle points not at the deepest point of the endplate ({detail})",
                        max(worst_along, abs(worst_off))))

    # Corners above/below their endplate: into the disc (outward) or into the body.
    corner_out = mean_of(("sa", "sp", "ia", "ip"), 1, (1.0, 1.0, -1.0, -1.0))
    if corner_out is not None and abs(corner_out) >= threshold:
        if corner_out > 0:
            text = (f"corners {corner_out:.1f} {unit} into the disc space: place them on the "
                    "endplate (midway between double contours)")
            kind = "corners_into_disc"
        else:
            text = (f"corners {-corner_out:.1f} {unit} inside the body: place them on the "
                    "endplate's outer edge")
            kind = "corners_into_body"
        out.append((kind, text, abs(corner_out)))
    return out


def _advise(
    levels: list[str],
    ref_complete: dict[str, Vertebra],
    results: dict[str, LevelScore],
    cal: Calibration,
    unmeasurable: dict[str, str] | None = None,
) -> tuple[Advice, ...]:
    grouped: dict[str, list[tuple[str, str, float]]] = {}
    for level in levels:
        for kind, text, size in _level_advice(results[level], ref_complete[level], cal):
            grouped.setdefault(kind, []).append((level, text, size))
    advice: list[Advice] = []
    for kind, found in grouped.items():
        found.sort(key=lambda item: -item[2])
        worst_level, worst_text, worst_size = found[0]
        names = tuple(sorted((lv for lv, _, _ in found), key=level_index))
        where = ", ".join(names)
        text = f"{where}: {worst_text}"
        if len(names) > 1:
            text += f" — largest at {worst_level}"
        advice.append(Advice(kind, text, worst_size, names))
    advice.sort(key=lambda a: -a.size_mm)
    unmeasurable = unmeasurable or {}
    incomplete = [lv for lv in levels
                  if results[lv].heights is None and lv not in unmeasurable]
    lead: list[Advice] = []
    for level, why in unmeasurable.items():
        lead.append(Advice(
            "unmeasurable",
            f"{level}: your landmarks cannot be measured ({why}): place sa/ia on the anterior "
            "corners and sp/ip on the posterior ones, each once",
            0.0,
            (level,),
        ))
    if incomplete:
        lead.append(Advice(
            "incomplete",
            f"{', '.join(incomplete)}: not all six landmarks placed, so heights, angles and "
            "grade could not be scored",
            0.0,
            tuple(incomplete),
        ))
    return tuple(lead + advice[:MAX_ADVICE])
