"""Four-corner placement: what is measured without middle points, and what is not
(docs/clinical-reference.md §3, §4), against geometry constructed with known answers."""

import json

import pytest

from ovcf_viewer.measure.measurements import genant_type, measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import (
    CORNER_NAMES,
    AnnotationFormatError,
    ImageAnnotations,
    load_annotations,
    save_annotations,
)
from tests.spine_builder import place, stack

MM = 0.01
DEG = 0.01


def cal(row_mm, col_mm):
    return Calibration(CalibrationSource.DETECTOR, row_mm, col_mm)


def four_corner(model: ImageAnnotations, *levels: str) -> ImageAnnotations:
    for level in levels:
        model.set_vertebra_mode(level, "four_corner")
    return model


def _specs(rotations=None):
    return stack(
        [("T12", 26.0, 24.0, 27.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 27.0, 30.0)],
        rotations=rotations,
    )


@pytest.mark.parametrize("row_mm,col_mm", [(0.15, 0.15), (0.16, 0.10)])
@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("tilt", [0.0, -15.0])
def test_corner_measurements_match_the_geometry(row_mm, col_mm, facing, tilt):
    specs = _specs(rotations={"T12": -4.0, "L2": 3.0})
    model = place(specs, facing=facing, tilt_deg=tilt, row_mm=row_mm, col_mm=col_mm,
                  index_levels=("L1",))
    four_corner(model, "T12", "L1", "L2")
    result = measure_image(model, cal(row_mm, col_mm))
    l1 = result.vertebrae["L1"]
    assert l1.anterior_height_mm == pytest.approx(18.0, abs=MM)
    assert l1.posterior_height_mm == pytest.approx(28.0, abs=MM)
    assert l1.wedge_ratio == pytest.approx(18.0 / 28.0, abs=1e-4)
    assert l1.crush_ratio == pytest.approx(28.0 / ((27.0 + 30.0) / 2), abs=1e-4)
    # Kyphosis positive: the endplates converge anteriorly (Hp 28 > Ha 18).
    assert l1.wedge_angle_deg == pytest.approx(specs[1].inferior_tilt_deg()
                                               - specs[1].superior_tilt_deg(), abs=DEG)
    assert l1.wedge_angle_deg > 0
    expected_kyphosis = specs[2].inferior_tilt_deg() - specs[0].superior_tilt_deg()
    assert result.index_levels["L1"].segmental_kyphosis_deg == pytest.approx(
        expected_kyphosis, abs=DEG)
    # Unavailable without middle points, and said so.
    assert l1.middle_height_mm is None and l1.biconcavity_ratio is None
    assert l1.genant.reductions["m"] is None
    assert l1.genant.type == "wedge"
    assert l1.genant.height_reduction_pct == pytest.approx((1 - 18.0 / 27.5) * 100, abs=1e-3)
    doc = result.to_json()["vertebrae"]["L1"]
    assert doc["hm_mm"] is None and doc["biconcavity_ratio"] is None
    assert doc["landmark_mode"] == "four_corner"
    assert "genant_type_biconcave" in doc["unavailable"]
    assert any("four-corner" in note and "biconcave" in note for note in result.notes)


def test_a_middle_collapse_cannot_be_typed_biconcave_without_middle_points():
    # Six points: the middle height is the most reduced -> biconcave.
    assert genant_type({"a": 0.10, "m": 0.35, "p": 0.05}, 2) == "biconcave"
    # Four corners: m is unknown, so the type comes from a and p only.
    assert genant_type({"a": 0.30, "m": None, "p": 0.05}, 2) == "wedge"


def test_mixed_modes_on_one_film_and_six_point_neighbours():
    specs = _specs()
    model = place(specs, index_levels=("L1",))
    four_corner(model, "L1")
    result = measure_image(model, cal(0.15, 0.15))
    assert result.vertebrae["T12"].middle_height_mm == pytest.approx(24.0, abs=MM)
    assert result.vertebrae["L1"].middle_height_mm is None
    # L1's Genant reference for m is unknown (its own m is), a and p are still graded.
    genant = result.vertebrae["L1"].genant
    assert genant.reductions["a"] == pytest.approx(1 - 18.0 / 27.5, abs=1e-6)
    assert genant.reductions["p"] == pytest.approx(1 - 28.0 / 28.5, abs=1e-6)
    # T12 graded against L2? No: its only neighbour is the index level -> own posterior.
    assert result.vertebrae["T12"].unavailable == ()


def test_exchange_format_stores_and_reads_four_corner_mode(tmp_path):
    model = place(_specs(), index_levels=("L1",))
    four_corner(model, "L1")
    assert set(model.vertebrae["L1"].points) == set(CORNER_NAMES)
    assert model.vertebrae["L1"].is_complete
    doc = model.to_json()
    entry = next(v for v in doc["vertebrae"] if v["level"] == "L1")
    assert entry["mode"] == "four_corner" and set(entry["points"]) == set(CORNER_NAMES)
    assert "mode" not in next(v for v in doc["vertebrae"] if v["level"] == "T12")
    path = tmp_path / "a.json"
    save_annotations(model, path)
    again = load_annotations(path)
    assert again.vertebrae["L1"].mode == "four_corner"
    assert again.vertebrae["L1"].points == model.vertebrae["L1"].points

    entry["points"]["sm"] = [1.0, 2.0]
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationFormatError, match="four-corner mode but has sm"):
        load_annotations(path)
    entry["points"].pop("sm")
    entry["mode"] = "three_point"
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationFormatError, match="unknown mode"):
        load_annotations(path)


def test_four_corner_placement_asks_for_corners_only_and_is_undoable():
    model = ImageAnnotations("1.2.3", "x.dcm")
    commands = []
    model.command_recorded.connect(commands.append)
    model.set_vertebra_mode("L1", "four_corner")
    asked = []
    for i in range(4):
        name = model.vertebrae["L1"].next_point()
        asked.append(name)
        model.set_point("L1", name, (100.0 + i, 200.0 + i))
    assert asked == list(CORNER_NAMES)
    assert model.vertebrae["L1"].is_complete and model.vertebrae["L1"].next_point() is None
    with pytest.raises(ValueError, match="four-corner"):
        model.set_point("L1", "sm", (1.0, 1.0))
    commands[-1].revert(model)
    assert not model.vertebrae["L1"].is_complete
