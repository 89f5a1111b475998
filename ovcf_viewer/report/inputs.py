"""From a case to a :class:`ReportSource`: load, calibrate, measure and compare every film
(the suitability evaluation is added by :mod:`ovcf_viewer.services.report`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.measure.measurements import ImageMeasurements
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.source import ReportFilm, ReportSource

if TYPE_CHECKING:
    from ovcf_viewer.model.image import PatientInfo, RadiographImage


# --------------------------------------------------------------------------------------------
# From a case (or annotation files) to a ReportSource
# --------------------------------------------------------------------------------------------


def prepare_source(
    case: Any,
    settings: Settings | None = None,
    *,
    images: dict[str, RadiographImage] | None = None,
) -> ReportSource:
    """Load, calibrate, measure and compare a :class:`~ovcf_viewer.model.case.Case`.

    ``images`` maps SOP Instance UID → an already loaded image (the GUI passes its own);
    other films are read from their paths. A film whose file is missing or unreadable is
    reported as "film missing" with its landmarks; its lengths use its manual calibration or
    pixels (docs/clinical-reference.md §1). The suitability fields are left empty:
    :func:`ovcf_viewer.services.report.prepare_report` fills them.
    """
    from ovcf_viewer.io.case_files import case_calibrations
    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.measure.comparison import compare
    from ovcf_viewer.model.errors import ImageLoadError

    settings = settings or Settings()
    images = dict(images or {})
    calibrations: dict[str, Calibration] = {}
    missing: dict[str, str] = {}
    for film in case.films:
        uid = film.sop_instance_uid
        if uid not in images:
            if film.path is None:
                missing[uid] = f"Film missing: no image file recorded for the {film.label} film"
                continue
            try:
                images[uid] = load_image(film.path)
            except ImageLoadError as exc:
                what = (f"unreadable ({exc.message})" if Path(film.path).exists()
                        else "not found")
                missing[uid] = f"Film missing: {film.label} image {Path(film.path).name} {what}"
                continue
        loaded = images[uid]
        calibrations[uid] = loaded.calibration(
            use_magnification=settings.use_magnification,
            manual=film.annotations.manual_calibration,
        )
    source = ReportSource(films=[], procedure=_procedure_label(case),
                          treated_levels=tuple(case.treated_levels))
    try:
        # films not loaded here: their manual calibration, else pixels, said so in the notes
        known, notes = case_calibrations(case, settings, calibrations)
        comparison = compare(case, settings, known, notes)
    except ValueError as exc:  # coincident landmarks and the like
        comparison = None
        source.comparison_unavailable = str(exc)
    measured = {f.sop_instance_uid: f for f in comparison.films} if comparison else {}
    ordered = sorted(case.films, key=lambda f: _film_order(case, f))
    for film in ordered:
        uid = film.sop_instance_uid
        image = images.get(uid)
        if uid in measured:
            calibration = measured[uid].calibration
            result: ImageMeasurements | None = measured[uid].measurements
            problem = ""
        else:
            calibration = calibrations.get(uid) or (
                film.annotations.manual_calibration or Calibration.none("film missing")
            )
            result, problem = _measure_safely(film.annotations, calibration, settings)
        annotations = film.annotations
        if film.timepoint is not None and annotations.timepoint != film.timepoint:
            annotations = ImageAnnotations.from_json(annotations.to_json(partial=True),
                                                     partial=True)
            annotations.timepoint = film.timepoint
        source.films.append(ReportFilm(
            annotations=annotations,
            calibration=calibration,
            measurements=result,
            image=image,
            file_name=Path(film.path).name if film.path else "",
            missing_reason=missing.get(uid, ""),
            problem=problem,
            leaks=[(c.level, r) for c in film.cement for r in c.regions],
        ))
        if image is None and film.path is not None:
            source.identifying_terms += [str(film.path), Path(film.path).name]
    source.comparison = comparison
    if comparison is not None:
        from ovcf_viewer.measure.outcomes import summarize_outcomes

        source.outcomes = summarize_outcomes(case, comparison)
        source.outcome_case = case
    source.patient, warning = _patient_of(case, source.films)
    if warning:
        source.warnings.append(warning)
    if case.case_id:
        source.identifying_terms.append(case.case_id)
    return source


def _film_order(case: Any, film: Any) -> tuple[int, int]:
    chronological = case.chronological_films()
    for i, other in enumerate(chronological):
        if other.sop_instance_uid == film.sop_instance_uid:
            return (0, i)
    return (1, list(case.films).index(film))


def _procedure_label(case: Any) -> str:
    from ovcf_viewer.model.case import PROCEDURE_LABELS

    parts = []
    if case.procedure:
        parts.append(PROCEDURE_LABELS.get(case.procedure, case.procedure))
    if case.approach:
        parts.append(case.approach)
    return ", ".join(parts)


def _measure_safely(
    annotations: ImageAnnotations, calibration: Calibration, settings: Settings
) -> tuple[ImageMeasurements | None, str]:
    from ovcf_viewer.measure.measurements import measure_image

    try:
        return measure_image(annotations, calibration, settings), ""
    except ValueError as exc:
        return None, f"Measurements unavailable: {exc}"


def _patient_of(case: Any, films: list[ReportFilm]) -> tuple[PatientInfo | None, str]:
    """The patient from the films' headers (else the case document); a warning when the
    films name different patients."""
    from ovcf_viewer.model.image import PatientInfo

    infos = [f.image.patient for f in films if f.image is not None]
    ids = {p.patient_id for p in infos if p.patient_id}
    warning = ""
    if len(ids) > 1:
        warning = ("Warning: the films carry different Patient IDs; check that they belong "
                   "to one patient.")
    for info in infos:
        if info.name or info.patient_id:
            return info, warning
    if case.patient_name or case.patient_id:
        return PatientInfo(name=case.patient_name, patient_id=case.patient_id), warning
    return None, warning
