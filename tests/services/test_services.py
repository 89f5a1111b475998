"""The shared use cases on constructed geometry: the suitability pipeline chooses the film the
way docs/clinical-reference.md §6 says and measures at the given levels; the comparison service
calibrates films from their image headers where the pure comparison is given nothing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.measure import comparison
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services import compare as compare_service
from ovcf_viewer.services.suitability import evaluate_for, measured_for
from ovcf_viewer.suitability import FilmMeasurements, Findings, load_rules
from tests.spine_builder import place, stack

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
RULES = load_rules()


def _film(l1_anterior_mm: float):
    """T12, L1, L2 with 27 mm bodies; L1 (index) wedged to ``l1_anterior_mm``."""
    specs = stack([("T12", 27.0, 27.0, 27.0), ("L1", l1_anterior_mm, 25.0, 27.0),
                   ("L2", 27.0, 27.0, 27.0)])
    cal = Calibration(CalibrationSource.DETECTOR, 0.15, 0.15)
    return measure_image(place(specs, index_levels=("L1",)), cal)


def test_measured_on_the_latest_preoperative_film_with_earlier_ones_for_progression():
    films = [
        FilmMeasurements("post-operative film", _film(26.0), "postop", "2024-03-10", 0),
        FilmMeasurements("pre-operative film 2", _film(18.0), "preop", "2024-03-01", 1),
        FilmMeasurements("pre-operative film 1", _film(22.0), "preop", "2024-01-05", 2),
    ]
    choice = measured_for(films, rules=RULES, index_levels=["L1"])
    assert choice.current.label == "pre-operative film 2"
    assert [f.label for f in choice.earlier] == ["pre-operative film 1"]
    expected = (1 - 18.0 / 27.0) * 100  # the chosen film's L1, not the post-operative one
    assert math.isclose(choice.measured.worst_height_reduction_pct.value, expected,
                        abs_tol=0.01)
    assert choice.measured.deformity_progression.value is True  # 18.5 % → 33.3 %
    result = evaluate_for(films, Findings(), rules=RULES, index_levels=["L1"])
    assert result.why == choice.why and "latest pre-operative film" in result.why
    assert result.evaluation.measured == choice.measured


def test_without_films_the_pipeline_says_so():
    with pytest.raises(ValueError, match="no films"):
        measured_for([], rules=RULES)


@pytest.mark.skipif(not (SAMPLE / "pre.json").is_file(), reason="sample case not generated")
def test_comparison_service_reads_the_image_headers_the_pure_comparison_is_not_given():
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post")])
    served = compare_service.compare(case, Settings())
    assert [f.calibration.source for f in served.films] == [CalibrationSource.DETECTOR] * 2
    pure = comparison.compare(case, Settings())
    assert not any(f.calibration.is_calibrated for f in pure.films)
    assert any("no calibration given; lengths in pixels" in n for n in pure.notes)
    given = {f.sop_instance_uid: f.calibration for f in served.films}
    again = comparison.compare(case, Settings(), given)
    assert [f.calibration for f in again.films] == [f.calibration for f in served.films]
