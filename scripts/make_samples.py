#!/usr/bin/env python3
"""Regenerate the synthetic sample studies in ``sample_dicom/`` ("Sample studies").

    python scripts/make_samples.py [--out sample_dicom] [--check] [--only NAME ...]

Everything is rendered by :mod:`ovcf_viewer.devtools.synthetic` from fixed geometry and fixed
random seeds, so the output is identical on every run. ``--check`` renders into a temporary
folder and compares the pixel data of every DICOM file, every ground-truth JSON file and the
README with what is in ``--out``; it exits 1 naming each difference. ``--only`` limits the
work to the named files (e.g. ``case-0001/pre.dcm``); the README is then left alone.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from ovcf_viewer.devtools.synthetic import (  # noqa: E402
    FilmSpec,
    RenderedFilm,
    annotation_document,
    deterministic_uid,
    patient_spine,
    render_film,
    write_dicom,
)
from ovcf_viewer.model.calibration import (  # noqa: E402
    Calibration,
    CalibrationHeader,
    resolve_calibration,
)

PATIENT: dict[str, Any] = {
    "patient_name": "SYNTHETIC^OVCF",
    "patient_id": "OVCF-0001",
    "patient_sex": "F",
    "patient_birth_date": "1948-03-02",
    "institution": "OVCF Viewer synthetic data",
}
MAGNIFICATION = 1.15  # ERMF written to the header; the synthetic spine sits exactly there
SID_MM = 1150.0  # so SOD = 1000 mm and SID/SOD = ERMF


@dataclass(frozen=True)
class Study:
    key: str
    date: str
    description: str
    accession: str

    @property
    def uid(self) -> str:
        return deterministic_uid(f"{PATIENT['patient_id']}/study/{self.key}")


STUDIES = {
    "outside": Study("outside", "2026-01-02", "Emergency department lateral lumbar (CR)", "A0998"),
    "admission": Study("admission", "2026-01-04", "Admission lateral lumbar, standing", "A0999"),
    "preop": Study("preop", "2026-01-05", "Lumbar spine lateral, pre-operative", "A1000"),
    "postop": Study("postop", "2026-01-08", "Lumbar spine lateral, after L1 kyphoplasty", "A1001"),
    "followup": Study("followup", "2026-04-08", "Lumbar spine lateral, 3-month follow-up", "A1002"),
}


@dataclass(frozen=True)
class Sample:
    """One file of the sample set and how it is made."""

    path: str  # relative to the output folder
    study: str
    timepoint: str  # preop / postop / followup (exchange-format timepoint kind)
    spec: FilmSpec
    description: str
    modality: str = "DX"
    photometric: str = "MONOCHROME2"
    pixel_spacing_equal: bool = False  # also write Pixel Spacing = Imager Pixel Spacing
    transfer_syntax: str = "explicit"
    series_number: int = 1
    series_description: str = "LAT L-SPINE"
    derived_from: str = ""  # path of the sample whose pixels this one re-encodes

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def uid_seed(self) -> str:
        return f"{PATIENT['patient_id']}/{self.path}"


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "case-0001/pre.dcm",
        "preop",
        "preop",
        FilmSpec(tilt_deg=3.0, seed=101, spine=patient_spine("preop")),
        "Pre-operative DX, facing left, tilted 3°: acute L1 wedge fracture (anterior height "
        "~35 % below its neighbours, posterior wall intact), local kyphosis.",
    ),
    Sample(
        "case-0001/post.dcm",
        "postop",
        "postop",
        FilmSpec(
            tilt_deg=0.0,
            seed=102,
            vertical_shift_mm=6.0,
            anterior_margin=0.31,
            spine=patient_spine("postop"),
        ),
        "Post-operative DX after L1 kyphoplasty, facing left: anterior height restored to "
        "~85 % of the reference, cement in the body.",
    ),
    Sample(
        "case-0001/followup.dcm",
        "followup",
        "followup",
        FilmSpec(
            tilt_deg=-2.0,
            seed=103,
            vertical_shift_mm=-5.0,
            anterior_margin=0.29,
            sacral_slope_deg=35.0,
            spine=patient_spine("followup"),
        ),
        "3-month follow-up DX, facing left, tilted −2°: 2 mm further anterior height loss "
        "at L1 and about 3° more kyphosis.",
    ),
    Sample(
        "variants/cr_mono1_right.dcm",
        "outside",
        "preop",
        FilmSpec(
            rows=1700,
            cols=1260,
            row_mm=0.175,
            col_mm=0.175,
            facing="right",
            tilt_deg=-4.0,
            seed=104,
            marker="R",
            anterior_margin=0.30,
            exposure_quanta=700.0,
            spine=patient_spine("preop"),
        ),
        "Computed radiography, MONOCHROME1 (low values bright), facing RIGHT, tilted −4°; "
        "Pixel Spacing equals Imager Pixel Spacing (no correction was made: detector plane).",
        modality="CR",
        photometric="MONOCHROME1",
        pixel_spacing_equal=True,
    ),
    Sample(
        "variants/pre_j2k.dcm",
        "preop",
        "preop",
        FilmSpec(tilt_deg=3.0, seed=101, spine=patient_spine("preop")),
        "The pre-operative film re-encoded JPEG 2000 lossless (pixels identical to "
        "case-0001/pre.dcm), its own SOP Instance UID in series 2 of the same study.",
        transfer_syntax="jpeg2000",
        series_number=2,
        series_description="LAT L-SPINE (JPEG 2000 lossless copy)",
        derived_from="case-0001/pre.dcm",
    ),
    Sample(
        "variants/dx_nonsquare.dcm",
        "admission",
        "preop",
        FilmSpec(
            rows=1900,
            cols=1800,
            row_mm=0.16,
            col_mm=0.10,
            tilt_deg=1.5,
            seed=105,
            anterior_margin=0.30,
            spine=patient_spine("preop"),
        ),
        "DX with NON-square pixels, Imager Pixel Spacing 0.16 mm (rows) × 0.10 mm (columns), "
        "facing left, tilted 1.5°; the anatomy is rendered in mm, so it is not stretched.",
    ),
)


def _header(ds: Any) -> CalibrationHeader:
    """The calibration-relevant tags of a written file (docs/clinical-reference.md §1)."""

    def pair(keyword: str) -> tuple[float, float] | None:
        value = ds.get(keyword)
        return (float(value[0]), float(value[1])) if value else None

    return CalibrationHeader(
        modality=str(ds.Modality),
        pixel_spacing=pair("PixelSpacing"),
        imager_pixel_spacing=pair("ImagerPixelSpacing"),
        magnification_factor=float(ds.get("EstimatedRadiographicMagnificationFactor") or 0) or None,
        distance_source_to_detector=float(ds.get("DistanceSourceToDetector") or 0) or None,
        distance_source_to_patient=float(ds.get("DistanceSourceToPatient") or 0) or None,
    )


def _write_sample(sample: Sample, film: RenderedFilm, out: Path) -> dict[str, Any]:
    """Write one DICOM file and its ground-truth JSON; returns the JSON document."""
    study = STUDIES[sample.study]
    spec = film.spec
    pixels = film.pixels
    windows = film.windows
    if sample.photometric == "MONOCHROME1":  # high stored values display dark
        pixels = (4095 - pixels.astype("int32")).astype("uint16")
        windows = tuple((4095.0 - c, w, name) for c, w, name in windows)
    spacing = (spec.row_mm, spec.col_mm)
    sop_uid = deterministic_uid(sample.uid_seed + "/sop")
    write_dicom(
        out / sample.path,
        pixels,
        spacing=spacing,
        modality=sample.modality,
        photometric=sample.photometric,
        pixel_spacing=spacing if sample.pixel_spacing_equal else None,
        magnification=MAGNIFICATION,
        sid_mm=SID_MM,
        windows=windows,
        study_uid=study.uid,
        series_uid=deterministic_uid(f"{sample.uid_seed}/series/{sample.series_number}"),
        sop_uid=sop_uid,
        study_date=study.date,
        study_description=study.description,
        series_description=sample.series_description,
        series_number=sample.series_number,
        accession=study.accession,
        study_id=study.accession,
        transfer_syntax=sample.transfer_syntax,
        derivation=(
            f"Lossless JPEG 2000 re-encoding of {sample.derived_from}"
            if sample.derived_from
            else ""
        ),
        patient_orientation=["A", "F"] if spec.facing == "right" else ["P", "F"],
        uid_seed=sample.uid_seed,
        **PATIENT,
    )
    doc = annotation_document(
        film,
        sop_instance_uid=sop_uid,
        file=sample.name,
        timepoint_kind=sample.timepoint,
        timepoint_date=study.date,
    )
    json_path = (out / sample.path).with_suffix(".json")
    json_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def _heights(doc: dict[str, Any], level: str, cal: Calibration) -> tuple[float, float, float]:
    """Ha, Hm, Hp (docs/clinical-reference.md §3) of ``level`` under ``cal``."""
    pts = next(v["points"] for v in doc["vertebrae"] if v["level"] == level)
    return tuple(  # type: ignore[return-value]
        cal.distance(pts[f"s{k}"], pts[f"i{k}"]) for k in ("a", "m", "p")
    )


def _segmental_kyphosis(doc: dict[str, Any], cal: Calibration) -> float:
    """Angle (degrees, mm space) between T12's superior and L2's inferior endplate lines,
    positive when they converge anteriorly (docs/clinical-reference.md §3)."""
    pts = {v["level"]: v["points"] for v in doc["vertebrae"]}
    (spx, spy), (sax, say) = cal.to_mm([pts["T12"]["sp"], pts["T12"]["sa"]])
    (ipx, ipy), (iax, iay) = cal.to_mm([pts["L2"]["ip"], pts["L2"]["ia"]])
    u, v = (sax - spx, say - spy), (iax - ipx, iay - ipy)
    angle = abs(math.degrees(math.atan2(u[0] * v[1] - u[1] * v[0], u[0] * v[0] + u[1] * v[1])))
    anterior_gap = math.hypot(sax - iax, say - iay)
    posterior_gap = math.hypot(spx - ipx, spy - ipy)
    return angle if anterior_gap < posterior_gap else -angle


def _readme(rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Synthetic sample studies",
        "",
        "Generated by `python scripts/make_samples.py` (deterministic: `--check` re-renders "
        "everything and verifies these files are identical). Rendered by "
        "`ovcf_viewer/devtools/synthetic.py` from known geometry, so the ground truth is exact. "
        "Not real patient data.",
        "",
        f"Patient: `{PATIENT['patient_name']}`, ID `{PATIENT['patient_id']}`, sex "
        f"{PATIENT['patient_sex']}, born {PATIENT['patient_birth_date']}, institution "
        f'"{PATIENT["institution"]}". Every film is a left-lateral-type view (ViewPosition '
        "`LL`, BodyPartExamined `LSPINE`), 12 bits stored in 16, with two windows (`BONE`, "
        "`SOFT`).",
        "",
        "Geometry: the spine is projected with magnification exactly "
        f"{MAGNIFICATION} (= Estimated Radiographic Magnification Factor = SID/SOD = "
        f"{SID_MM:g}/{SID_MM / MAGNIFICATION:g} mm in every header). Lengths measured with the "
        "default detector-plane calibration are therefore 15 % larger than the anatomy; "
        "with magnification correction enabled they equal the anatomy exactly (on real "
        "films ERMF refers to the table and under-corrects the spine, "
        "docs/clinical-reference.md §1).",
        "",
        "## Files",
        "",
        "| file | study date | modality / photometric / transfer syntax | size (cols × rows) "
        "| calibration (resolve_calibration) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['path']}` | {r['date']} | {r['modality']} / {r['photometric']} / "
            f"{r['syntax']} | {r['cols']} × {r['rows']} | {r['calibration']} |"
        )
    lines += [
        "",
        "Segmental kyphosis of the ground truth (docs/clinical-reference.md §3: superior "
        "endplate of "
        "T12 to inferior endplate of L2, kyphosis positive): "
        + "; ".join(
            f"`{r['path']}` {r['kyphosis']:.1f}°" for r in rows if r["path"].startswith("case")
        )
        + ".",
        "",
        "## What each film shows",
        "",
    ]
    for r in rows:
        lines.append(f"- `{r['path']}` — {r['description']}")
    lines += [
        "",
        "## Ground truth",
        "",
        "Each `X.dcm` has `X.json` beside it in the annotation exchange format, version 1 "
        ": `format`, `version`, `image` (`sop_instance_uid`, `file`), `timepoint` "
        '(`kind`, `date`), `index_levels` (`["L1"]`) and `vertebrae` with the six points '
        "`sa sm sp ia im ip` (docs/clinical-reference.md §2) of every fully visible vertebral body "
        "(T11 to L5; the sacrum is drawn but not annotated), in image coordinates "
        "(x = column, y = row, (0, 0) at the centre of the top-left pixel). No `calibration` "
        "key: the image's own applies. Corners are the body corners excluding the small "
        "anterior osteophyte under L3; middle points are the deepest points of the endplates, "
        "midway between anterior and posterior, and midway between the double contours the "
        "two sides of each body project.",
        "",
        "L1 heights implied by the ground truth (docs/clinical-reference.md §3), computed with "
        "`Calibration.distance`:",
        "",
        "| file | calibration | L1 Ha | L1 Hm | L1 Hp | Ha with magnification correction |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ha, hm, hp = r["l1"]
        lines.append(
            f"| `{r['path']}` | {r['unit']} | {ha:.2f} | {hm:.2f} | {hp:.2f} | "
            f"{r['l1_corrected'][0]:.2f} mm (mag.-corrected) |"
        )
    lines += [
        "",
        "Requested anatomy (patient mm, `patient_spine()`; on the films × 1.15 at the "
        "detector). Hm = (Ha + Hp)/2 − the two endplate concavities; disc heights are "
        "as built (posterior exact, anterior along the wedge, approximate):",
        "",
        "| level | AP depth | Ha pre / post / follow-up | Hm pre / post / follow-up | Hp "
        "| disc below, anterior / posterior |",
        "|---|---|---|---|---|---|",
    ]
    course = [patient_spine(t) for t in ("preop", "postop", "followup")]
    for pre, post, follow in zip(*course, strict=True):
        if not pre.annotated:
            continue
        trio = (pre, post, follow)
        lines.append(
            f"| {pre.level} | {pre.depth_mm:g} | "
            + " / ".join(f"{v.anterior_height_mm:g}" for v in trio)
            + " | "
            + " / ".join(f"{v.middle_height_mm:.1f}" for v in trio)
            + f" | {pre.posterior_height_mm:g} | "
            f"{pre.disc_below_anterior_mm:g} / {pre.disc_below_posterior_mm:g} |"
        )
    lines += [
        "",
        "In short: L1 anterior height 17.0 pre-op, "
        "22.0 post-op, 20.0 at follow-up, against 23.5 (T12) and 28.5 (L2), posterior height "
        "27.0 throughout; kyphoplasty cement appears only on the post-operative and "
        "follow-up films.",
        "",
    ]
    return "\n".join(lines)


def generate(out: Path, only: set[str] | None = None) -> list[Path]:
    """Render and write the samples (all, or those in ``only``); returns written paths."""
    import pydicom

    written: list[Path] = []
    rendered: dict[FilmSpec, RenderedFilm] = {}
    rows: list[dict[str, Any]] = []
    for sample in SAMPLES:
        if only is not None and sample.path not in only:
            continue
        film = rendered.get(sample.spec)
        if film is None:
            film = rendered[sample.spec] = render_film(sample.spec)
        doc = _write_sample(sample, film, out)
        written += [out / sample.path, (out / sample.path).with_suffix(".json")]
        ds = pydicom.dcmread(out / sample.path, stop_before_pixels=True)
        header = _header(ds)
        cal = resolve_calibration(header)
        corrected = resolve_calibration(header, use_magnification=True)
        rows.append(
            {
                "path": sample.path,
                "date": STUDIES[sample.study].date,
                "modality": sample.modality,
                "photometric": sample.photometric,
                "syntax": ds.file_meta.TransferSyntaxUID.name,
                "rows": sample.spec.rows,
                "cols": sample.spec.cols,
                "calibration": (
                    f"**{cal.source.value}**: {cal.row_mm:g} × {cal.col_mm:g} mm "
                    f"({cal.unit_tag}){'; ' + cal.detail if cal.detail else ''}"
                ),
                "unit": cal.unit_tag,
                "description": sample.description,
                "l1": _heights(doc, "L1", cal),
                "l1_corrected": _heights(doc, "L1", corrected),
                "kyphosis": _segmental_kyphosis(doc, cal),
            }
        )
    if only is None:
        readme = out / "README.md"
        readme.write_text(_readme(rows), encoding="utf-8")
        written.append(readme)
    return written


def check(out: Path, only: set[str] | None = None) -> list[str]:
    """Regenerate into a temporary folder; return the differences from ``out``."""
    import numpy as np
    import pydicom

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ovcf-samples-") as tmp:
        fresh = Path(tmp)
        for path in generate(fresh, only):
            rel = path.relative_to(fresh)
            committed = out / rel
            if not committed.exists():
                problems.append(f"{rel}: missing from {out}")
                continue
            if path.suffix == ".dcm":
                a = pydicom.dcmread(committed)
                b = pydicom.dcmread(path)
                if not np.array_equal(a.pixel_array, b.pixel_array):
                    problems.append(f"{rel}: pixel data differ")
                for keyword in ("SOPInstanceUID", "StudyInstanceUID", "ImagerPixelSpacing"):
                    if a.get(keyword) != b.get(keyword):
                        problems.append(f"{rel}: {keyword} differs")
            elif path.read_bytes() != committed.read_bytes():
                problems.append(f"{rel}: content differs")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].strip())
    parser.add_argument("--out", type=Path, default=ROOT / "sample_dicom")
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="e.g. case-0001/pre.dcm")
    args = parser.parse_args(argv)
    only = set(args.only) if args.only else None
    if only is not None:
        unknown = only - {s.path for s in SAMPLES}
        if unknown:
            parser.error(f"unknown sample(s): {', '.join(sorted(unknown))}")
    if args.check:
        problems = check(args.out, only)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"FAILED: {len(problems)} difference(s)", file=sys.stderr)
            return 1
        print("OK: regenerated samples are identical")
        return 0
    for path in generate(args.out, only):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
