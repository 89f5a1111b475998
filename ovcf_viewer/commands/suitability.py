"""``ovcf-viewer suitability INPUT... [--findings FINDINGS.json] [--rules RULES.toml] [--json]``:
procedure-suitability decision support (docs/clinical-reference.md §6).

INPUT is one or more exchange-format annotation files (one per film, with their
``timepoint``), or one case document (its saved findings are used unless ``--findings`` is
given). The measured inputs come from the latest pre-operative film (else the latest film);
earlier pre-operative films give the deformity progression. The findings file format is
documented in the README ("Findings file"). Exit status 2 with one line on stderr for a bad
input, findings or rules file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ovcf_viewer.core.calibration import Calibration
from ovcf_viewer.core.landmarks import AnnotationFormatError, ImageAnnotations, load_annotations
from ovcf_viewer.core.settings import Settings, load_settings
from ovcf_viewer.core.suitability import (
    DISCLAIMER,
    Evaluation,
    FilmMeasurements,
    Findings,
    FindingsError,
    RulesError,
    choose_films,
    evaluate,
    finding_label,
    findings_from_dict,
    load_findings,
    load_rules,
    measured_inputs_from,
    rules_for_settings,
)

NAME = "suitability"
HELP = "procedure-suitability decision support (conservative, PVP, PKP, expandable, refer)"

_CASE_FORMAT = "ovcf-case"


class InputError(ValueError):
    """A bad INPUT; the message is one line naming the file."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="exchange-format annotation files (one per film, with timepoints) or a case file",
    )
    parser.add_argument("--findings", help="clinician findings JSON (see README: Findings file)")
    parser.add_argument("--rules", help="rules TOML file (default: the settings' or bundled)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        rules = load_rules(args.rules) if args.rules else rules_for_settings(settings)
        films, case_findings, index_levels = _read_inputs(args.inputs, settings)
        findings = load_findings(args.findings) if args.findings else case_findings or Findings()
        current, earlier, why = choose_films(films)
        measured = measured_inputs_from(
            current.measurements,
            index_levels or None,
            [(f.label, f.measurements) for f in earlier],
            film=current.label,
            rules=rules,
        )
    except (InputError, FindingsError, RulesError) as exc:
        print(f"ovcf-viewer suitability: {exc}", file=sys.stderr)
        return 2
    evaluation = evaluate(findings, measured, rules)
    films_doc = {
        "measured_on": current.label,
        "earlier": [f.label for f in earlier],
        "why": why,
        "calibration": current.measurements.calibration.statement(),
    }
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "films": films_doc}, indent=2,
                         ensure_ascii=False))
    else:
        print(format_text(evaluation, why, films_doc["calibration"]))
    return 0


# ----------------------------------------------------------------------------- inputs


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _read_inputs(
    paths: list[str], settings: Settings
) -> tuple[list[FilmMeasurements], Findings | None, list[str]]:
    """Films (with measurements), findings saved in a case document, and the case's treated
    levels (empty: each film's own index levels)."""
    documents = [(Path(p), _read_json(Path(p))) for p in paths]
    if any(isinstance(doc, dict) and doc.get("format") == _CASE_FORMAT for _p, doc in documents):
        if len(documents) != 1:
            raise InputError("give either one case file or annotation files, not both")
        return _read_case(documents[0][0], settings)
    films = []
    for order, (path, _doc) in enumerate(documents):
        try:
            annotations = load_annotations(path, partial=True)
        except AnnotationFormatError as exc:
            raise InputError(str(exc)) from None
        image = (path.parent / annotations.file) if annotations.file else None
        films.append(_film(annotations, image, path.name, order, settings))
    return films, None, []


def _read_case(
    path: Path, settings: Settings
) -> tuple[list[FilmMeasurements], Findings | None, list[str]]:
    from ovcf_viewer.core.case import CaseFormatError, load_case

    try:
        case = load_case(path)
    except CaseFormatError as exc:
        raise InputError(str(exc)) from None
    films = [
        _film(film.annotations, film.path, film.path.name if film.path else film.sop_instance_uid,
              order, settings)
        for order, film in enumerate(case.films)
    ]
    if not films:
        raise InputError(f"{path}: the case has no films")
    findings = None
    if case.findings:
        findings = findings_from_dict(dict(case.findings), where=f"{path}: findings")
    return films, findings, list(case.index_levels())


def _film(
    annotations: ImageAnnotations, image: Path | None, name: str, order: int, settings: Settings
) -> FilmMeasurements:
    from ovcf_viewer.core.measurements import measure_image

    calibration = _calibration(annotations, image, settings)
    try:
        measurements = measure_image(annotations, calibration, settings)
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    tp = annotations.timepoint
    date = tp.date.isoformat() if tp is not None and tp.date is not None else None
    label = " ".join(part for part in (tp.label if tp else "", date or "") if part)
    label = f"{label}, {name}" if label else name
    return FilmMeasurements(label, measurements, tp.kind if tp else None, date, order)


def _calibration(
    annotations: ImageAnnotations, image: Path | None, settings: Settings
) -> Calibration:
    """The film's calibration (§1). Only its pixel aspect matters here: every suitability
    input is a ratio, a percentage or an angle. Without the image, square pixels."""
    if annotations.manual_calibration is not None:
        return annotations.manual_calibration
    if image is not None and image.is_file():
        from ovcf_viewer.core.dicom_io import load_image
        from ovcf_viewer.core.errors import ImageLoadError

        try:
            return load_image(image).calibration(use_magnification=settings.use_magnification)
        except ImageLoadError as exc:
            return Calibration.none(f"{exc}: ratios and angles assume square pixels")
    return Calibration.none("image not available: ratios and angles assume square pixels")


# ----------------------------------------------------------------------------- text output


_UNITS = {"worst_height_reduction_pct": " %", "segmental_kyphosis_deg": "°"}


def format_text(e: Evaluation, why: str = "", calibration: str = "") -> str:
    """The evaluation as plain text a clinician can trace line by line."""
    lines = [f"Procedure suitability — {DISCLAIMER}",
             f"Rules: {e.rules_name} {e.rules_version} ({e.rules_path})"]
    if why:
        lines.append(f"Films: {why}")
    if calibration:
        lines.append(f"{calibration} (suitability uses ratios, percentages and angles only)")
    lines.append("")
    lines.append("Measured inputs:")
    for name, value in e.measured.to_dict().items():
        shown = "unknown" if value["value"] is None else (
            _plain(value["value"]) + _UNITS.get(name, ""))
        hidden = value["value"] is None and not value["overridden"]
        tail = "" if hidden else f"  ({value['source']})"
        lines.append(f"  {finding_label(name)}: {shown}{tail}")
    lines.append("")
    for option in e.options:
        lines.append(f"{option.label}: {option.status.upper()}")
        lines.extend(f"  - {reason}" for reason in option.reasons)
    lines.append("")
    lines.append(f"Approach: {e.approach.suggested}")
    lines.extend(f"  - {reason}" for reason in e.approach.reasons)
    viscosity = ", ".join(f"{k.upper()} {v}" for k, v in e.cement_viscosity.viscosity.items())
    lines.append(f"Cement viscosity: {viscosity}")
    lines.extend(f"  - {reason}" for reason in e.cement_viscosity.reasons)
    score = e.of_score
    total = "unknown (OF type not given)" if score.total is None else (
        f"{_plain(score.total)} → {score.recommendation}")
    lines.append("")
    lines.append(f"Modified OF score: {total}. {score.caveat}")
    for item in score.items:
        points = "unknown (0)" if item.points is None else f"{item.points:+g}"
        lines.append(f"  {item.label}: {points}  [{item.detail}]")
    hint = e.of_type_hint
    lines.append(f"OF type hint: {hint.of_type or 'none'} — {hint.reason}")
    lines.append("")
    unknown = ", ".join(finding_label(n) for n in e.unknown_inputs) or "none"
    lines.append(f"Unknown inputs: {unknown}")
    lines.append(f"Confidence: {e.confidence_text}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
