"""Measurements against geometry constructed with known answers (docs/clinical-reference.md §3,
§4, §7:
exact to 0.01 mm and 0.01°), in square and non-square pixels, both facings, tilted spines."""

import math

import pytest

from ovcf_viewer.measure.measurements import genant_grade, genant_type, measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.model.settings import Settings
from tests.spine_builder import BodySpec, place, stack

MM = 0.01
DEG = 0.01

SPACINGS = [(0.15, 0.15), (0.16, 0.10), (0.10, 0.16)]  # (row_mm, col_mm)
FACINGS = ["left", "right"]
TILTS = [0.0, 12.0, -20.0]


def cal(row_mm, col_mm):
    return Calibration(CalibrationSource.DETECTOR, row_mm, col_mm)


def mirrored(model: ImageAnnotations, width: float = 4000.0) -> ImageAnnotations:
    out = ImageAnnotations(model.sop_instance_uid, model.file)
    out.index_levels = list(model.index_levels)
    for level, v in model.vertebrae.items():
        out.vertebrae[level] = type(v)(level, {n: (width - x, y) for n, (x, y) in v.points.items()})
    return out


@pytest.mark.parametrize("row_mm,col_mm", SPACINGS)
@pytest.mark.parametrize("facing", FACINGS)
@pytest.mark.parametrize("tilt", TILTS)
def test_heights_ratios_and_wedge_angle(row_mm, col_mm, facing, tilt):
    spec = BodySpec("L1", ha=18.0, hm=21.0, hp=27.0, depth=36.0, rotation_deg=3.0)
    model = place([spec], facing=facing, tilt_deg=tilt, row_mm=row_mm, col_mm=col_mm)
    m = measure_image(model, cal(row_mm, col_mm)).vertebrae["L1"]
    assert m.anterior_height_mm == pytest.approx(18.0, abs=MM)
    assert m.middle_height_mm == pytest.approx(21.0, abs=MM)
    assert m.posterior_height_mm == pytest.approx(27.0, abs=MM)
    assert m.wedge_ratio == pytest.approx(18 / 27, abs=1e-4)
    assert m.biconcavity_ratio == pytest.approx(21 / 27, abs=1e-4)
    expected_wedge = math.degrees(math.atan2(27.0 - 18.0, 36.0))  # converges anteriorly
    assert m.wedge_angle_deg == pytest.approx(expected_wedge, abs=DEG)
    assert m.wedge_angle_deg > 0


def test_non_square_pixels_change_pixel_but_not_mm_answers():
    spec = BodySpec("L1", ha=20.0, hm=22.0, hp=26.0)
    square = place([spec], row_mm=0.1, col_mm=0.1, tilt_deg=30)
    oblong = place([spec], row_mm=0.16, col_mm=0.10, tilt_deg=30)
    a = measure_image(square, cal(0.1, 0.1)).vertebrae["L1"]
    b = measure_image(oblong, cal(0.16, 0.10)).vertebrae["L1"]
    assert a.wedge_angle_deg == pytest.approx(b.wedge_angle_deg, abs=1e-9)
    assert a.anterior_height_mm == pytest.approx(b.anterior_height_mm, abs=1e-9)
    # Measuring the oblong-pixel points as if pixels were square gives a different angle:
    wrong = measure_image(oblong, cal(0.1, 0.1)).vertebrae["L1"]
    assert abs(wrong.wedge_angle_deg - b.wedge_angle_deg) > 0.5


def _three_levels(index_ha=18.0, rotations=None):
    return stack(
        [("T12", 26.0, 24.0, 27.0), ("L1", index_ha, 22.0, 28.0), ("L2", 29.0, 27.0, 30.0)],
        rotations=rotations,
    )


@pytest.mark.parametrize("row_mm,col_mm", SPACINGS)
@pytest.mark.parametrize("facing", FACINGS)
@pytest.mark.parametrize("tilt", TILTS)
def test_segmental_kyphosis_known_angle(row_mm, col_mm, facing, tilt):
    specs = _three_levels(rotations={"T12": -4.0, "L1": 0.0, "L2": 3.0})
    model = place(
        specs, facing=facing, tilt_deg=tilt, row_mm=row_mm, col_mm=col_mm, index_levels=("L1",)
    )
    upper, lower = specs[0], specs[2]
    expected = lower.inferior_tilt_deg() - upper.superior_tilt_deg()
    result = measure_image(model, cal(row_mm, col_mm)).index_levels["L1"]
    assert result.segmental_kyphosis_deg == pytest.approx(expected, abs=DEG)
    assert (result.upper_level, result.lower_level) == ("T12", "L2")


@pytest.mark.parametrize("tilt", TILTS)
def test_mirroring_keeps_kyphosis_sign(tilt):
    specs = _three_levels(rotations={"T12": -6.0, "L2": 2.0})
    model = place(specs, facing="left", tilt_deg=tilt, index_levels=("L1",))
    c = cal(0.15, 0.15)
    a = measure_image(model, c)
    b = measure_image(mirrored(model), c)
    ka = a.index_levels["L1"].segmental_kyphosis_deg
    kb = b.index_levels["L1"].segmental_kyphosis_deg
    assert ka > 0 and kb == pytest.approx(ka, abs=1e-9)
    assert b.vertebrae["L1"].wedge_angle_deg == pytest.approx(a.vertebrae["L1"].wedge_angle_deg)


def test_lordotic_segment_is_negative():
    # Bodies taller anteriorly (lordotic wedge) and rotated into lordosis.
    specs = stack(
        [("L3", 30.0, 28.0, 27.0), ("L4", 31.0, 29.0, 27.0), ("L5", 32.0, 29.0, 26.0)],
        rotations={"L3": 5.0, "L5": -5.0},
    )
    model = place(specs, facing="right", index_levels=("L4",))
    result = measure_image(model, cal(0.15, 0.15))
    expected = specs[2].inferior_tilt_deg() - specs[0].superior_tilt_deg()
    assert expected < 0
    assert result.index_levels["L4"].segmental_kyphosis_deg == pytest.approx(expected, abs=DEG)
    assert result.vertebrae["L4"].wedge_angle_deg < 0


def test_crush_ratio_lovbh_and_adjacent_genant():
    specs = _three_levels(index_ha=18.0)
    model = place(specs, index_levels=("L1",), row_mm=0.16, col_mm=0.1)
    r = measure_image(model, cal(0.16, 0.1))
    l1 = r.vertebrae["L1"]
    assert l1.crush_ratio == pytest.approx(28.0 / ((27.0 + 30.0) / 2), abs=1e-4)
    # LOVBH = ((A1 + A2) - 2 A0) / (A1 + A2) x 100
    assert r.index_levels["L1"].lovbh_pct == pytest.approx(
        (26 + 29 - 36) / (26 + 29) * 100, abs=1e-3
    )
    # Adjacent reference: a 1 - 18/27.5, m 1 - 22/25.5, p 1 - 28/28.5
    expected_r = 1 - 18.0 / 27.5
    assert l1.genant.height_reduction_pct == pytest.approx(expected_r * 100, abs=1e-3)
    assert l1.genant.grade == 2 and l1.genant.type == "wedge"
    assert l1.genant.reference == "adjacent" and l1.genant.reference_levels == ("T12", "L2")
    # A neighbour is not graded against the index level: T12's only placed neighbour is L1.
    assert r.vertebrae["T12"].genant.reference == "own_posterior"


def test_own_posterior_reference_setting():
    specs = _three_levels(index_ha=18.0)
    model = place(specs, index_levels=("L1",))
    r = measure_image(model, cal(0.15, 0.15), Settings(genant_reference="own_posterior"))
    g = r.vertebrae["L1"].genant
    assert g.reference == "own_posterior"
    assert g.height_reduction == pytest.approx(1 - 18 / 28, abs=1e-6)
    assert g.reductions["p"] is None
    assert r.genant_reference == "own_posterior"


def test_adjacent_falls_back_when_no_neighbours():
    model = place([BodySpec("L1", 18, 22, 28)], index_levels=("L1",))
    r = measure_image(model, cal(0.15, 0.15))
    g = r.vertebrae["L1"].genant
    assert g.reference == "own_posterior" and "own posterior" in g.note
    assert r.vertebrae["L1"].crush_ratio is None
    assert r.index_levels["L1"].segmental_kyphosis_deg is None
    assert r.index_levels["L1"].lovbh_pct is None
    assert r.notes


@pytest.mark.parametrize(
    "reduction,grade",
    [(0.0, 0), (0.1999, 0), (0.20, 1), (0.2499, 1), (0.25, 2), (0.40, 2), (0.4001, 3), (0.8, 3)],
)
def test_genant_boundaries_from_geometry(reduction, grade):
    ref = 28.0
    specs = stack(
        [("T12", ref, ref, ref), ("L1", ref * (1 - reduction), ref, ref), ("L2", ref, ref, ref)]
    )
    model = place(specs, index_levels=("L1",), row_mm=0.16, col_mm=0.10, tilt_deg=7)
    g = measure_image(model, cal(0.16, 0.10)).vertebrae["L1"].genant
    assert g.grade == grade
    assert g.height_reduction_pct == pytest.approx(reduction * 100, abs=1e-6)


def test_genant_grade_function_boundaries():
    assert [genant_grade(x) for x in (0.19999, 0.2, 0.24999, 0.25, 0.4, 0.40001)] == [
        0,
        1,
        1,
        2,
        2,
        3,
    ]


@pytest.mark.parametrize(
    "reductions,expected",
    [
        ({"a": 0.30, "m": 0.10, "p": 0.05}, "wedge"),
        ({"a": 0.10, "m": 0.30, "p": 0.05}, "biconcave"),
        ({"a": 0.10, "m": 0.15, "p": 0.30}, "crush"),
        ({"a": 0.30, "m": 0.27, "p": 0.26}, "crush"),  # all within 5 pp
        ({"a": 0.31, "m": 0.27, "p": 0.25}, "wedge"),  # 6 pp spread
        ({"a": 0.30, "m": 0.25, "p": None}, "wedge"),
    ],
)
def test_genant_type(reductions, expected):
    assert genant_type(reductions, 2) == expected


def test_grade_zero_has_no_type():
    assert genant_type({"a": 0.1, "m": 0.05, "p": 0.0}, 0) == "none"


def test_uncalibrated_lengths_are_pixels():
    spec = BodySpec("L1", 20.0, 22.0, 26.0)
    model = place([spec], row_mm=1.0, col_mm=1.0)
    r = measure_image(model, Calibration.none())
    assert r.calibration.unit == "px"
    assert r.vertebrae["L1"].anterior_height_mm == pytest.approx(20.0, abs=MM)
    assert r.to_json()["calibration"]["source"] == "none"


def test_cobb_setting_selects_the_reported_angle():
    specs = _three_levels(rotations={"T12": -4.0, "L2": 3.0})
    model = place(specs, index_levels=("L1",))
    seg = measure_image(model, cal(0.15, 0.15))
    wedge = measure_image(model, cal(0.15, 0.15), Settings(cobb_definition="vertebral_wedge"))
    il = seg.index_levels["L1"]
    assert seg.to_json()["index_levels"]["L1"]["cobb_deg"] == il.segmental_kyphosis_deg
    assert wedge.to_json()["index_levels"]["L1"]["cobb_deg"] == il.wedge_angle_deg
    assert "T12" in il.segmental_endplates and "L2" in il.segmental_endplates


def test_uncalibrated_pixel_aspect_ratio_keeps_angles_and_ratios_valid():
    """An image with Pixel Aspect Ratio 16\\10 and no spacing: lengths in column widths, and
    the wedge angle and ratios equal those of the same anatomy on square pixels (§1)."""
    from ovcf_viewer.model.calibration import CalibrationHeader, resolve_calibration

    cal_none = resolve_calibration(CalibrationHeader(extra={"pixel_aspect_ratio": "16\\10"}))
    assert cal_none.source is CalibrationSource.NONE and cal_none.unit == "px"
    assert (cal_none.row_mm, cal_none.col_mm) == (1.6, 1.0)
    assert "Pixel Aspect Ratio" in cal_none.detail
    spec = BodySpec("L1", ha=18.0, hm=21.0, hp=27.0, rotation_deg=5.0)
    # One "mm" of anatomy = one column width; rows are 1.6 column widths tall.
    model = place([spec], tilt_deg=10, row_mm=1.6, col_mm=1.0)
    m = measure_image(model, cal_none).vertebrae["L1"]
    assert m.wedge_angle_deg == pytest.approx(math.degrees(math.atan2(9.0, 36.0)), abs=DEG)
    assert m.anterior_height_mm == pytest.approx(18.0, abs=MM)  # in column widths
    assert m.wedge_ratio == pytest.approx(18 / 27, abs=1e-4)
    # Unusable or absent tags stay square.
    for tag in ("", "0\\1", "1\\100"):
        square = resolve_calibration(CalibrationHeader(extra={"pixel_aspect_ratio": tag}))
        assert (square.row_mm, square.col_mm) == (1.0, 1.0)
