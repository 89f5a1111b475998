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


#: What replaces free text (calibration notes carry header descriptions) when de-identifying.
FREE_TEXT_REMOVED = "[free text removed]"


def deidentify_rows(
    case_number: int, rows: list[dict[str, Any]], salt: bytes
) -> list[dict[str, Any]]:
    """``rows`` of one case with nothing that identifies the patient: ``case_id`` becomes
    ``case-<n>``, ``patient_id`` and ``date`` are emptied (``interval_days`` keeps the timing
    relative to the procedure), each SOP Instance UID becomes a ``2.25.`` UID derived from it
    and the export's random ``salt`` (consistent within the export, not reversible by hashing
    known UIDs), ``file`` becomes ``film-<k>``, and non-empty free text a fixed phrase."""
    import hashlib

    films: dict[str, int] = {}
    out = []
    for row in rows:
        uid = str(row["sop_instance_uid"])
        films.setdefault(uid, len(films) + 1)
        digest = hashlib.sha256(salt + uid.encode()).digest()[:16]
        out.append(row | {
            "case_id": f"case-{case_number}",
            "patient_id": "",
            "date": "",
            "sop_instance_uid": "2.25." + str(int.from_bytes(digest, "big")),
            "file": f"film-{films[uid]}",
            "calibration_note": FREE_TEXT_REMOVED if row["calibration_note"] else "",
        })
    return out


def table_text(
    cases: list[Any], settings: Settings, *, deidentify: bool = False
) -> tuple[str, int, list[str]]:
    """The CSV text for ``cases`` (header + one row per case × timepoint × level), the number
    of rows and the notes to show (the GUI's File > Export table uses this too). With
    ``deidentify`` the rows go through :func:`deidentify_rows` and the notes name the cases
    by their pseudonyms only."""
    import secrets

    salt = secrets.token_bytes(16)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for number, case in enumerate(cases, start=1):
        case_rows_, case_notes = case_rows(case, settings)
        if deidentify:
            case_rows_ = deidentify_rows(number, case_rows_, salt)
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
