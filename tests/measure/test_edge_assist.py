"""Edge assist against synthetic bodies whose corners and endplates are known exactly.

A bright rectangle covering pixels ``x0..x1-1``, ``y0..y1-1`` has its geometric corner at
``(x0 - 0.5, y0 - 0.5)`` (pixel centres at integers, docs/clinical-reference.md §1) and its superior
edge on the line ``y = y0 - 0.5``.
"""

import numpy as np
import pytest

from ovcf_viewer.measure.edge_assist import snap_corner
from ovcf_viewer.model.calibration import Calibration, CalibrationSource

X0, Y0, X1, Y1 = 120, 100, 320, 300
CORNER = (X0 - 0.5, Y0 - 0.5)


def body(noise=20.0, seed=0):
    rng = np.random.default_rng(seed)
    img = np.full((400, 420), 500.0)
    img[Y0:Y1, X0:X1] = 1500.0
    img += rng.normal(0.0, noise, img.shape)
    return np.clip(img, 0, 4095).astype(np.uint16)


def cal(row_mm=0.15, col_mm=0.15):
    return Calibration(CalibrationSource.DETECTOR, row_mm, col_mm)


@pytest.mark.parametrize("offset", [(0, 0), (4, 4), (-6, -3), (5, -5)])
def test_corner_moves_onto_the_corner(offset):
    click = (CORNER[0] + offset[0], CORNER[1] + offset[1])
    (x, y), moved = snap_corner(body(), click, "sa", cal())
    assert x == pytest.approx(CORNER[0], abs=0.35)  # 0.05 mm
    assert y == pytest.approx(CORNER[1], abs=0.35)
    expected = cal().distance(click, CORNER)
    assert moved == pytest.approx(expected, abs=0.05)


def test_corner_beyond_the_radius_is_not_reached():
    click = (CORNER[0] + 20, CORNER[1] + 20)  # 4.2 mm away at 0.15 mm/px
    (x, y), moved = snap_corner(body(), click, "ip", cal(), radius_mm=2.0)
    assert (x, y) == click and moved == 0.0


def test_flat_bone_does_not_move_and_a_lone_edge_is_only_crossed():
    image = body()
    assert snap_corner(image, (220.0, 200.0), "sa", cal()) == ((220.0, 200.0), 0.0)
    # Near the superior endplate, far from any corner: onto the edge, not along it.
    (x, y), moved = snap_corner(image, (220.0, 104.0), "sa", cal())
    assert y == pytest.approx(Y0 - 0.5, abs=0.25)
    assert x == pytest.approx(220.0, abs=0.05)
    assert moved == pytest.approx(4.5 * 0.15, abs=0.05)


def test_middle_point_moves_across_the_endplate_only():
    (x, y), moved = snap_corner(body(), (220.0, 105.0), "sm", cal())
    assert y == pytest.approx(Y0 - 0.5, abs=0.25)
    assert x == pytest.approx(220.0, abs=0.05)  # keeps its place along the endplate
    assert moved == pytest.approx(5.5 * 0.15, abs=0.05)


def test_radius_is_round_in_mm_with_non_square_pixels():
    # col 0.10 mm, row 0.20 mm: 2 mm is 20 columns but only 10 rows.
    image = body()
    below = (CORNER[0] + 3, CORNER[1] + 14)  # 2.8 mm below the corner: out of reach
    (x, y), _ = snap_corner(image, below, "sa", cal(0.20, 0.10))
    assert y == pytest.approx(below[1], abs=0.05)  # only onto the wall beside it
    assert x == pytest.approx(CORNER[0], abs=0.25)
    beside = (CORNER[0] + 14, CORNER[1])  # 1.4 mm beside it: within reach
    (x, y), moved = snap_corner(image, beside, "sa", cal(0.20, 0.10))
    assert cal(0.20, 0.10).distance((x, y), CORNER) < 0.15  # mm; the wall is at the rim
    assert moved == pytest.approx(1.4, abs=0.15)


def test_unknown_names_off_image_and_rgb():
    image = body()
    assert snap_corner(image, (CORNER[0] + 3, CORNER[1]), "xx", cal())[1] == 0.0
    assert snap_corner(image, (-5.0, 10.0), "sa", cal())[1] == 0.0
    rgb = np.repeat(image[..., None], 3, axis=2)
    (x, y), _ = snap_corner(rgb, (CORNER[0] + 3, CORNER[1] + 3), "sa", cal())
    assert (x, y) == pytest.approx(CORNER, abs=0.35)


def test_uncalibrated_reports_pixels():
    (x, y), moved = snap_corner(body(), (CORNER[0] + 6, CORNER[1]), "sa", Calibration.none())
    assert (x, y) == pytest.approx(CORNER, abs=0.2)
    assert moved == pytest.approx(6.0, abs=0.2)
