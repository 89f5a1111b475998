"""The measurement table of one or more cases: one row per case × timepoint × level, columns
named like the ``measure --json`` keys, every row with its calibration source and spacing
(docs/clinical-reference.md §1, §3–§5). ``ovcf-viewer export-csv`` and the case view's
File > Export table both write :func:`table_text`.

Lengths in mm fill ``ha_mm``/``hm_mm``/``hp_mm``; an uncalibrated film's lengths, in pixels,
fill ``ha_px``/``hm_px``/``hp_px`` instead (``length_unit`` says which). ``level_status`` is
``treated`` (a treated level after its procedure: ``genant_grade`` is empty, ``genant_type``
says ``treated``), ``new fracture`` (first marked as an index level after the procedure),
``index`` or empty; ``warnings`` holds the film's plausibility warnings about the level
(docs/clinical-reference.md §6a), ``code: message`` joined by `` | ``."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.io.deidentify import FREE_TEXT_REMOVED, DeidentificationContext, Deidentifier
from ovcf_viewer.model.case import Case, is_case_document
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services.compare import compare
from ovcf_viewer.services.outcomes import OUTCOME_COLUMNS, outcome_cells, summarize_outcomes

__all__ = ["COLUMNS", "FREE_TEXT_REMOVED", "case_rows", "cases_from_paths", "deidentify_rows",
           "table_text"]

#: Column order of the table.
COLUMNS = (
    "case_id",
    "patient_id",
    "procedure",
    "timepoint",
    "date",
    "interval_days",
    "level",
    "is_index",
    "is_treated",
    "calibration_source",
    "row_mm",
    "col_mm",
    "length_unit",
    "ha_mm",
    "hm_mm",
    "hp_mm",
    "wedge_ratio",
    "biconcavity_ratio",
    "crush_ratio",
    "wedge_angle_deg",
    "genant_grade",
    "genant_type",
    "height_reduction_pct",
    "genant_reference_used",
    "segmental_kyphosis_deg",
    "lovbh_pct",
    "sop_instance_uid",
    "file",
    "calibration_note",
    # Added: pixel lengths of an uncalibrated film (never under a millimetre name), the level's
    # status on this film, and the plausibility warnings (docs/clinical-reference.md §6a).
    "ha_px",
    "hm_px",
    "hp_px",
    "level_status",
    "warnings",
    *OUTCOME_COLUMNS,  # §5a, added after the measurement columns
)

_DECIMALS = 4


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{round(value, _DECIMALS):.{_DECIMALS}f}".rstrip("0").rstrip(".")


def case_rows(case: Any, settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """The table rows of one :class:`~ovcf_viewer.model.case.Case` and the notes to print."""
    comparison = compare(case, settings)
    new_fractures = {(nf.level, nf.sop_instance_uid) for nf in comparison.new_fractures}
    first_marked = {nf.level: nf.sop_instance_uid for nf in comparison.new_fractures}
    order = [f.sop_instance_uid for f in comparison.films]
    outcomes = summarize_outcomes(case, comparison)
    rows = []
    for film in comparison.films:
        case_film = case.film(film.sop_instance_uid)
        cal = film.calibration
        m = film.measurements
        for level, v in m.vertebrae.items():
            index = m.index_levels.get(level)
            tp = film.timepoint
            is_new = level in first_marked and (
                (level, film.sop_instance_uid) in new_fractures
                or order.index(film.sop_instance_uid) > order.index(first_marked[level]))
            status = ("treated" if v.treated else "new fracture" if is_new
                      else "index" if index is not None else "")
            mm = cal.is_calibrated
            rows.append(
                {
                    "case_id": case.case_id,
                    "patient_id": case.patient_id,
                    "procedure": case.procedure or "",
                    "timepoint": tp.kind,
                    "date": film.date.isoformat() if film.date else "",
                    "interval_days": (
                        film.days_from_procedure if film.days_from_procedure is not None else ""
                    ),
                    "level": level,
                    "is_index": int(index is not None),
                    "is_treated": int(level in comparison.treated_levels),
                    "calibration_source": cal.source.value,
                    "row_mm": _number(cal.row_mm) if cal.is_calibrated else "",
                    "col_mm": _number(cal.col_mm) if cal.is_calibrated else "",
                    "length_unit": cal.unit,
                    "ha_mm": _number(v.anterior_height_mm) if mm else "",
                    "hm_mm": _number(v.middle_height_mm) if mm else "",
                    "hp_mm": _number(v.posterior_height_mm) if mm else "",
                    "ha_px": "" if mm else _number(v.anterior_height_mm),
                    "hm_px": "" if mm else _number(v.middle_height_mm),
                    "hp_px": "" if mm else _number(v.posterior_height_mm),
                    "level_status": status,
                    "warnings": " | ".join(f"{w.code}: {w.message}"
                                           for w in m.warnings_for(level)),
                    "wedge_ratio": _number(v.wedge_ratio),
                    "biconcavity_ratio": _number(v.biconcavity_ratio),
                    "crush_ratio": _number(v.crush_ratio),
                    "wedge_angle_deg": _number(v.wedge_angle_deg),
                    "genant_grade": "" if v.treated else v.genant.grade,
                    "genant_type": "treated" if v.treated else v.genant.type,
                    "height_reduction_pct": _number(v.genant.height_reduction_pct),
                    "genant_reference_used": v.genant.reference,
                    "segmental_kyphosis_deg": _number(
                        index.segmental_kyphosis_deg if index else None
                    ),
                    "lovbh_pct": _number(index.lovbh_pct if index else None),
                    "sop_instance_uid": film.sop_instance_uid,
                    "file": str(case_film.path) if case_film.path else "",
                    "calibration_note": film.calibration_note,
                    **outcome_cells(case, outcomes, film.sop_instance_uid, level),
                }
            )
    notes = [n for n in comparison.notes if "calibration sources" not in n]
    return rows, [f"{case.case_id}: {n}" for n in notes]


def deidentify_rows(
    case_number: int, rows: list[dict[str, Any]], context: DeidentificationContext
) -> list[dict[str, Any]]:
    """``rows`` of one case with nothing that identifies the patient, through the one
    de-identification service (:mod:`ovcf_viewer.io.deidentify`) and the patient's
    ``context``: ``case_id`` becomes ``case-<n>``, ``patient_id`` the patient's pseudonym,
    ``date`` is shifted by the patient's offset (``interval_days`` unchanged), each SOP
    Instance UID becomes the film's new UID (the same as in the film's teaching export and
    SR), ``file`` the pseudonymous stem the SR export uses, and non-empty free text a fixed
    phrase (:data:`FREE_TEXT_REMOVED`)."""
    from datetime import date

    out = []
    for row in rows:
        uid = str(row["sop_instance_uid"])
        when = str(row["date"])
        file = str(row["file"])
        out.append(row | {
            "case_id": f"case-{case_number}",
            "patient_id": context.patient_label,
            "date": context.shift_date(date.fromisoformat(when)).isoformat() if when else "",
            "sop_instance_uid": context.uid_for(uid),
            "file": context.file_stem(Path(file).name) if file else "",
            "calibration_note": Deidentifier.text(row["calibration_note"]),
        })
    return out


def table_text(
    cases: list[Any], settings: Settings, *, deidentify: bool = False
) -> tuple[str, int, list[str]]:
    """The CSV text for ``cases`` (header + one row per case × timepoint × level), the number
    of rows and the notes to show (the GUI's File > Export table uses this too). With
    ``deidentify`` the rows go through :func:`deidentify_rows` (each case's patient context
    from the installation's :class:`~ovcf_viewer.io.deidentify.Deidentifier`) and the notes
    name the cases by number only."""
    deidentifier = Deidentifier() if deidentify else None
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for number, case in enumerate(cases, start=1):
        case_rows_, case_notes = case_rows(case, settings)
        if deidentifier is not None:
            context = deidentifier.context(case.patient_id or "", case.patient_name or "",
                                           case.case_id or "")
            case_rows_ = deidentify_rows(number, case_rows_, context)
            case_notes = [f"case-{number}: note withheld from a de-identified export"
                          for _ in case_notes[:1]]
        rows.extend(case_rows_)
        notes.extend(case_notes)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue(), len(rows), list(dict.fromkeys(notes))


def cases_from_paths(paths: list[Path]) -> list[Case]:
    """The cases of command-line INPUTs: each case document alone, all annotation files
    together as one case. :class:`~ovcf_viewer.model.case.CaseFormatError` for bad input."""
    return [load_case_inputs(group) for group in _group_inputs(paths)]


def _group_inputs(paths: list[Path]) -> list[list[Path]]:
    """Each case document alone; all annotation files together as one case."""
    documents = [[p] for p in paths if is_case_document(p)]
    others = [p for p in paths if not is_case_document(p)]
    return documents + ([others] if others else [])
