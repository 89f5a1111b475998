"""The vertebra label layout (:func:`ovcf_viewer.render.label_layout.plan_label_layout`) on
constructed geometry in viewport pixels, without Qt: labels beside the anterior walls when they
fit (10 px gap, centred on the wall), else beside the posterior walls, inside the bounds, off
the overlays and each other, with leader lines when far from their wall. The same layout on a
real window is checked in tests/qt/annotate/test_label_layout.py."""

from __future__ import annotations

import math

import pytest

from ovcf_viewer.render.label_layout import LabelRequest, plan_label_layout


def _column(count, anterior_x, posterior_x, top=100.0, step=80.0, size=(150.0, 50.0)):
    return [LabelRequest(f"V{i}", size, (anterior_x, top + i * step),
                         (posterior_x, top + i * step)) for i in range(count)]


def test_plan_puts_labels_beside_the_anterior_walls_when_they_fit():
    requests = _column(4, anterior_x=300.0, posterior_x=400.0)
    plan = plan_label_layout(requests, (0.0, 0.0, 800.0, 600.0), [], [])
    for i, request in enumerate(requests):
        box = plan[request.level].box
        # Left of the anterior wall by the 10 px gap, centred on it vertically.
        assert box == pytest.approx((300.0 - 10 - 150, 100 + i * 80 - 25,
                                     300.0 - 10, 100 + i * 80 + 25))
        assert not plan[request.level].leader


def test_plan_takes_the_posterior_side_when_the_anterior_has_no_room():
    requests = _column(4, anterior_x=100.0, posterior_x=200.0)
    handles = [(x, r.anterior[1] + dy) for r in requests
               for x in (100.0, 150.0, 200.0) for dy in (-20.0, 20.0)]
    plan = plan_label_layout(requests, (0.0, 0.0, 500.0, 600.0), [], handles)
    for request in requests:
        left, top, right, bottom = plan[request.level].box
        # Beyond the posterior wall and the canal behind it (half the 100 px wall distance),
        # with the 4 px label spacing, since there is room there.
        assert left == pytest.approx(200.0 + 50.0 + 4.0) and right == pytest.approx(404.0)
        assert plan[request.level].anchor == request.posterior


def test_plan_for_a_horizontal_spine_stacks_along_x_and_stays_off_overlays():
    # A spine rotated a quarter turn: walls above (anterior, y=300) and below (y=400).
    requests = [LabelRequest(f"V{i}", (150.0, 50.0), (100.0 + i * 60, 300.0),
                             (100.0 + i * 60, 400.0)) for i in range(6)]
    overlay = (0.0, 0.0, 200.0, 60.0)
    bounds = (0.0, 0.0, 500.0, 700.0)
    plan = plan_label_layout(requests, bounds, [overlay], [])
    boxes = [plan[r.level].box for r in requests]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        assert bounds[0] <= a[0] and a[2] <= bounds[2] and bounds[1] <= a[1] and a[3] <= bounds[3]
        assert not (a[0] < overlay[2] and a[2] > overlay[0] and a[1] < overlay[3]
                    and a[3] > overlay[1])
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and a[2] > b[0] and a[1] < b[3] and a[3] > b[1])
    # Those that could not sit beside their wall got leader lines.
    for r in requests:
        p = plan[r.level]
        box = p.box
        nearest = (min(max(p.anchor[0], box[0]), box[2]), min(max(p.anchor[1], box[1]), box[3]))
        if math.dist(nearest, p.anchor) > 24.0:
            assert p.leader


def test_plan_leaves_out_a_label_with_no_room_rather_than_overlap():
    requests = _column(3, anterior_x=50.0, posterior_x=60.0, top=30.0, step=10.0,
                       size=(90.0, 50.0))
    plan = plan_label_layout(requests, (0.0, 0.0, 100.0, 60.0), [], [])
    assert len(plan) == 1


def test_plan_keeps_off_the_posterior_walls_when_the_anterior_side_has_room():
    """Anterior corners stick out 10 px in front of the wall midpoints (a tilted body), so
    the anterior labels must sit 6 px farther out than the 10 px gap — that costs more than
    the posterior side's small penalty, yet the anterior side has room (no handle covered, no
    leader), so the posterior walls and the canal stay clear."""
    requests = _column(4, anterior_x=300.0, posterior_x=400.0)
    handles = [(x, r.anterior[1] + dy) for r in requests
               for x in (290.0, 400.0) for dy in (-20.0, 20.0)]
    plan = plan_label_layout(requests, (0.0, 0.0, 800.0, 600.0), [], handles)
    for request in requests:
        placement = plan[request.level]
        assert placement.anchor == request.anterior
        left, top, right, bottom = placement.box
        assert right <= 290.0 - 5.0  # clear of the protruding corners' handles
        assert not placement.leader


def test_posterior_labels_stay_at_the_wall_when_the_canal_side_has_no_room():
    """No room anteriorly and only 170 px behind the posterior wall: a 150 px label cannot
    clear the canal and still fit, so it sits beside the wall rather than be left out."""
    requests = _column(3, anterior_x=100.0, posterior_x=200.0)
    handles = [(x, r.anterior[1] + dy) for r in requests
               for x in (100.0, 150.0, 200.0) for dy in (-20.0, 20.0)]
    plan = plan_label_layout(requests, (0.0, 0.0, 370.0, 600.0), [], handles)
    for request in requests:
        assert plan[request.level].anchor == request.posterior
        assert plan[request.level].box[0] == pytest.approx(210.0)


def test_labels_over_handles_counts_a_handle_disc_touching_a_box():
    from ovcf_viewer.render.label_layout import (
        HANDLE_RADIUS_PX,
        LabelPlacement,
        labels_over_handles,
    )

    plan = {"L1": LabelPlacement("L1", (0.0, 0.0), (100.0, 100.0, 200.0, 120.0), False),
            "L2": LabelPlacement("L2", (0.0, 0.0), (100.0, 200.0, 200.0, 220.0), False)}
    inside, beside = (150.0, 110.0), (200.0 + HANDLE_RADIUS_PX - 1.0, 210.0)
    clear = (200.0 + HANDLE_RADIUS_PX + 1.0, 110.0)
    assert labels_over_handles(plan, [inside]) == ["L1"]
    assert labels_over_handles(plan, [beside]) == ["L2"]  # the disc reaches into the box
    assert labels_over_handles(plan, [clear]) == []
