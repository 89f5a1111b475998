"""The issue's case (tests.outcome_case: the sample case with VAS 8 → 3 → 2, PKP at L1 with
4.5 mL and a paravertebral leak drawn on the post-operative film) through the CSV and the
comparison document's ``outcomes`` block."""

from __future__ import annotations

import csv
import io
import json
import math

import pydicom
import pytest

from ovcf_viewer.cli import main
from ovcf_viewer.model.case import save_case
from ovcf_viewer.services.compare import compare
from ovcf_viewer.services.outcomes import OUTCOME_COLUMNS, outcomes_document
from tests.outcome_case import CEMENT_ML, LEAK_POINTS, WIDTH_MM, outcome_case


def expected_l1_volume_ml(case):
    """By hand from the sample's post-operative L1 landmarks and Imager Pixel Spacing."""
    film = case.postop_film()
    row_mm, col_mm = (float(v) for v in pydicom.dcmread(film.path).ImagerPixelSpacing)
    p = film.annotations.vertebrae["L1"].points

    def dist(a, b):
        return math.hypot((p[a][0] - p[b][0]) * col_mm, (p[a][1] - p[b][1]) * row_mm)

    depth = (dist("sa", "sp") + dist("ia", "ip")) / 2
    mean_h = (dist("sa", "ia") + dist("sm", "im") + dist("sp", "ip")) / 3
    return math.pi * (depth / 2) * (WIDTH_MM / 2) * mean_h / 1000


def test_export_csv_carries_the_outcomes(tmp_path, capsys):
    case = outcome_case(tmp_path)
    save_case(case, tmp_path / "case.json")
    out = tmp_path / "table.csv"
    assert main(["export-csv", str(tmp_path / "case.json"), "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    header = out.read_text().splitlines()[0].split(",")
    assert header[-len(OUTCOME_COLUMNS):] == list(OUTCOME_COLUMNS)  # added at the end
    l1 = {r["timepoint"]: r for r in rows if r["level"] == "L1"}
    assert [l1[k]["pain_vas"] for k in ("preop", "postop", "followup")] == ["8", "3", "2"]
    assert [l1[k]["odi_pct"] for k in ("preop", "postop", "followup")] == ["", "", "24"]
    post = l1["postop"]
    assert (post["technique"], post["approach"], post["cement_viscosity"]) == (
        "PKP", "bilateral", "high")
    assert float(post["cement_ml"]) == CEMENT_ML and float(post["transverse_width_mm"]) == 40
    assert (post["cement_leakage"], post["leak_locations"], post["leak_regions"],
            post["endplate_contact"]) == ("yes", "paravertebral", "1", "yes")
    volume = expected_l1_volume_ml(case)
    assert float(post["body_volume_est_ml"]) == pytest.approx(volume, abs=1e-3)
    assert float(post["cement_fill_pct"]) == pytest.approx(CEMENT_ML / volume * 100, abs=1e-3)
    # not recorded on the other films: empty, never 0 or "no"
    assert (l1["preop"]["cement_leakage"], l1["preop"]["endplate_contact"]) == ("", "")
    t12 = next(r for r in rows if r["level"] == "T12")
    assert t12["technique"] == "" and t12["cement_ml"] == "" and t12["pain_vas"] == "8"


def test_comparison_document_outcomes_block(tmp_path):
    case = outcome_case(tmp_path)
    doc = outcomes_document(case, compare(case))
    json.dumps(doc, allow_nan=False)  # plain JSON
    assert [(f["label"], f["pain_vas"]) for f in doc["films"]] == [
        ("Pre-operative", 8.0), ("Post-operative", 3.0), ("Follow-up (3 months)", 2.0)]
    post = doc["films"][1]["cement"][0]
    assert post["leakage"] is True and post["locations"] == ["paravertebral"]
    assert post["regions"][0]["points"] == [list(p) for p in LEAK_POINTS]
    assert doc["films"][0]["cement"] == []
    changes = [(c["to"], c["absolute"], c["pct"]) for c in doc["pain_change"]]
    assert changes == [("Post-operative", -5.0, -62.5), ("Follow-up (3 months)", -6.0, -75.0)]
    (level,) = doc["levels"]
    assert (level["level"], level["technique"], level["cement_ml"]) == ("L1", "PKP", 4.5)
    assert level["body_volume_est_ml"] == pytest.approx(expected_l1_volume_ml(case), abs=1e-6)
    assert "π·(D/2)·(W/2)·H̄" in doc["volume_formula"]
    assert "not a volumetric measurement" in doc["volume_limits"]
    assert [c["kind"] for c in doc["complications"]] == ["leakage"]


def test_compare_json_and_text_carry_the_outcomes(tmp_path, capsys):
    case = outcome_case(tmp_path)
    save_case(case, tmp_path / "case.json")
    assert main(["compare", str(tmp_path / "case.json"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    outcomes = doc["outcomes"]
    assert [f["pain_vas"] for f in outcomes["films"]] == [8.0, 3.0, 2.0]
    assert outcomes["levels"][0]["technique"] == "PKP"
    assert outcomes["levels"][0]["cement_ml"] == CEMENT_ML
    assert outcomes["films"][1]["cement"][0]["regions"][0]["location"] == "paravertebral"
    assert [c["kind"] for c in outcomes["complications"]] == ["leakage"]
    assert main(["compare", str(tmp_path / "case.json")]) == 0
    text = capsys.readouterr().out
    assert "Pain VAS 8 → 3 (-5, -62.5 %), Pre-operative → Post-operative" in text
    assert "L1 procedure: PKP, bilateral, viscosity high, cement 4.5 mL; estimated body " \
           f"volume {expected_l1_volume_ml(case):.1f} mL" in text
    assert ("Complication: L1: cement leakage (paravertebral soft tissue) on the "
            "post-operative film") in text
