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
from typing import Any

from ovcf_viewer.model.settings import load_settings
from ovcf_viewer.render import format as fmt
from ovcf_viewer.services.inputs import InputError, read_inputs
from ovcf_viewer.services.suitability import SuitabilityError, assess
from ovcf_viewer.suitability import DISCLAIMER, Evaluation, finding_label

NAME = "suitability"
HELP = "procedure-suitability decision support (conservative, PVP, PKP, expandable, refer)"


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
        films, case, index_levels = read_inputs(args.inputs, settings)
        result = assess(films, findings_path=args.findings, case=case, rules_path=args.rules,
                        settings=settings, index_levels=index_levels)
    except (InputError, SuitabilityError) as exc:
        print(f"ovcf-viewer suitability: {exc}", file=sys.stderr)
        return 2
    evaluation, current, earlier, why = (result.evaluation, result.current, result.earlier,
                                         result.why)
    calibration = current.measurements.calibration.statement()
    films_doc = {
        "measured_on": current.label,
        "earlier": [f.label for f in earlier],
        "why": why,
        "calibration": calibration,
    }
    # The plausibility warnings of the films the inputs came from travel with the result
    # (docs/clinical-reference.md §6a): a swapped or mislabelled vertebra changes the inputs.
    warnings = [{**w.to_json(), "film": label} for label, w in result.warnings]
    if args.json:
        print(json.dumps({**evaluation.to_dict(), "films": films_doc, "warnings": warnings},
                         indent=2, ensure_ascii=False))
    else:
        print(format_text(evaluation, why, calibration, warnings))
    return 0


# ----------------------------------------------------------------------------- text output


def format_text(e: Evaluation, why: str = "", calibration: str = "",
                warnings: list[dict[str, Any]] | None = None) -> str:
    """The evaluation as plain text a clinician can trace line by line."""
    lines = [f"Procedure suitability — {DISCLAIMER}",
             f"Rules: {e.rules_name} {e.rules_version} ({e.rules_path})"]
    lines += [f"WARNING ({w['film']}): {w['message']}" for w in warnings or ()]
    if why:
        lines.append(f"Films: {why}")
    if calibration:
        lines.append(f"{calibration} (suitability uses ratios, percentages and angles only)")
    lines.append("")
    lines.append("Measured inputs:")
    for name, value in e.measured.to_dict().items():
        shown = fmt.plain(value["value"], name)
        hidden = value["value"] is None and not value["overridden"]
        tail = "" if hidden else f"  ({value['source']})"
        lines.append(f"  {finding_label(name)}: {shown}{tail}")
    lines.append("")
    if e.shared_notes:  # once, not under every option (§6)
        lines.append("Notes for several options:")
        lines.extend(f"  - {text}" for text in e.shared_notes)
    for option in e.options:
        lines.append(f"{option.label}: {option.status.replace('_', ' ').upper()}")
        lines.extend(f"  - {reason}" for reason in e.own_reasons(option))
    lines.append("")
    lines.append(f"Approach: {e.approach.suggested}")
    lines.extend(f"  - {reason}" for reason in e.approach.reasons)
    viscosity = ", ".join(f"{k.upper()} {v}" for k, v in e.cement_viscosity.viscosity.items())
    lines.append(f"Cement viscosity: {viscosity}")
    lines.extend(f"  - {reason}" for reason in e.cement_viscosity.reasons)
    score = e.of_score
    total = "unknown (OF type not given)" if score.total is None else (
        f"{fmt.points(score.total, signed=False)} → {score.recommendation}")
    lines.append("")
    lines.append(f"Modified OF score: {total}. {score.caveat}")
    for item in score.items:
        points = "unknown (0)" if item.points is None else fmt.points(item.points)
        lines.append(f"  {item.label}: {points}  [{item.detail}]")
    hint = e.of_type_hint
    lines.append(f"OF type hint: {hint.of_type or 'none'} — {hint.reason}")
    lines.append("")
    unknown = ", ".join(finding_label(n) for n in e.unknown_inputs) or "none"
    lines.append(f"Unknown inputs: {unknown}")
    lines.append(f"Confidence: {e.confidence_text}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)

