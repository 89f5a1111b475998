"""Before/after/follow-up comparison against constructed geometry (docs/clinical-reference.md §5):
restoration four ways, kyphosis correction and its loss, height loss, the EPOS new-deformity
rule on both sides of 20 % and 4 mm, variability flags and mixed calibration sources."""

import json
import math
from datetime import date
from pathlib import Path

import pytest

from ovcf_viewer.measure.comparison import is_incident_deformity, restoration
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.case import Case, CaseFilm
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services.compare import compare
from tests.spine_builder import place, stack

MM = 0.01
DEG = 0.01
SPACING = 0.15

PRE = [("T12", 28.0, 29.0, 30.0), ("L1", 16.0, 22.0, 28.0), ("L2", 30.0, 31.0, 32.0)]
POST = [("T12", 28.0, 29.0, 30.0), ("L1", 22.0, 25.0, 28.5), ("L2", 30.0, 31.0, 32.0)]
# Follow-up: L1 settled a little; L2 collapsed anteriorly (30 → 23 mm: 7 mm, 23.3 %).
FOLLOW = [("T12", 28.0, 29.0, 30.0), ("L1", 20.5, 24.0, 28.0), ("L2", 23.0, 30.0, 32.0)]
ROT_PRE = {"T12": -4.0, "L2": 3.0}
ROT_POST = {"T12": -1.0, "L2": 2.0}
ROT_FOLLOW = {"T12": -3.0, "L2": 2.5}


def film(uid, heights, rotations, timepoint, *, spacing=SPACING, facing="left"):
    specs = stack(heights, rotations=rotations)
    model = place(specs, facing=facing, row_mm=spacing, col_mm=spacing)
    doc = model.to_json(partial=True)
    doc["image"]["sop_instance_uid"] = uid
    annotations = ImageAnnotations.from_json(doc, partial=True)
    return CaseFilm(None, uid, annotations, timepoint, timepoint.date), specs


def expected_kyphosis(specs):
    upper, lower = specs[0], specs[2]
    return lower.inferior_tilt_deg() - upper.superior_tilt_deg()


def build_case(**overrides):
    pre, pre_specs = film("1.1", PRE, ROT_PRE, Timepoint("preop", date(2025, 1, 10)))
    post, post_specs = film("1.2", POST, ROT_POST, Timepoint("postop", date(2025, 1, 13), 1))
    fu, fu_specs = film("1.3", FOLLOW, ROT_FOLLOW, Timepoint("followup", date(2025, 4, 12), 90))
    case = Case("c1", procedure="PKP", procedure_date=date(2025, 1, 12), treated_levels=("L1",),
                films=(fu, pre, post), **overrides)  # deliberately out of order
    return case, (pre_specs, post_specs, fu_specs)


def detector(spacing=SPACING):
    return Calibration(CalibrationSource.DETECTOR, spacing, spacing)


def cals(case, calibration=None):
    return {f.sop_instance_uid: calibration or detector() for f in case.films}


def test_restoration_four_ways_constructed_heights():
    r = restoration("a", 16.0, 22.0, 29.0)
    assert r.absolute_mm == pytest.approx(6.0)
    assert r.pct_of_initial == pytest.approx(6.0 / 16.0 * 100)  # 37.5 %
    assert r.pct_of_lost == pytest.approx(6.0 / 13.0 * 100)  # 46.2 %
    assert r.pct_of_reference == pytest.approx(6.0 / 29.0 * 100)  # 20.7 %
    assert r.within_variability is False
    # No height lost (reference ≤ pre): % of lost height is undefined, the rest stands.
    r = restoration("p", 30.0, 31.0, 29.0)
    assert r.pct_of_lost is None and r.pct_of_reference == pytest.approx(1 / 29 * 100)
    assert r.within_variability is True  # 1 mm < 2 mm
    r = restoration("m", 20.0, 21.0, None)
    assert r.pct_of_lost is None and r.pct_of_reference is None


def test_case_comparison_matches_hand_arithmetic():
    case, (pre_specs, post_specs, fu_specs) = build_case()
    result = compare(case, Settings(), cals(case))
    assert [f.timepoint.kind for f in result.films] == ["preop", "postop", "followup"]
    assert [lc.level for lc in result.levels] == ["T12", "L1", "L2"]
    assert [lc.role for lc in result.levels] == ["adjacent", "treated", "adjacent"]
    l1 = result.level("L1")
    # Reference heights: mean of T12 and L2 on the pre-operative film (§4 adjacent).
    ref = {"a": (28 + 30) / 2, "m": (29 + 31) / 2, "p": (30 + 32) / 2}
    assert l1.reference_levels == ("T12", "L2")
    for k, (pre_h, post_h) in {"a": (16, 22), "m": (22, 25), "p": (28, 28.5)}.items():
        r = l1.restoration_for(k)
        assert r.reference_mm == pytest.approx(ref[k], abs=MM)
        assert r.absolute_mm == pytest.approx(post_h - pre_h, abs=MM)
        assert r.pct_of_initial == pytest.approx((post_h - pre_h) / pre_h * 100, abs=0.01)
        assert r.pct_of_lost == pytest.approx((post_h - pre_h) / (ref[k] - pre_h) * 100, abs=0.01)
        assert r.pct_of_reference == pytest.approx((post_h - pre_h) / ref[k] * 100, abs=0.01)
    assert l1.restoration_for("a").pct_of_lost == pytest.approx(6 / 13 * 100, abs=0.01)
    assert l1.restoration_for("p").within_variability is True  # 0.5 mm
    assert l1.restoration_for("a").within_variability is False  # 6 mm
    # Height as % of the reference on each film: post L1 anterior 22 / 29.
    post_index = 1
    assert l1.pct_of_reference[post_index]["a"] == pytest.approx(22 / 29 * 100, abs=0.01)
    # Height loss at follow-up: H_post − H_followup.
    losses = {(h.height): h for h in l1.height_loss}
    assert losses["a"].loss_mm == pytest.approx(22 - 20.5, abs=MM)
    assert losses["m"].loss_mm == pytest.approx(1.0, abs=MM)
    assert losses["a"].within_variability is True  # 1.5 mm < 2 mm
    # Kyphosis: correction θ_pre − θ_post and loss θ_followup − θ_post.
    k_pre, k_post, k_fu = (expected_kyphosis(s) for s in (pre_specs, post_specs, fu_specs))
    assert k_pre == pytest.approx(3 - (-4 + math.degrees(math.atan2(-2, 36))))  # 10.18°
    ky = l1.kyphosis
    assert ky.pre_deg == pytest.approx(k_pre, abs=DEG)
    assert ky.post_deg == pytest.approx(k_post, abs=DEG)
    assert ky.correction_deg == pytest.approx(k_pre - k_post, abs=DEG)  # 4°
    assert ky.correction_within_variability is True  # 4° < 5°
    assert ky.losses[0].loss_deg == pytest.approx(k_fu - k_post, abs=DEG)
    assert "T12" in ky.endplates and "L2" in ky.endplates
    # New deformity: L2 anterior at follow-up (7 mm, 23 %), nothing else.
    assert [(d.level, d.height) for d in result.new_deformities] == [("L2", "a")]
    d = result.new_deformities[0]
    assert d.drop_mm == pytest.approx(7.0, abs=MM)
    assert d.drop_pct == pytest.approx(7 / 30 * 100, abs=0.01)
    assert d.from_label == "Post-operative" and d.to_label.startswith("Follow-up")
    assert not result.mixed_calibration
    assert result.trend().kyphosis_deg["L1"][0] == pytest.approx(k_pre, abs=DEG)


def test_variability_threshold_is_the_setting():
    case, _ = build_case()
    strict = compare(case, Settings(variability_deg=3.0, variability_mm=0.4), cals(case))
    l1 = strict.level("L1")
    assert l1.kyphosis.correction_within_variability is False  # 4° ≥ 3°
    assert l1.restoration_for("p").within_variability is False  # 0.5 mm ≥ 0.4 mm


@pytest.mark.parametrize(
    "before,after,expected",
    [
        (20.0, 16.0, True),  # exactly 20 % and exactly 4 mm
        (20.0, 16.05, False),  # 19.75 %, 3.95 mm
        (30.0, 25.0, False),  # 5 mm but 16.7 %
        (15.0, 11.5, False),  # 23 % but 3.5 mm
        (19.9, 15.9, True),  # 20.1 %, 4 mm
        (25.0, 19.9, True),  # 20.4 %, 5.1 mm
        (16.0, 20.0, False),  # a gain
    ],
)
def test_new_deformity_rule_both_sides(before, after, expected):
    assert is_incident_deformity(before, after) is expected


def test_new_deformity_in_a_case_both_sides_of_4_mm():
    """The same 25 % anterior fall is flagged on a large vertebra (5 mm) but not on a small one
    (3.75 mm), at a non-adjacent level too."""
    pre_h = PRE + [("L3", 20.0, 30.0, 32.0), ("L4", 15.0, 28.0, 30.0)]
    post_h = POST + [("L3", 15.0, 30.0, 32.0), ("L4", 11.25, 28.0, 30.0)]
    pre, _ = film("2.1", pre_h, {}, Timepoint("postop", date(2025, 1, 13), 1))
    post, _ = film("2.2", post_h, {}, Timepoint("followup", date(2025, 3, 1), 48))
    case = Case("c2", treated_levels=("L1",), films=(pre, post), procedure_date=date(2025, 1, 12))
    result = compare(case, Settings(), cals(case))
    flagged = {(d.level, d.height) for d in result.new_deformities}
    assert ("L3", "a") in flagged
    assert ("L4", "a") not in flagged


def test_mixed_calibration_sources_flag_mm_and_keep_ratios():
    case, _ = build_case()
    # Post-operative film taken with 20 % magnification, calibrated manually (the true scale).
    pre, post, fu = case.preop_film(), case.postop_film(), case.followup_films()[0]
    post_big, _ = film("1.2", POST, ROT_POST, post.timepoint, spacing=SPACING / 1.2)
    case2 = case.with_film("1.2", annotations=post_big.annotations)
    calibrations = {
        pre.sop_instance_uid: detector(),
        post.sop_instance_uid: Calibration(CalibrationSource.MANUAL, SPACING / 1.2,
                                           SPACING / 1.2),
        fu.sop_instance_uid: detector(),
    }
    mixed = compare(case2, Settings(), calibrations)
    same = compare(case, Settings(), cals(case))
    assert mixed.mixed_calibration
    assert "different calibration sources" in mixed.notes[0]
    r_mixed = mixed.level("L1").restoration_for("a")
    r_same = same.level("L1").restoration_for("a")
    assert r_mixed.mm_comparable is False and r_mixed.within_variability is None
    assert r_same.mm_comparable is True
    # Ratios survive: % of reference on each film and angles are the same.
    assert r_mixed.ratio_change_pp == pytest.approx(r_same.ratio_change_pp, abs=1e-6)
    assert r_same.ratio_change_pp == pytest.approx((22 / 29 - 16 / 29) * 100, abs=0.01)
    assert mixed.level("L1").kyphosis.correction_deg == pytest.approx(
        same.level("L1").kyphosis.correction_deg, abs=1e-6)


def test_missing_image_uses_manual_calibration_or_pixels():
    case, _ = build_case()
    result = compare(case, Settings())  # no calibrations, no files
    assert all(not f.calibration.is_calibrated for f in result.films)
    assert any("no image file recorded" in n for n in result.notes)
    assert any("uncalibrated" in n for n in result.notes)
    # Restoration in pixels still has its percentages; the mm threshold is not applied.
    r = result.level("L1").restoration_for("a")
    assert r.pct_of_initial == pytest.approx(6 / 16 * 100, abs=0.01)
    assert r.within_variability is None


def test_own_posterior_reference_setting_is_said():
    case, _ = build_case()
    result = compare(case, Settings(genant_reference="own_posterior"), cals(case))
    l1 = result.level("L1")
    assert l1.reference_kind == "own_posterior"
    assert l1.restoration_for("a").reference_mm == pytest.approx(28.0, abs=MM)
    assert l1.restoration_for("p").pct_of_reference is None
    assert any("own posterior" in n for n in l1.notes)


def test_several_preop_films_latest_is_compared():
    case, _ = build_case()
    early, _ = film("1.0", POST, {}, Timepoint("preop", date(2024, 6, 1)))
    case = Case(case.case_id, procedure_date=case.procedure_date, treated_levels=("L1",),
                films=(*case.films, early))
    result = compare(case, Settings(), cals(case))
    assert result.preop_uid == "1.1"
    assert result.films[0].sop_instance_uid == "1.0"
    # The earlier pre-operative film had a taller L1: the fall to the later one is new.
    assert ("L1", "a") in {(d.level, d.height) for d in result.new_deformities}


# ----------------------------------------------------------------------- the sample case

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
SAMPLE_SPACING = 0.16  # Imager Pixel Spacing of every sample film (detector plane)


def _points(doc, level):
    vertebra = next(v for v in doc["vertebrae"] if v["level"] == level)
    return {name: tuple(xy) for name, xy in vertebra["points"].items()}


def _hand_heights(doc, level):
    p = _points(doc, level)

    def dist(a, b):
        return math.hypot((p[a][0] - p[b][0]) * SAMPLE_SPACING,
                          (p[a][1] - p[b][1]) * SAMPLE_SPACING)

    return {"a": dist("sa", "ia"), "m": dist("sm", "im"), "p": dist("sp", "ip")}


def _hand_kyphosis(doc, upper, lower):
    """Angle between the superior endplate of ``upper`` and the inferior endplate of
    ``lower`` (posterior → anterior); the sample faces left (anterior towards −x, y down), so
    lines converging anteriorly have a negative cross product l × u."""
    up, lo = _points(doc, upper), _points(doc, lower)
    u = (up["sa"][0] - up["sp"][0], up["sa"][1] - up["sp"][1])
    v = (lo["ia"][0] - lo["ip"][0], lo["ia"][1] - lo["ip"][1])
    cross = v[0] * u[1] - v[1] * u[0]
    return math.degrees(math.atan2(-cross, v[0] * u[0] + v[1] * u[1]))


@pytest.mark.skipif(not (SAMPLE / "pre.json").is_file(), reason="sample case not generated")
def test_sample_case_comparison_equals_ground_truth_arithmetic():
    from ovcf_viewer.io.case_files import load_case_inputs

    docs = {name: json.loads((SAMPLE / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("pre", "post", "followup")}
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")])
    assert case.treated_levels == ("L1",)
    result = compare(case, Settings())  # calibration from the image headers
    assert [f.calibration.source for f in result.films] == [CalibrationSource.DETECTOR] * 3
    assert result.films[0].calibration.row_mm == SAMPLE_SPACING
    assert result.films[2].label == "Follow-up (3 months)"

    h = {name: {lv: _hand_heights(doc, lv) for lv in ("T12", "L1", "L2")}
         for name, doc in docs.items()}
    # The README's L1 heights (detector plane): 19.55 / 25.30 / 23.00 mm anterior.
    assert h["pre"]["L1"]["a"] == pytest.approx(19.55, abs=0.01)
    ref = {k: (h["pre"]["T12"][k] + h["pre"]["L2"][k]) / 2 for k in "amp"}
    l1 = result.level("L1")
    assert l1.reference_levels == ("T12", "L2")
    for k in "amp":
        pre_h, post_h, fu_h = h["pre"]["L1"][k], h["post"]["L1"][k], h["followup"]["L1"][k]
        r = l1.restoration_for(k)
        assert r.pre_mm == pytest.approx(pre_h, abs=MM)
        assert r.post_mm == pytest.approx(post_h, abs=MM)
        assert r.reference_mm == pytest.approx(ref[k], abs=MM)
        assert r.absolute_mm == pytest.approx(post_h - pre_h, abs=MM)
        assert r.pct_of_initial == pytest.approx((post_h - pre_h) / pre_h * 100, abs=0.01)
        if ref[k] > pre_h:
            assert r.pct_of_lost == pytest.approx(
                (post_h - pre_h) / (ref[k] - pre_h) * 100, abs=0.01)
        assert r.pct_of_reference == pytest.approx((post_h - pre_h) / ref[k] * 100, abs=0.01)
        loss = next(x for x in l1.height_loss if x.height == k)
        assert loss.loss_mm == pytest.approx(post_h - fu_h, abs=MM)
    # Anterior: restored 5.75 mm (the anatomy's 5 mm × 1.15), lost 2.30 mm at follow-up.
    assert l1.restoration_for("a").absolute_mm == pytest.approx(5.75, abs=0.02)
    assert l1.restoration_for("a").within_variability is False
    assert next(x for x in l1.height_loss if x.height == "a").loss_mm == pytest.approx(2.30,
                                                                                       abs=0.02)
    theta = {name: _hand_kyphosis(doc, "T12", "L2") for name, doc in docs.items()}
    assert theta["pre"] > 0  # "local kyphosis" on the pre-operative film
    ky = l1.kyphosis
    assert ky.pre_deg == pytest.approx(theta["pre"], abs=DEG)
    assert ky.correction_deg == pytest.approx(theta["pre"] - theta["post"], abs=DEG)
    assert ky.losses[0].loss_deg == pytest.approx(theta["followup"] - theta["post"], abs=DEG)
    assert ky.losses[0].within_variability is (abs(theta["followup"] - theta["post"]) < 5)
    # No height anywhere falls ≥ 20 % and ≥ 4 mm between consecutive sample films.
    drops = [
        (lv, k) for a, b in (("pre", "post"), ("post", "followup"))
        for lv in ("T12", "L1", "L2") for k in "amp"
        if (h[a][lv][k] - h[b][lv][k]) >= 4 and (h[a][lv][k] - h[b][lv][k]) / h[a][lv][k] >= 0.2
    ]
    assert [(d.level, d.height) for d in result.new_deformities
            if d.level in ("T12", "L1", "L2")] == drops == []
    assert not result.mixed_calibration


def test_film_in_pixels_is_never_subtracted_from_a_film_in_mm():
    """A missing pre-operative film (px) beside post/follow-up in mm: no mm-vs-px arithmetic,
    no false new deformities; the change in % of reference is still given."""
    case, _ = build_case()
    calibrations = cals(case)
    calibrations["1.1"] = Calibration.none("image file not found")  # pre-op in px
    result = compare(case, Settings(), calibrations)
    r = result.level("L1").restoration_for("a")
    assert r.absolute_mm is None and r.pct_of_initial is None and r.pct_of_reference is None
    assert r.ratio_change_pp is not None
    # The pre-op heights in px (28 mm / 0.15 = 187 px) would otherwise "fall" to mm values.
    assert all({d.from_uid, d.to_uid} != {"1.1", "1.2"} for d in result.new_deformities)
    assert any("one is in mm, the other in px" in n for n in result.notes)
    # Post → follow-up, both in mm, is still tested: L2 collapsed 7 mm (23 %).
    assert any(d.level == "L2" and d.to_uid == "1.3" for d in result.new_deformities)
