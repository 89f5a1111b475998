"""Follow-up outcomes computed (docs/clinical-reference.md §5a): pain change, the estimated
vertebral body volume and the injected cement as a percentage of it, and the complications.

The volume is an approximation: the body is an elliptic cylinder

    V ≈ π · (D / 2) · (W / 2) · H̄

with ``D`` the body depth on the lateral film (mean of the endplate lengths ``|sa − sp|`` and
``|ia − ip|``, mm through the film's calibration, §1), ``W`` the transverse width the clinician
read on an AP film or CT (recorded per level in the procedure record) and ``H̄ = (Ha + Hm +
Hp) / 3``. It ignores the concave posterior wall, endplate concavity and the collapse, so it
is a size indication, not a volumetric measurement. Without a width, or on an uncalibrated
film, it is unknown (``None``), never guessed. No target fill percentage is given (§5a).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ovcf_viewer.measure.comparison import CaseComparison, FilmMeasurement
from ovcf_viewer.model.case import Case
from ovcf_viewer.model.landmarks import Vertebra
from ovcf_viewer.model.outcomes import LEAK_LOCATION_LABELS, LevelProcedure

__all__ = [
    "Complication",
    "LevelVolume",
    "OutcomeSummary",
    "PainChange",
    "PainPoint",
    "VOLUME_FORMULA",
    "VOLUME_LIMITS",
    "body_depth_mm",
    "cement_fill_pct",
    "estimated_body_volume_mm3",
    "pain_change",
    "pain_change_text",
    "summarize_outcomes",
]

#: The formula and its limits, written next to the volume wherever it is shown (§5a).
VOLUME_FORMULA = ("estimated body volume V ≈ π·(D/2)·(W/2)·H̄ (elliptic cylinder: D lateral "
                  "depth, W transverse width from AP film/CT, H̄ mean of Ha, Hm, Hp); "
                  "fill = cement mL ÷ V")
VOLUME_LIMITS = ("an approximation ignoring the concave posterior wall, endplate concavity "
                 "and the collapse: a size indication, not a volumetric measurement; no "
                 "target fill is given (docs/clinical-reference.md §5a)")


def body_depth_mm(vertebra: Vertebra, calibration) -> float:  # noqa: ANN001 (Calibration)
    """Body depth ``D`` (§5a): the mean of ``|sa − sp|`` and ``|ia − ip|`` through the
    calibration (row and column spacing separately, §1); pixels when uncalibrated."""
    p = vertebra.points
    return (calibration.distance(p["sa"], p["sp"]) + calibration.distance(p["ia"], p["ip"])) / 2


def estimated_body_volume_mm3(depth_mm: float, mean_height_mm: float,
                              width_mm: float | None) -> float | None:
    """``π · (D/2) · (W/2) · H̄`` in mm³, ``None`` without the width ``W`` (§5a)."""
    if width_mm is None:
        return None
    return math.pi * (depth_mm / 2.0) * (width_mm / 2.0) * mean_height_mm


def cement_fill_pct(cement_ml: float | None, volume_mm3: float | None) -> float | None:
    """Injected volume as % of the estimated body volume: ``mL ÷ (mm³ / 1000) × 100``;
    ``None`` when either is unknown."""
    if cement_ml is None or volume_mm3 is None or volume_mm3 <= 0:
        return None
    return cement_ml / (volume_mm3 / 1000.0) * 100.0


@dataclass(frozen=True)
class PainPoint:
    """The pain score recorded at one film's timepoint."""

    sop_instance_uid: str
    label: str
    days_from_procedure: int | None
    vas: float | None
    odi: float | None


@dataclass(frozen=True)
class PainChange:
    """From one timepoint to a later one: ``absolute = after − before`` (negative = less
    pain) and ``pct = absolute / before × 100`` (``None`` when ``before`` is 0)."""

    measure: str  # "vas" or "odi"
    from_label: str
    to_label: str
    before: float
    after: float
    absolute: float
    pct: float | None


def _signed_pct(value: float) -> str:
    return f"{value:+.1f} %".replace("-", "−")


def pain_change_text(change: PainChange) -> str:
    """"VAS 8 → 3 (−5, −62.5 %) pre-operative → post-operative"."""
    name = "VAS" if change.measure == "vas" else "ODI"
    unit = "" if change.measure == "vas" else " %"
    pct = f", {_signed_pct(change.pct)}" if change.pct is not None else ""
    absolute = f"{change.absolute:+g}".replace("-", "−")
    return (f"{name} {change.before:g}{unit} → {change.after:g}{unit} "
            f"({absolute}{unit}{pct}), {change.from_label.lower()} → "
            f"{change.to_label.lower()}")


def pain_change(measure: str, from_label: str, to_label: str, before: float,
                after: float) -> PainChange:
    absolute = after - before
    pct = absolute / before * 100.0 if before else None
    return PainChange(measure, from_label, to_label, before, after, absolute, pct)


@dataclass(frozen=True)
class LevelVolume:
    """One treated level's procedure record and the §5a volume estimate.

    ``film_label`` names the film the body was measured on (the post-operative film, else the
    pre-operative one); ``volume_ml`` is the estimated body volume in mL (= cm³);
    ``fill_pct`` the injected cement as % of it; ``reason`` says why the estimate is unknown;
    ``calibration`` the film's calibration statement (§1: an uncorrected detector-plane
    calibration magnifies D and H̄, so the volume too).
    """

    level: str
    record: LevelProcedure | None
    film_label: str
    depth_mm: float | None
    mean_height_mm: float | None
    volume_ml: float | None
    fill_pct: float | None
    reason: str
    calibration: str = ""


@dataclass(frozen=True)
class Complication:
    """A leak on a post-operative film or a new deformity (adjacent refracture) at follow-up."""

    kind: str  # "leakage" or "new_deformity"
    level: str
    film_label: str
    text: str


@dataclass(frozen=True)
class OutcomeSummary:
    pain: tuple[PainPoint, ...]
    pain_changes: tuple[PainChange, ...]
    volumes: tuple[LevelVolume, ...]
    complications: tuple[Complication, ...]


def _pain_changes(points: list[PainPoint], measure: str) -> list[PainChange]:
    """Pre-operative → each later timepoint with a score."""
    values = [(p, getattr(p, measure)) for p in points if getattr(p, measure) is not None]
    if len(values) < 2:
        return []
    base, base_value = values[0]
    return [pain_change(measure, base.label, p.label, base_value, v) for p, v in values[1:]]


def _volume(level: str, record: LevelProcedure | None, case: Case,
            films: Mapping[str, FilmMeasurement], comparison: CaseComparison) -> LevelVolume:
    width = record.width_mm if record is not None else None
    for uid in (comparison.postop_uid, comparison.preop_uid):
        fm = films.get(uid) if uid else None
        if uid is None or fm is None or level not in fm.measurements.vertebrae:
            continue
        vertebra = case.film(uid).annotations.vertebrae[level]
        if not fm.calibration.is_calibrated:
            return LevelVolume(level, record, fm.label, None, None, None, None,
                               f"{fm.label} film uncalibrated: no volume in pixels")
        depth = body_depth_mm(vertebra, fm.calibration)
        heights = fm.measurements.vertebrae[level].heights
        mean_h = (heights["a"] + heights["m"] + heights["p"]) / 3.0
        volume = estimated_body_volume_mm3(depth, mean_h, width)
        reason = "" if volume is not None else "transverse width not recorded"
        cement = record.cement_ml if record is not None else None
        return LevelVolume(level, record, fm.label, depth, mean_h,
                           volume / 1000.0 if volume is not None else None,
                           cement_fill_pct(cement, volume), reason,
                           fm.calibration.statement())
    return LevelVolume(level, record, "", None, None, None, None,
                       "level not measured on the post- or pre-operative film")


def summarize_outcomes(case: Case, comparison: CaseComparison) -> OutcomeSummary:
    """Pain per timepoint and its change from the pre-operative score, the volume estimate
    per treated level, and the complications (leaks, new deformities) of ``case``."""
    films = {f.sop_instance_uid: f for f in comparison.films}
    points = []
    for fm in comparison.films:
        film = case.film(fm.sop_instance_uid)
        if film.pain.is_empty:
            continue
        points.append(PainPoint(fm.sop_instance_uid, fm.label, fm.days_from_procedure,
                                film.pain.vas, film.pain.odi))
    changes = _pain_changes(points, "vas") + _pain_changes(points, "odi")
    levels = list(case.treated_levels)
    levels += [r.level for r in case.level_procedures if r.level not in levels]
    volumes = [_volume(lv, case.level_procedure(lv), case, films, comparison) for lv in levels]
    complications = []
    for fm in comparison.films:
        for finding in case.film(fm.sop_instance_uid).cement:
            if finding.leakage:
                where = ", ".join(LEAK_LOCATION_LABELS[x].lower() for x in finding.locations)
                complications.append(Complication(
                    "leakage", finding.level, fm.label,
                    f"{finding.level}: cement leakage ({where or 'location not recorded'}) "
                    f"on the {fm.label.lower()} film"))
    for d in comparison.new_deformities:
        complications.append(Complication(
            "new_deformity", d.level, d.to_label,
            f"{d.level}: new deformity ({d.height} {abs(d.drop_pct):.0f} % lower) "
            f"{d.from_label.lower()} → {d.to_label.lower()}"))
    return OutcomeSummary(tuple(points), tuple(changes), tuple(volumes), tuple(complications))
