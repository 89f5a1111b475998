"""``ovcf-viewer score IMAGE --reference REF.json --attempt ATTEMPT.json [--json]``: score a
resident's landmarks against an expert's on one image (docs/clinical-reference.md §7).

IMAGE supplies the calibration (§1): point and height errors are in mm under it (or px when
uncalibrated), always named by the unit tag. Both annotation files are exchange-format v1; the
attempt may be incomplete (missing landmarks are listed, a missing level disagrees in grade).
A manual calibration saved in the reference file wins over the header, as in the viewer.

Exit status 0, or 2 with one line on stderr for a bad image or annotation file.
"""

from __future__ import annotations

import argparse
import json
import sys

from ovcf_viewer.measure.scoring import AttemptScore, score_attempt
from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.landmarks import AnnotationFormatError, load_annotations
from ovcf_viewer.model.settings import GENANT_REFERENCES, load_settings
from ovcf_viewer.render import format as fmt

NAME = "score"
HELP = "score a resident's landmarks (attempt) against an expert's (reference) on one image"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", help="the DICOM (or PNG/JPEG/TIFF) image: gives the calibration")
    parser.add_argument("--reference", required=True, help="expert's exchange-format JSON")
    parser.add_argument("--attempt", required=True, help="resident's exchange-format JSON")
    parser.add_argument("--levels", help="comma-separated levels to score (default: all "
                        "complete levels of the reference)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--frame", type=int, default=0, help="frame of a multi-frame image")
    parser.add_argument("--genant-reference", choices=GENANT_REFERENCES,
                        help="override the saved setting")
    parser.add_argument("--magnification", action=argparse.BooleanOptionalAction, default=None,
                        help="divide Imager Pixel Spacing by the magnification factor")


def _fail(message: str) -> int:
    print(f"ovcf-viewer score: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.genant_reference is not None:
        settings = settings.replace(genant_reference=args.genant_reference)
    if args.magnification is not None:
        settings = settings.replace(use_magnification=args.magnification)
    from ovcf_viewer.io.dicom import load_image

    try:
        image = load_image(args.image, frame=args.frame)
        reference = load_annotations(args.reference)
        attempt = load_annotations(args.attempt, partial=True)
        reference.validate_inside(image.rows, image.columns)
        attempt.validate_inside(image.rows, image.columns)
    except (ImageLoadError, AnnotationFormatError) as exc:
        return _fail(str(exc))
    for path, model in ((args.reference, reference), (args.attempt, attempt)):
        if model.sop_instance_uid != image.sop_instance_uid:
            return _fail(
                f"{path}: placed on another image (SOP Instance UID "
                f"{model.sop_instance_uid}, this image is {image.sop_instance_uid})"
            )
    levels = [lv.strip() for lv in args.levels.split(",") if lv.strip()] if args.levels else None
    calibration = image.calibration(
        use_magnification=settings.use_magnification, manual=reference.manual_calibration
    )
    try:
        score = score_attempt(reference, attempt, calibration, settings, levels=levels)
    except (ValueError, AnnotationFormatError) as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(score.to_json(), indent=2))
    else:
        print(format_score(score))
    return 0


def _num(value: float | None, decimals: int = 1) -> str:
    return fmt.MISSING if value is None else fmt.number(value, decimals)


def format_score(score: AttemptScore) -> str:
    """Plain-text summary; every length carries the calibration's unit tag."""
    unit = score.calibration.unit_tag
    lines = [score.calibration.statement(), ""]
    agreement = score.grade_agreement
    lines.append(
        f"Mean point error: {_num(score.mean_point_error_mm, 2)} {unit}   "
        f"Genant grade agreement: {_num(None if agreement is None else agreement * 100, 0)} %"
    )
    lines.append("")
    lines.append(f"{'level':<6}{'point err':>10}  {'ΔHa':>6}{'ΔHm':>6}{'ΔHp':>6} ({unit})"
                 f"  {'Δwedge°':>8}{'Δkyph°':>8}  grade you/expert")
    for level, s in score.levels.items():
        h = s.heights or {}
        lines.append(
            f"{level:<6}{_num(s.mean_point_error_mm, 2):>10}  "
            + "".join(f"{_num(h[k].error if k in h else None):>6}"
                      for k in ("ha_mm", "hm_mm", "hp_mm"))
            + f"{'':>{len(unit) + 3}}"
            + f"  {_num(s.wedge_angle_deg.error if s.wedge_angle_deg else None):>8}"
            + f"{_num(s.segmental_kyphosis_deg.error if s.segmental_kyphosis_deg else None):>8}"
            + f"  {s.attempt_grade if s.attempt_grade is not None else '—'}/{s.reference_grade}"
        )
    if score.advice:
        lines += ["", "Advice:"] + [f"  - {a.text}" for a in score.advice]
    return "\n".join(lines)
