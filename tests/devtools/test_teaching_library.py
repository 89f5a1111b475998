"""The synthetic teaching library: each case's construction gives the Genant grade and type
it aims at (measured by the app's own code from the exact landmarks), and together the cases
vary in everything a resident should meet."""

import math

import pytest

from ovcf_viewer.devtools.synthetic import spine_geometry, teaching_spine
from ovcf_viewer.devtools.teaching_library import CASES
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.landmarks import ImageAnnotations, Vertebra
from ovcf_viewer.model.settings import Settings


def landmarks_of(spine, index_level):
    """The construction's landmarks in patient mm as image coordinates at 1 mm/px
    (x = anterior, y = caudal): Genant grades and types are ratios of heights, so the
    film's magnification, spacing, tilt and facing cannot change them."""
    model = ImageAnnotations("2.25.1", "x.dcm")
    for geo in spine_geometry(spine):
        if geo.spec.annotated:
            vertebra = Vertebra(geo.spec.level)
            vertebra.points = {n: (a, -c) for n, (a, c) in geo.points.items()}
            model.vertebrae[geo.spec.level] = vertebra
    model.index_levels = [index_level]
    return model


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.case_id)
def test_each_case_is_the_grade_and_type_it_was_built_as(case):
    spine = case.film_spec().spine
    model = landmarks_of(spine, case.index_level)
    cal = Calibration(CalibrationSource.MANUAL, 1.0, 1.0)
    measured = measure_image(model, cal, Settings())
    genant = measured.vertebrae[case.index_level].genant
    assert genant.grade == case.grade
    assert genant.type == ("none" if case.grade == 0 else case.fracture_type)
    # The neighbours are not fractures: the index level is graded against both.
    assert genant.reference == "adjacent" and len(genant.reference_levels) == 2
    for level, vertebra in measured.vertebrae.items():
        if level != case.index_level:
            assert vertebra.genant.grade == 0, level


def test_the_library_varies_in_what_a_resident_should_meet():
    assert {c.grade for c in CASES} == {0, 1, 2, 3}
    assert {c.fracture_type for c in CASES if c.grade} == {"wedge", "biconcave", "crush"}
    assert {c.region for c in CASES} == {"thoracolumbar", "lumbar"}
    assert {c.facing for c in CASES} == {"left", "right"}
    assert len({c.index_level for c in CASES}) >= 6
    assert any(c.row_mm != c.col_mm for c in CASES)
    assert {c.photometric for c in CASES} == {"MONOCHROME1", "MONOCHROME2"}
    specs = [c.film_spec() for c in CASES]
    assert len({s.exposure_quanta for s in specs}) >= 4  # noise
    assert len({c.contrast() for c in CASES}) >= 6
    assert len({round(s.tilt_deg, 1) for s in specs}) >= 8
    depths = [next(v.depth_mm for v in s.spine if v.level == "L1") for s in specs]
    assert max(depths) / min(depths) > 1.15  # vertebral sizes
    # Lordosis/kyphosis: the angle between T12's and L3's inferior endplates differs widely.
    angles = []
    for s in specs:
        by_level = {g.spec.level: g for g in spine_geometry(s.spine)}
        t12, l3 = by_level["T12"].axis, by_level["L3"].axis
        angles.append(math.degrees(math.atan2(t12[1], t12[0]) - math.atan2(l3[1], l3[0])))
    assert max(angles) - min(angles) > 8.0
    assert len({c.case_id for c in CASES}) == len(CASES)
    assert len({c.seed for c in CASES}) == len(CASES)


def test_titles_do_not_give_the_answer_away():
    for case in CASES:
        title = case.title.lower()
        assert case.fracture_type not in title and "genant" not in title
        assert case.index_level.lower() not in title.split("(")[0]


@pytest.mark.parametrize("kind", ["wedge", "biconcave", "crush"])
def test_teaching_spine_heights_are_built_against_the_neighbours(kind):
    """Grade 2 (32 %) written out: the reduction is of the mean of the two neighbours."""
    spine = teaching_spine(("T12", "L1", "L2"), fracture_level="L1", fracture_type=kind,
                           grade=2, sacrum=False)
    above, own, below = spine
    ref_a = (above.anterior_height_mm + below.anterior_height_mm) / 2
    ref_m = (above.middle_height_mm + below.middle_height_mm) / 2
    ref_p = (above.posterior_height_mm + below.posterior_height_mm) / 2
    worst = {"wedge": own.anterior_height_mm / ref_a, "biconcave": own.middle_height_mm / ref_m,
             "crush": own.posterior_height_mm / ref_p}[kind]
    assert worst == pytest.approx(1 - 0.32)


def test_teaching_spine_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="consecutive"):
        teaching_spine(("T12", "L2"))
    with pytest.raises(ValueError, match="neighbour"):
        teaching_spine(("T12", "L1"), fracture_level="L1", grade=2)
    with pytest.raises(ValueError, match="grade"):
        teaching_spine(("T12", "L1", "L2"), fracture_level="L1", grade=4)
