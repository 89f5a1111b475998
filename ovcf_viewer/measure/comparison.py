"""Before, after and follow-up: what an augmentation restored and whether it held
(docs/clinical-reference.md §5).

:func:`compare` measures every film of a :class:`~ovcf_viewer.model.case.Case` with
:func:`~ovcf_viewer.measure.measurements.measure_image` (treated levels counted as index levels,
so they are never anyone's reference, §4) and derives:

- per treated level and its neighbours (treated levels ± 1), the heights ``Ha``, ``Hm``,
  ``Hp`` at every timepoint, in mm (px when uncalibrated) and as % of the reference height on
  the same film (§4 reference; magnification cancels);
- height restoration four ways for ``a``, ``m`` and ``p`` (McKiernan, Spine 2003):
  absolute ``H_post − H_pre`` (mm); % of initial ``(H_post − H_pre)/H_pre``; % of lost height
  ``(H_post − H_pre)/(H_ref − H_pre)``; % of reference ``(H_post − H_pre)/H_ref``, where
  ``H_ref`` is the pre-operative film's §4 reference (by default the mean of the placed,
  non-treated adjacent vertebrae), printed with them;
- kyphosis correction ``θ_pre − θ_post``, loss of correction ``θ_followup − θ_post`` and
  height loss at follow-up ``H_post − H_followup``;
- new (incident) deformities between any two consecutive films at any level: a height falls by
  ≥ 20 % **and** ≥ 4 mm (EPOS);
- "within measurement variability" for changes smaller than the *settings*
  ``variability_deg`` / ``variability_mm`` (default 5°, 2 mm; Morrissy 1990, Alanay 2007).

Films measured with different calibration sources cannot be compared in millimetres: the
result says so in :attr:`CaseComparison.notes`, marks each mm comparison
(``mm_comparable=False``) and offers the magnification-free figures (% of reference, angles).

Units: lengths in mm, or px when a film is uncalibrated; percentages as numbers of percent
(``12.5`` means 12.5 %); angles in degrees, kyphosis positive (§3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from ovcf_viewer.measure import tolerance
from ovcf_viewer.measure.measurements import HEIGHT_KEYS, ImageMeasurements, measure_image
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.case import Case, CaseFilm
from ovcf_viewer.model.landmarks import (
    Timepoint,
    level_index,
    neighbour_levels,
)
from ovcf_viewer.model.settings import Settings

__all__ = [
    "HEIGHT_NAMES",
    "INCIDENT_DROP_FRACTION",
    "INCIDENT_DROP_MM",
    "CaseComparison",
    "CorrectionLoss",
    "FilmMeasurement",
    "HeightLoss",
    "HeightRestoration",
    "IncidentDeformity",
    "KyphosisChange",
    "LevelComparison",
    "NewFracture",
    "TrendPoint",
    "TrendSeries",
    "compare",
    "is_incident_deformity",
    "restoration",
    "trend_series",
]

HEIGHT_NAMES = {"a": "anterior", "m": "middle", "p": "posterior"}
#: EPOS incident deformity: a height falls by at least this fraction … (§5)
INCIDENT_DROP_FRACTION = 0.20
#: … and by at least this many mm.
INCIDENT_DROP_MM = 4.0
# Thresholds (EPOS 20 % / 4 mm, the variability setting) are compared with the tolerance of
# ovcf_viewer.measure.tolerance, so a drop constructed to be exactly 20 % or 4 mm counts, and a
# change of exactly 2 mm (1.9999999999999964 in floating point) is not "smaller than 2 mm" (§5).
#: Which comparison found a new deformity (§5): between consecutive films, or against the
#: baseline (the latest pre-operative film for untreated levels, the post-operative film for
#: treated ones).
CONSECUTIVE = "consecutive"
BASELINE = "baseline"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FilmMeasurement:
    """One film of the case, measured: its timepoint, the calibration used and why, and the
    :class:`~ovcf_viewer.measure.measurements.ImageMeasurements` (§3, §4)."""

    sop_instance_uid: str
    timepoint: Timepoint
    date: date | None
    days_from_procedure: int | None
    calibration: Calibration
    calibration_note: str
    measurements: ImageMeasurements
    #: Pain recorded at this film's timepoint (§5a): VAS 0–10, ODI 0–100 %; None = unknown.
    pain_vas: float | None = None
    odi_pct: float | None = None

    @property
    def label(self) -> str:
        return self.timepoint.label

    @property
    def unit(self) -> str:
        return self.calibration.unit

    def heights(self, level: str) -> dict[str, float] | None:
        """``{"a": Ha, "m": Hm, "p": Hp}`` in mm (px when uncalibrated); ``None`` unless the
        level is complete on this film."""
        m = self.measurements.vertebrae.get(level)
        return dict(m.heights) if m is not None else None

    def pct_of_reference(self, level: str) -> dict[str, float | None] | None:
        """Each height as % of its §4 reference height on this same film (``None`` for a
        height without a reference, e.g. ``p`` graded against its own posterior height)."""
        m = self.measurements.vertebrae.get(level)
        if m is None:
            return None
        out: dict[str, float | None] = {}
        for k in HEIGHT_KEYS:
            ref = m.genant.reference_heights_mm.get(k)
            own = m.heights.get(k)  # no Hm in four-corner mode
            out[k] = own / ref * 100.0 if ref and own is not None else None
        return out

    def kyphosis_deg(self, level: str) -> float | None:
        """The angle the *setting* calls "Cobb" at ``level`` (segmental by default, §3)."""
        index = self.measurements.index_levels.get(level)
        if index is None:
            return None
        return index.cobb_deg(self.measurements.cobb_definition)


@dataclass(frozen=True)
class HeightRestoration:
    """Height restoration of one height (``a``, ``m`` or ``p``) four ways (§5, McKiernan 2003).

    Percentages are numbers of percent. ``pct_of_lost`` is ``None`` without a reference or when
    the vertebra had lost no height (``H_ref ≤ H_pre``). ``ratio_change_pp`` is the change of
    the height as % of each film's own reference, in percentage points: the comparison that
    survives different magnification. ``within_variability`` is ``None`` when the mm threshold
    cannot be applied (a film in pixels, or different calibration sources).
    """

    height: str
    pre_mm: float
    post_mm: float
    reference_mm: float | None
    absolute_mm: float | None  # None when pre and post are in different units (mm vs px)
    pct_of_initial: float | None
    pct_of_lost: float | None
    pct_of_reference: float | None
    ratio_change_pp: float | None
    within_variability: bool | None
    mm_comparable: bool


@dataclass(frozen=True)
class HeightLoss:
    """Height loss at follow-up ``H_post − H_followup`` (§5), positive when height was lost."""

    height: str
    followup_uid: str
    followup_label: str
    post_mm: float
    followup_mm: float
    loss_mm: float
    loss_pct_of_post: float
    within_variability: bool | None
    mm_comparable: bool


@dataclass(frozen=True)
class CorrectionLoss:
    """Loss of correction ``θ_followup − θ_post`` (§5), degrees, positive = kyphosis recurred."""

    followup_uid: str
    followup_label: str
    followup_deg: float
    loss_deg: float
    within_variability: bool


@dataclass(frozen=True)
class KyphosisChange:
    """Kyphosis at a treated level (§3 angle per the Cobb *setting*) and its change (§5)."""

    level: str
    definition: str  # "segmental" or "vertebral_wedge"
    endplates: str
    pre_deg: float | None
    post_deg: float | None
    correction_deg: float | None  # θ_pre − θ_post
    correction_within_variability: bool | None
    losses: tuple[CorrectionLoss, ...] = ()


@dataclass(frozen=True)
class LevelComparison:
    """One treated or adjacent level across the case's films (§5).

    ``heights_mm`` and ``pct_of_reference`` are aligned with :attr:`CaseComparison.films`
    (``None`` where the level is not complete on that film). ``reference_levels`` and
    ``reference_heights_mm`` are the pre-operative film's §4 reference, printed with the
    restoration.
    """

    level: str
    role: str  # "treated" or "adjacent"
    heights_mm: tuple[dict[str, float] | None, ...]
    pct_of_reference: tuple[dict[str, float | None] | None, ...]
    reference_levels: tuple[str, ...]
    reference_heights_mm: dict[str, float | None]
    reference_kind: str  # "adjacent", "own_posterior" or "" (not on the pre-operative film)
    restoration: tuple[HeightRestoration, ...]
    height_loss: tuple[HeightLoss, ...]
    kyphosis: KyphosisChange | None
    notes: tuple[str, ...] = ()

    def restoration_for(self, height: str) -> HeightRestoration | None:
        return next((r for r in self.restoration if r.height == height), None)


@dataclass(frozen=True)
class IncidentDeformity:
    """A new deformity between two films (§5, EPOS): ``height`` fell by ``drop_pct`` ≥ 20 %
    and ``drop_mm`` ≥ 4 mm, from the ``from`` film to the ``to`` film. ``fired`` says which
    comparisons found it at the ``to`` film: ``("consecutive",)`` against the film before,
    ``("baseline",)`` against the level's baseline film only (a gradual collapse), or both; the
    figures are the consecutive comparison's when it fired. ``mm_tested`` is False when the
    4 mm part could not be tested (a film in pixels): then only the 20 % part was."""

    level: str
    height: str
    from_uid: str
    to_uid: str
    from_label: str
    to_label: str
    from_mm: float
    to_mm: float
    drop_mm: float
    drop_pct: float
    treated: bool
    mm_tested: bool
    mm_comparable: bool
    fired: tuple[str, ...] = (CONSECUTIVE,)

    @property
    def comparison(self) -> str:
        """``consecutive films``, ``against the baseline`` or both, for the user."""
        words = {CONSECUTIVE: "between consecutive films", BASELINE: "against the baseline"}
        return " and ".join(words[f] for f in self.fired)

    @property
    def description(self) -> str:
        return (
            f"{self.level} {HEIGHT_NAMES[self.height]} height fell "
            f"{self.drop_pct:.0f} % ({self.drop_mm:.1f} mm) from {self.from_label} to "
            f"{self.to_label} ({self.comparison})"
        )


@dataclass(frozen=True)
class NewFracture:
    """A level first marked as an index (fractured) level on a film after the procedure, and
    not treated: a new fracture (§5), never a treated level."""

    level: str
    sop_instance_uid: str
    label: str

    @property
    def description(self) -> str:
        return f"{self.level}: new fracture, first marked on the {self.label} film"


@dataclass(frozen=True)
class TrendPoint:
    sop_instance_uid: str
    label: str
    kind: str
    date: date | None
    days_from_procedure: int | None


@dataclass(frozen=True)
class TrendSeries:
    """For the trend chart: per timepoint (chronological), each compared level's heights as %
    of reference (``heights_pct[level][key]``) and each treated level's kyphosis in degrees
    (``kyphosis_deg[level]``); ``None`` where not measurable on a film."""

    points: tuple[TrendPoint, ...]
    heights_pct: dict[str, dict[str, tuple[float | None, ...]]]
    kyphosis_deg: dict[str, tuple[float | None, ...]]
    kyphosis_definition: str
    treated_levels: tuple[str, ...]
    #: Pain VAS (0–10, §5a) per point; None where not recorded.
    pain_vas: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class CaseComparison:
    """Everything §5 reports for one case; see the module docstring."""

    case_id: str
    films: tuple[FilmMeasurement, ...]  # chronological
    preop_uid: str | None
    postop_uid: str | None
    followup_uids: tuple[str, ...]
    treated_levels: tuple[str, ...]
    levels: tuple[LevelComparison, ...]
    new_deformities: tuple[IncidentDeformity, ...]
    mixed_calibration: bool
    variability_deg: float
    variability_mm: float
    cobb_definition: str
    genant_reference: str
    notes: tuple[str, ...] = field(default=())
    new_fractures: tuple[NewFracture, ...] = field(default=())
    #: Whether any level was measured on two films that can be compared: without that,
    #: "no new deformity" would be reassurance without data ("Not assessed").
    deformities_assessed: bool = False

    @property
    def new_deformities_summary(self) -> str:
        """``Not assessed …``, ``None`` or the list, for panels and reports (§5)."""
        if self.new_deformities:
            return "; ".join(d.description for d in self.new_deformities)
        if not self.deformities_assessed:
            return "Not assessed (no level is measured on two comparable films)"
        return "None"

    def film(self, sop_instance_uid: str) -> FilmMeasurement:
        for film in self.films:
            if film.sop_instance_uid == sop_instance_uid:
                return film
        raise KeyError(sop_instance_uid)

    def level(self, level: str) -> LevelComparison:
        for item in self.levels:
            if item.level == level:
                return item
        raise KeyError(level)

    def trend(self) -> TrendSeries:
        """The series the trend chart draws (§5)."""
        points = tuple(
            TrendPoint(f.sop_instance_uid, f.label, f.timepoint.kind, f.date,
                       f.days_from_procedure)
            for f in self.films
        )
        heights = {
            lc.level: {
                k: tuple((pct or {}).get(k) for pct in lc.pct_of_reference) for k in HEIGHT_KEYS
            }
            for lc in self.levels
        }
        kyphosis = {
            level: tuple(f.kyphosis_deg(level) for f in self.films)
            for level in self.treated_levels
        }
        return TrendSeries(points, heights, kyphosis, self.cobb_definition, self.treated_levels,
                           tuple(f.pain_vas for f in self.films))


# --------------------------------------------------------------------------- formulas


def restoration(
    height: str,
    pre_mm: float,
    post_mm: float,
    reference_mm: float | None,
    *,
    variability_mm: float = 2.0,
    mm_comparable: bool = True,
    ratio_change_pp: float | None = None,
    same_unit: bool = True,
) -> HeightRestoration:
    """Height restoration four ways (§5): absolute ``H_post − H_pre``; % of initial
    ``(H_post − H_pre)/H_pre``; % of lost height ``(H_post − H_pre)/(H_ref − H_pre)``
    (``None`` when ``H_ref ≤ H_pre`` or no reference); % of reference ``(H_post − H_pre)/H_ref``.
    Percentages are returned as numbers of percent. With ``same_unit=False`` (one film in mm,
    the other in px) none of the four can be computed; only ``ratio_change_pp`` is kept."""
    if pre_mm <= 0:
        raise ValueError("a pre-operative height must be positive")
    if not same_unit:
        return HeightRestoration(
            height=height, pre_mm=pre_mm, post_mm=post_mm, reference_mm=reference_mm,
            absolute_mm=None, pct_of_initial=None, pct_of_lost=None, pct_of_reference=None,
            ratio_change_pp=ratio_change_pp, within_variability=None, mm_comparable=False,
        )
    gain = post_mm - pre_mm
    lost = None if reference_mm is None else reference_mm - pre_mm
    within = tolerance.below(abs(gain), variability_mm) if mm_comparable else None
    return HeightRestoration(
        height=height,
        pre_mm=pre_mm,
        post_mm=post_mm,
        reference_mm=reference_mm,
        absolute_mm=gain,
        pct_of_initial=gain / pre_mm * 100.0,
        pct_of_lost=(gain / lost * 100.0) if lost is not None and lost > 0 else None,
        pct_of_reference=(gain / reference_mm * 100.0) if reference_mm else None,
        ratio_change_pp=ratio_change_pp,
        within_variability=within,
        mm_comparable=mm_comparable,
    )


def is_incident_deformity(
    before_mm: float, after_mm: float, *, mm_tested: bool = True
) -> bool:
    """EPOS incident deformity (§5): the height fell by ≥ 20 % **and** ≥ 4 mm. With
    ``mm_tested=False`` (lengths in pixels) only the 20 % part is applied."""
    drop = before_mm - after_mm
    if before_mm <= 0 or drop <= 0:  # (a drop within the tolerance of 0 fails 20 % anyway)
        return False
    fraction_ok = tolerance.at_least(drop / before_mm, INCIDENT_DROP_FRACTION)
    mm_ok = (not mm_tested) or tolerance.at_least(drop, INCIDENT_DROP_MM)
    return fraction_ok and mm_ok


# --------------------------------------------------------------------------- calibration


def _calibration_without_image(film: CaseFilm) -> tuple[Calibration, str]:
    """A film given no calibration: its manual calibration, else none (pixels), said so.
    Reading the image header is :func:`ovcf_viewer.io.case_files.film_calibration`'s job."""
    manual = film.annotations.manual_calibration
    if manual is not None:
        return manual, ""
    return (Calibration.none("no calibration given"),
            f"{film.label}: no calibration given; lengths in pixels")


# --------------------------------------------------------------------------- compare


def _compared_levels(treated: tuple[str, ...]) -> list[tuple[str, str]]:
    levels: dict[str, str] = {lv: "treated" for lv in treated}
    for lv in treated:
        for neighbour in neighbour_levels(lv):
            if neighbour is not None and neighbour not in levels:
                levels[neighbour] = "adjacent"
    return sorted(levels.items(), key=lambda item: level_index(item[0]))


def _days_from_procedure(film: CaseFilm, procedure_date: date | None) -> int | None:
    when = film.date
    if when is not None and procedure_date is not None:
        return (when - procedure_date).days
    tp = film.timepoint
    if tp is not None and tp.kind != "preop" and tp.interval_days is not None:
        return tp.interval_days
    return None


def _mm_comparable(a: Calibration, b: Calibration) -> bool:
    return a.is_calibrated and b.is_calibrated and a.source is b.source


def _same_unit(a: Calibration, b: Calibration) -> bool:
    """Both lengths in mm or both in px: anything else cannot even be subtracted."""
    return a.unit == b.unit


def compare(
    case: Case,
    settings: Settings | None = None,
    calibrations: Mapping[str, Calibration] | None = None,
    calibration_notes: Mapping[str, str] | None = None,
) -> CaseComparison:
    """Compare the case's films per §5 (see the module docstring).

    ``calibrations`` maps SOP Instance UID → the calibration to use (the GUI passes those of
    the loaded images; :func:`ovcf_viewer.io.case_files.case_calibrations` reads the others
    from the image headers, with ``calibration_notes`` saying where a film fell back to
    pixels). A film missing from it uses its manual calibration, else pixels. Films without a
    timepoint are left out, and said so.
    """
    calibration_notes = calibration_notes or {}
    settings = settings or Settings()
    calibrations = calibrations or {}
    treated = case.index_levels()
    notes: list[str] = []

    unassigned = [f for f in case.films if f.timepoint is None]
    if unassigned:
        notes.append(
            f"{len(unassigned)} film(s) without a timepoint left out of the comparison"
        )
    films: list[FilmMeasurement] = []
    film_notes: dict[str, list[str]] = {}  # measurement note → the films it applies to
    for film in case.chronological_films():
        if film.sop_instance_uid in calibrations:
            calibration = calibrations[film.sop_instance_uid]
            cal_note = calibration_notes.get(film.sop_instance_uid, "")
        else:
            calibration, cal_note = _calibration_without_image(film)
        if cal_note:
            notes.append(cal_note)
        assert film.timepoint is not None
        try:
            measured = measure_image(film.annotations, calibration, settings,
                                     treated_levels=treated,
                                     after_procedure=film.timepoint.kind != "preop")
        except ValueError as exc:
            raise ValueError(f"{film.label} film: {exc}") from None
        films.append(
            FilmMeasurement(
                film.sop_instance_uid, film.timepoint, film.date,
                _days_from_procedure(film, case.procedure_date), calibration, cal_note, measured,
                film.pain.vas, film.pain.odi,
            )
        )
        for n in measured.notes:
            film_notes.setdefault(n, []).append(film.timepoint.label)

    notes.extend(f"{', '.join(labels)}: {n}" for n, labels in film_notes.items())
    sources = {f.calibration.source for f in films}
    mixed = len(sources) > 1
    if mixed:
        listing = "; ".join(f"{f.label}: {f.calibration.unit_tag}" for f in films)
        notes.insert(
            0,
            f"Films have different calibration sources ({listing}): millimetre differences "
            "mix scales and are flagged; compare by % of reference height and by angles, "
            "which do not depend on magnification (docs/clinical-reference.md §1).",
        )
    for f in films:
        if not f.calibration.is_calibrated:
            notes.append(
                f"{f.label} is uncalibrated (lengths in px): the {settings.variability_mm:g} mm "
                f"variability and {INCIDENT_DROP_MM:g} mm deformity thresholds cannot be "
                "applied to it."
            )

    by_uid = {f.sop_instance_uid: f for f in films}
    preop = case.preop_film()
    postop = case.postop_film()
    pre = by_uid.get(preop.sop_instance_uid) if preop else None
    post = by_uid.get(postop.sop_instance_uid) if postop else None
    followups = [by_uid[f.sop_instance_uid] for f in case.followup_films()]
    if not treated:
        notes.append("No treated level recorded and no index level marked: restoration and "
                     "kyphosis need the treated level.")
    if pre is None:
        notes.append("No pre-operative film: restoration and kyphosis correction need one.")
    if post is None:
        notes.append("No post-operative film: restoration, correction and their loss need one.")
    if len([f for f in case.films if f.timepoint and f.timepoint.kind == "preop"]) > 1 and pre:
        notes.append(f"Several pre-operative films: the latest ({pre.date or 'undated'}) is "
                     "compared.")

    levels = tuple(
        _compare_level(level, role, films, pre, post, followups, settings)
        for level, role in _compared_levels(treated)
    )
    new_deformities = tuple(_incident_deformities(films, set(treated), pre, post))
    assessed = any(
        _same_unit(a.calibration, b.calibration)
        and set(a.measurements.vertebrae) & set(b.measurements.vertebrae)
        for a, b in zip(films, films[1:], strict=False)
    )
    new_fractures = tuple(
        NewFracture(level, film.sop_instance_uid, film.label)
        for level, film in case.new_fracture_levels().items()
        if film.sop_instance_uid in by_uid
    )
    for fracture in new_fractures:
        notes.append(f"{fracture.description}: not a treated level (§5); watch for adjacent "
                     "refracture")
    for before, after in zip(films, films[1:], strict=False):
        if not _same_unit(before.calibration, after.calibration):
            notes.append(
                f"New deformities not tested between {before.label} and {after.label}: one is "
                "in mm, the other in px."
            )
    return CaseComparison(
        case_id=case.case_id,
        films=tuple(films),
        preop_uid=pre.sop_instance_uid if pre else None,
        postop_uid=post.sop_instance_uid if post else None,
        followup_uids=tuple(f.sop_instance_uid for f in followups),
        treated_levels=treated,
        levels=levels,
        new_deformities=new_deformities,
        mixed_calibration=mixed,
        variability_deg=settings.variability_deg,
        variability_mm=settings.variability_mm,
        cobb_definition=settings.cobb_definition,
        genant_reference=settings.genant_reference,
        notes=tuple(dict.fromkeys(notes)),
        new_fractures=new_fractures,
        deformities_assessed=assessed,
    )


def _compare_level(
    level: str,
    role: str,
    films: list[FilmMeasurement],
    pre: FilmMeasurement | None,
    post: FilmMeasurement | None,
    followups: list[FilmMeasurement],
    settings: Settings,
) -> LevelComparison:
    notes: list[str] = []
    heights = tuple(f.heights(level) for f in films)
    pct = tuple(f.pct_of_reference(level) for f in films)
    pre_m = pre.measurements.vertebrae.get(level) if pre else None
    reference_levels: tuple[str, ...] = ()
    reference_heights: dict[str, float | None] = {k: None for k in HEIGHT_KEYS}
    reference_kind = ""
    if pre_m is not None:
        reference_levels = pre_m.genant.reference_levels
        reference_heights = dict(pre_m.genant.reference_heights_mm)
        reference_kind = pre_m.genant.reference
        if reference_kind == "own_posterior":
            notes.append(
                f"{level}: reference is its own posterior height on the pre-operative film "
                "(no placed, untreated neighbour or the own-posterior setting): posterior "
                "restoration against a reference cannot be given"
            )

    restorations: list[HeightRestoration] = []
    pre_h = pre.heights(level) if pre else None
    post_h = post.heights(level) if post else None
    if pre is not None and post is not None and pre_h and post_h:
        comparable = _mm_comparable(pre.calibration, post.calibration)
        pre_pct = pre.pct_of_reference(level) or {}
        post_pct = post.pct_of_reference(level) or {}
        for k in HEIGHT_KEYS:
            if k not in pre_h or k not in post_h:
                continue  # Hm of a vertebra placed in four-corner mode
            ratio_pp = (
                post_pct[k] - pre_pct[k]  # type: ignore[operator]
                if pre_pct.get(k) is not None and post_pct.get(k) is not None
                else None
            )
            restorations.append(
                restoration(
                    k, pre_h[k], post_h[k], reference_heights.get(k),
                    variability_mm=settings.variability_mm, mm_comparable=comparable,
                    ratio_change_pp=ratio_pp,
                    same_unit=_same_unit(pre.calibration, post.calibration),
                )
            )
    elif role == "treated":
        missing = [name for name, f, h in (("pre-operative", pre, pre_h),
                                            ("post-operative", post, post_h)) if not (f and h)]
        notes.append(f"{level}: not complete on the {' and '.join(missing)} film: "
                     "no restoration")

    losses: list[HeightLoss] = []
    if post is not None and post_h:
        for fu in followups:
            fu_h = fu.heights(level)
            if not fu_h:
                continue
            if not _same_unit(post.calibration, fu.calibration):
                notes.append(f"{level}: height loss at {fu.label} not computed: the "
                             "post-operative and follow-up lengths are in different units")
                continue
            comparable = _mm_comparable(post.calibration, fu.calibration)
            for k in HEIGHT_KEYS:
                if k not in post_h or k not in fu_h:
                    continue  # Hm of a vertebra placed in four-corner mode
                loss = post_h[k] - fu_h[k]
                losses.append(
                    HeightLoss(
                        k, fu.sop_instance_uid, fu.label, post_h[k], fu_h[k], loss,
                        loss / post_h[k] * 100.0,
                        tolerance.below(abs(loss), settings.variability_mm)
                        if comparable else None,
                        comparable,
                    )
                )

    kyphosis = _kyphosis_change(level, pre, post, followups, settings) if role == "treated" \
        else None
    return LevelComparison(
        level=level,
        role=role,
        heights_mm=heights,
        pct_of_reference=pct,
        reference_levels=reference_levels,
        reference_heights_mm=reference_heights,
        reference_kind=reference_kind,
        restoration=tuple(restorations),
        height_loss=tuple(losses),
        kyphosis=kyphosis,
        notes=tuple(notes),
    )


def _kyphosis_change(
    level: str,
    pre: FilmMeasurement | None,
    post: FilmMeasurement | None,
    followups: list[FilmMeasurement],
    settings: Settings,
) -> KyphosisChange:
    definition = settings.cobb_definition
    pre_deg = pre.kyphosis_deg(level) if pre else None
    post_deg = post.kyphosis_deg(level) if post else None
    endplates = ""
    for film in (pre, post, *followups):
        if film is not None and level in film.measurements.index_levels:
            index = film.measurements.index_levels[level]
            endplates = (index.segmental_endplates if definition == "segmental"
                         else f"superior to inferior endplate of {level}")
            if index.upper_level and index.lower_level:
                break
    correction = pre_deg - post_deg if pre_deg is not None and post_deg is not None else None
    losses = []
    if post_deg is not None:
        for fu in followups:
            fu_deg = fu.kyphosis_deg(level)
            if fu_deg is None:
                continue
            loss = fu_deg - post_deg
            losses.append(
                CorrectionLoss(fu.sop_instance_uid, fu.label, fu_deg, loss,
                               tolerance.below(abs(loss), settings.variability_deg))
            )
    return KyphosisChange(
        level=level,
        definition=definition,
        endplates=endplates,
        pre_deg=pre_deg,
        post_deg=post_deg,
        correction_deg=correction,
        correction_within_variability=(
            tolerance.below(abs(correction), settings.variability_deg)
            if correction is not None else None
        ),
        losses=tuple(losses),
    )


def _incident_deformities(
    films: list[FilmMeasurement],
    treated: set[str],
    pre: FilmMeasurement | None,
    post: FilmMeasurement | None,
) -> list[IncidentDeformity]:
    """EPOS rule (§5) between each pair of consecutive films **and** between each level's
    baseline and every later film: the latest pre-operative film for untreated levels (the
    first film without one), the post-operative film for treated levels. One entry per level,
    height and later film, saying which comparisons fired; its figures are those of the
    consecutive comparison when that fired, else the baseline's."""
    found: dict[tuple[str, str, str], IncidentDeformity] = {}
    order = {f.sop_instance_uid: i for i, f in enumerate(films)}

    def test(before: FilmMeasurement, after: FilmMeasurement, levels: set[str], how: str) -> None:
        if not _same_unit(before.calibration, after.calibration):
            return  # mm against px cannot be tested; compare() says so in its notes
        mm_tested = before.calibration.is_calibrated and after.calibration.is_calibrated
        comparable = _mm_comparable(before.calibration, after.calibration)
        common = set(before.measurements.vertebrae) & set(after.measurements.vertebrae) & levels
        for level in common:
            h0 = before.measurements.vertebrae[level].heights
            h1 = after.measurements.vertebrae[level].heights
            for k in HEIGHT_KEYS:
                if k not in h0 or k not in h1:
                    continue  # Hm of a vertebra placed in four-corner mode
                if not is_incident_deformity(h0[k], h1[k], mm_tested=mm_tested):
                    continue
                key = (level, k, after.sop_instance_uid)
                if key in found:
                    old = found[key]
                    found[key] = IncidentDeformity(
                        **{**old.__dict__, "fired": (*old.fired, how)})
                    continue
                drop = h0[k] - h1[k]
                found[key] = IncidentDeformity(
                    level, k, before.sop_instance_uid, after.sop_instance_uid,
                    before.label, after.label, h0[k], h1[k], drop,
                    drop / h0[k] * 100.0, level in treated, mm_tested, comparable, (how,),
                )

    every = {lv for f in films for lv in f.measurements.vertebrae}
    for before, after in zip(films, films[1:], strict=False):
        test(before, after, every, CONSECUTIVE)
    untreated_base = pre or (films[0] if films else None)
    for base, levels in ((untreated_base, every - treated), (post, treated & every)):
        if base is None:
            continue
        for after in films[order[base.sop_instance_uid] + 1:]:
            test(base, after, levels, BASELINE)
    return sorted(
        found.values(),
        key=lambda d: (order[d.to_uid], level_index(d.level), HEIGHT_KEYS.index(d.height),
                       order[d.from_uid]),
    )


def trend_series(
    case: Case,
    settings: Settings | None = None,
    calibrations: Mapping[str, Calibration] | None = None,
) -> TrendSeries:
    """Heights as % of reference and kyphosis per timepoint for the trend chart (§5)."""
    return compare(case, settings, calibrations).trend()

