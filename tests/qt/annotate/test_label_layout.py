"""Vertebra labels on the image are laid out in screen space (the requirement: "screenshots of a
fully annotated film show readable labels").

The geometry checked here is built from the annotation files themselves (wall midpoints of
sa–ia and sp–ip, docs/clinical-reference.md §1) and from the viewport and corner-overlay layout that
:func:`ovcf_viewer.qt.viewer.overlays.paint_overlays` documents (8 px from the edges, font at least
9 pt), never from the layout code's own numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

from ovcf_viewer.qt.annotate.landmark_items import LABEL_FONT_PT

SAMPLES = Path(__file__).resolve().parents[3] / "sample_dicom"
PRE = SAMPLES / "case-0001"

pytestmark = [
    pytest.mark.skipif(not (PRE / "pre.json").is_file(), reason="sample case not generated"),
]

#: A label farther than this (screen pixels) from its wall must have a leader line.
NEAR_PX = 40.0


def _points(json_path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    return {v["level"]: {k: (float(p[0]), float(p[1])) for k, p in v["points"].items()}
            for v in doc["vertebrae"]}


@pytest.fixture
def annotated(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_paths([PRE / "pre.dcm"])
    assert window.open_annotations(PRE / "pre.json")
    layer = window.annotation_controller.layer
    qtbot.waitUntil(lambda: len(layer.labels) == 7)
    yield window, _points(PRE / "pre.json")
    window.close()
    QApplication.processEvents()


def overlay_boxes(view) -> list[QRectF]:
    """The corner overlays' text extents in viewport pixels, as paint_overlays lays them
    out."""
    corners = view.overlay_corners()
    viewport = QRectF(view.viewport().rect())
    font = QFont(view.viewport().font())
    font.setPointSizeF(max(font.pointSizeF(), 9.0))
    metrics = QFontMetricsF(font)
    boxes = []
    for lines, right, bottom in ((corners.top_left, False, False),
                                 (corners.top_right, True, False),
                                 (corners.bottom_left, False, True),
                                 (corners.bottom_right, True, True)):
        if not lines:
            continue
        width = max(metrics.horizontalAdvance(line) for line in lines)
        height = metrics.lineSpacing() * len(lines)
        left = viewport.right() - 8 - width if right else viewport.left() + 8
        top = viewport.bottom() - 8 - height if bottom else viewport.top() + 8
        boxes.append(QRectF(left, top, width, height))
    return boxes


def wall_midpoints(points):
    def mid(a, b):
        return ((points[a][0] + points[b][0]) / 2, (points[a][1] + points[b][1]) / 2)

    return mid("sa", "ia"), mid("sp", "ip")


def screen_boxes(window, truth):
    """Label box, anchor (viewport px) and whether it has a leader, for each label of a
    vertebra with a point on screen; checks the others are hidden."""
    view = window.view
    layer = window.annotation_controller.layer
    viewport = QRectF(view.viewport().rect())
    shown = {}
    for level, points in truth.items():
        label = layer.labels[level]
        on_screen = any(viewport.contains(view.image_to_view(*xy)) for xy in points.values())
        if not on_screen:
            assert not label.isVisible(), level
            continue
        assert label.isVisible() and label.isVisibleTo(layer.root), level
        box = label.deviceTransform(view.viewportTransform()).mapRect(label.boundingRect())
        anchor = view.image_to_view(label.pos().x(), label.pos().y())
        walls = [view.image_to_view(*xy) for xy in wall_midpoints(points)]
        # The anchor is the anterior or the posterior wall's midpoint.
        assert min(math.hypot(anchor.x() - w.x(), anchor.y() - w.y()) for w in walls) < 0.01
        shown[level] = (box, anchor, label.has_leader(), label)
    return shown


def check_layout(window, truth, expect_at_least=1):
    view = window.view
    viewport = QRectF(view.viewport().rect())
    shown = screen_boxes(window, truth)
    assert len(shown) >= expect_at_least
    overlays = overlay_boxes(view)
    levels = list(shown)
    for level, (box, anchor, leader, label) in shown.items():
        assert viewport.contains(box), (level, box, viewport)
        for overlay in overlays:
            assert not box.intersects(overlay), (level, box, overlay)
        # Near its wall, or joined to it by a leader line that ends on the box.
        nearest = QPointF(min(max(anchor.x(), box.left()), box.right()),
                          min(max(anchor.y(), box.top()), box.bottom()))
        distance = math.hypot(nearest.x() - anchor.x(), nearest.y() - anchor.y())
        assert distance <= NEAR_PX or leader, (level, distance)
        if leader:
            line = label.leader.line()
            end = label.deviceTransform(view.viewportTransform()).map(line.p2())
            assert box.adjusted(-1.5, -1.5, 1.5, 1.5).contains(end), (level, end, box)
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            assert not shown[a][0].intersects(shown[b][0]), (a, b, shown[a][0], shown[b][0])
    # Text keeps its on-screen size whatever the zoom: three lines of 9 pt at least.
    font = QFont()
    font.setPointSizeF(9.0)
    assert LABEL_FONT_PT >= 9.0
    for box, *_ in shown.values():
        assert box.height() >= 3 * QFontMetricsF(font).lineSpacing()
    return shown


ORIENTATIONS = {
    "as stored": (),
    "90 left": ("rotate_left",),
    "90 right": ("rotate_right",),
    "180": ("rotate_right", "rotate_right"),
    "flipped": ("flip_horizontal",),
}


@pytest.mark.parametrize("zoom", ["fit", 2.0])
@pytest.mark.parametrize("orientation", list(ORIENTATIONS))
def test_labels_inside_apart_and_near_their_vertebra(annotated, qtbot, orientation, zoom):
    window, truth = annotated
    view = window.view
    for turn in ORIENTATIONS[orientation]:
        getattr(view, turn)()
    view.fit()
    if zoom != "fit":
        # Zoom about the L1 body so several vertebrae are on screen.
        l1 = truth["L1"]
        centre = (sum(x for x, _ in l1.values()) / 6, sum(y for _, y in l1.values()) / 6)
        view.set_zoom(zoom, view.image_to_view(*centre))
        view.pan_by(*(QPointF(view.viewport().width() / 2, view.viewport().height() / 2)
                      - view.image_to_view(*centre)).toTuple())
    # At 200 % a rotated film shows little more than L1 across the narrow viewport.
    shown = check_layout(window, truth, expect_at_least=7 if zoom == "fit" else 1)
    assert "L1" in shown


def test_upright_film_reads_down_the_spine_in_one_column(annotated):
    window, truth = annotated
    window.view.fit()
    shown = screen_boxes(window, truth)
    order = sorted(truth, key=lambda level: sum(y for _, y in truth[level].values()))
    tops = [shown[level][0].top() for level in order]
    assert tops == sorted(tops)  # T11 at the top … L5 at the bottom
    # One column: every box overlaps every other across the spine (horizontally).
    lefts = [box.left() for box, *_ in shown.values()]
    rights = [box.right() for box, *_ in shown.values()]
    assert max(lefts) < min(rights)
    # All on the same side of the spine (anterior or posterior walls).
    sides = set()
    for level, (_box, anchor, _, _) in shown.items():
        anterior, posterior = (window.view.image_to_view(*w)
                               for w in wall_midpoints(truth[level]))
        sides.add("anterior" if math.hypot(anchor.x() - anterior.x(),
                                           anchor.y() - anterior.y()) < 0.01 else "posterior")
    assert len(sides) == 1


def test_rotation_and_resize_lay_labels_out_again(annotated, qtbot):
    """The failure the issue reports: after a quarter turn the labels lay on each other."""
    window, truth = annotated
    view = window.view
    view.rotate_right()
    check_layout(window, truth, expect_at_least=7)
    before = view.viewport().size()
    window.resize(1800, 1000)
    qtbot.waitUntil(lambda: view.viewport().size() != before)
    check_layout(window, truth, expect_at_least=7)
    view.rotate_left()
    check_layout(window, truth, expect_at_least=7)


def test_a_caller_passing_the_transform_without_scroll_or_viewport(annotated):
    """The case view hands over ``view.transform()`` (no scroll) and no viewport; the labels
    must still be laid out in the real viewport (they were cut off at its left edge)."""
    window, truth = annotated
    view = window.view
    view.set_zoom(0.5)
    window.annotation_controller.layer.set_view_transform(view.transform())
    check_layout(window, truth, expect_at_least=3)


def test_right_facing_cr_film(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    variant = SAMPLES / "variants" / "cr_mono1_right"
    assert window.open_paths([variant.with_suffix(".dcm")])
    assert window.open_annotations(variant.with_suffix(".json"))
    truth = _points(variant.with_suffix(".json"))
    qtbot.waitUntil(lambda: len(window.annotation_controller.layer.labels) == len(truth))
    window.view.fit()
    check_layout(window, truth, expect_at_least=len(truth))
    window.close()


def test_labels_are_hidden_rather_than_overlapping_in_a_tiny_viewport(annotated, qtbot):
    window, truth = annotated
    before = window.view.viewport().size()
    window.resize(1100, 800)  # the docks leave the image about 100 px
    qtbot.waitUntil(lambda: window.view.viewport().size() != before)
    view = window.view
    labels = window.annotation_controller.layer.labels.values()
    boxes = [label.deviceTransform(view.viewportTransform()).mapRect(label.boundingRect())
             for label in labels if label.isVisible()]
    viewport = QRectF(view.viewport().rect())
    assert all(viewport.contains(box) for box in boxes)
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_vertebra_label_lines_are_short(annotated):
    window, _ = annotated
    layer = window.annotation_controller.layer
    label = layer.labels["L1"].text()
    assert "mm at detector" in label and "Genant 2" in label and "Index: kyphosis" in label
    font = QFont()
    font.setPointSizeF(LABEL_FONT_PT)
    metrics = QFontMetricsF(font)
    assert max(metrics.horizontalAdvance(line) for line in label.split("\n")) < 180


def test_case_view_side_by_side_labels_are_not_cut_off(qtbot):
    """Issue report (b): in the case window's fitted side-by-side view the pre-operative
    film's labels were cut off at the left edge ("…ant 2 wedge")."""
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.model.settings import Settings
    from ovcf_viewer.qt.case.case_view import CaseController, CaseWorkspace

    controller = CaseController(Settings())
    controller.set_case(load_case_inputs([PRE / f"{n}.json" for n in ("pre", "post")]))
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1600, 900)
    widget.show()
    qtbot.waitExposed(widget)
    for pane in (widget.case_view.left, widget.case_view.right):
        qtbot.waitUntil(lambda pane=pane: len(pane.layer.labels) == 7)
        viewport = QRectF(pane.view.viewport().rect())
        boxes = []
        for level, label in pane.layer.labels.items():
            assert label.isVisible(), level
            box = label.deviceTransform(pane.view.viewportTransform()).mapRect(
                label.boundingRect())
            assert viewport.contains(box), (level, box, viewport)
            boxes.append(box)
        assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    widget.close()


def test_vertebra_labels_keep_off_a_ruler_value(annotated):
    from tests.qt.annotate.test_landmarks_gui import drag

    window, truth = annotated
    view = window.view
    controller = window.annotation_controller
    view.fit()
    # A ruler behind the L1-L2 posterior walls, where the fitted film's labels sit.
    controller.set_mode("ruler")
    drag(view, (900.0, 760.0), (1150.0, 800.0))
    controller.set_mode("navigate")
    assert len(controller.model.tools) == 1
    value = next(iter(controller.layer.tool_labels.values()))
    value_box = value.deviceTransform(view.viewportTransform()).mapRect(value.boundingRect())
    shown = check_layout(window, truth, expect_at_least=7)
    for level, (box, *_rest) in shown.items():
        assert not box.intersects(value_box), (level, box, value_box)
