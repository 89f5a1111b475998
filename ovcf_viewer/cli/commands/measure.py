"""``ovcf-viewer measure IMAGE --annotations FILE.json [--json]``: the measurements the GUI
shows, from an exchange-format annotation file (docs/clinical-reference.md §1, §3, §4).

Exit status 2 with one line on stderr for a bad image or annotation file, and for annotations
placed on another film (their SOP Instance UID is not the image's). Plausibility warnings
(docs/clinical-reference.md §6a) are printed with the table and under ``"warnings"`` in JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from ovcf_viewer.measure.measurements import ImageMeasurements, measure_image
from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.landmarks import AnnotationFormatError, load_annotations
from ovcf_viewer.model.settings import COBB_DEFINITIONS, GENANT_REFERENCES, load_settings
from ovcf_viewer.render import format as fmt

NAME = "measure"
HELP = "measure the vertebrae of an annotated image (heights, ratios, Genant grade, kyphosis)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the DICOM (or PNG/JPEG/TIFF) image")
    parser.add_argument("--annotations", required=True, help="exchange-format JSON file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--frame", type=int, default=0, help="frame of a multi-frame image")
    parser.add_argument(
        "--genant-reference", choices=GENANT_REFERENCES, help="override the saved setting"
    )
    parser.add_argument(
        "--cobb",
        choices=COBB_DEFINITIONS,
        dest="cobb_definition",
        help="which angle is reported as Cobb (override the saved setting)",
    )
    parser.add_argument(
        "--magnification",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="divide Imager Pixel Spacing by the magnification factor",
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    overrides = {
        key: value
        for key, value in (
            ("genant_reference", args.genant_reference),
            ("cobb_definition", args.cobb_definition),
            ("use_magnification", args.magnification),
        )
        if value is not None
    }
    settings = settings.replace(**overrides)
    from ovcf_viewer.io.dicom import load_image

    try:
        image = load_image(args.image, frame=args.frame)
        annotations = load_annotations(args.annotations)
        if annotations.sop_instance_uid != image.sop_instance_uid:
            # Landmarks of another film would be measured under this film's calibration
            # without a word (docs/clinical-reference.md §6a): refuse.
            print(
                f"ovcf-viewer measure: {args.annotations} was placed on another film (SOP "
                f"Instance UID {annotations.sop_instance_uid}"
                + (f", {annotations.file}" if annotations.file else "")
                + f"), not on {args.image} (SOP Instance UID {image.sop_instance_uid})",
                file=sys.stderr,
            )
            return 2
        annotations.validate_inside(image.rows, image.columns)
        calibration = image.calibration(
            use_magnification=settings.use_magnification,
            manual=annotations.manual_calibration,
        )
        result = measure_image(annotations, calibration, settings)
    except (ImageLoadError, AnnotationFormatError) as exc:
        print(f"ovcf-viewer measure: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # coincident landmarks, opposite endplate directions
        print(f"ovcf-viewer measure: {args.annotations}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(format_table(result))
    return 0


def format_table(result: ImageMeasurements) -> str:
    """A plain-text table; every length carries the calibration's unit tag. Numbers as
    everywhere a person reads them (:mod:`ovcf_viewer.render.format`; ``--json`` keeps full
    precision)."""
    unit = result.calibration.unit_tag
    lines = [result.calibration.statement(), ""]
    lines.append(
        f"{'level':<6}{'Ha':>8}{'Hm':>8}{'Hp':>8}  ({unit})  {'Ha/Hp':>6}{'Hm/Hp':>7}"
        f"{'crush':>7}{'wedge°':>8}  Genant"
    )
    for level, m in result.vertebrae.items():
        genant = m.genant_label + (f"; reference {m.genant.reference_note}"
                                   if m.genant.reference_note else "")
        # Four-corner vertebrae have no middle points: Hm and Hm/Hp print "n/a".
        hm = (f"{fmt.length(m.middle_height_mm):>8}" if m.middle_height_mm is not None
              else f"{'n/a':>8}")
        biconcavity = (f"{fmt.ratio(m.biconcavity_ratio):>7}" if m.biconcavity_ratio is not None
                       else f"{'n/a':>7}")
        lines.append(
            f"{level:<6}{fmt.length(m.anterior_height_mm):>8}{hm}"
            f"{fmt.length(m.posterior_height_mm):>8}  {'':{len(unit) + 2}}  "
            f"{fmt.ratio(m.wedge_ratio):>6}{biconcavity}"
            f"{fmt.ratio(m.crush_ratio):>7}{fmt.number(m.wedge_angle_deg, 1):>8}  {genant}"
        )
    for level, index in result.index_levels.items():
        kyph = (
            f"{fmt.angle(index.segmental_kyphosis_deg)} ({index.segmental_endplates})"
            if index.segmental_kyphosis_deg is not None
            else "not measurable (needs the vertebrae above and below)"
        )
        lovbh = (fmt.pct(index.lovbh_pct) if index.lovbh_pct is not None
                 else fmt.NOT_ASSESSED)
        if index.lovbh_note:
            lovbh += f" ({index.lovbh_note})"
        lines.append(f"index {level}: segmental kyphosis {kyph}; LOVBH {lovbh}")
    lines.append(f"Genant reference: {result.genant_reference}; Cobb = {result.cobb_definition}")
    lines.extend(result.notes)
    lines.extend(f"WARNING: {w.message}" for w in result.warnings)
    return "\n".join(lines)
