"""``ovcf-viewer compare INPUT... [--json]``: the case comparison of
docs/clinical-reference.md §5 — restoration four ways, kyphosis correction, loss of
correction, height loss, new deformities (saying which comparison fired), treated levels and
new fractures — from a case document or one patient's annotation files (each with its
``timepoint``). The same comparison the case window and the PDF report show
(:mod:`ovcf_viewer.services.compare`).

Exit status 2 with one line on stderr for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ovcf_viewer.cli.commands.export_csv import _settings
from ovcf_viewer.model.settings import COBB_DEFINITIONS, GENANT_REFERENCES

NAME = "compare"
HELP = ("compare a case's films before, after and at follow-up (restoration, kyphosis, new "
        "deformities)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", metavar="INPUT",
        help="a case document, or the annotation files (with timepoints) of one case",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
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


def run(args: argparse.Namespace) -> int:
    from ovcf_viewer.model.case import CaseFormatError
    from ovcf_viewer.services.compare import compare_inputs, comparison_to_json

    try:
        settings = _settings(args)
        case, comparison = compare_inputs([Path(p) for p in args.inputs], settings)
    except (CaseFormatError, ValueError) as exc:
        print(f"ovcf-viewer compare: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    doc = comparison_to_json(case, comparison)
    if args.json:
        try:  # never print NaN/Infinity: that is not JSON, and not a measurement
            text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
        except ValueError:
            print("ovcf-viewer compare: a value is not a finite number; check the "
                  "calibration and the landmarks", file=sys.stderr)
            return 1
        print(text)
    else:
        print(format_text(doc))
    return 0


def _num(value: float | None, unit: str = "", signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}{unit}" if signed else f"{value:.1f}{unit}"


def format_text(doc: dict) -> str:
    """A plain-text summary of the comparison document."""
    lines = [f"Case {doc['case_id']}: treated level(s) "
             f"{', '.join(doc['treated_levels']) or 'none recorded'}"]
    lines += [f"  {f['label']}: {f['calibration']['statement']}" for f in doc["films"]]
    for lc in doc["levels"]:
        for r in lc["restoration"]:
            absolute = next((v for k, v in r.items() if k.startswith("absolute_")), None)
            unit = " mm" if "absolute_mm" in r else " px"
            lines.append(
                f"{lc['level']} ({lc['role']}) {r['height']}: restored {_num(absolute, unit, True)}"
                f", {_num(r['pct_of_initial'], ' % of initial')}, "
                f"{_num(r['pct_of_lost'], ' % of lost height')}, "
                f"{_num(r['pct_of_reference'], ' % of reference')}"
            )
        k = lc["kyphosis"]
        if k is not None:
            lines.append(f"{lc['level']} kyphosis ({k['endplates'] or k['definition']}): "
                         f"pre {_num(k['pre_deg'], '°')}, post {_num(k['post_deg'], '°')}, "
                         f"correction {_num(k['correction_deg'], '°', True)}")
            for x in k["loss_of_correction"]:
                lines.append(f"  loss of correction at {x['followup']}: "
                             f"{_num(x['loss_deg'], '°', True)}")
    lines.append(f"New deformities: {doc['new_deformities']['summary']}")
    lines += [f"New fracture: {nf['description']}" for nf in doc["new_fractures"]]
    lines += _outcome_lines(doc.get("outcomes") or {})
    lines += [f"WARNING ({w['film']}): {w['message']}" for w in doc["warnings"]]
    lines += doc["notes"]
    return "\n".join(lines)


def _outcome_lines(outcomes: dict) -> list[str]:
    """Pain change, procedure record with the volume estimate, complications (§5a)."""
    lines = []
    for c in outcomes.get("pain_change", []):
        name, unit = ("VAS", "") if c["measure"] == "vas" else ("ODI", " %")
        pct = f", {c['pct']:+.1f} %" if c["pct"] is not None else ""
        lines.append(f"Pain {name} {c['before']:g}{unit} → {c['after']:g}{unit} "
                     f"({c['absolute']:+g}{unit}{pct}), {c['from']} → {c['to']}")
    for lv in outcomes.get("levels", []):
        volume = (f"estimated body volume {lv['body_volume_est_ml']:.1f} mL, cement "
                  f"{_num(lv['cement_fill_pct'], ' %')} of it"
                  if lv["body_volume_est_ml"] is not None
                  else f"body volume unknown ({lv['volume_unknown_reason']})")
        lines.append(f"{lv['level']} procedure: {lv['technique'] or 'technique –'}, "
                     f"{lv['approach'] or 'approach –'}, viscosity {lv['viscosity'] or '–'}, "
                     f"cement {_num(lv['cement_ml'], ' mL')}; {volume}")
    if any(lv["body_volume_est_ml"] is not None for lv in outcomes.get("levels", [])):
        lines.append(f"  ({outcomes['volume_formula']}; {outcomes['volume_limits']})")
    lines += [f"Complication: {c['text']}" for c in outcomes.get("complications", [])
              if c["kind"] == "leakage"]
    return lines
