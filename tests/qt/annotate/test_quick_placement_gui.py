"""Quick placement driven like a hand on the viewport: four corners, two clicks a vertebra,
and landmarks carried forward from another film of the same patient in the application
window (the bundled sample case), accepted, adjusted, rejected and undone."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import CORNER_NAMES, POINT_NAMES, load_annotations
from tests.qt.annotate.test_landmarks_gui import (
    bring_into_view,
    click,
    drag,
    send_mouse,
    setup,  # noqa: F401 (fixture)
    truth,
)
from tests.spine_builder import place, stack

SAMPLES = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"


def hover_click(view, xy) -> None:
    """Move to the point, let the hover land, then press and release there."""
    bring_into_view(view, xy)
    send_mouse(view, QEvent.Type.MouseMove, xy, Qt.MouseButton.NoButton,
               Qt.MouseButton.NoButton)
    QApplication.processEvents()
    click(view, xy)


def key(view, qtbot, which, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(view, which, modifier)


def test_four_corner_mode_by_hand(setup, tmp_path):  # noqa: F811
    view, controller = setup
    model_truth = truth()
    combo = controller.placement_combo
    combo.setCurrentIndex(combo.findData("four_corner"))
    assert controller.placement.mode == "four_corner"
    controller.level_combo.setCurrentText("T12")
    controller.mode_actions["landmarks"].trigger()
    for level in ("T12", "L1", "L2"):
        assert controller.placement.level == level
        assert "(1/4)" in controller.panel.prompt_label.text()
        for name in CORNER_NAMES:
            hover_click(view, model_truth.vertebrae[level].points[name])
    model = controller.model
    assert all(model.vertebrae[lv].mode == "four_corner" for lv in ("T12", "L1", "L2"))
    assert controller.undo_stack.count() == 12  # one step per click
    panel = controller.panel
    for level, ha, _hm, hp in (("T12", 26.0, 24.5, 27.0), ("L1", 17.0, 20.0, 26.0),
                               ("L2", 27.5, 26.0, 28.5)):
        assert float(panel.vertebra_cell(level, "ha")) == pytest.approx(ha, abs=0.01)
        assert float(panel.vertebra_cell(level, "hp")) == pytest.approx(hp, abs=0.01)
        assert panel.vertebra_cell(level, "hm") == "n/a"
        assert panel.vertebra_cell(level, "biconcavity_ratio") == "n/a"
    assert "4-corner" in controller.layer.labels["L1"].text()
    path = tmp_path / "x.json"
    controller.export_annotations(path)
    doc = json.loads(path.read_text())
    assert {v["mode"] for v in doc["vertebrae"]} == {"four_corner"}
    controller.undo_action.trigger()
    assert not controller.model.vertebrae["L2"].is_complete


def test_two_clicks_propose_the_rest_from_a_neighbour_to_accept_or_adjust(setup, qtbot):  # noqa: F811
    view, controller = setup
    # Two bodies of the same shape: the proposal from T12's shape is exact.
    specs = stack([("T12", 27.0, 25.0, 28.0), ("L1", 27.0, 25.0, 28.0)])
    film = place(specs, facing="left", tilt_deg=6.0, row_mm=0.16, col_mm=0.10,
                 centre_px=(1100.0, 1500.0))
    controller.level_combo.setCurrentText("T12")
    controller.mode_actions["landmarks"].trigger()
    for name in POINT_NAMES:
        hover_click(view, film.vertebrae["T12"].points[name])
    controller.placement_actions["two_click"].trigger()
    assert controller.placement_combo.currentData() == "two_click"
    assert controller.placement.level == "L1"
    hover_click(view, film.vertebrae["L1"].points["sa"])
    assert "(2/2)" in controller.panel.prompt_label.text()
    hover_click(view, film.vertebrae["L1"].points["ip"])
    l1 = controller.model.vertebrae["L1"]
    assert l1.has_proposal and not l1.is_complete
    for name in POINT_NAMES:
        x, y = l1.points[name]
        tx, ty = film.vertebrae["L1"].points[name]
        assert math.hypot(x - tx, y - ty) < 1e-6
    handle = controller.handle_item("L1", "sm")
    assert handle.proposal == "proposed"  # drawn hollow and dashed
    assert "L1" not in controller.panel.measurements().vertebrae  # not measured yet
    # Adjust one proposed point by dragging it: that accepts the vertebra.
    controller.set_mode("navigate")
    start = l1.points["im"]
    bring_into_view(view, start)
    end = (start[0] + 30 / view.zoom(), start[1] - 20 / view.zoom())  # screen pixels
    drag(view, start, end, steps=6)
    l1 = controller.model.vertebrae["L1"]
    assert l1.is_complete and l1.points["im"] == pytest.approx(end, abs=1e-6)
    assert controller.handle_item("L1", "sm").proposal == ""
    assert "L1" in controller.panel.measurements().vertebrae
    # Undo puts the proposal back; Enter accepts it as proposed.
    controller.undo_action.trigger()
    assert controller.model.vertebrae["L1"].has_proposal
    view.setFocus()
    key(view, qtbot, Qt.Key.Key_Return)
    assert controller.model.vertebrae["L1"].is_complete


@pytest.mark.slow
@pytest.mark.skipif(not (SAMPLES / "pre.dcm").exists(), reason="samples missing")
def test_carry_forward_in_the_application_window(qtbot, tmp_path):
    """The pre-operative film of the sample case is measured (its ground truth in the
    annotation store); opening the case folder and then the post-operative film offers to
    carry the landmarks forward; the proposals land within 1 mm on the untreated levels, L1
    is flagged, and they are accepted, adjusted and rejected by hand, undoably."""
    from ovcf_viewer.qt.app import build_main_window

    folder = tmp_path / "case"
    shutil.copytree(SAMPLES, folder)
    pre_truth = load_annotations(folder / "pre.json")
    post_truth = load_annotations(folder / "post.json")
    # Opening a folder loads the annotation files beside its films: this folder holds the
    # films only, the pre-operative landmarks being in the store.
    for document in folder.glob("*.json"):
        document.unlink()
    store = AnnotationStore()
    store.save(pre_truth)
    store.close()

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert window.open_paths([folder])
    assert window.open_image(folder / "post.dcm")
    controller = window.annotation_controller
    assert controller.carry_action.isEnabled()
    assert "pre.dcm" in controller.carry_action.text()
    with qtbot.waitSignal(controller.carryForwardFinished, timeout=240_000) as blocker:
        controller.carry_action.trigger()
    levels = blocker.args[0]
    assert levels == ["T11", "T12", "L1", "L2", "L3", "L4", "L5"]
    model = controller.model
    calibration = window.image().calibration()
    for level in levels:
        vertebra = model.vertebrae[level]
        assert vertebra.has_proposal
        if level != "L1":
            assert not vertebra.check_reason
            for name in POINT_NAMES:
                assert calibration.distance(vertebra.points[name],
                                            post_truth.vertebrae[level].points[name]) < 1.0
    assert "shape changed" in model.vertebrae["L1"].check_reason
    assert controller.handle_item("L1", "sa").proposal == "check"
    assert "CHECK" in controller.layer.labels["L1"].text()
    view = window.view
    view.fit()
    QApplication.processEvents()
    window.grab().save(str(tmp_path / "carried.png"))

    # Accept L2 with the keyboard after clicking one of its points.
    sa = model.vertebrae["L2"].points["sa"]
    bring_into_view(view, sa)
    hover_click(view, sa)
    assert controller.current_level() == "L2"
    view.setFocus()
    key(view, qtbot, Qt.Key.Key_Return)
    assert model.vertebrae["L2"].is_complete
    # Adjust the flagged L1 by dragging its sa onto the truth: accepted.
    start = model.vertebrae["L1"].points["sa"]
    bring_into_view(view, start)
    drag(view, start, post_truth.vertebrae["L1"].points["sa"])
    assert model.vertebrae["L1"].is_complete
    # Reject T11 (Shift+Delete on the current level), then undo that.
    t11 = model.vertebrae["T11"].points["ip"]
    bring_into_view(view, t11)
    hover_click(view, t11)
    key(view, qtbot, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert "T11" not in model.vertebrae
    controller.undo_action.trigger()
    assert model.vertebrae["T11"].has_proposal
    # Shift+Enter accepts the rest; the panel measures every level, autosaved.
    key(view, qtbot, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert set(controller.panel.measurements().vertebrae) == set(levels)
    qtbot.waitUntil(lambda: AnnotationStore().load(model.sop_instance_uid) is not None)
    saved = AnnotationStore().load(model.sop_instance_uid)
    assert all(saved.vertebrae[lv].is_complete for lv in levels)
    # The view's background copies must finish before the window is destroyed.
    qtbot.waitUntil(lambda: not view.reduced_pending(), timeout=60_000)

