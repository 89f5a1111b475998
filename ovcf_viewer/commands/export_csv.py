"""``ovcf-viewer export-csv INPUT... -o table.csv``: every measurement of one or more cases as
one row per case × timepoint × level, for research spreadsheets and statistics packages
(docs/clinical-reference.md §3–§5).

INPUT is a case document (``ovcf-case``; several may be given, one case each) or a set of
exchange-format annotation files, one per film, each with its ``timepoint`` (together one
case). Columns are named like the ``measure --json`` keys (``ha_mm``, ``wedge_ratio``,
``genant_grade``, ``segmental_kyphosis_deg``…) and every row names its calibration source and
spacing: lengths are in mm, or in pixels when ``calibration_source`` is ``none`` (then
``length_unit`` says ``px``). A film's calibration is its manual calibration, else its image
header's (§1); when the image file is missing it is ``none``, and a line on stderr says so.

Exit status 2 with one line on stderr for bad input.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ovcf_viewer.core.settings import COBB_DEFINITIONS, GENANT_REFERENCES, Settings, load_settings

NAME = "export-csv"
HELP = "export the measurements of cases (pre/post/follow-up) as a CSV table, one row per level"

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
)

_DECIMALS = 4


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="case document(s), or the annotation files (with timepoints) of one case",
    )
    parser.add_argument("-o", "--output", required=True,
                        help="CSV file to write ('-' for standard output)")
    parser.add_argument(
        "--genant-reference", choices=GENANT_REFERENCES, help="override the saved setting"
    )
    parser.add_argument(
        "--cobb", choices=COBB_DEFINITIONS, dest="cobb_definition",
        help="which angle counts as Cobb (override the saved setting)",
    )
    parser.add_argument(
        "--magnification", action=argparse.BooleanOptionalAction, default=None,
        help="divide Imager Pixel Spacing by the magnification factor",
    )


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key, value in (
            ("genant_reference", getattr(args, "genant_reference", None)),
            ("cobb_definition", getattr(args, "cobb_definition", None)),
            ("use_magnification", getattr(args, "magnification", None)),
        )
        if value is not None
    }
    return replace(load_settings(), **overrides)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{round(value, _DECIMALS):.{_DECIMALS}f}".rstrip("0").rstrip(".")


def case_rows(case: Any, settings: Settings) -> tuple[list[dict[str, Any]], list[str]]:
    """The table rows of one :class:`~ovcf_viewer.core.case.Case` and the notes to print."""
    from ovcf_viewer.core.comparison import compare

    comparison = compare(case, settings)
    rows = []
    for film in comparison.films:
        case_film = case.film(film.sop_instance_uid)
        cal = film.calibration
        m = film.measurements
        for level, v in m.vertebrae.items():
            index = m.index_levels.get(level)
            tp = film.timepoint
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
                    "ha_mm": _number(v.anterior_height_mm),
                    "hm_mm": _number(v.middle_height_mm),
                    "hp_mm": _number(v.posterior_height_mm),
                    "wedge_ratio": _number(v.wedge_ratio),
                    "biconcavity_ratio": _number(v.biconcavity_ratio),
                    "crush_ratio": _number(v.crush_ratio),
                    "wedge_angle_deg": _number(v.wedge_angle_deg),
                    "genant_grade": v.genant.grade,
                    "genant_type": v.genant.type,
                    "height_reduction_pct": _number(v.genant.height_reduction_pct),
                    "genant_reference_used": v.genant.reference,
                    "segmental_kyphosis_deg": _number(
                        index.segmental_kyphosis_deg if index else None
                    ),
                    "lovbh_pct": _number(index.lovbh_pct if index else None),
                    "sop_instance_uid": film.sop_instance_uid,
                    "file": str(case_film.path) if case_film.path else "",
                    "calibration_note": film.calibration_note,
                }
            )
    notes = [n for n in comparison.notes if "calibration sources" not in n]
    return rows, [f"{case.case_id}: {n}" for n in notes]


def table_text(cases: list[Any], settings: Settings) -> tuple[str, int, list[str]]:
    """The CSV text for ``cases`` (header + one row per case × timepoint × level), the number
    of rows and the notes to show (the GUI's File > Export table uses this too)."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for case in cases:
        case_rows_, case_notes = case_rows(case, settings)
        rows.extend(case_rows_)
        notes.extend(case_notes)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue(), len(rows), list(dict.fromkeys(notes))


def _group_inputs(paths: list[Path]) -> list[list[Path]]:
    """Each case document alone; all annotation files together as one case."""
    from ovcf_viewer.core.case import is_case_document

    documents = [[p] for p in paths if is_case_document(p)]
    others = [p for p in paths if not is_case_document(p)]
    return documents + ([others] if others else [])


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.core.atomic import atomic_write_text
    from ovcf_viewer.core.case import CaseFormatError, load_case_inputs

    try:
        settings = _settings(args)
        paths = [Path(p) for p in args.inputs]
        cases = [load_case_inputs(group) for group in _group_inputs(paths)]
        text, count, notes = table_text(cases, settings)
    except (CaseFormatError, ValueError) as exc:
        print(f"ovcf-viewer export-csv: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"ovcf-viewer export-csv: note: {note}", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        atomic_write_text(args.output, text)
    except OSError as exc:
        print(f"ovcf-viewer export-csv: cannot write {args.output} ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    print(f"{count} rows written to {args.output}", file=sys.stderr)
    return 0
