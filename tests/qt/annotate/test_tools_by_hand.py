"""Every measuring tool drawn the way a hand draws it: the pointer moves to a point in
steps (hover events processed between them, so the rubber band follows the cursor), then
press, release — by clicking each point, and by press-drag-release — on sample films at a
zoom and a quarter turn, with the value checked against geometry constructed from the
film's pixel spacing (docs/clinical-reference.md §1, §3)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication

from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
from ovcf_viewer.qt.viewer.image_view import ImageView

SAMPLES = Path(__file__).resolve().parents[3] / "sample_dicom"
FILMS = ["case-0001/pre", "variants/dx_nonsquare"]
ZOOM = 1.7


class Hand:
    """A mouse on ``view.viewport()``: moves in steps with the events processed between
    them (hover), presses and releases where it is."""

    def __init__(self, qtbot, view: ImageView) -> None:
        self.qtbot, self.view, self.pos = qtbot, view, None

    def move_to(self, target: QPoint, steps: int = 5) -> None:
        start = self.pos if self.pos is not None else target - QPoint(20, 15)
        for i in range(1, steps + 1):
            p = QPoint(round(start.x() + (target.x() - start.x()) * i / steps),
                       round(start.y() + (target.y() - start.y()) * i / steps))
            self.qtbot.mouseMove(self.view.viewport(), p)
            QApplication.processEvents()
        self.pos = target

    def press(self, button=Qt.MouseButton.LeftButton) -> None:
        self.qtbot.mousePress(self.view.viewport(), button, pos=self.pos)
        QApplication.processEvents()

    def release(self, button=Qt.MouseButton.LeftButton) -> None:
        self.qtbot.mouseRelease(self.view.viewport(), button, pos=self.pos)
        QApplication.processEvents()

    def click(self, target: QPoint, button=Qt.MouseButton.LeftButton) -> None:
        self.move_to(target)
        self.press(button)
        self.release(button)

    def drag(self, start: QPoint, end: QPoint, button=Qt.MouseButton.LeftButton) -> None:
        self.move_to(start)
        self.press(button)
        self.move_to(end, steps=8)
        self.release(button)


def screen(view: ImageView, xy) -> QPoint:
    return view.image_to_view(*xy).toPoint()


def image_at(view: ImageView, point: QPoint) -> tuple[float, float]:
    p = view.view_to_image(QPointF(point))
    return (p.x(), p.y())


def mm_vector(a, b, row_mm: float, col_mm: float) -> tuple[float, float]:
    """``b - a`` in millimetres: columns are ``col_mm`` wide, rows ``row_mm`` high."""
    return ((b[0] - a[0]) * col_mm, (b[1] - a[1]) * row_mm)


def angle_between(u, v) -> float:
    return math.degrees(math.acos((u[0] * v[0] + u[1] * v[1])
                                  / (math.hypot(*u) * math.hypot(*v))))


@pytest.fixture(params=FILMS)
def film(request, qtbot, tmp_path):
    """The sample film with its ground-truth landmarks, in a view at ZOOM, turned a quarter
    turn, centred on L1."""
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(1000, 800)
    view.show()
    controller = AnnotationController(view, Settings().replace(edge_assist=False), view,
                                      store=AnnotationStore(tmp_path / "a.sqlite3"))
    qtbot.addWidget(controller.panel)
    image = load_image(SAMPLES / f"{request.param}.dcm")
    view.set_image(image)
    controller.set_image(image)
    assert controller.load_annotations(load_annotations(SAMPLES / f"{request.param}.json"))
    view.rotate_right()
    view.set_zoom(ZOOM)
    centre = controller.model.vertebrae["L1"].points["sm"]
    pos = view.image_to_view(*centre)
    rect = view.viewport().rect()
    view.pan_by(rect.width() / 2 - pos.x(), rect.height() / 2 - pos.y())
    QApplication.processEvents()
    cal = controller.calibration
    assert cal.is_calibrated
    return view, controller, Hand(qtbot, view), cal


def free_points(view: ImageView, offsets) -> list[QPoint]:
    """Viewport points at ``offsets`` (screen pixels) from the viewport centre."""
    c = view.viewport().rect().center()
    return [c + QPoint(dx, dy) for dx, dy in offsets]


@pytest.mark.parametrize("how", ["click", "drag"])
def test_ruler(film, how):
    view, controller, hand, cal = film
    controller.set_mode("ruler")
    steps = controller.undo_stack.count()
    a, b = free_points(view, [(-230, -140), (190, 170)])
    if how == "click":
        hand.click(a)
        assert controller.model.tools == []  # one click is half a ruler
        hand.move_to(b, steps=10)  # the rubber band follows the cursor the whole way
        hand.press()
        hand.release()
    else:
        hand.drag(a, b)
    (tool,) = controller.model.tools
    assert tool.kind == "ruler"
    assert tool.points == [pytest.approx(image_at(view, a)), pytest.approx(image_at(view, b))]
    expected = math.hypot(*mm_vector(image_at(view, a), image_at(view, b),
                                     cal.row_mm, cal.col_mm))
    assert expected > 20.0
    assert controller.layer.tool_labels[tool.tool_id].text() == f"{expected:.1f} {cal.unit_tag}"
    assert controller.undo_stack.count() == steps + 1  # one undo step
    controller.undo_action.trigger()
    assert controller.model.tools == []


@pytest.mark.parametrize("how", ["click", "drag"])
def test_calibration_line(film, how):
    view, controller, hand, cal = film
    asked = []
    controller.ask_true_length = lambda drawn, c: asked.append(drawn) or 50.0
    controller.set_mode("calibration")
    steps = controller.undo_stack.count()
    a, b = free_points(view, [(-200, 0), (220, 30)])
    if how == "click":
        hand.click(a)
        hand.click(b)
    else:
        hand.drag(a, b)
    pa, pb = image_at(view, a), image_at(view, b)
    drawn = math.hypot(*mm_vector(pa, pb, cal.row_mm, cal.col_mm))
    assert asked == [pytest.approx(drawn)]
    manual = controller.model.manual_calibration
    factor = 50.0 / drawn  # the header's aspect ratio is kept
    assert manual.col_mm == pytest.approx(cal.col_mm * factor)
    assert manual.row_mm == pytest.approx(cal.row_mm * factor)
    assert controller.undo_stack.count() == steps + 1


@pytest.mark.parametrize("how", ["click", "drag"])
def test_angle_free(film, how):
    view, controller, hand, cal = film
    controller.set_mode("angle")
    steps = controller.undo_stack.count()
    arm1, vertex, arm2 = free_points(view, [(-250, -200), (-10, 190), (240, -60)])
    if how == "click":
        for p in (arm1, vertex, arm2):
            hand.click(p)
    else:  # drag the first arm into the vertex, then the second arm out of it
        hand.drag(arm1, vertex)
        assert controller.model.tools == []
        hand.drag(vertex, arm2)
    (tool,) = controller.model.tools
    a, v, b = (image_at(view, p) for p in (arm1, vertex, arm2))
    assert tool.points == [pytest.approx(a), pytest.approx(v), pytest.approx(b)]
    expected = angle_between(mm_vector(v, a, cal.row_mm, cal.col_mm),
                             mm_vector(v, b, cal.row_mm, cal.col_mm))
    assert controller.layer.tool_labels[tool.tool_id].text() == f"{expected:.1f}°"
    assert controller.undo_stack.count() == steps + 1


@pytest.mark.parametrize("how", ["click", "drag"])
def test_cobb_on_the_endplates_snaps_to_the_corners(film, how):
    """Clicking on the corners (a few screen pixels off, as a hand does) draws the lines
    exactly between them: the Cobb angle of the superior endplate of T12 and the inferior
    endplate of L2, from the landmark coordinates and the spacing."""
    view, controller, hand, cal = film
    controller.set_mode("cobb")
    steps = controller.undo_stack.count()
    t12, l2 = controller.model.vertebrae["T12"].points, controller.model.vertebrae["L2"].points
    corners = [t12["sp"], t12["sa"], l2["ip"], l2["ia"]]
    near = [screen(view, xy) + QPoint(3, -2) for xy in corners]  # within the snap reach
    if how == "click":
        for p in near:
            hand.click(p)
    else:
        hand.drag(near[0], near[1])
        hand.drag(near[2], near[3])
    (tool,) = controller.model.tools
    assert tool.points == corners  # snapped exactly
    u = mm_vector(t12["sp"], t12["sa"], cal.row_mm, cal.col_mm)
    v = mm_vector(l2["ip"], l2["ia"], cal.row_mm, cal.col_mm)
    expected = angle_between(u, v)
    expected = min(expected, 180.0 - expected)
    assert controller.layer.tool_labels[tool.tool_id].text() == f"Cobb {expected:.1f}°"
    kyphosis = controller.measurements.index_levels["L1"].segmental_kyphosis_deg
    assert expected == pytest.approx(abs(kyphosis), abs=1e-6)  # the same two endplates
    assert controller.undo_stack.count() == steps + 1
    # Nothing else moved: the handles under the clicks were not dragged.
    assert controller.model.vertebrae["T12"].points["sp"] == corners[0]


def test_angle_snaps_its_vertex_to_a_corner(film):
    view, controller, hand, cal = film
    controller.set_mode("angle")
    l1 = controller.model.vertebrae["L1"].points
    arm1 = free_points(view, [(-250, -200)])[0]
    hand.click(arm1)
    hand.click(screen(view, l1["ia"]) + QPoint(-2, 3))
    hand.click(screen(view, l1["ip"]))
    (tool,) = controller.model.tools
    assert tool.points[1:] == [l1["ia"], l1["ip"]]


def test_far_from_a_corner_nothing_snaps(film):
    view, controller, hand, cal = film
    controller.set_mode("cobb")
    sa = controller.model.vertebrae["L1"].points["sa"]
    off = screen(view, sa) + QPoint(14, 0)  # beyond the snap reach
    hand.click(off)
    hand.move_to(off + QPoint(100, 40))
    assert controller._draft.points == [pytest.approx(image_at(view, off))]


@pytest.mark.parametrize("cancel", ["escape", "right"])
def test_half_drawn_tool_is_cancelled(film, qtbot, cancel):
    view, controller, hand, cal = film
    controller.set_mode("angle")
    a, b, c = free_points(view, [(-200, -100), (0, 100), (200, -100)])
    hand.click(a)
    hand.click(b)
    window = view.window_level() if hasattr(view, "window_level") else None
    if cancel == "escape":
        qtbot.keyClick(view, Qt.Key.Key_Escape)
    else:
        hand.press(Qt.MouseButton.RightButton)
        hand.release(Qt.MouseButton.RightButton)
    assert controller._draft.points == []
    assert controller.layer.draft_path.path().isEmpty()
    if window is not None:
        assert view.window_level() == window
    # The tool starts afresh: three new clicks make a whole angle.
    for p in (a, b, c):
        hand.click(p)
    assert len(controller.model.tools) == 1
