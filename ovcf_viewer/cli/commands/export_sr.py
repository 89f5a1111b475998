"""``ovcf-viewer export-sr INPUT... -o DIR``: each annotated film's measurements as a DICOM SR
Measurement Report (TID 1500), one file per film, in the film's study.

INPUT is one case document or exchange-format annotation files (their ``image.file`` must
point at the DICOM film). Lengths are in mm with the calibration source recorded, or in
pixels when the film is uncalibrated; the observer is the physician of the settings.
``--deidentify`` writes them de-identified (:mod:`ovcf_viewer.io.deidentify`).

Exit status: 0 written (films without a complete vertebra are named on stderr); 2 bad input
(one line on stderr).
"""

from __future__ import annotations

import argparse
import sys

from ovcf_viewer.model.settings import load_settings

NAME = "export-sr"
HELP = "write each annotated film's measurements as a DICOM SR (TID 1500)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a case document, or exchange-format annotation files",
    )
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder to write <film>-sr.dcm into (created)")
    parser.add_argument("--observer", help="observer's name, Family^Given (default: the "
                        "physician of the settings)")
    parser.add_argument(
        "--deidentify", action="store_true",
        help="de-identify (PS3.15 Annex E): the patient's pseudonym, shifted dates and new "
        "UIDs (the same as in every other de-identified output), no observer name, files "
        "named <pseudonym>-<digest>-sr.dcm",
    )


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.io.sr import SrFormatError
    from ovcf_viewer.services.sr import SrExportError, export_sr

    settings = load_settings()
    if args.observer is not None:
        settings = settings.replace(physician=args.observer)
    try:
        result = export_sr(args.inputs, args.output, settings, deidentify=args.deidentify)
    except (SrExportError, SrFormatError) as exc:
        print(f"ovcf-viewer export-sr: {exc}", file=sys.stderr)
        return 2
    for note in result.notes:
        print(f"ovcf-viewer export-sr: {note}", file=sys.stderr)
    for path in result.written:
        print(path)
    return 0
