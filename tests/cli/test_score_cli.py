"""``ovcf-viewer score``: known offsets on a film with non-square pixels give known
errors; the sample film with its ground truth gives advice; bad input gives one line, exit 2."""

import json
from pathlib import Path

import pytest

from ovcf_viewer.cli import main
from ovcf_viewer.model.landmarks import ImageAnnotations, load_annotations, save_annotations
from tests.spine_builder import place, stack

from .dicom_factory import write_dx

REPO = Path(__file__).resolve().parents[2]
PRE = REPO / "sample_dicom" / "case-0001" / "pre.dcm"


@pytest.fixture
def film(tmp_path):
    """A DX film, Imager Pixel Spacing 0.16 mm rows × 0.10 mm columns, and the expert's
    T12–L2 (L1 wedge, Genant 2) facing right."""
    image = tmp_path / "film.dcm"
    uid = write_dx(image, rows=800, cols=700, imager_spacing=(0.16, 0.10))
    ref = place(stack([("T12", 27, 27, 27), ("L1", 19, 24, 27), ("L2", 27, 27, 27)]),
                facing="right", row_mm=0.16, col_mm=0.10, centre_px=(200.0, 700.0),
                index_levels=("L1",))
    ref.sop_instance_uid = uid
    ref_path = tmp_path / "ref.json"
    save_annotations(ref, ref_path)
    return image, ref, ref_path


def write_attempt(tmp_path, ref: ImageAnnotations, dx=0.0, dy=0.0, drop=()):
    attempt = ImageAnnotations(ref.sop_instance_uid)
    for level, v in ref.vertebrae.items():
        if level in drop:
            continue
        for name, (x, y) in v.points.items():
            attempt.vertebrae.setdefault(level, type(v)(level)).points[name] = (x + dx, y + dy)
    path = tmp_path / "attempt.json"
    path.write_text(json.dumps(attempt.to_json(partial=True)))
    return path


def run_json(capsys, *argv):
    code = main(["score", *map(str, argv), "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_two_pixels_in_x_at_0_10_mm_is_0_2_mm(tmp_path, film, capsys):
    image, ref, ref_path = film
    doc = run_json(capsys, image, "--reference", ref_path, "--attempt",
                   write_attempt(tmp_path, ref, dx=2.0))
    for level in ("T12", "L1", "L2"):
        assert set(doc["points"][level]) == {"sa", "sm", "sp", "ia", "im", "ip"}
        assert all(v == pytest.approx(0.2, abs=1e-9) for v in doc["points"][level].values())
    assert doc["mean_point_error_mm"] == pytest.approx(0.2, abs=1e-9)
    ha = doc["measurements"]["L1"]["ha_mm"]
    assert ha["reference"] == pytest.approx(19.0, abs=0.01)
    assert ha["error"] == pytest.approx(0.0, abs=1e-9)
    assert doc["grade_agreement"] == 1.0
    assert doc["calibration"]["source"] == "detector"
    assert doc["calibration"]["unit_tag"] == "mm at detector"
    assert (doc["calibration"]["row_mm"], doc["calibration"]["col_mm"]) == (0.16, 0.10)
    assert doc["advice"] == []


def test_rows_use_row_spacing_and_missing_level_disagrees(tmp_path, film, capsys):
    image, ref, ref_path = film
    doc = run_json(capsys, image, "--reference", ref_path, "--attempt",
                   write_attempt(tmp_path, ref, dy=5.0, drop=("L2",)))
    assert doc["points"]["L1"]["sa"] == pytest.approx(0.8, abs=1e-9)  # 5 rows × 0.16 mm
    assert doc["points"]["L2"] == {}
    assert doc["missing"]["L2"] == ["sa", "sm", "sp", "ia", "im", "ip"]
    assert doc["grade_agreement"] == pytest.approx(2 / 3)
    assert doc["advice"][0]["kind"] == "incomplete"


def test_levels_option_and_text_output(tmp_path, film, capsys):
    image, ref, ref_path = film
    attempt = write_attempt(tmp_path, ref, dx=2.0)
    assert main(["score", str(image), "--reference", str(ref_path), "--attempt", str(attempt),
                 "--levels", "L1"]) == 0
    out = capsys.readouterr().out
    assert "mm at detector" in out and "Mean point error: 0.20 mm at detector" in out
    assert "L1" in out and "T12" not in out.split("grade you/expert")[1]


@pytest.mark.skipif(not PRE.is_file(), reason="sample_dicom not generated")
def test_sample_film_anterior_corners_on_the_osteophyte(tmp_path, capsys):
    ref_path = PRE.with_suffix(".json")
    attempt = load_annotations(ref_path)
    for name in ("sa", "ia"):  # the patient faces left: anterior is towards x = 0
        x, y = attempt.vertebrae["L1"].points[name]
        attempt.vertebrae["L1"].points[name] = (x - 20.0, y)  # 20 px × 0.16 mm = 3.2 mm
    path = tmp_path / "attempt.json"
    save_annotations(attempt, path)
    doc = run_json(capsys, PRE, "--reference", ref_path, "--attempt", path)
    assert doc["points"]["L1"]["sa"] == pytest.approx(3.2, abs=1e-6)
    assert doc["advice"][0]["kind"] == "anterior_out"
    assert "osteophyte" in doc["advice"][0]["text"] and doc["advice"][0]["levels"] == ["L1"]


def one_line_error(capsys, argv):
    code = main(["score", *map(str, argv)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ovcf-viewer score:") and err.count("\n") == 1
    return err


def test_bad_inputs_exit_2_with_one_line(tmp_path, film, capsys):
    image, ref, ref_path = film
    attempt = write_attempt(tmp_path, ref)
    one_line_error(capsys, [tmp_path / "nope.dcm", "--reference", ref_path, "--attempt", attempt])
    not_dicom = tmp_path / "x.dcm"
    not_dicom.write_text("hello")
    one_line_error(capsys, [not_dicom, "--reference", ref_path, "--attempt", attempt])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "not valid JSON" in one_line_error(
        capsys, [image, "--reference", ref_path, "--attempt", broken])
    assert "no such file" in one_line_error(
        capsys, [image, "--reference", tmp_path / "none.json", "--attempt", attempt])
    assert "L4" in one_line_error(
        capsys, [image, "--reference", ref_path, "--attempt", attempt, "--levels", "L4"])
    other = tmp_path / "other.dcm"
    write_dx(other, rows=800, cols=700)
    assert "another image" in one_line_error(
        capsys, [other, "--reference", ref_path, "--attempt", attempt])
