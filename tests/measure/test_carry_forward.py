"""Carry-forward on synthetic series whose ground truth is known by construction.

The films are rendered by the synthetic generator at a coarse 0.3–0.34 mm pixel spacing (to
keep the suite fast): a pre-operative source with an L1 wedge fracture, and targets of the same
patient taken differently (another tilt, vertical and horizontal position, magnification,
pixel spacing, facing) after kyphoplasty, where L1's anterior height is restored by 5.75 mm at
the detector and cement fills the body. When written, the untreated levels' proposals were
about 0.05–0.3 mm from the truth (median below 0.1 mm) and L1 was flagged with a superior
endplate shift of about 6 mm; the assertions below are bounds, not those outputs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ovcf_viewer.devtools.synthetic import FilmSpec, patient_spine, render_film
from ovcf_viewer.measure.carry_forward import Film, carry_forward

CORNERS = ("sa", "sp", "ia", "ip")
UNTREATED = ("T11", "T12", "L2", "L3", "L4", "L5")


def _film(spec: FilmSpec):
    rendered = render_film(spec)
    return rendered, Film(rendered.pixels, spec.row_mm, spec.col_mm)


@pytest.fixture(scope="module")
def source():
    return _film(FilmSpec(rows=1000, cols=700, row_mm=0.32, col_mm=0.32, tilt_deg=3.0,
                          seed=11, spine=patient_spine("preop")))


@pytest.fixture(scope="module")
def moved_target():
    """Post-op: rotated 7° against the source, 10 % more magnification, shifted, finer and
    NON-square pixels."""
    return _film(FilmSpec(rows=1150, cols=1000, row_mm=0.30, col_mm=0.26, tilt_deg=-4.0,
                          magnification=1.265, vertical_shift_mm=12.0, anterior_margin=0.36,
                          seed=12, spine=patient_spine("postop")))


def _errors_mm(result, truth, film: Film) -> dict[str, dict[str, float]]:
    return {
        level: {
            name: math.hypot((xy[0] - truth[level][name][0]) * film.col_mm,
                             (xy[1] - truth[level][name][1]) * film.row_mm)
            for name, xy in proposal.points.items()
        }
        for level, proposal in result.proposals.items()
    }


def test_untreated_levels_land_within_a_millimetre(source, moved_target):
    (src_render, src), (tgt_render, tgt) = source, moved_target
    result = carry_forward(src, src_render.landmarks, tgt)
    errors = _errors_mm(result, tgt_render.landmarks, tgt)
    untreated = [e for level in UNTREATED for e in errors[level].values()]
    assert np.median(untreated) < 1.0
    assert max(untreated) < 2.0
    for level in UNTREATED:
        assert not result.proposals[level].flagged, result.proposals[level].reason_text
        assert result.proposals[level].confidence > 0.5


def test_treated_level_is_flagged_and_follows_its_endplate(source, moved_target):
    (src_render, src), (tgt_render, tgt) = source, moved_target
    result = carry_forward(src, src_render.landmarks, tgt)
    l1 = result.proposals["L1"]
    assert l1.flagged
    assert "shape changed" in l1.reason_text
    assert l1.endplate_shift_mm[0] > 3.0  # the restored anterior height (5.75 mm × 1.1)
    assert result.flagged_levels == ["L1"]
    errors = _errors_mm(result, tgt_render.landmarks, tgt)["L1"]
    # A rigid copy would leave sa about 6 mm short; following the endplate brings it close.
    assert errors["sa"] < 2.5
    assert errors["ip"] < 1.0


def test_a_film_taken_facing_the_other_way_is_mirrored(source):
    (src_render, src) = source
    tgt_render, tgt = _film(FilmSpec(rows=1000, cols=700, row_mm=0.32, col_mm=0.32,
                                     facing="right", tilt_deg=-1.0, seed=13,
                                     spine=patient_spine("preop")))
    result = carry_forward(src, src_render.landmarks, tgt)
    assert np.linalg.det(result.global_matrix[:, :2]) < 0
    errors = _errors_mm(result, tgt_render.landmarks, tgt)
    everything = [e for level in errors for e in errors[level].values()]
    assert np.median(everything) < 1.0
    assert not result.flagged_levels  # same anatomy: nothing changed shape


def test_a_film_framed_lower_still_finds_each_level(source):
    """The spine region of a source with all seven levels spans most of the film: the search
    must still reach a target framed 25 mm lower, not settle one level off."""
    src_render, src = source
    tgt_render, tgt = _film(FilmSpec(rows=1000, cols=700, row_mm=0.32, col_mm=0.32,
                                     tilt_deg=1.0, vertical_shift_mm=25.0, seed=14,
                                     spine=patient_spine("preop")))
    visible = {lv: pts for lv, pts in src_render.landmarks.items()
               if lv in tgt_render.landmarks}
    result = carry_forward(src, visible, tgt)
    errors = _errors_mm(result, tgt_render.landmarks, tgt)
    assert max(e for level in errors for e in errors[level].values()) < 1.0


def test_partial_and_four_corner_levels(source, moved_target):
    (src_render, src), (tgt_render, tgt) = source, moved_target
    landmarks = {
        "L2": {k: v for k, v in src_render.landmarks["L2"].items() if k in CORNERS},
        "L3": {"sa": src_render.landmarks["L3"]["sa"]},  # incomplete: not carried
    }
    result = carry_forward(src, landmarks, tgt)
    assert list(result.proposals) == ["L2"]
    assert set(result.proposals["L2"].points) == {"sa", "sp", "ia", "ip"}
    errors = _errors_mm(result, tgt_render.landmarks, tgt)["L2"]
    assert max(errors.values()) < 1.5


def test_nothing_to_carry_is_a_clear_error(source):
    src = source[1]
    with pytest.raises(ValueError, match="four corners"):
        carry_forward(src, {"L1": {"sa": (1.0, 2.0)}}, src)
    with pytest.raises(ValueError, match="2-D"):
        Film(np.zeros((3, 3, 3)), 0.1, 0.1)
