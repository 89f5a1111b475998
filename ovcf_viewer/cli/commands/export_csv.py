"""``ovcf-viewer export-csv INPUT... -o table.csv``: every measurement of one or more cases as
one row per case × timepoint × level, for research spreadsheets and statistics packages
(docs/clinical-reference.md §3–§5).

INPUT is a case document (``ovcf-case``; several may be given, one case each) or a set of
exchange-format annotation files, one per film, each with its ``timepoint`` (together one
case). Columns are named like the ``measure --json`` keys (``ha_mm``, ``wedge_ratio``,
``genant_grade``, ``segmental_kyphosis_deg``…) and every row names its calibration source and
spacing: lengths in mm fill ``ha_mm``/``hm_mm``/``hp_mm``; an uncalibrated film's lengths, in
pixels, fill ``ha_px``/``hm_px``/``hp_px`` instead (``length_unit`` says which); the added
``level_status`` and ``warnings`` columns say "treated" / "new fracture" and carry the
plausibility warnings (docs/clinical-reference.md §5, §6a). A film's calibration is its
manual calibration, else its image header's (§1); when the image file is missing it is
``none``, and a line on stderr says so.

Exit status 2 with one line on stderr for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ovcf_viewer.model.settings import COBB_DEFINITIONS, GENANT_REFERENCES, Settings, load_settings

NAME = "export-csv"
HELP = "export the measurements of cases (pre/post/follow-up) as a CSV table, one row per level"

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
    parser.add_argument(
        "--deidentify", action="store_true",
        help="the patient's pseudonym, shifted dates, the films' new UIDs and pseudonymous "
        "file names (as in every de-identified output); no paths or free text",
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
    return load_settings().replace(**overrides)


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.model.case import CaseFormatError
    from ovcf_viewer.services.csv_table import cases_from_paths, table_text
    from ovcf_viewer.util.atomic import atomic_write_text

    try:
        settings = _settings(args)
        cases = cases_from_paths([Path(p) for p in args.inputs])
        text, count, notes = table_text(cases, settings, deidentify=args.deidentify)
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
