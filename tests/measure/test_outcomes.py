"""Outcome maths (docs/clinical-reference.md §5a) against constructed values: body depth on
non-square pixels facing both ways, the elliptic-cylinder volume, the fill percentage, pain
change and the complications of a case."""

from __future__ import annotations

import math

import pytest

from ovcf_viewer.measure.outcomes import (
    body_depth_mm,
    cement_fill_pct,
    estimated_body_volume_mm3,
    pain_change,
    summarize_outcomes,
)
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.outcomes import CementFinding, LeakRegion, LevelProcedure, PainScore
from ovcf_viewer.services.compare import compare
from tests.measure.test_comparison import build_case, cals
from tests.spine_builder import place, stack


@pytest.mark.parametrize("facing", ["left", "right"])
@pytest.mark.parametrize("tilt", [0.0, 17.0])
def test_body_depth_on_non_square_pixels(facing, tilt):
    # inferior endplate 36 mm long; superior endplate from (0, 28) to (36, 20): √(36² + 8²)
    specs = stack([("L1", 20.0, 24.0, 28.0)])
    cal = Calibration(CalibrationSource.DETECTOR, 0.2, 0.1)  # row 0.2 mm, column 0.1 mm
    model = place(specs, facing=facing, tilt_deg=tilt, row_mm=0.2, col_mm=0.1)
    expected = (36.0 + math.hypot(36.0, 8.0)) / 2
    assert body_depth_mm(model.vertebrae["L1"], cal) == pytest.approx(expected, abs=1e-6)


def test_elliptic_cylinder_volume_and_fill():
    # D 36 mm, W 45 mm, H̄ 27 mm: π · 18 · 22.5 · 27 = 10935 π mm³ ≈ 34.353 mL
    volume = estimated_body_volume_mm3(36.0, 27.0, 45.0)
    assert volume == pytest.approx(10935 * math.pi)
    assert volume / 1000 == pytest.approx(34.353, abs=0.001)
    # 4.5 mL of 34.353 mL = 13.10 %
    assert cement_fill_pct(4.5, volume) == pytest.approx(13.0993, abs=1e-3)


def test_unknown_width_or_cement_stays_unknown():
    assert estimated_body_volume_mm3(36.0, 27.0, None) is None
    assert cement_fill_pct(4.5, None) is None
    assert cement_fill_pct(None, 30000.0) is None


def test_pain_change_absolute_and_percent():
    change = pain_change("vas", "Pre-operative", "Post-operative", 8.0, 3.0)
    assert (change.absolute, change.pct) == (-5.0, -62.5)
    assert pain_change("vas", "a", "b", 0.0, 2.0).pct is None  # no % of nothing
    assert pain_change("vas", "a", "b", 4.0, 5.0).pct == 25.0


def _outcome_case(width_mm=40.0, spacing=None):
    case, specs = build_case()
    pre, post, fu = case.preop_film(), case.postop_film(), case.followup_films()[0]
    case = case.with_pain(pre.sop_instance_uid, PainScore(8))
    case = case.with_pain(post.sop_instance_uid, PainScore(3))
    case = case.with_pain(fu.sop_instance_uid, PainScore(2, odi=30))
    case = case.with_level_procedure(LevelProcedure("L1", "PKP", "bilateral", "high", 4.5,
                                                    width_mm))
    case = case.with_leak_region(post.sop_instance_uid, "L1",
                                 LeakRegion("paravertebral", ((1, 1), (9, 1), (5, 8))))
    return case, specs


def test_case_summary_against_constructed_bodies():
    case, _ = _outcome_case()
    summary = summarize_outcomes(case, compare(case, calibrations=cals(case)))
    assert [(p.label, p.vas, p.odi) for p in summary.pain] == [
        ("Pre-operative", 8.0, None), ("Post-operative", 3.0, None),
        ("Follow-up (3 months)", 2.0, 30.0)]
    assert [(c.to_label, c.absolute, c.pct) for c in summary.pain_changes] == [
        ("Post-operative", -5.0, -62.5), ("Follow-up (3 months)", -6.0, -75.0)]
    # L1 on the post-operative film (tests.measure.test_comparison POST): Ha 22, Hm 25,
    # Hp 28.5 mm, inferior endplate 36 mm, superior √(36² + 6.5²)
    (vol,) = summary.volumes
    depth = (36.0 + math.hypot(36.0, 6.5)) / 2
    mean_h = (22.0 + 25.0 + 28.5) / 3
    expected_ml = math.pi * (depth / 2) * (40.0 / 2) * mean_h / 1000
    assert vol.film_label == "Post-operative"
    assert vol.depth_mm == pytest.approx(depth, abs=0.01)
    assert vol.mean_height_mm == pytest.approx(mean_h, abs=0.01)
    assert vol.volume_ml == pytest.approx(expected_ml, abs=0.01)
    assert vol.fill_pct == pytest.approx(4.5 / expected_ml * 100, abs=0.01)
    assert "Imager Pixel Spacing" in vol.calibration
    kinds = [(c.kind, c.level) for c in summary.complications]
    assert ("leakage", "L1") in kinds
    # the constructed follow-up has L2 collapsed 30 → 23 mm: a new deformity
    assert ("new_deformity", "L2") in kinds
    leak = next(c for c in summary.complications if c.kind == "leakage")
    assert leak.text == "L1: cement leakage (paravertebral soft tissue) on the post-operative film"


def test_volume_unknown_without_width_or_calibration():
    case, _ = _outcome_case(width_mm=None)
    (vol,) = summarize_outcomes(case, compare(case, calibrations=cals(case))).volumes
    assert vol.volume_ml is None and vol.fill_pct is None
    assert vol.reason == "transverse width not recorded"
    assert vol.depth_mm is not None  # the depth is still measured
    case, _ = _outcome_case()
    none = Calibration(CalibrationSource.NONE, 1.0, 1.0)
    (vol,) = summarize_outcomes(case, compare(case, calibrations=cals(case, none))).volumes
    assert vol.volume_ml is None and "uncalibrated" in vol.reason


def test_unknown_leakage_is_no_complication():
    case, _ = _outcome_case()
    post = case.postop_film().sop_instance_uid
    case = case.with_cement(post, CementFinding("L1", leakage=None))
    summary = summarize_outcomes(case, compare(case, calibrations=cals(case)))
    assert [c.kind for c in summary.complications] == ["new_deformity"]
    assert case.postop_film().cement_at("L1").leakage is None
