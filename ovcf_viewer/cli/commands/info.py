"""``ovcf-viewer info FILE [--frame N] [--json]``: what the loader found in one image file.

Size, frames, photometric interpretation, bits and signedness, transfer syntax, modality and
SOP class, the calibration the viewer would use (docs/clinical-reference.md §1: source, row and
column
spacing, detail) with the header values it came from, windows, VOI LUTs and Presentation LUT
Shape. A file that cannot be opened gives one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ovcf_viewer.model.errors import ImageLoadError

NAME = "info"
HELP = "print what the loader finds in an image file (size, transfer syntax, calibration...)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="DICOM, PNG, JPEG or TIFF file")
    parser.add_argument("--frame", type=int, default=0, help="frame index, 0-based (default 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--use-magnification",
        action="store_true",
        help=(
            "resolve calibration with magnification correction enabled "
            "(docs/clinical-reference.md §1)"),
    )


def describe(image: Any, *, use_magnification: bool = False) -> dict[str, Any]:
    """The loader's findings as a JSON-ready dict (``image`` is a RadiographImage)."""
    from pydicom.uid import UID

    from ovcf_viewer.model.image import VoiLutTable, VoiWindow
    from ovcf_viewer.render.display import default_window

    header = image.calibration_header
    calibration = image.calibration(use_magnification=use_magnification)
    magnification = header.effective_magnification()
    lut = image.modality_lut
    default = default_window(image)
    if isinstance(default, VoiWindow):
        default_text: Any = {"center": default.center, "width": default.width,
                             "function": default.function, "explanation": default.explanation}
    elif isinstance(default, VoiLutTable):
        default_text = {"voi_lut": default.explanation}
    else:
        default_text = None
    return {
        "path": str(image.path) if image.path else None,
        "is_dicom": image.is_dicom,
        "rows": image.rows,
        "columns": image.columns,
        "frame_index": image.frame_index,
        "number_of_frames": image.number_of_frames,
        "photometric": image.photometric,
        "bits_stored": image.bits_stored,
        "signed": image.pixel_representation == 1,
        "stored_dtype": str(image.stored.dtype),
        "transfer_syntax_uid": image.transfer_syntax,
        "transfer_syntax_name": image.transfer_syntax_name,
        "modality": image.modality,
        "sop_class_uid": image.sop_class_uid,
        "sop_class_name": UID(image.sop_class_uid).name if image.sop_class_uid else "",
        "sop_instance_uid": image.sop_instance_uid,
        "calibration": {
            "source": calibration.source.value,
            "unit_tag": calibration.unit_tag,
            "row_mm": calibration.row_mm,
            "col_mm": calibration.col_mm,
            "detail": calibration.detail,
            "statement": calibration.statement(),
            "use_magnification": use_magnification,
        },
        "header_calibration": {
            "pixel_spacing": header.pixel_spacing,
            "imager_pixel_spacing": header.imager_pixel_spacing,
            "estimated_radiographic_magnification_factor": header.magnification_factor,
            "distance_source_to_detector": header.distance_source_to_detector,
            "distance_source_to_patient": header.distance_source_to_patient,
            "pixel_spacing_calibration_type": header.pixel_spacing_calibration_type,
            "pixel_spacing_calibration_description": header.pixel_spacing_calibration_description,
            **header.extra,
        },
        "magnification_factor": (
            {"value": magnification[0], "from": magnification[1]} if magnification else None
        ),
        "modality_lut": (
            {"table_entries": int(len(lut.table)), "first_mapped": lut.first_mapped}
            if lut.table is not None
            else {"rescale_slope": lut.slope, "rescale_intercept": lut.intercept}
        ),
        "windows": [
            {"center": w.center, "width": w.width, "function": w.function,
             "explanation": w.explanation}
            for w in image.windows
        ],
        "voi_luts": [
            {"explanation": t.explanation, "entries": int(len(t.data)),
             "first_mapped": t.first_mapped, "bits": t.bits}
            for t in image.voi_luts
        ],
        "default_window": default_text,
        "presentation_lut_shape": image.presentation_lut_shape,
        "patient": {
            "name": image.patient.name,
            "id": image.patient.patient_id,
            "study_date": image.patient.study_date.isoformat()
            if image.patient.study_date else None,
            "view_position": image.patient.view_position,
            "body_part": image.patient.body_part,
        },
        "warnings": list(image.warnings),
    }


def _text(info: dict[str, Any]) -> str:
    cal = info["calibration"]
    lines = [
        f"File:            {info['path']}",
        f"Size:            {info['columns']} columns × {info['rows']} rows, "
        f"frame {info['frame_index'] + 1} of {info['number_of_frames']}",
        f"Pixels:          {info['photometric']}, {info['bits_stored']} bits stored, "
        f"{'signed' if info['signed'] else 'unsigned'} ({info['stored_dtype']})",
    ]
    if info["is_dicom"]:
        lines += [
            f"Transfer syntax: {info['transfer_syntax_name']} ({info['transfer_syntax_uid']})",
            f"Modality:        {info['modality'] or '-'}",
            f"SOP class:       {info['sop_class_name']} ({info['sop_class_uid']})",
        ]
    else:
        lines.append("Format:          photograph/scan (not DICOM), uncalibrated")
    lines.append(f"Calibration:     {cal['source']} [{cal['unit_tag']}]: "
                 f"row {cal['row_mm']:.6g} × column {cal['col_mm']:.6g}"
                 + (f" ({cal['detail']})" if cal["detail"] else ""))
    header = info["header_calibration"]
    for key in ("pixel_spacing", "imager_pixel_spacing"):
        if header.get(key):
            lines.append(f"  {key.replace('_', ' ')}: {header[key][0]:g} \\ {header[key][1]:g} mm")
    if info["magnification_factor"]:
        mag = info["magnification_factor"]
        lines.append(f"  magnification factor: {mag['value']:.4g} ({mag['from']})")
    lut = info["modality_lut"]
    if "table_entries" in lut:
        lines.append(f"Modality LUT:    table of {lut['table_entries']} entries "
                     f"from {lut['first_mapped']}")
    else:
        lines.append(f"Modality LUT:    slope {lut['rescale_slope']:g}, "
                     f"intercept {lut['rescale_intercept']:g}")
    for w in info["windows"]:
        lines.append(f"Window:          C {w['center']:g} / W {w['width']:g} {w['function']}"
                     + (f" ({w['explanation']})" if w["explanation"] else ""))
    for t in info["voi_luts"]:
        lines.append(f"VOI LUT:         {t['explanation']}: {t['entries']} entries "
                     f"from {t['first_mapped']}, {t['bits']} bits")
    if not info["windows"] and not info["voi_luts"] and info["default_window"]:
        d = info["default_window"]
        lines.append(f"Window:          none in header; auto C {d['center']:g} / W {d['width']:g}")
    shape = info["presentation_lut_shape"] or "(no Presentation LUT Shape)"
    lines.append(f"Presentation:    {shape}")
    for warning in info["warnings"]:
        lines.append(f"Note:            {warning}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.io.dicom import load_image

    try:
        image = load_image(args.file, frame=args.frame)
    except ImageLoadError as exc:
        print(f"ovcf-viewer info: {exc}", file=sys.stderr)
        return 2
    info = describe(image, use_magnification=args.use_magnification)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print(_text(info))
    return 0
