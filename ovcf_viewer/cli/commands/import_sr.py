"""``ovcf-viewer import-sr SR.dcm -o OUT.json``: a DICOM SR Measurement Report (TID 1500) as
an exchange-format annotation file.

Our own reports come back exactly (landmarks, levels, index levels, timepoint). From another
program's report (OHIF, 3D Slicer) what fits is imported (vertebra groups with their six
landmarks; lengths, angles and Cobb angles drawn on the film as tools) and everything else is
listed on stderr as skipped.

Exit status: 0 written; 2 not DICOM, not a measurement SR, or nothing could be written (one
line on stderr).
"""

from __future__ import annotations

import argparse
import sys

NAME = "import-sr"
HELP = "read a DICOM SR measurement report (TID 1500) into an annotation file"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sr", metavar="SR.dcm", help="the DICOM SR file")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.json",
                        help="exchange-format annotation file to write")


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.io.sr import SrFormatError, check_annotations
    from ovcf_viewer.model.landmarks import save_annotations
    from ovcf_viewer.services.sr import import_sr

    try:
        result = import_sr(args.sr)
        check_annotations(result)
    except SrFormatError as exc:
        print(f"ovcf-viewer import-sr: {exc}", file=sys.stderr)
        return 2
    for line in result.skipped:
        print(f"ovcf-viewer import-sr: skipped: {line}", file=sys.stderr)
    try:
        save_annotations(result.annotations, args.output)
    except OSError as exc:
        print(f"ovcf-viewer import-sr: cannot write {args.output}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    model = result.annotations
    print(f"{args.output}: {len(model.vertebrae)} vertebra(e), {len(model.tools)} tool(s), "
          f"{len(result.skipped)} item(s) skipped")
    return 0
