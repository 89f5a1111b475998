"""Label modes, compact labels, the segmental-kyphosis endplate lines, the selected handle's
name and the loupe, in the application window on the sample study (case-0001 pre-operative
film with its annotation file), driven by keys and the mouse."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from ovcf_viewer.model.settings import load_settings
from tests.qt.annotate.test_tools_by_hand import Hand

PRE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"


def _points(path: Path) -> dict[str, dict[str, tuple[float, float]]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
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


def press_alt(qtbot, window, digit: int) -> None:
    key = getattr(Qt.Key, f"Key_{digit}")
    qtbot.keyClick(window.view, key, Qt.KeyboardModifier.AltModifier)
    QApplication.processEvents()


def test_label_modes_from_the_keyboard_are_a_persisted_setting(annotated, qtbot):
    window, truth = annotated
    controller = window.annotation_controller
    layer = controller.layer
    assert set(layer.shown_labels()) == set(truth)  # all seven by default

    press_alt(qtbot, window, 2)  # index levels only
    assert set(layer.shown_labels()) == {"L1"}
    assert load_settings().label_mode == "index"
    assert controller.label_mode_actions["index"].isChecked()

    press_alt(qtbot, window, 3)  # off, handles kept
    assert layer.shown_labels() == {}
    assert len(layer.handles) == 6 * len(truth)
    assert all(h.isVisible() for h in layer.handles.values())
    assert not any(line.isVisible() for line in layer.endplate_lines)
    assert load_settings().label_mode == "off"

    press_alt(qtbot, window, 1)
    assert set(layer.shown_labels()) == set(truth)
    assert all(line.isVisible() for line in layer.endplate_lines)


def test_the_view_menu_has_the_label_entries(annotated):
    window, _ = annotated
    view_menu = next(a.menu() for a in window.menuBar().actions()
                     if a.text().replace("&", "") == "View")
    labels_menu = next(a.menu() for a in view_menu.actions()
                       if a.menu() is not None and "labels" in a.text())
    texts = [a.text() for a in labels_menu.actions() if not a.isSeparator()]
    assert texts == ["Labels: all vertebrae", "Labels: index levels only",
                     "Labels: off (handles kept)", "Compact labels"]


def test_compact_labels_are_one_line_and_smaller(annotated, qtbot):
    window, truth = annotated
    layer = window.annotation_controller.layer
    full = {level: label.box_size() for level, label in layer.labels.items()}
    press_alt(qtbot, window, 4)
    assert load_settings().compact_labels
    for level, label in layer.labels.items():
        assert label.text().split("\n")[0].startswith(level)
        assert "\n" not in label.text() or "⚠" in label.text()
        width, height = label.box_size()
        assert height < full[level][1] / 2
    assert "kyph." in layer.labels["L1"].text()  # the index level keeps its kyphosis


def test_endplate_lines_lie_on_the_facing_endplates(annotated):
    """L1 is the index level: its kyphosis runs from T12's superior endplate (sp–sa) to L2's
    inferior endplate (ip–ia); each line passes through both corners and beyond them."""
    window, truth = annotated
    lines = window.annotation_controller.layer.endplate_lines
    assert len(lines) == 2
    for item, (level, post, ant) in zip(lines, [("T12", "sp", "sa"), ("L2", "ip", "ia")],
                                        strict=True):
        line = item.line()
        start, end = (line.x1(), line.y1()), (line.x2(), line.y2())
        d = (end[0] - start[0], end[1] - start[1])
        length2 = d[0] ** 2 + d[1] ** 2
        for name in (post, ant):
            p = truth[level][name]
            cross = (p[0] - start[0]) * d[1] - (p[1] - start[1]) * d[0]
            assert abs(cross) / math.sqrt(length2) < 1e-6  # on the line
            t = ((p[0] - start[0]) * d[0] + (p[1] - start[1]) * d[1]) / length2
            assert 0.05 < t < 0.95  # drawn beyond both corners
        assert item.isVisible()


def test_labels_keep_off_the_posterior_walls_with_room_in_front(annotated, qtbot):
    """With room on the anterior side (the film panned so the spine sits right of centre),
    every label sits in front of its anterior wall, clear of the posterior walls."""
    window, truth = annotated
    view = window.view
    view.set_zoom(0.45)
    centre = view.image_to_view(*truth["L1"]["sm"])
    rect = view.viewport().rect()
    view.pan_by(rect.width() * 0.7 - centre.x(), rect.height() / 2 - centre.y())
    QApplication.processEvents()
    layer = window.annotation_controller.layer
    shown = layer.shown_labels()
    assert shown
    # The sample faces left: anterior is towards smaller screen x.
    posterior_x = min(view.image_to_view(*truth[level][n]).x()
                      for level in truth for n in ("sp", "ip"))
    for label in shown.values():
        box = label.deviceTransform(view.viewportTransform()).mapRect(label.boundingRect())
        assert box.right() < posterior_x


def test_selected_handle_is_named_in_the_status_bar_and_a_tag(annotated, qtbot):
    window, truth = annotated
    controller = window.annotation_controller
    view = window.view
    hand = Hand(qtbot, view)
    target = view.image_to_view(*truth["L1"]["sa"]).toPoint()
    hand.click(target)
    assert controller.selection_label.text() == "Selected: L1 sa — superior-anterior corner"
    tag = controller.layer.selection_tag
    assert tag.isVisible() and tag.text() == "L1 sa"
    box = tag.deviceTransform(view.viewportTransform()).mapRect(tag.boundingRect())
    assert math.hypot(box.center().x() - target.x(), box.center().y() - target.y()) < 60
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert controller.selection_label.text() == ""
    assert not tag.isVisible()


def test_loupe_shows_no_label_fragments(annotated, qtbot):
    """At a label's anchor (where the loupe would draw the label's box, at screen size, over
    the magnified film) the loupe looks exactly as it does with every label hidden."""
    window, truth = annotated
    view, layer = window.view, window.annotation_controller.layer
    window.loupe_action.setChecked(True)
    label = layer.labels["L1"]
    anchor = view.image_to_view(label.pos().x(), label.pos().y())
    hand = Hand(qtbot, view)
    hand.move_to(QPoint(round(anchor.x()) + 3, round(anchor.y()) + 3))
    qtbot.waitUntil(window.loupe.isVisible)
    with_labels = window.loupe.grab().toImage()
    for item in layer.labels.values():
        item.setVisible(False)
    QApplication.processEvents()
    without = window.loupe.grab().toImage()
    assert with_labels == without
