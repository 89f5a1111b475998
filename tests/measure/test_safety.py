"""A mistake never becomes a silently wrong answer (docs/clinical-reference.md §4, §5, §6a).

Each situation is built from constructed vertebrae with known answers (right-facing films,
non-square pixels, tilted spines), so the expected numbers come from the geometry, never from
the code's output.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from ovcf_viewer.measure.comparison import compare, restoration
from ovcf_viewer.measure.measurements import genant_grade, measure_image
from ovcf_viewer.measure.plausibility import check_landmarks
from ovcf_viewer.measure.tolerance import at_least, below
from ovcf_viewer.model.calibration import (
    Calibration,
    CalibrationHeader,
    CalibrationSource,
    resolve_calibration,
)
from ovcf_viewer.model.case import Case, CaseFilm
from ovcf_viewer.model.landmarks import (
    AnnotationFormatError,
    ImageAnnotations,
    Timepoint,
)
from ovcf_viewer.model.settings import Settings

from ..spine_builder import place, stack

ROW, COL = 0.16, 0.10  # non-square pixels, mm
MM, DEG = 0.01, 0.01
MANUAL = Calibration(CalibrationSource.MANUAL, ROW, COL)
CENTRE = (600.0, 1400.0)


def annotations(heights, *, uid="1.2.3", facing="right", tilt=7.0, index=(), rotations=None,
                timepoint=None):
    model = place(stack(heights, rotations=rotations), facing=facing, tilt_deg=tilt,
                  row_mm=ROW, col_mm=COL, centre_px=CENTRE, index_levels=tuple(index))
    model.sop_instance_uid = uid
    model.timepoint = timepoint
    return model


def swap_anterior_posterior(model: ImageAnnotations, level: str) -> None:
    """The slip of a reader used to left-facing films on a right-facing one."""
    p = model.vertebrae[level].points
    p["sa"], p["sp"] = p["sp"], p["sa"]
    p["ia"], p["ip"] = p["ip"], p["ia"]


def codes(warnings, level=None):
    return {w.code for w in warnings if level is None or w.level == level}


# --------------------------------------------------------------------- 1. swapped A/P


@pytest.mark.parametrize("facing", ["left", "right"])
def test_swapped_anterior_posterior_is_warned_on_that_level_only(facing):
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    model = annotations(heights, facing=facing, index=("L1",),
                        rotations={"T12": -4.0, "L2": 3.0})
    clean = measure_image(model, MANUAL)
    assert clean.warnings == ()
    assert clean.vertebrae["L1"].genant.type == "wedge"
    swap_anterior_posterior(model, "L1")
    result = measure_image(model, MANUAL)
    # The wrong answer the swap produces (posterior now "most reduced": a crush) …
    assert result.vertebrae["L1"].anterior_height_mm == pytest.approx(28.0, abs=MM)
    assert result.vertebrae["L1"].genant.type == "crush"
    # … is never silent: L1, and only L1, carries the warning.
    assert [w.level for w in result.warnings if w.code == "anterior_posterior_swapped"] == ["L1"]
    assert "swapped" in result.warnings[0].message
    assert result.to_json()["warnings"][0]["code"] == "anterior_posterior_swapped"


def test_lone_vertebra_checked_against_the_films_known_facing():
    model = annotations([("L1", 18.0, 22.0, 28.0)], facing="right", tilt=0.0)
    assert check_landmarks(model.complete_vertebrae(), MANUAL, anterior_x_sign=+1) == []
    swap_anterior_posterior(model, "L1")
    found = check_landmarks(model.complete_vertebrae(), MANUAL, anterior_x_sign=+1)
    assert codes(found) == {"anterior_posterior_swapped"}
    assert check_landmarks(model.complete_vertebrae(), MANUAL) == []  # nothing to compare


# --------------------------------------------------------------------- 2. level order


@pytest.mark.parametrize("facing", ["left", "right"])
def test_level_names_contradicting_the_drawing(facing):
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 25.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    model = annotations(heights, facing=facing)
    assert measure_image(model, MANUAL).warnings == ()
    # The reader labelled the two upper bodies the wrong way: T12 is drawn caudal to L1.
    t12, l1 = model.vertebrae.pop("T12"), model.vertebrae.pop("L1")
    t12.level, l1.level = "L1", "T12"
    model.vertebrae["T12"], model.vertebrae["L1"] = l1, t12
    result = measure_image(model, MANUAL)
    order = [w for w in result.warnings if w.code == "level_order"]
    assert [(w.level, "T12 is drawn caudal to L1" in w.message) for w in order] == [("T12", True)]


def test_implausible_size_only_when_calibrated():
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 18.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    model = annotations(heights)
    # A calibration ten times too large makes L1's anterior height 180 mm.
    wrong = Calibration(CalibrationSource.MANUAL, ROW * 10, COL * 10)
    result = measure_image(model, wrong)
    assert codes(result.warnings) == {"implausible_size"}
    assert codes(result.warnings, "L1") == {"implausible_size"}
    assert "180.0 mm" in next(w.message for w in result.warnings if w.level == "L1")
    pixels = Calibration.none(pixel_aspect=ROW / COL)
    assert measure_image(model, pixels).warnings == ()  # px: no size can be judged


# --------------------------------------------------------------------- 3. wrong index level


def test_lovbh_and_reference_leave_out_fractured_neighbours_and_say_how_many():
    # L1 is fractured (anterior 14 mm) but the index mark went on L2 (the X slip).
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0),
               ("L3", 30.0, 29.0, 31.0)]
    result = measure_image(annotations(heights, index=("L2",)), MANUAL)
    l2 = result.index_levels["L2"]
    # Before: mean of L1 and L3 = 22 mm, LOVBH = (22 − 29)/22 = −31.8 %. Now L1 (Genant ≥ 1)
    # is left out: LOVBH against L3 alone, and it says so.
    assert l2.lovbh_reference_levels == ("L3",)
    assert l2.lovbh_pct == pytest.approx((30.0 - 29.0) / 30.0 * 100.0, abs=0.01)
    assert "one untreated, unfractured neighbour (L3)" in l2.lovbh_note
    assert "L1: Genant" in l2.lovbh_note
    # L1's own grade uses T12 only (L2 is an index level): 1 − 14/27.
    l1 = result.vertebrae["L1"]
    assert l1.genant.reference_levels == ("T12",)
    assert l1.genant.height_reduction_pct == pytest.approx((1 - 14 / 27) * 100, abs=0.01)
    assert "L2: index level" in l1.genant.reference_note
    # And the mismatch itself is a warning.
    assert codes(result.warnings, "L2") == {"index_level_mismatch"}
    assert "L1 (Genant 3)" in result.warnings_for("L2")[0].message


def test_no_unfractured_neighbour_lovbh_not_assessed():
    heights = [("T12", 18.0, 24.0, 28.0), ("L1", 14.0, 22.0, 28.0), ("L2", 19.0, 28.0, 30.0)]
    result = measure_image(annotations(heights, index=("L1",)), MANUAL)
    assert result.index_levels["L1"].lovbh_pct is None
    assert result.index_levels["L1"].lovbh_note.startswith("no untreated, unfractured")


# --------------------------------------------------------------------- 4. new fracture


PRE = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
POST = [("T12", 27.0, 26.0, 28.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
FOLLOW_NEW_T12 = [("T12", 20.0, 24.0, 27.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
PRE_DAY, OP_DAY, POST_DAY, FU_DAY = (date(2025, 1, 10), date(2025, 1, 12), date(2025, 1, 13),
                                     date(2025, 4, 12))


def case_of(*films, treated=()):
    return Case("safety", procedure="PKP", procedure_date=OP_DAY, treated_levels=treated,
                films=tuple(films))


def film(uid, heights, kind, when, interval=None, index=(), **kwargs):
    model = annotations(heights, uid=uid, index=index,
                        timepoint=Timepoint(kind, when, interval), **kwargs)
    model.manual_calibration = MANUAL
    return CaseFilm(None, uid, model, model.timepoint, when)


def new_fracture_case(treated=()):
    return case_of(
        film("1.1", PRE, "preop", PRE_DAY, index=("L1",)),
        film("1.2", POST, "postop", POST_DAY, 1, index=("L1",)),
        film("1.3", FOLLOW_NEW_T12, "followup", FU_DAY, 90, index=("T12", "L1")),
        treated=treated,
    )


def test_a_later_index_level_is_a_new_fracture_not_a_treated_level():
    case = new_fracture_case()  # no treated levels recorded: from the pre-operative film
    assert case.index_levels() == ("L1",)
    assert list(case.new_fracture_levels()) == ["T12"]
    result = compare(case)
    assert result.treated_levels == ("L1",)
    assert [(nf.level, nf.label) for nf in result.new_fractures] == [
        ("T12", "Follow-up (3 months)")]
    assert any("T12: new fracture" in n for n in result.notes)
    pre = result.film("1.1").measurements.vertebrae["L1"]
    # T12 stays in L1's pre-operative reference: (27 + 29)/2 = 28 → 1 − 14/28 = 50.00 %.
    assert pre.genant.reference_levels == ("T12", "L2")
    assert pre.genant.height_reduction_pct == pytest.approx(50.0, abs=0.01)
    l1 = result.level("L1")
    a = l1.restoration_for("a")
    assert a.pct_of_lost == pytest.approx((21 - 14) / (28 - 14) * 100, abs=0.01)
    assert result.level("T12").role == "adjacent" and result.level("T12").kyphosis is None
    # The new fracture is also the EPOS deformity it is: 27 → 20 mm, 25.9 %.
    t12 = [d for d in result.new_deformities if d.level == "T12" and d.height == "a"]
    assert len(t12) == 1 and t12[0].drop_mm == pytest.approx(7.0, abs=MM)
    assert set(t12[0].fired) == {"consecutive", "baseline"}


def test_treated_vertebra_reads_treated_after_its_procedure_only():
    result = compare(new_fracture_case())
    pre = result.film("1.1").measurements
    post = result.film("1.2").measurements
    assert not pre.vertebrae["L1"].treated and pre.vertebrae["L1"].genant.grade == 3
    assert post.vertebrae["L1"].treated and post.vertebrae["L1"].genant_label == "treated"
    entry = post.to_json()["vertebrae"]["L1"]
    assert entry["genant_grade"] is None and entry["genant_type"] == "treated"
    # A treated level is never a reference for its neighbours after the procedure either.
    t12 = post.vertebrae["T12"].genant  # T11 not placed, L1 treated: its own posterior height
    assert t12.reference == "own_posterior" and "L1: treated" in t12.note


# --------------------------------------------------------------------- 5. boundaries


def test_tolerance_helpers_at_the_boundary():
    assert not below(1.9999999999999964, 2.0) and at_least(1.9999999999999964, 2.0)
    assert below(1.99999, 2.0)
    assert genant_grade(0.25 - 1e-12) == 2 and genant_grade(0.2 - 1e-12) == 1


def test_an_exact_two_millimetre_change_is_not_within_variability():
    pre = [("T12", 27.0, 26.0, 28.0), ("L1", 16.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    post = [("T12", 27.0, 26.0, 28.0), ("L1", 18.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    rot_pre = {"T12": -4.0, "L2": 2.0}
    rot_post = {"T12": -4.0, "L2": -3.0}  # 5° of correction
    case = case_of(
        film("2.1", pre, "preop", PRE_DAY, index=("L1",), rotations=rot_pre),
        film("2.2", post, "postop", POST_DAY, 1, index=("L1",), rotations=rot_post),
        treated=("L1",),
    )
    result = compare(case)
    a = result.level("L1").restoration_for("a")
    # Floating point makes this tilted, non-square film's 2 mm gain a hair short of 2 …
    assert a.absolute_mm == pytest.approx(2.0, abs=1e-9) and a.absolute_mm < 2.0
    # … and it is a change of 2 mm, not one "within measurement variability".
    assert a.within_variability is False
    k = result.level("L1").kyphosis
    assert k.correction_deg == pytest.approx(5.0, abs=1e-9) and k.correction_deg < 5.0
    assert k.correction_within_variability is False
    assert restoration("a", 16.0, 17.99999, 28.0).within_variability is True


def test_gradual_collapse_is_flagged_against_the_baseline():
    # T12 (untreated): 28.0 → 24.5 → 21.5 mm: never ≥ 20 % between consecutive films
    # (−12.5 %, −12.2 %), but −23.2 % and −6.5 mm from the pre-operative baseline.
    pre = [("T12", 28.0, 26.0, 28.0), ("L1", 14.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    post = [("T12", 24.5, 26.0, 28.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    follow = [("T12", 21.5, 26.0, 28.0), ("L1", 21.0, 24.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    case = case_of(
        film("3.1", pre, "preop", PRE_DAY, index=("L1",)),
        film("3.2", post, "postop", POST_DAY, 1, index=("L1",)),
        film("3.3", follow, "followup", FU_DAY, 90, index=("L1",)),
    )
    result = compare(case)
    found = [d for d in result.new_deformities if d.level == "T12"]
    assert len(found) == 1
    d = found[0]
    assert d.fired == ("baseline",) and d.from_label == "Pre-operative"
    assert d.drop_mm == pytest.approx(6.5, abs=MM)
    assert d.drop_pct == pytest.approx(6.5 / 28.0 * 100, abs=0.01)
    assert "against the baseline" in d.description


def test_treated_level_baseline_is_the_post_operative_film():
    # L1 is restored to 24 mm, then collapses gradually: 24 → 21.5 → 19.0 (−20.8 %, −5 mm).
    pre = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 20.0, 28.0), ("L2", 29.0, 28.0, 30.0)]
    films = [film("4.1", pre, "preop", PRE_DAY, index=("L1",))]
    for i, (ha, kind, when, days) in enumerate(
            [(24.0, "postop", POST_DAY, 1), (21.5, "followup", date(2025, 2, 12), 31),
             (19.0, "followup", FU_DAY, 90)], start=2):
        heights = [pre[0], ("L1", ha, 24.0, 28.0), pre[2]]
        films.append(film(f"4.{i}", heights, kind, when, days, index=("L1",)))
    result = compare(case_of(*films, treated=("L1",)))
    l1 = [d for d in result.new_deformities if d.level == "L1"]
    assert [(d.from_label, d.fired) for d in l1] == [("Post-operative", ("baseline",))]
    assert l1[0].drop_mm == pytest.approx(5.0, abs=MM) and l1[0].treated


@pytest.mark.parametrize("value", [1e308, float("inf"), 1e-9])
def test_absurd_manual_calibration_is_refused(value):
    with pytest.raises(ValueError, match="not a plausible pixel spacing|positive finite"):
        Calibration(CalibrationSource.MANUAL, value, value)
    doc = annotations(PRE).to_json()
    doc["calibration"] = {"source": "manual", "row_mm": value, "col_mm": value}
    with pytest.raises(AnnotationFormatError, match="calibration"):
        ImageAnnotations.from_json(doc)


def test_absurd_header_spacing_is_ignored_and_said():
    header = CalibrationHeader(modality="DX", imager_pixel_spacing=(1e308, 1e308))
    cal = resolve_calibration(header)
    assert not cal.is_calibrated and "not plausible" in cal.detail
    header = CalibrationHeader(modality="DX", pixel_spacing=(1e308, 1e308),
                               imager_pixel_spacing=(0.16, 0.10))
    cal = resolve_calibration(header)
    assert (cal.source, cal.row_mm, cal.col_mm) == (CalibrationSource.DETECTOR, 0.16, 0.10)


# --------------------------------------------------------------------- 7. reassurance


def test_no_landmarks_means_not_assessed_not_none():
    empty = [CaseFilm(None, uid, ImageAnnotations(uid, ""), Timepoint(kind, when), when)
             for uid, kind, when in (("5.1", "preop", PRE_DAY), ("5.2", "postop", POST_DAY))]
    result = compare(case_of(*empty))
    assert result.new_deformities == () and not result.deformities_assessed
    assert result.new_deformities_summary.startswith("Not assessed")
    measured = compare(new_fracture_case())
    assert measured.deformities_assessed


# --------------------------------------------------------------------- 9. pixels


def test_uncalibrated_lengths_carry_px_names():
    model = annotations(PRE, index=("L1",))
    px = measure_image(model, Calibration.none(pixel_aspect=ROW / COL)).to_json()
    mm = measure_image(model, MANUAL).to_json()
    assert {"ha_px", "hm_px", "hp_px"} <= set(px["vertebrae"]["L1"])
    assert not any(k.endswith("_mm") for k in px["vertebrae"]["L1"])
    assert px["vertebrae"]["L1"]["ha_px"] == pytest.approx(14.0 / COL, abs=MM)
    assert mm["vertebrae"]["L1"]["ha_mm"] == pytest.approx(14.0, abs=MM)
    assert math.isfinite(mm["vertebrae"]["L1"]["wedge_ratio"])


def test_settings_reference_own_posterior_still_leaves_fractured_out_of_lovbh():
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0),
               ("L3", 30.0, 29.0, 31.0)]
    result = measure_image(annotations(heights, index=("L2",)), MANUAL,
                           Settings(genant_reference="own_posterior"))
    assert result.index_levels["L2"].lovbh_reference_levels == ("L3",)
