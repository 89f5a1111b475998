"""``ovcf-viewer measure`` against constructed geometry."""

import json
import subprocess
import sys

import pytest

from ovcf_viewer.cli import main
from ovcf_viewer.model.landmarks import save_annotations
from tests.spine_builder import place, stack

from .dicom_factory import write_dx

HEIGHTS = [("T12", 26.0, 24.0, 27.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 27.0, 30.0)]


@pytest.fixture
def study(tmp_path):
    image = tmp_path / "pre.dcm"
    uid = write_dx(image, rows=1000, cols=900, imager_spacing=(0.16, 0.10), ermf=1.2)
    specs = stack(HEIGHTS, rotations={"T12": -4.0, "L2": 3.0})
    model = place(
        specs,
        facing="right",
        tilt_deg=8,
        row_mm=0.16,
        col_mm=0.10,
        centre_px=(350.0, 850.0),
        index_levels=("L1",),
    )
    model.sop_instance_uid, model.file = uid, "pre.dcm"
    ann = tmp_path / "pre.json"
    save_annotations(model, ann)
    return image, ann, specs


def run_json(capsys, *args):
    code = main(["measure", *map(str, args), "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


def test_measure_detector_plane(capsys, study):
    image, ann, specs = study
    code, doc, _ = run_json(capsys, image, "--annotations", ann)
    assert code == 0
    assert doc["calibration"]["source"] == "detector"
    assert (doc["calibration"]["row_mm"], doc["calibration"]["col_mm"]) == (0.16, 0.10)
    l1 = doc["vertebrae"]["L1"]
    assert l1["ha_mm"] == pytest.approx(18.0, abs=0.01)
    assert l1["hp_mm"] == pytest.approx(28.0, abs=0.01)
    assert l1["genant_grade"] == 2 and l1["genant_type"] == "wedge"
    assert l1["height_reduction_pct"] == pytest.approx((1 - 18 / 27.5) * 100, abs=0.01)
    expected_kyphosis = specs[2].inferior_tilt_deg() - specs[0].superior_tilt_deg()
    assert doc["index_levels"]["L1"]["segmental_kyphosis_deg"] == pytest.approx(
        expected_kyphosis, abs=0.01
    )
    assert doc["index_levels"]["L1"]["lovbh_pct"] == pytest.approx(
        (26 + 29 - 36) / 55 * 100, abs=0.01
    )
    assert doc["settings"] == {"genant_reference": "adjacent", "cobb_definition": "segmental"}
    assert set(l1) >= {
        "ha_mm",
        "hm_mm",
        "hp_mm",
        "wedge_ratio",
        "biconcavity_ratio",
        "crush_ratio",
        "wedge_angle_deg",
        "genant_grade",
        "genant_type",
        "height_reduction_pct",
    }


def test_magnification_divides_lengths_not_angles(capsys, study):
    image, ann, _ = study
    _, plain, _ = run_json(capsys, image, "--annotations", ann)
    _, corrected, _ = run_json(capsys, image, "--annotations", ann, "--magnification")
    assert corrected["calibration"]["source"] == "magnification"
    assert corrected["vertebrae"]["L1"]["ha_mm"] == pytest.approx(18.0 / 1.2, abs=0.01)
    assert corrected["vertebrae"]["L1"]["wedge_angle_deg"] == pytest.approx(
        plain["vertebrae"]["L1"]["wedge_angle_deg"], abs=1e-9
    )


def test_manual_calibration_in_file_wins(capsys, study, tmp_path):
    image, ann, _ = study
    doc = json.loads(ann.read_text())
    doc["calibration"] = {"source": "manual", "row_mm": 0.08, "col_mm": 0.05}
    ann.write_text(json.dumps(doc))
    _, out, _ = run_json(capsys, image, "--annotations", ann)
    assert out["calibration"]["source"] == "manual"
    assert out["vertebrae"]["L1"]["ha_mm"] == pytest.approx(9.0, abs=0.01)  # half the spacing


def test_uncalibrated_reports_pixels(capsys, tmp_path):
    image = tmp_path / "x.dcm"
    uid = write_dx(image, rows=600, cols=500, imager_spacing=None)
    model = place(
        stack(HEIGHTS), row_mm=1.0, col_mm=1.0, centre_px=(250, 520), index_levels=("L1",)
    )
    model.sop_instance_uid = uid
    ann = tmp_path / "x.json"
    save_annotations(model, ann)
    code, out, _ = run_json(capsys, image, "--annotations", ann)
    assert code == 0 and out["calibration"]["source"] == "none"
    assert out["calibration"]["unit"] == "px"
    # Pixels live under _px names, never under a millimetre name (the one renamed key).
    assert "ha_mm" not in out["vertebrae"]["L1"]
    assert out["vertebrae"]["L1"]["ha_px"] == pytest.approx(18.0, abs=0.01)


@pytest.mark.parametrize(
    "edit,fragment",
    [
        (lambda d: d["vertebrae"][0]["points"].pop("im"), "missing landmark(s) im"),
        (lambda d: d["vertebrae"][0].update(level="L7"), "unknown level 'L7'"),
        (lambda d: d["vertebrae"][0]["points"].update(sa=[5000.0, 10.0]), "outside the 900×1000"),
        (lambda d: d.update(version=3), "unsupported annotation version 3"),
    ],
)
def test_bad_annotation_files_exit_2_with_one_line(capsys, study, edit, fragment):
    image, ann, _ = study
    doc = json.loads(ann.read_text())
    edit(doc)
    ann.write_text(json.dumps(doc))
    code, _, err = run_json(capsys, image, "--annotations", ann)
    assert code == 2
    assert fragment in err and err.count("\n") == 1


def test_not_an_image_exit_2(capsys, study, tmp_path):
    _, ann, _ = study
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello")
    code, _, err = run_json(capsys, bogus, "--annotations", ann)
    assert code == 2 and "notes.txt" in err


def test_entry_point_text_output(study):
    image, ann, _ = study
    result = subprocess.run(
        [sys.executable, "-m", "ovcf_viewer.cli", "measure", str(image), "--annotations", str(ann)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "mm at detector" in result.stdout and "L1" in result.stdout


def test_a_damaged_settings_file_warns_and_keeps_its_good_keys(study):
    """An old or hand-edited settings file never stops a command: the good keys are used,
    each bad one is named on stderr (file, key, expected type) and keeps its default."""
    from ovcf_viewer.model.settings import settings_path

    image, ann, _ = study
    path = settings_path()  # under OVCF_VIEWER_HOME, which the subprocess inherits
    path.write_text(json.dumps({"genant_reference": "own_posterior",
                                "cobb_definition": 3, "window_layout": "wide"}),
                    encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ovcf_viewer.cli", "measure", str(image), "--annotations",
         str(ann), "--json"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["settings"] == {"genant_reference": "own_posterior", "cobb_definition": "segmental"}
    assert f'{path}: cobb_definition = 3 is not one of "segmental", "vertebral_wedge"' \
        in result.stderr
    assert f"{path}: unknown setting(s) window_layout ignored" in result.stderr
