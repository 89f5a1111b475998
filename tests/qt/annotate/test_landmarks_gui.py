"""Placing landmarks and drawing tools with the mouse on the image view (pytest-qt).

Landmarks come from geometry constructed with known heights and angles
(``tests/spine_builder.py``); the mouse is driven on ``view.viewport()`` at the viewport
position of each image point (float positions, as a tablet or a high-resolution mouse
delivers), and the panel must show the known answers to 0.01 mm and 0.01°
(docs/clinical-reference.md §7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import CalibrationHeader
from ovcf_viewer.model.image import RadiographImage, VoiWindow
from ovcf_viewer.model.landmarks import POINT_NAMES
from ovcf_viewer.model.settings import Settings, SettingsKeeper, load_settings
from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
from ovcf_viewer.qt.viewer.image_view import ImageView
from tests.spine_builder import BodySpec, place, stack

ROW_MM, COL_MM = 0.16, 0.10  # non-square pixels on purpose
ROWS, COLS = 2400, 2200
LEVELS_HEIGHTS = [("T12", 26.0, 24.5, 27.0), ("L1", 17.0, 20.0, 26.0), ("L2", 27.5, 26.0, 28.5)]

def shown_number(text: str) -> float:
    """A number as the panel shows it (render.format: 1 decimal, true minus sign)."""
    return float(text.replace("\u2212", "-"))



def make_image(stored: np.ndarray | None = None, uid: str = "1.2.3.4") -> RadiographImage:
    if stored is None:
        stored = np.full((ROWS, COLS), 800, dtype=np.uint16)
    return RadiographImage(
        stored=stored,
        photometric="MONOCHROME2",
        calibration_header=CalibrationHeader(modality="DX",
                                             imager_pixel_spacing=(ROW_MM, COL_MM)),
        sop_instance_uid=uid,
        modality="DX",
        bits_stored=12,
        windows=(VoiWindow(2048.0, 4096.0),),
    )


def truth(facing: str = "left", tilt: float = 8.0):
    specs = stack(LEVELS_HEIGHTS, rotations={"L1": 4.0})
    return place(specs, facing=facing, tilt_deg=tilt, row_mm=ROW_MM, col_mm=COL_MM,
                 centre_px=(1100.0, 1500.0), index_levels=("L1",))


def send_mouse(view: ImageView, kind: QEvent.Type, xy, button=Qt.MouseButton.LeftButton,
               buttons=None) -> None:
    """A mouse event on the viewport at image point ``xy`` (float precision)."""
    pos = view.image_to_view(*xy)
    if buttons is None:
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, QPointF(pos), view.viewport().mapToGlobal(pos), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def click(view: ImageView, xy) -> None:
    send_mouse(view, QEvent.Type.MouseButtonPress, xy)
    send_mouse(view, QEvent.Type.MouseButtonRelease, xy)


def drag(view: ImageView, start, end, steps: int = 4, release: bool = True) -> None:
    send_mouse(view, QEvent.Type.MouseButtonPress, start)
    for i in range(1, steps + 1):
        t = i / steps
        xy = (start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        send_mouse(view, QEvent.Type.MouseMove, xy, Qt.MouseButton.NoButton,
                   Qt.MouseButton.LeftButton)
    if release:
        send_mouse(view, QEvent.Type.MouseButtonRelease, end)


def bring_into_view(view: ImageView, xy) -> None:
    """Pan (like a user) until image point ``xy`` is well inside the viewport."""
    pos = view.image_to_view(*xy)
    rect = view.viewport().rect()
    if not rect.adjusted(30, 30, -30, -30).contains(pos.toPoint()):
        view.pan_by(rect.width() / 2 - pos.x(), rect.height() / 2 - pos.y())


@pytest.fixture
def setup(qtbot, tmp_path):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    settings = Settings(edge_assist=False)
    controller = AnnotationController(view, settings, view,
                                      store=AnnotationStore(tmp_path / "a.sqlite3"))
    toolbar = controller.create_toolbar(view)
    qtbot.addWidget(toolbar)
    qtbot.addWidget(controller.panel)
    image = make_image()
    view.set_image(image)
    controller.set_image(image)
    return view, controller


def place_by_clicking(view, controller, model_truth, zoom: float = 1.0):
    """Choose the first level, switch to landmark mode and click every point in order,
    letting the controller offer the following levels."""
    levels = [v.level for v in model_truth.ordered_vertebrae()]
    controller.level_combo.setCurrentText(levels[0])
    controller.mode_actions["landmarks"].trigger()
    view.set_zoom(zoom)
    for level in levels:
        assert controller.placement.level == level  # offered after the previous one
        for name in POINT_NAMES:
            xy = model_truth.vertebrae[level].points[name]
            bring_into_view(view, xy)
            click(view, xy)


def test_six_clicks_per_level_give_the_known_heights(setup):
    view, controller = setup
    model_truth = truth()
    place_by_clicking(view, controller, model_truth)
    model = controller.model
    for level, ha, hm, hp in LEVELS_HEIGHTS:
        assert model.vertebrae[level].is_complete
        panel = controller.panel
        assert shown_number(panel.vertebra_cell(level, "ha")) == pytest.approx(ha, abs=0.0501)
        assert shown_number(panel.vertebra_cell(level, "hm")) == pytest.approx(hm, abs=0.0501)
        assert shown_number(panel.vertebra_cell(level, "hp")) == pytest.approx(hp, abs=0.0501)
    assert controller.undo_stack.count() == 18  # one step per click
    assert controller.placement.level == "L3"
    assert "L3: click the superior-anterior corner (1/6)" in controller.panel.prompt_label.text()
    header = controller.panel.header_text(controller.panel.vertebra_table, 1)
    assert header == "Ha (mm at detector)"


def test_index_level_kyphosis_matches_measure_image(setup):
    view, controller = setup
    model_truth = truth(facing="right", tilt=-15.0)
    place_by_clicking(view, controller, model_truth)
    # Select an L1 handle by clicking it in navigate mode, then mark the index level.
    controller.set_mode("navigate")
    sa = controller.model.vertebrae["L1"].points["sa"]
    bring_into_view(view, sa)
    click(view, sa)
    assert controller.current_level() == "L1"
    controller.index_action.trigger()
    assert controller.model.index_levels == ["L1"]
    expected = measure_image(model_truth, make_image().calibration(), controller.settings)
    shown = shown_number(controller.panel.index_cell("L1", "kyphosis"))
    assert shown == pytest.approx(expected.index_levels["L1"].segmental_kyphosis_deg, abs=0.0501)
    # The label on the image says the same, with its endplates.
    label = controller.layer.labels["L1"].text()
    kyphosis = f"{expected.index_levels['L1'].segmental_kyphosis_deg:+.1f}°"
    assert kyphosis.replace("-", "\u2212") in label  # shown with a true minus sign
    assert "T12 sup.–L2 inf." in label
    assert "mm at detector" in label
    assert "Genant" in label


def test_drag_is_one_undo_step_and_undo_redo(setup, qtbot):
    view, controller = setup
    controller.set_mode("landmarks")
    for xy in [(1000, 1000), (1100, 1010), (1200, 1000), (1000, 1200), (1100, 1190),
               (1200, 1200)]:
        click(view, xy)
    assert controller.model.vertebrae["L1"].is_complete
    controller.set_mode("navigate")
    steps = controller.undo_stack.count()
    start = controller.model.vertebrae["L1"].points["sm"]
    zoom = view.zoom()
    drag(view, start, (start[0] + 40 / zoom, start[1] + 20 / zoom), steps=6)
    moved = controller.model.vertebrae["L1"].points["sm"]
    assert moved == pytest.approx((start[0] + 40 / zoom, start[1] + 20 / zoom), abs=1e-6)
    assert controller.undo_stack.count() == steps + 1
    controller.undo_action.trigger()
    assert controller.model.vertebrae["L1"].points["sm"] == pytest.approx(start)
    controller.redo_action.trigger()
    assert controller.model.vertebrae["L1"].points["sm"] == pytest.approx(moved)
    # A drag that ends where it began records nothing.
    drag(view, moved, moved, steps=2)
    assert controller.undo_stack.count() == steps + 1


def test_escape_and_right_click_cancel_a_drag(setup, qtbot):
    view, controller = setup
    controller.set_mode("landmarks")
    click(view, (1000.0, 1000.0))
    controller.set_mode("navigate")
    steps = controller.undo_stack.count()
    drag(view, (1000.0, 1000.0), (1100.0, 1050.0), release=False)
    assert controller.model.vertebrae["L1"].points["sa"] != (1000.0, 1000.0)  # live preview
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert controller.model.vertebrae["L1"].points["sa"] == (1000.0, 1000.0)
    send_mouse(view, QEvent.Type.MouseButtonRelease, (1100.0, 1050.0))
    assert controller.model.vertebrae["L1"].points["sa"] == (1000.0, 1000.0)
    assert controller.undo_stack.count() == steps

    drag(view, (1000.0, 1000.0), (900.0, 950.0), release=False)
    send_mouse(view, QEvent.Type.MouseButtonPress, (900.0, 950.0), Qt.MouseButton.RightButton,
               Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
    assert controller.model.vertebrae["L1"].points["sa"] == (1000.0, 1000.0)
    send_mouse(view, QEvent.Type.MouseButtonRelease, (900.0, 950.0))
    assert controller.undo_stack.count() == steps
    assert not controller.model.in_preview


def test_arrow_nudge_is_one_screen_pixel_even_rotated(setup, qtbot):
    """Rows are drawn zoom × aspect screen pixels high (aspect = ROW_MM / COL_MM = 1.6), so a
    vertical screen pixel is 1 / (zoom × aspect) rows, a horizontal one 1 / zoom columns."""
    view, controller = setup
    controller.set_mode("landmarks")
    click(view, (1000.0, 1000.0))
    view.set_zoom(8.0, view.image_to_view(1000.0, 1000.0))
    assert view.pixel_aspect() == pytest.approx(ROW_MM / COL_MM)
    row_step = 1.0 / (8.0 * ROW_MM / COL_MM)  # 0.078125 rows
    assert controller.layer.selected is not None
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx((1000.125, 1000.0))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx(
        (1000.125, 1000.0 + row_step))
    qtbot.keyClick(view, Qt.Key.Key_Up)
    view.rotate_right()  # screen "right" is now image "up" (towards smaller y)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx(
        (1000.125, 1000.0 - row_step))
    # And the point is still under the same spot on screen as its handle.
    handle = controller.handle_item("L1", "sa")
    assert handle.pos() == QPointF(1000.125, 1000.0 - row_step)


@pytest.mark.parametrize("turns", ["none", "rotate_right", "rotate_left", "flip_horizontal",
                                   "flip_vertical"])
def test_each_arrow_moves_the_point_one_screen_pixel_that_way(setup, qtbot, turns):
    """Measured on screen: every arrow press moves the point's viewport position by exactly
    one screen pixel in the pressed direction, whatever the rotation/flip (non-square film)."""
    view, controller = setup
    controller.set_mode("landmarks")
    click(view, (1000.0, 1000.0))
    if turns != "none":
        getattr(view, turns)()
    view.set_zoom(5.0, view.image_to_view(1000.0, 1000.0))
    arrows = {Qt.Key.Key_Left: (-1.0, 0.0), Qt.Key.Key_Right: (1.0, 0.0),
              Qt.Key.Key_Up: (0.0, -1.0), Qt.Key.Key_Down: (0.0, 1.0)}
    for key, (dx, dy) in arrows.items():
        before = view.image_to_view(*controller.model.vertebrae["L1"].points["sa"])
        qtbot.keyClick(view, key)
        after = view.image_to_view(*controller.model.vertebrae["L1"].points["sa"])
        assert (after.x() - before.x(), after.y() - before.y()) == pytest.approx(
            (dx, dy), abs=1e-9), key


def test_handles_keep_their_screen_size_across_zoom(setup):
    view, controller = setup
    controller.set_mode("landmarks")
    click(view, (1000.0, 1000.0))
    handle = controller.handle_item("L1", "sa")
    sizes = []
    for zoom in (0.25, 1.0, 16.0):
        view.set_zoom(zoom, view.image_to_view(1000.0, 1000.0))
        rect = handle.deviceTransform(view.viewportTransform()).mapRect(handle.boundingRect())
        sizes.append((round(rect.width(), 6), round(rect.height(), 6)))
    assert sizes[0] == sizes[1] == sizes[2]
    label = controller.layer.labels["L1"]
    rect = label.deviceTransform(view.viewportTransform()).mapRect(label.boundingRect())
    assert rect.height() > 10  # readable at 16× too


def test_ruler_angle_cobb_and_calibration_line(setup, monkeypatch):
    view, controller = setup
    controller.set_mode("ruler")
    drag(view, (500.0, 500.0), (800.0, 900.0))  # 30 mm across, 64 mm down
    tool = controller.model.tools[-1]
    assert tool.kind == "ruler"
    length = np.hypot(300 * COL_MM, 400 * ROW_MM)
    assert controller.layer.tool_labels[tool.tool_id].text() == f"{length:.1f} mm at detector"

    controller.set_mode("angle")
    for xy in [(500.0, 1300.0), (500.0, 1500.0), (700.0, 1500.0)]:
        click(view, xy)
    assert controller.layer.tool_labels[controller.model.tools[-1].tool_id].text() == "90.0°"

    controller.set_mode("cobb")
    drag(view, (100.0, 100.0), (400.0, 100.0))
    drag(view, (100.0, 300.0), (400.0, 300.0 + 300 * COL_MM / ROW_MM))  # 45° in mm space
    cobb = controller.model.tools[-1]
    assert cobb.kind == "cobb"
    assert controller.layer.tool_labels[cobb.tool_id].text() == "Cobb 45.0°"

    # Calibration: a 400-column line is 40 mm at detector; the user says it is 32 mm.
    asked = []
    controller.ask_true_length = lambda drawn, cal: asked.append(drawn) or 32.0
    controller.set_mode("calibration")
    steps = controller.undo_stack.count()
    drag(view, (1000.0, 2000.0), (1400.0, 2000.0))
    assert asked == [pytest.approx(40.0)]
    assert controller.undo_stack.count() == steps + 1
    manual = controller.model.manual_calibration
    assert manual.col_mm == pytest.approx(0.08) and manual.row_mm == pytest.approx(0.128)
    assert controller.calibration.unit_tag == "mm (manual)"
    assert view.calibration() == controller.calibration
    ruler = controller.model.tools[0]
    expected = np.hypot(300 * 0.08, 400 * 0.128)
    assert controller.layer.tool_labels[ruler.tool_id].text() == f"{expected:.1f} mm (manual)"
    controller.undo_action.trigger()
    assert controller.model.manual_calibration is None
    assert controller.calibration.unit_tag == "mm at detector"


def test_delete_relabel_hide_and_mark_index(setup, qtbot):
    view, controller = setup
    place_by_clicking(view, controller, truth())
    controller.set_mode("navigate")
    ip = controller.model.vertebrae["L2"].points["ip"]
    bring_into_view(view, ip)
    click(view, ip)
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert "ip" not in controller.model.vertebrae["L2"].points
    assert "L2" not in controller.panel.measurements().vertebrae
    controller.ask_level = lambda old: "L3"
    controller.relabel_current()  # current vertebra: the one whose point was selected
    assert set(controller.model.vertebrae) == {"T12", "L1", "L3"}
    qtbot.keyClick(view, Qt.Key.Key_Delete, Qt.KeyboardModifier.ShiftModifier)
    assert set(controller.model.vertebrae) == {"T12", "L1"}
    controller.hide_action.trigger()
    assert not controller.layer.root.isVisible()
    controller.hide_action.trigger()
    assert controller.layer.root.isVisible()
    controller.set_index_level("L1", True)
    # Genant against adjacent: L2 is gone, so T12 alone is L1's reference, and the panel
    # now says that it is one neighbour (docs/clinical-reference.md §6a).
    genant_cell = controller.panel.vertebra_cell("L1", "reference")
    assert genant_cell == "adjacent T12 (one neighbour)"


def test_edge_assist_snaps_clicks_but_never_drags(qtbot, tmp_path):
    stored = np.full((600, 600), 500, dtype=np.uint16)
    stored[200:400, 250:450] = 2500  # a body whose superior-anterior corner is (249.5, 199.5)
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(800, 600)
    settings = Settings(edge_assist=True)
    keeper = SettingsKeeper(settings)  # the application's: saves the one instance
    assert keeper.save() and load_settings().edge_assist is True
    controller = AnnotationController(view, settings, view,
                                      store=AnnotationStore(tmp_path / "s.sqlite3"))
    image = make_image(stored)
    view.set_image(image)
    controller.set_image(image)
    controller.set_mode("landmarks")
    click(view, (254.0, 205.0))  # about 1 mm off the corner
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx((249.5, 199.5),
                                                                           abs=0.25)
    assert controller.last_snap_mm == pytest.approx(np.hypot(4.5 * COL_MM, 5.5 * ROW_MM),
                                                    abs=0.05)
    controller.set_mode("navigate")
    start = controller.model.vertebrae["L1"].points["sa"]
    zoom, aspect = view.zoom(), view.pixel_aspect()  # 6 screen pixels right and down
    drag(view, start, (start[0] + 6 / zoom, start[1] + 6 / (zoom * aspect)))
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx(
        (start[0] + 6 / zoom, start[1] + 6 / (zoom * aspect)), abs=1e-6)
    # Switched off: a click stays where it was made.
    controller.panel.edge_assist_check.setChecked(False)
    assert load_settings().edge_assist is False
    controller.set_mode("landmarks")
    click(view, (444.0, 205.0))
    assert controller.model.vertebrae["L1"].points["sm"] == pytest.approx((444.0, 205.0))


def test_integer_mouse_clicks_with_qtbot(setup, qtbot):
    """Plain qtbot clicks (integer viewport pixels) place points within half a screen pixel."""
    view, controller = setup
    controller.set_mode("landmarks")
    view.set_zoom(2.0, view.image_to_view(1000.0, 1000.0))
    target = view.view_to_image(view.viewport().rect().center())
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.mapFromScene(target))
    placed = controller.model.vertebrae["L1"].points["sa"]
    assert placed == pytest.approx((target.x(), target.y()), abs=0.5 / 2.0 + 1e-9)


def test_autosave_restores_after_reopening(setup, tmp_path):
    view, controller = setup
    place_by_clicking(view, controller, truth())
    controller.set_index_level("L1", True)
    image = make_image()
    other = ImageView()
    reopened = AnnotationController(other, Settings(edge_assist=False), other,
                                    store=AnnotationStore(tmp_path / "a.sqlite3"))
    other.set_image(image)
    reopened.set_image(image)
    assert reopened.model.to_json() == controller.model.to_json()
    assert reopened.model.index_levels == ["L1"]
    other.deleteLater()


def test_loading_annotations_for_another_image_is_refused(setup):
    view, controller = setup
    foreign = truth()
    foreign.sop_instance_uid = "9.9.9"
    assert not controller.load_annotations(foreign)
    assert "another image" in controller.panel.prompt_label.text()
    mine = truth()
    assert controller.load_annotations(mine)
    assert set(controller.model.vertebrae) == {"T12", "L1", "L2"}
    controller.undo_action.trigger()
    assert controller.model.vertebrae == {}


def test_integer_point_is_not_required(setup):
    """The viewport mapping keeps float precision (QPoint would round)."""
    view, _ = setup
    pos = view.image_to_view(10.3, 20.7)
    back = view.view_to_image(pos)
    assert (back.x(), back.y()) == pytest.approx((10.3, 20.7))
    assert isinstance(view.mapFromScene(QPointF(10.3, 20.7)), QPoint)


def test_body_spec_sanity():
    # The constructed geometry is what the tests above rely on.
    spec = BodySpec("L1", 17.0, 20.0, 26.0)
    assert spec.local_points()["sa"] == (36.0, 17.0)


SAMPLES = Path(__file__).resolve().parents[3] / "sample_dicom"


@pytest.mark.skipif(not (SAMPLES / "case-0001" / "pre.dcm").exists(), reason="samples missing")
@pytest.mark.parametrize("film", ["case-0001/pre", "variants/dx_nonsquare"])
def test_done_when_ground_truth_clicked_in_the_application_window(qtbot, film):
    """"Done when": open the sample film in the application window, place the
    ground-truth landmarks by clicking, mark the index level, and the measurements panel
    shows exactly what ``measure_image`` computes from the ground truth."""
    from ovcf_viewer.model.landmarks import load_annotations
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert window.open_image(SAMPLES / f"{film}.dcm")
    controller = window.annotation_controller
    controller.panel.edge_assist_check.setChecked(False)  # placing by hand, exactly
    ground_truth = load_annotations(SAMPLES / f"{film}.json")
    view = window.view
    place_by_clicking(view, controller, ground_truth)
    controller.set_mode("navigate")
    for level in ground_truth.index_levels:
        corner = controller.model.vertebrae[level].points["sa"]
        bring_into_view(view, corner)
        click(view, corner)
        controller.index_action.trigger()
    assert controller.model.index_levels == ground_truth.index_levels

    image = window.image()
    expected = measure_image(ground_truth, image.calibration(), controller.settings)
    panel = controller.panel
    shown = panel.measurements()
    assert set(shown.vertebrae) == set(expected.vertebrae)
    for level, truth_m in expected.vertebrae.items():
        for column, value in (("ha", truth_m.anterior_height_mm),
                              ("hm", truth_m.middle_height_mm),
                              ("hp", truth_m.posterior_height_mm),
                              ("wedge_angle", truth_m.wedge_angle_deg)):
            assert shown_number(panel.vertebra_cell(level, column)) == pytest.approx(
                value, abs=0.0501)
        assert shown.vertebrae[level].anterior_height_mm == pytest.approx(
            truth_m.anterior_height_mm, abs=0.01)
        assert panel.vertebra_cell(level, "grade") == str(truth_m.genant.grade)
        assert panel.vertebra_cell(level, "type") == truth_m.genant.type
    for level, truth_i in expected.index_levels.items():
        assert shown_number(panel.index_cell(level, "kyphosis")) == pytest.approx(
            truth_i.segmental_kyphosis_deg, abs=0.0501)
        assert shown_number(panel.index_cell(level, "lovbh")) == pytest.approx(
            truth_i.lovbh_pct, abs=0.0501)
    assert panel.header_text(panel.vertebra_table, 1) == "Ha (mm at detector)"
    # What the command line measures from the GUI's model agrees with the ground truth.
    assert _same_measurements(
        measure_image(controller.model, image.calibration(), controller.settings), expected)


def _same_measurements(a, b, tol=0.01) -> bool:
    for level, m in b.vertebrae.items():
        other = a.vertebrae[level]
        for key in ("anterior_height_mm", "middle_height_mm", "posterior_height_mm",
                    "wedge_angle_deg"):
            assert getattr(other, key) == pytest.approx(getattr(m, key), abs=tol)
        assert other.genant.grade == m.genant.grade
    for level, m in b.index_levels.items():
        assert a.index_levels[level].segmental_kyphosis_deg == pytest.approx(
            m.segmental_kyphosis_deg, abs=tol)
    return True


@pytest.mark.parametrize("facing", ["left", "right"])
def test_labels_stay_inside_the_view_and_off_each_other(setup, facing):
    view, controller = setup
    place_by_clicking(view, controller, truth(facing=facing, tilt=5.0))
    view.fit()
    viewport = view.viewport().rect()
    rects = {}
    for level, label in controller.layer.labels.items():
        rect = label.deviceTransform(view.viewportTransform()).mapRect(label.boundingRect())
        assert viewport.contains(rect.toAlignedRect()), (level, rect, viewport)
        rects[level] = rect
    levels = list(rects)
    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            assert not rects[a].intersects(rects[b]), (a, b)
    # Each label sits level with its own vertebra (its anchor wall is within its height).
    for level, rect in rects.items():
        ys = [view.image_to_view(*xy).y()
              for xy in controller.model.vertebrae[level].points.values()]
        assert min(ys) - 5 <= rect.center().y() <= max(ys) + 5


def test_export_marks_clean_and_loading_offers_the_next_level(setup, tmp_path):
    from ovcf_viewer.model.landmarks import load_annotations

    view, controller = setup
    assert controller.load_annotations(truth())
    assert controller.placement.level == "L3"  # below the last complete level
    assert not controller.undo_stack.isClean()
    controller.export_annotations(tmp_path / "out.json")
    assert controller.undo_stack.isClean()
    written = load_annotations(tmp_path / "out.json")
    assert written.to_json()["vertebrae"] == controller.model.to_json()["vertebrae"]
    assert written.index_levels == ["L1"]


def test_tool_handles_drag_in_one_step_and_delete(setup, qtbot):
    view, controller = setup
    controller.set_mode("ruler")
    drag(view, (500.0, 500.0), (800.0, 500.0))  # 30 mm across
    tool = controller.model.tools[-1]
    controller.set_mode("navigate")
    steps = controller.undo_stack.count()
    drag(view, (800.0, 500.0), (800.0, 500.0 + 40 / view.zoom()))  # drag the end point down
    end = controller.model.tool(tool.tool_id).points[1]
    assert end == pytest.approx((800.0, 500.0 + 40 / view.zoom()))
    assert controller.undo_stack.count() == steps + 1
    expected = np.hypot(300 * COL_MM, (end[1] - 500.0) * ROW_MM)
    assert controller.layer.tool_labels[tool.tool_id].text() == f"{expected:.1f} mm at detector"
    qtbot.keyClick(view, Qt.Key.Key_Delete)  # the dragged handle is selected
    assert controller.model.tools == []
    controller.undo_action.trigger()
    assert len(controller.model.tools) == 1
