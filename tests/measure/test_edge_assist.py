"""Edge assist against synthetic bodies whose corners and endplates are known exactly.

A bright rectangle covering pixels ``x0..x1-1``, ``y0..y1-1`` has its geometric corner at
``(x0 - 0.5, y0 - 0.5)`` (pixel centres at integers, docs/clinical-reference.md §1) and its superior
edge on the line ``y = y0 - 0.5``.
"""

import math

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
    # The reach of the corner search itself (the 1 mm move cap is tested on its own).
    (x, y), moved = snap_corner(body(), click, "sa", cal(), max_move_mm=math.inf)
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
    (x, y), _ = snap_corner(image, below, "sa", cal(0.20, 0.10), max_move_mm=math.inf)
    assert y == pytest.approx(below[1], abs=0.05)  # only onto the wall beside it
    assert x == pytest.approx(CORNER[0], abs=0.25)
    beside = (CORNER[0] + 14, CORNER[1])  # 1.4 mm beside it: within reach
    (x, y), moved = snap_corner(image, beside, "sa", cal(0.20, 0.10), max_move_mm=math.inf)
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


def test_a_move_longer_than_a_click_error_is_refused():
    # 1.2 mm from the corner (8 px at 0.15 mm): within the 2 mm search, beyond the 1 mm cap.
    click = (CORNER[0] + 8, CORNER[1])
    assert snap_corner(body(), click, "sa", cal()) == (click, 0.0)
    (x, y), moved = snap_corner(body(), click, "sa", cal(), max_move_mm=1.5)
    assert cal().distance((x, y), CORNER) < 0.1 and moved == pytest.approx(1.2, abs=0.1)
    near = (CORNER[0] + 4, CORNER[1] + 3)  # 0.75 mm: moved
    (x, y), moved = snap_corner(body(), near, "sa", cal())
    assert cal().distance((x, y), CORNER) < 0.1 and 0.0 < moved <= 1.0


def _doubled_endplate(second_rim: float) -> np.ndarray:
    """The body (1500 on 500) with a second, parallel superior rim 1.8 mm (12 px) above the
    first, as a slightly oblique body projects its two endplate rims: a band whose upper
    edge steps up by ``second_rim`` × 1000, between them 600."""
    img = body(noise=5.0).astype(float)
    if second_rim:
        img[Y0 - 12:Y0 - 9, X0:X1] = 500.0 + second_rim * 1000.0
        img[Y0 - 9:Y0, X0:X1] = 600.0
    return img


def test_doubled_endplate_rims_leave_a_middle_point_where_it_was_clicked():
    click = (220.0, Y0 - 6.5)  # midway between the two rims, 0.9 mm from each
    single = _doubled_endplate(0.0)
    (_, y), moved = snap_corner(single, click, "sm", cal())
    assert moved > 0 and y == pytest.approx(Y0 - 0.5, abs=0.3)
    doubled = _doubled_endplate(0.9)
    assert snap_corner(doubled, click, "sm", cal()) == (click, 0.0)
    # Turning the guard off shows what it prevents: a jump to one rim or the other.
    assert snap_corner(doubled, click, "sm", cal(), ambiguity_ratio=math.inf)[1] > 0
    # A faint second rim (a third as strong) is no reason to refuse.
    (_, y), moved = snap_corner(_doubled_endplate(0.35), (220.0, Y0 - 3.0), "sm", cal())
    assert moved > 0 and y == pytest.approx(Y0 - 0.5, abs=0.3)
