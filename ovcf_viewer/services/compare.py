"""Compare a case's films (docs/clinical-reference.md §5) with every film calibrated: the
calibrations given (the GUI's loaded images) and the others read from the image headers.

:func:`compare` is what the case window's comparison panel, the PDF report, ``export-csv`` and
``ovcf-viewer compare`` all call, so they never disagree; :func:`comparison_to_json` is the
``compare --json`` document. Lengths there are written under ``_mm`` names when the film (or
both films of a difference) is calibrated in mm, under ``_px`` names when in pixels; a
difference between a film in mm and one in px is ``null`` (it cannot be computed)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ovcf_viewer.io.case_files import case_calibrations, load_case_inputs
from ovcf_viewer.measure import comparison
from ovcf_viewer.measure.comparison import (
    CaseComparison,
    FilmMeasurement,
    HeightLoss,
    HeightRestoration,
    IncidentDeformity,
    KyphosisChange,
    LevelComparison,
)
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.case import Case
from ovcf_viewer.model.settings import Settings

__all__ = ["compare", "compare_inputs", "comparison_to_json"]


def compare(
    case: Case,
    settings: Settings | None = None,
    calibrations: Mapping[str, Calibration] | None = None,
) -> CaseComparison:
    """:func:`ovcf_viewer.measure.comparison.compare` with each film's calibration per §1:
    ``calibrations`` (SOP Instance UID → calibration) as given, the others from the film's
    manual calibration or image header (:func:`ovcf_viewer.io.case_files.film_calibration`),
    and pixels, said so in the notes, when the image is missing or unreadable."""
    known, notes = case_calibrations(case, settings, calibrations)
    return comparison.compare(case, settings, known, notes)


def compare_inputs(
    paths: Sequence[str | os.PathLike[str]], settings: Settings | None = None
) -> tuple[Case, CaseComparison]:
    """One case from a case document or annotation files, compared (§5). Raises
    :class:`~ovcf_viewer.model.case.CaseFormatError` or ``ValueError`` for bad input."""
    case = load_case_inputs(paths)
    return case, compare(case, settings)


def _suffix(unit: str) -> str:
    return "_mm" if unit == "mm" else "_px"


def _film_json(film: FilmMeasurement, index_levels: Sequence[str]) -> dict[str, Any]:
    cal = film.calibration
    return {
        "sop_instance_uid": film.sop_instance_uid,
        "timepoint": film.timepoint.to_json(),
        "label": film.label,
        "date": film.date.isoformat() if film.date else None,
        "days_from_procedure": film.days_from_procedure,
        "index_levels": list(index_levels),
        "calibration": {
            "source": cal.source.value,
            "row_mm": cal.row_mm if cal.is_calibrated else None,
            "col_mm": cal.col_mm if cal.is_calibrated else None,
            "unit": cal.unit,
            "statement": cal.statement(),
            "note": film.calibration_note,
        },
        "measurements": film.measurements.to_json(),
    }


def _restoration_json(r: HeightRestoration, unit: str) -> dict[str, Any]:
    u = _suffix(unit)
    return {
        "height": r.height,
        f"pre{u}": r.pre_mm,
        f"post{u}": r.post_mm,
        f"reference{u}": r.reference_mm,
        f"absolute{u}": r.absolute_mm,
        "pct_of_initial": r.pct_of_initial,
        "pct_of_lost": r.pct_of_lost,
        "pct_of_reference": r.pct_of_reference,
        "ratio_change_pp": r.ratio_change_pp,
        "within_variability": r.within_variability,
        "mm_comparable": r.mm_comparable,
    }


def _loss_json(loss: HeightLoss, unit: str) -> dict[str, Any]:
    u = _suffix(unit)
    return {
        "height": loss.height,
        "followup_uid": loss.followup_uid,
        "followup": loss.followup_label,
        f"post{u}": loss.post_mm,
        f"followup{u}": loss.followup_mm,
        f"loss{u}": loss.loss_mm,
        "loss_pct_of_post": loss.loss_pct_of_post,
        "within_variability": loss.within_variability,
        "mm_comparable": loss.mm_comparable,
    }


def _kyphosis_json(k: KyphosisChange) -> dict[str, Any]:
    return {
        "definition": k.definition,
        "endplates": k.endplates,
        "pre_deg": k.pre_deg,
        "post_deg": k.post_deg,
        "correction_deg": k.correction_deg,
        "correction_within_variability": k.correction_within_variability,
        "loss_of_correction": [
            {"followup_uid": x.followup_uid, "followup": x.followup_label,
             "followup_deg": x.followup_deg, "loss_deg": x.loss_deg,
             "within_variability": x.within_variability}
            for x in k.losses
        ],
    }


def _level_json(lc: LevelComparison, comparison: CaseComparison) -> dict[str, Any]:
    pre = comparison.film(comparison.preop_uid) if comparison.preop_uid else None
    post = comparison.film(comparison.postop_uid) if comparison.postop_uid else None
    pre_unit = pre.unit if pre else "mm"
    ref_u = _suffix(pre_unit)
    return {
        "level": lc.level,
        "role": lc.role,
        "reference_kind": lc.reference_kind,
        "reference_levels": list(lc.reference_levels),
        f"reference_heights{ref_u}": lc.reference_heights_mm,
        "heights": [
            None if h is None else {f"{k}{_suffix(f.unit)}": v for k, v in h.items()}
            for f, h in zip(comparison.films, lc.heights_mm, strict=True)
        ],
        "pct_of_reference": list(lc.pct_of_reference),
        "restoration": [_restoration_json(r, pre_unit) for r in lc.restoration],
        "height_loss": [_loss_json(x, post.unit if post else "mm") for x in lc.height_loss],
        "kyphosis": _kyphosis_json(lc.kyphosis) if lc.kyphosis is not None else None,
        "notes": list(lc.notes),
    }


def _deformity_json(d: IncidentDeformity, comparison: CaseComparison) -> dict[str, Any]:
    u = _suffix(comparison.film(d.to_uid).unit)
    return {
        "level": d.level,
        "height": d.height,
        "from": d.from_label,
        "to": d.to_label,
        "from_uid": d.from_uid,
        "to_uid": d.to_uid,
        f"from{u}": d.from_mm,
        f"to{u}": d.to_mm,
        f"drop{u}": d.drop_mm,
        "drop_pct": d.drop_pct,
        "fired": list(d.fired),
        "treated": d.treated,
        "mm_tested": d.mm_tested,
        "description": d.description,
    }


def comparison_to_json(case: Case, comparison: CaseComparison) -> dict[str, Any]:
    """The ``ovcf-viewer compare --json`` document (§5, §6a; ``outcomes``: §5a, see
    :func:`ovcf_viewer.services.outcomes.outcomes_document`)."""
    from ovcf_viewer.services.outcomes import outcomes_document

    index_by_uid = {f.sop_instance_uid: list(f.annotations.index_levels) for f in case.films}
    warnings = [
        {**w.to_json(), "film": f.label, "sop_instance_uid": f.sop_instance_uid}
        for f in comparison.films for w in f.measurements.warnings
    ]
    return {
        "case_id": comparison.case_id,
        "procedure": {
            "kind": case.procedure,
            "date": case.procedure_date.isoformat() if case.procedure_date else None,
        },
        "treated_levels": list(comparison.treated_levels),
        "new_fractures": [
            {"level": nf.level, "film": nf.label, "sop_instance_uid": nf.sop_instance_uid,
             "description": nf.description}
            for nf in comparison.new_fractures
        ],
        "films": [_film_json(f, index_by_uid.get(f.sop_instance_uid, []))
                  for f in comparison.films],
        "preop_uid": comparison.preop_uid,
        "postop_uid": comparison.postop_uid,
        "followup_uids": list(comparison.followup_uids),
        "levels": [_level_json(lc, comparison) for lc in comparison.levels],
        "new_deformities": {
            "assessed": comparison.deformities_assessed,
            "summary": comparison.new_deformities_summary,
            "items": [_deformity_json(d, comparison) for d in comparison.new_deformities],
        },
        "warnings": warnings,
        "mixed_calibration": comparison.mixed_calibration,
        "settings": {
            "variability_deg": comparison.variability_deg,
            "variability_mm": comparison.variability_mm,
            "cobb_definition": comparison.cobb_definition,
            "genant_reference": comparison.genant_reference,
        },
        "notes": list(comparison.notes),
        # Added: follow-up outcomes (docs/clinical-reference.md §5a)
        "outcomes": outcomes_document(case, comparison),
    }
