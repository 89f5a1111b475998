"""``ovcf-viewer report INPUT... -o report.pdf [--deidentify] [--page-size A4|Letter]
[--findings FINDINGS.json]``: the PDF measurement report.

INPUT is one case document or a set of exchange-format annotation files (one per film, each
with its ``timepoint``), exactly as for ``export-csv``. The PDF is the one File > Export
report… writes (:mod:`ovcf_viewer.report`). ``--deidentify`` leaves out the patient's
name, ID, birth date and sex, film dates, file names and header free text, metadata
included; the patient is named by the pseudonym every de-identified output uses
(:mod:`ovcf_viewer.io.deidentify`).

Exit status: 0 written; 2 bad input (one line on stderr naming the file); 1 the PDF could not
be built or written.

With ``-o X.dcm`` the PDF is written as a DICOM Encapsulated PDF instance in the patient's
study (the study of the latest film with a DICOM image), de-identified with ``--deidentify``.
"""

from __future__ import annotations

import argparse
import sys

from ovcf_viewer.model.settings import PAGE_SIZES, load_settings

NAME = "report"
HELP = "write the PDF measurement report of a case or of annotated films"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a case document, or exchange-format annotation files (one per film, with "
        "their timepoint)",
    )
    parser.add_argument(
        "-o", "--output", required=True,
        help="the PDF file to write; a name ending in .dcm writes a DICOM Encapsulated PDF "
        "in the patient's study",
    )
    parser.add_argument(
        "--deidentify", action="store_true",
        help="leave out patient name, ID, birth date, sex, film dates, file names and header "
        "free text; name the patient by the de-identification pseudonym",
    )
    parser.add_argument(
        "--page-size", choices=PAGE_SIZES, type=_page_size,
        help="paper size (default: the saved setting)",
    )
    parser.add_argument(
        "--findings", help="clinician findings JSON for the suitability summary (see README)"
    )


def _page_size(text: str) -> str:
    for name in PAGE_SIZES:
        if name.lower() == text.lower():
            return name
    return text  # argparse's choices check reports it


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.report import ReportError, build_report, write_report
    from ovcf_viewer.services.report import prepare_report_from_paths
    from ovcf_viewer.services.report_dicom import NoStudyFilmError, report_as_dicom, study_film

    settings = load_settings()
    if args.page_size:
        settings = settings.replace(page_size=args.page_size)
    try:
        source = prepare_report_from_paths(args.inputs, settings, findings_path=args.findings)
    except ReportError as exc:
        print(f"ovcf-viewer report: {exc}", file=sys.stderr)
        return 2
    as_dicom = args.output.lower().endswith(".dcm")
    if as_dicom and study_film(source) is None:
        print(f"ovcf-viewer report: {NoStudyFilmError()}", file=sys.stderr)
        return 2
    try:
        pdf = build_report(source, settings, deidentify=args.deidentify)
        if as_dicom:
            pdf = report_as_dicom(source, pdf, deidentify=args.deidentify)
        write_report(args.output, pdf)
    except ReportError as exc:
        print(f"ovcf-viewer report: {exc}", file=sys.stderr)
        return 1
    missing = [f.missing_reason for f in source.films if f.missing_reason]
    for line in missing:
        print(f"ovcf-viewer report: {line} (reported in the PDF)", file=sys.stderr)
    return 0

