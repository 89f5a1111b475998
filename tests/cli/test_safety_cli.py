"""The safety situations through the command line: ``measure``, ``compare`` and
``export-csv`` (docs/clinical-reference.md §5, §6a), on constructed geometry."""

from __future__ import annotations

import csv
import json
import math
from datetime import date

import pytest

from ovcf_viewer.cli import main
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import Timepoint, save_annotations

from ..spine_builder import place, stack
from .dicom_factory import write_dx

ROW, COL = 0.16, 0.10
HEIGHTS = [("T12", 27.0, 26.0, 28.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0)]


def model_for(heights, uid, *, index=("L1",), timepoint=None, manual=True):
    model = place(stack(heights, rotations={"T12": -4.0, "L2": 3.0}), facing="right",
                  tilt_deg=8, row_mm=ROW, col_mm=COL, centre_px=(350.0, 850.0),
                  index_levels=index)
    model.sop_instance_uid, model.file = uid, ""
    model.timepoint = timepoint
    if manual:
        model.manual_calibration = Calibration(CalibrationSource.MANUAL, ROW, COL)
    return model


@pytest.fixture
def film(tmp_path):
    image = tmp_path / "pre.dcm"
    uid = write_dx(image, rows=1000, cols=900, imager_spacing=(ROW, COL))
    return image, uid


def measure(capsys, image, ann):
    code = main(["measure", str(image), "--annotations", str(ann), "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


def test_measure_json_carries_the_swapped_warning(capsys, tmp_path, film):
    image, uid = film
    model = model_for(HEIGHTS, uid, manual=False)
    model.file = "pre.dcm"
    p = model.vertebrae["L1"].points
    p["sa"], p["sp"], p["ia"], p["ip"] = p["sp"], p["sa"], p["ip"], p["ia"]
    ann = tmp_path / "pre.json"
    save_annotations(model, ann)
    code, doc, _ = measure(capsys, image, ann)
    assert code == 0
    assert [(w["code"], w["level"]) for w in doc["warnings"]] == [
        ("anterior_posterior_swapped", "L1")]
    assert set(doc["warnings"][0]) == {"code", "level", "message"}
    assert main(["measure", str(image), "--annotations", str(ann)]) == 0
    assert "WARNING: L1: its anterior side points the opposite way" in capsys.readouterr().out


def test_measure_refuses_annotations_of_another_film(capsys, tmp_path, film):
    image, uid = film
    model = model_for(HEIGHTS, "1.2.826.0.1.999", manual=False)
    model.file = "other.dcm"
    ann = tmp_path / "other.json"
    save_annotations(model, ann)
    code, _, err = measure(capsys, image, ann)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "1.2.826.0.1.999" in lines[0] and uid in lines[0]
    assert "other.dcm" in lines[0] and str(image) in lines[0]


def test_measure_refuses_a_1e308_manual_calibration(capsys, tmp_path, film):
    image, uid = film
    ann = tmp_path / "pre.json"
    save_annotations(model_for(HEIGHTS, uid, manual=False), ann)
    doc = json.loads(ann.read_text())
    doc["calibration"] = {"source": "manual", "row_mm": 1e308, "col_mm": 1e308}
    ann.write_text(json.dumps(doc))
    code, _, err = measure(capsys, image, ann)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "1e+308 mm per pixel is not a plausible pixel spacing" in err


def case_files(tmp_path, follow_heights, follow_index):
    pre = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    post = [("T12", 27.0, 26.0, 28.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    specs = [("pre", pre, ("L1",), Timepoint("preop", date(2025, 1, 10))),
             ("post", post, ("L1",), Timepoint("postop", date(2025, 1, 13), 1)),
             ("fu", follow_heights, follow_index, Timepoint("followup", date(2025, 4, 12), 90))]
    paths = []
    for i, (name, heights, index, tp) in enumerate(specs):
        path = tmp_path / f"{name}.json"
        save_annotations(model_for(heights, f"9.{i}", index=index, timepoint=tp), path)
        paths.append(path)
    return paths


NEW_T12 = [("T12", 20.0, 24.0, 27.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]


def test_compare_json_new_fracture_treated_level_and_which_comparison_fired(capsys, tmp_path):
    paths = case_files(tmp_path, NEW_T12, ("T12", "L1"))
    assert main(["compare", *map(str, paths), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["treated_levels"] == ["L1"]
    assert [nf["level"] for nf in doc["new_fractures"]] == ["T12"]
    assert [f["index_levels"] for f in doc["films"]] == [["L1"], ["L1"], ["T12", "L1"]]
    l1 = next(lc for lc in doc["levels"] if lc["level"] == "L1")
    assert l1["role"] == "treated" and l1["reference_levels"] == ["T12", "L2"]
    a = next(r for r in l1["restoration"] if r["height"] == "a")
    assert a["absolute_mm"] == pytest.approx(7.0, abs=0.01)
    assert a["pct_of_initial"] == pytest.approx(7 / 14 * 100, abs=0.01)
    assert a["pct_of_lost"] == pytest.approx(7 / (28 - 14) * 100, abs=0.01)
    assert a["pct_of_reference"] == pytest.approx(7 / 28 * 100, abs=0.01)
    assert l1["kyphosis"]["correction_deg"] == pytest.approx(
        l1["kyphosis"]["pre_deg"] - l1["kyphosis"]["post_deg"], abs=1e-9)
    assert doc["films"][0]["measurements"]["vertebrae"]["L1"]["height_reduction_pct"] == \
        pytest.approx(50.0, abs=0.01)
    assert doc["films"][1]["measurements"]["vertebrae"]["L1"]["genant_type"] == "treated"
    t12 = [d for d in doc["new_deformities"]["items"] if d["level"] == "T12"]
    assert t12[0]["fired"] == ["consecutive", "baseline"]
    assert t12[0]["drop_mm"] == pytest.approx(7.0, abs=0.01)
    assert doc["new_deformities"]["assessed"] is True
    assert "warnings" in doc and doc["warnings"] == []


def test_compare_text_and_bad_input(capsys, tmp_path):
    paths = case_files(tmp_path, NEW_T12, ("T12", "L1"))
    assert main(["compare", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "New fracture: T12: new fracture, first marked on the Follow-up" in out
    assert main(["compare", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "no such file" in err


def test_export_csv_new_fracture_treated_and_px_columns(tmp_path, capsys):
    paths = case_files(tmp_path, NEW_T12, ("T12", "L1"))
    # The follow-up without a calibration and without its image: lengths in pixels.
    doc = json.loads(paths[2].read_text())
    del doc["calibration"]
    paths[2].write_text(json.dumps(doc))
    out = tmp_path / "t.csv"
    assert main(["export-csv", *map(str, paths), "-o", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {(r["timepoint"], r["level"]): r for r in csv.DictReader(handle)}
    assert rows[("followup", "T12")]["level_status"] == "new fracture"
    assert rows[("followup", "T12")]["is_treated"] == "0"
    assert rows[("postop", "L1")]["level_status"] == "treated"
    assert rows[("postop", "L1")]["genant_grade"] == ""
    assert rows[("postop", "L1")]["genant_type"] == "treated"
    assert rows[("preop", "L1")]["genant_grade"] == "3"
    fu = rows[("followup", "T12")]
    assert fu["length_unit"] == "px" and fu["ha_mm"] == ""
    # T12's anterior wall lies 12° from the image vertical (8° film tilt, T12 rotated −4°);
    # in pixels (square, no calibration) its 20 mm are 20·sin 12°/0.10 across, 20·cos 12°/0.16
    # down.
    tilt = math.radians(12.0)
    expected_px = math.hypot(20.0 * math.sin(tilt) / COL, 20.0 * math.cos(tilt) / ROW)
    assert float(fu["ha_px"]) == pytest.approx(expected_px, abs=0.01)
    pre = rows[("preop", "L1")]
    assert float(pre["ha_mm"]) == pytest.approx(14.0, abs=0.01) and pre["ha_px"] == ""


def test_export_csv_carries_the_warnings(tmp_path, capsys):
    paths = case_files(tmp_path, NEW_T12, ("T12", "L1"))
    doc = json.loads(paths[0].read_text())
    for v in doc["vertebrae"]:
        if v["level"] == "L1":
            p = v["points"]
            p["sa"], p["sp"], p["ia"], p["ip"] = p["sp"], p["sa"], p["ip"], p["ia"]
    paths[0].write_text(json.dumps(doc))
    out = tmp_path / "t.csv"
    assert main(["export-csv", *map(str, paths), "-o", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = {(r["timepoint"], r["level"]): r for r in csv.DictReader(handle)}
    assert rows[("preop", "L1")]["warnings"].startswith("anterior_posterior_swapped: L1:")
    assert rows[("preop", "T12")]["warnings"] == ""


def test_suitability_json_carries_the_warnings_of_the_film_it_used(tmp_path, capsys):
    paths = case_files(tmp_path, NEW_T12, ("T12", "L1"))
    doc = json.loads(paths[0].read_text())
    for v in doc["vertebrae"]:
        if v["level"] == "L1":
            p = v["points"]
            p["sa"], p["sp"], p["ia"], p["ip"] = p["sp"], p["sa"], p["ip"], p["ia"]
    paths[0].write_text(json.dumps(doc))
    assert main(["suitability", *map(str, paths), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(w["code"], w["level"]) for w in out["warnings"]] == [
        ("anterior_posterior_swapped", "L1")]
    assert out["warnings"][0]["film"].startswith("Pre-operative")
    assert main(["suitability", *map(str, paths)]) == 0
    assert "WARNING (Pre-operative" in capsys.readouterr().out
