"""Scoring a resident's attempt against constructed geometry (docs/clinical-reference.md §7): known
offsets give known errors, in non-square pixels and both facings; advice follows the pattern."""

import math

import pytest

from ovcf_viewer.measure.scoring import score_attempt
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import ImageAnnotations, Vertebra
from tests.spine_builder import BodySpec, place, stack

ROW_MM, COL_MM = 0.16, 0.10  # non-square pixels


#: Tilt of the wedged L1's own anterior axis (see reference()) from the spine's A axis.
L1_AXIS_TILT = math.atan2(4.0, 36.0)


def cal(row_mm=ROW_MM, col_mm=COL_MM):
    return Calibration(CalibrationSource.DETECTOR, row_mm, col_mm)


def reference(facing="left", tilt=0.0, row_mm=ROW_MM, col_mm=COL_MM):
    """T12 and L2 normal (27 mm everywhere); L1 the index level, Genant 2 wedge:
    r = 1 − 19/27 = 29.6 %."""
    specs = stack([("T12", 27, 27, 27), ("L1", 19, 24, 27), ("L2", 27, 27, 27)])
    return place(specs, facing=facing, tilt_deg=tilt, row_mm=row_mm, col_mm=col_mm,
                 index_levels=("L1",))


def copy_of(model: ImageAnnotations) -> ImageAnnotations:
    out = ImageAnnotations(model.sop_instance_uid, model.file)
    out.vertebrae = {lv: v.copy() for lv, v in model.vertebrae.items()}
    return out


def axes(facing, tilt):
    """The builder's anterior and superior unit vectors in image mm space (y down), written
    out independently of the code under test."""
    sign = -1.0 if facing == "left" else 1.0
    t = math.radians(tilt)
    a = (sign * math.cos(t), math.sin(t))
    s = (a[1], -a[0])
    if s[1] > 0:
        s = (-s[0], -s[1])
    return a, s


def move(model, level, name, anterior_mm, superior_mm, facing="left", tilt=0.0,
         row_mm=ROW_MM, col_mm=COL_MM):
    a, s = axes(facing, tilt)
    x, y = model.vertebrae[level].points[name]
    dx_mm = anterior_mm * a[0] + superior_mm * s[0]
    dy_mm = anterior_mm * a[1] + superior_mm * s[1]
    model.vertebrae[level].points[name] = (x + dx_mm / col_mm, y + dy_mm / row_mm)


def test_perfect_attempt_scores_zero_and_full_agreement():
    ref = reference()
    score = score_attempt(ref, copy_of(ref), cal())
    assert score.mean_point_error_mm == pytest.approx(0.0, abs=1e-12)
    assert score.grade_agreement == 1.0
    assert score.advice == ()
    assert score.levels["L1"].reference_grade == 2


def test_shift_of_two_pixels_in_x_is_0_2_mm_at_0_10_mm_columns():
    ref = reference()
    attempt = copy_of(ref)
    for v in attempt.vertebrae.values():
        v.points = {n: (x + 2.0, y) for n, (x, y) in v.points.items()}
    score = score_attempt(ref, attempt, cal())
    for level in ("T12", "L1", "L2"):
        for name, err in score.to_json()["points"][level].items():
            assert err == pytest.approx(0.2, abs=1e-9), (level, name)
        for key in ("ha_mm", "hm_mm", "hp_mm"):
            assert score.levels[level].heights[key].error == pytest.approx(0.0, abs=1e-9)
        assert score.levels[level].wedge_angle_deg.error == pytest.approx(0.0, abs=1e-9)
    assert score.mean_point_error_mm == pytest.approx(0.2, abs=1e-9)
    assert score.grade_agreement == 1.0


def test_shift_in_rows_uses_row_spacing_and_diagonal_uses_both():
    ref = reference()
    attempt = copy_of(ref)
    x, y = attempt.vertebrae["L1"].points["sa"]
    attempt.vertebrae["L1"].points["sa"] = (x, y + 3.0)
    x, y = attempt.vertebrae["L1"].points["ip"]
    attempt.vertebrae["L1"].points["ip"] = (x + 4.0, y + 3.0)
    points = score_attempt(ref, attempt, cal()).levels["L1"].points
    assert points["sa"].error_mm == pytest.approx(0.48, abs=1e-9)
    assert points["ip"].error_mm == pytest.approx(math.hypot(0.4, 0.48), abs=1e-9)
    assert points["ip"].dx_mm == pytest.approx(0.4) and points["ip"].dy_mm == pytest.approx(0.48)


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("tilt", [0.0, 15.0])
def test_height_error_mm_and_percent_wedge_error_and_grade(facing, tilt):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    move(attempt, "L1", "sa", 0.0, 3.0, facing, tilt)  # Ha 19 → 22 mm
    score = score_attempt(ref, attempt, cal())
    l1 = score.levels["L1"]
    assert l1.points["sa"].error_mm == pytest.approx(3.0, abs=1e-9)
    # L1's own anterior axis runs from mid(sp, ip) = (0, 13.5) to mid(sa, ia) = (36, 9.5) mm:
    # tilted caudally by atan(4/36) from the builder's A, so a cranial move splits into both.
    assert l1.points["sa"].superior_mm == pytest.approx(3.0 * math.cos(L1_AXIS_TILT), abs=1e-9)
    assert l1.points["sa"].anterior_mm == pytest.approx(-3.0 * math.sin(L1_AXIS_TILT), abs=1e-9)
    assert l1.heights["ha_mm"].reference == pytest.approx(19.0, abs=0.01)
    assert l1.heights["ha_mm"].attempt == pytest.approx(22.0, abs=0.01)
    assert l1.heights["ha_mm"].error == pytest.approx(3.0, abs=0.01)
    assert l1.heights["ha_mm"].error_pct == pytest.approx(3.0 / 19.0 * 100, abs=0.01)
    assert l1.heights["hp_mm"].error == pytest.approx(0.0, abs=1e-9)
    expected_wedge_error = math.degrees(math.atan2(27 - 22, 36)) - math.degrees(
        math.atan2(27 - 19, 36)
    )
    assert l1.wedge_angle_deg.error == pytest.approx(expected_wedge_error, abs=0.01)
    # Genant: 1 − 22/27 = 18.5 % (grade 0) and 1 − 24/27 = 11 %: the resident under-grades.
    assert (l1.reference_grade, l1.attempt_grade) == (2, 0)
    assert score.grade_agreement == pytest.approx(2 / 3)
    assert score.mean_point_error_mm == pytest.approx(3.0 / 18, abs=1e-9)


@pytest.mark.parametrize("facing", ["left", "right"])
def test_segmental_kyphosis_error_sign(facing):
    ref = reference(facing)
    attempt = copy_of(ref)
    # T12's superior-anterior corner 4 mm too cranial: the upper endplate rises anteriorly, the
    # lines diverge anteriorly: less kyphosis by atan(4/36).
    move(attempt, "T12", "sa", 0.0, 4.0, facing)
    l1 = score_attempt(ref, attempt, cal()).levels["L1"]
    assert l1.segmental_kyphosis_deg.reference == pytest.approx(0.0, abs=0.01)
    assert l1.segmental_kyphosis_deg.error == pytest.approx(
        -math.degrees(math.atan2(4.0, 36.0)), abs=0.01
    )
    assert score_attempt(ref, attempt, cal()).levels["T12"].segmental_kyphosis_deg is None


def test_uncalibrated_scores_in_pixels():
    ref = reference(row_mm=1.0, col_mm=1.0)
    attempt = copy_of(ref)
    for v in attempt.vertebrae.values():
        v.points = {n: (x, y + 5.0) for n, (x, y) in v.points.items()}
    score = score_attempt(ref, attempt, Calibration.none())
    assert score.mean_point_error_mm == pytest.approx(5.0)
    doc = score.to_json()
    assert doc["calibration"]["unit"] == "px" and doc["calibration"]["unit_tag"] == "px"


def test_missing_level_disagrees_and_is_reported():
    ref = reference()
    attempt = copy_of(ref)
    del attempt.vertebrae["L2"]
    partial = attempt.vertebrae["T12"]
    attempt.vertebrae["T12"] = Vertebra("T12", {n: partial.points[n] for n in ("sa", "sm", "sp")})
    score = score_attempt(ref, attempt, cal())
    assert score.grade_agreement == pytest.approx(1 / 3)  # only L1 agrees
    assert score.incomplete_levels == ("T12", "L2")
    assert score.levels["T12"].missing_points == ("ia", "im", "ip")
    assert score.advice[0].kind == "incomplete"
    doc = score.to_json()
    assert doc["missing"]["L2"] == ["sa", "sm", "sp", "ia", "im", "ip"]
    assert doc["points"]["L2"] == {}


def test_levels_limit_what_is_scored_and_unknown_level_is_refused():
    ref = reference()
    score = score_attempt(ref, copy_of(ref), cal(), levels=["L1"])
    assert list(score.levels) == ["L1"]
    with pytest.raises(ValueError, match="L4"):
        score_attempt(ref, copy_of(ref), cal(), levels=["L4"])


def test_json_document_shape():
    ref = reference()
    attempt = copy_of(ref)
    move(attempt, "L1", "ia", 0.0, -2.0)
    doc = score_attempt(ref, attempt, cal()).to_json()
    assert set(doc) >= {"points", "mean_point_error_mm", "measurements", "grade_agreement",
                        "calibration", "advice"}
    ha = doc["measurements"]["L1"]["ha_mm"]
    assert ha["reference"] == pytest.approx(19.0, abs=0.01)
    assert ha["attempt"] == pytest.approx(21.0, abs=0.01)
    assert ha["error"] == pytest.approx(2.0, abs=0.01)
    assert doc["measurements"]["L1"]["genant_grade"]["reference"] == 2
    assert "segmental_kyphosis_deg" in doc["measurements"]["L1"]
    assert doc["calibration"]["unit_tag"] == "mm at detector"


# -- advice, in both facings and a tilted spine ------------------------------------------

FACING_TILT = [("left", 0.0), ("right", 0.0), ("left", 15.0), ("right", -10.0)]


def kinds(score):
    return [a.kind for a in score.advice]


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_anterior_corners_outside_the_body_mean_osteophyte(facing, tilt):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    move(attempt, "L1", "sa", 3.0, 0.5, facing, tilt)
    move(attempt, "L1", "ia", 3.0, -0.5, facing, tilt)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["anterior_out"]
    assert "osteophyte" in score.advice[0].text and score.advice[0].levels == ("L1",)
    assert score.advice[0].size_mm == pytest.approx(3.0 * math.cos(L1_AXIS_TILT), abs=1e-9)


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_anterior_corners_inside_the_body(facing, tilt):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    move(attempt, "L2", "sa", -2.5, 0.0, facing, tilt)
    move(attempt, "L2", "ia", -2.5, 0.0, facing, tilt)
    assert kinds(score_attempt(ref, attempt, cal())) == ["anterior_in"]


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_posterior_corners_too_far_posterior(facing, tilt):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    move(attempt, "T12", "sp", -3.0, 0.0, facing, tilt)
    move(attempt, "T12", "ip", -3.0, 0.0, facing, tilt)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["posterior_out"]
    assert "pedicle" in score.advice[0].text


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
@pytest.mark.parametrize("along,off", [(3.0, 0.0), (0.0, 2.0)])
def test_middle_points_not_at_the_deepest_point(facing, tilt, along, off):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    # Along the endplate, or out of the concavity towards the disc (sm cranial, im caudal).
    move(attempt, "L1", "sm", along, off, facing, tilt)
    move(attempt, "L1", "im", along, -off, facing, tilt)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["middle_not_deepest"]
    assert "deepest point" in score.advice[0].text
    assert ("along the endplate" if along else "towards the disc") in score.advice[0].text


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_whole_vertebra_shifted_means_check_the_level(facing, tilt):
    ref = reference(facing, tilt)
    attempt = copy_of(ref)
    for name in ("sa", "sm", "sp", "ia", "im", "ip"):
        move(attempt, "L2", name, 0.0, -12.0, facing, tilt)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["whole_shift"]
    assert "check the level" in score.advice[0].text and "caudally" in score.advice[0].text


@pytest.mark.parametrize("facing", ["left", "right"])
def test_corners_into_the_disc(facing):
    ref = reference(facing)
    attempt = copy_of(ref)
    for name, s in (("sa", 2.0), ("sp", 2.0), ("ia", -2.0), ("ip", -2.0)):
        move(attempt, "L1", name, 0.0, s, facing)
    assert "corners_into_disc" in kinds(score_attempt(ref, attempt, cal()))


def test_small_errors_give_no_advice_and_advice_is_ordered_by_size():
    ref = reference()
    attempt = copy_of(ref)
    move(attempt, "L1", "sa", 0.5, 0.0)
    move(attempt, "L1", "ia", 0.5, 0.0)
    assert score_attempt(ref, attempt, cal()).advice == ()
    move(attempt, "L2", "sp", -2.0, 0.0)
    move(attempt, "L2", "ip", -2.0, 0.0)
    move(attempt, "T12", "sa", 4.0, 0.0)
    move(attempt, "T12", "ia", 4.0, 0.0)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["anterior_out", "posterior_out"]
    assert score.advice[0].levels == ("T12",)


def test_same_pattern_on_two_levels_is_one_line_naming_both():
    ref = reference()
    attempt = copy_of(ref)
    for level, d in (("T12", 2.0), ("L2", 3.0)):
        move(attempt, level, "sa", d, 0.0)
        move(attempt, level, "ia", d, 0.0)
    score = score_attempt(ref, attempt, cal())
    assert kinds(score) == ["anterior_out"]
    assert score.advice[0].levels == ("T12", "L2")
    assert score.advice[0].text.startswith("T12, L2:") and "largest at L2" in score.advice[0].text


def test_single_body_builder_still_scores():
    spec = BodySpec("L3", ha=25, hm=26, hp=28)
    ref = place([spec], facing="right")
    score = score_attempt(ref, copy_of(ref), cal(0.15, 0.15))
    assert score.levels["L3"].reference_grade == 0 and score.grade_agreement == 1.0


def test_swapped_corners_on_one_endplate_are_reported_not_fatal():
    ref = reference()
    attempt = copy_of(ref)
    p = attempt.vertebrae["L2"].points
    p["sa"], p["sp"] = p["sp"], p["sa"]  # superior endplate drawn the wrong way round
    score = score_attempt(ref, attempt, cal())
    assert score.levels["L2"].heights is None and score.levels["L2"].points["sa"].error_mm > 30
    assert score.advice[0].kind == "unmeasurable" and score.advice[0].levels == ("L2",)
    assert "anterior" in score.advice[0].text
    assert score.levels["T12"].heights is not None  # the other levels are still scored
    assert score.grade_agreement == pytest.approx(2 / 3)
    assert "incomplete" not in kinds(score)


# -- level shift: the resident counted the vertebrae wrong ---------------------------------

DISC_MM = 10.0


def five_levels(facing="left", tilt=0.0):
    """T11–L3 stacked with 10-mm discs, posterior corners aligned; L1 the index level.
    Posterior heights differ per level, so the distance between neighbouring vertebrae'
    landmarks is known: one level down = the lower body's Hp + the disc, along −superior."""
    specs = stack([("T11", 25, 25, 25), ("T12", 26, 26, 26), ("L1", 19, 24, 27),
                   ("L2", 28, 28, 28), ("L3", 29, 29, 29)], disc_mm=DISC_MM)
    return place(specs, facing=facing, tilt_deg=tilt, index_levels=("L1",),
                 row_mm=ROW_MM, col_mm=COL_MM)


def relabelled(ref, mapping):
    """An attempt that places the expert's landmarks of vertebra ``mapping[named]`` and calls
    it ``named``: the resident's counting error, nothing else."""
    out = ImageAnnotations(ref.sop_instance_uid, ref.file)
    for named, actual in mapping.items():
        vertebra = ref.vertebrae[actual].copy()
        vertebra.level = named
        out.vertebrae[named] = vertebra
    return out


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_every_level_one_caudal_is_a_level_shift_alone(facing, tilt):
    ref = five_levels(facing, tilt)
    attempt = relabelled(ref, {"T12": "L1", "L1": "L2", "L2": "L3"})
    score = score_attempt(ref, attempt, cal(), levels=("T12", "L1", "L2"))
    shift = score.level_shift
    assert shift is not None and shift.offset == 1
    assert shift.marked_as == {"T12": "L1", "L1": "L2", "L2": "L3"}
    assert shift.direction == "caudally"
    # One level down is at least a body (19–29 mm) plus a 10-mm disc away.
    assert shift.shift_mm > 29.0
    assert [a.kind for a in score.advice] == ["level_shift"]
    text = score.advice[0].text
    assert text.startswith(f"whole vertebra shifted {shift.shift_mm:.1f} mm caudally: "
                           "check the level")
    assert "your L1 is L2" in text
    assert score.to_json()["level_shift"]["offset"] == 1


@pytest.mark.parametrize("facing,tilt", FACING_TILT)
def test_every_level_one_cranial_is_a_level_shift(facing, tilt):
    ref = five_levels(facing, tilt)
    attempt = relabelled(ref, {"L1": "T12", "L2": "L1"})
    score = score_attempt(ref, attempt, cal(), levels=("L1", "L2"))
    assert score.level_shift is not None and score.level_shift.offset == -1
    assert score.level_shift.direction == "cranially"
    assert [a.kind for a in score.advice] == ["level_shift"]
    assert "cranially: check the level" in score.advice[0].text


def test_level_shift_size_is_the_constructed_distance():
    """Non-square pixels, no tilt, L2 (28 mm, all heights equal) marked where L3 (29 mm) is.
    stack() puts L3's inferior endplate 29 + 10 = 39 mm below L2's and its superior endplate
    39 + 28 − 29 = 38 mm below L2's, straight down the spine: three points 39 mm, three
    38 mm, so the shift is 38.5 mm caudally."""
    ref = five_levels("right", 0.0)
    attempt = relabelled(ref, {"L2": "L3"})
    score = score_attempt(ref, attempt, cal(), levels=("L2",))
    assert score.level_shift is not None
    assert score.level_shift.shift_mm == pytest.approx(38.5, abs=1e-9)
    assert "whole vertebra shifted 38.5 mm caudally: check the level" in score.advice[0].text


def test_shift_at_one_level_only_is_not_a_level_shift():
    ref = five_levels()
    attempt = relabelled(ref, {"T12": "T12", "L1": "L1", "L2": "L3"})
    score = score_attempt(ref, attempt, cal(), levels=("T12", "L1", "L2"))
    assert score.level_shift is None
    assert "whole_shift" in [a.kind for a in score.advice]


def test_correct_levels_with_small_errors_are_no_level_shift():
    ref = five_levels()
    attempt = relabelled(ref, {"T12": "T12", "L1": "L1", "L2": "L2"})
    move(attempt, "L1", "sa", 2.0, 0.0)
    score = score_attempt(ref, attempt, cal(), levels=("T12", "L1", "L2"))
    assert score.level_shift is None
    assert score.to_json()["level_shift"] is None
