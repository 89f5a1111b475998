"""ImageView: model → view (state shows on screen) and view → model (mouse changes state)
separately; geometry checked against constructed answers (docs/clinical-reference.md §1)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from ovcf_viewer.model.calibration import CalibrationHeader
from ovcf_viewer.model.image import PatientInfo, RadiographImage, VoiWindow
from ovcf_viewer.qt.viewer.image_view import ZOOM_STEP, ImageView, box_reduce, lookup
from ovcf_viewer.qt.viewer.loupe import Loupe

VIEWPORT = (400, 300)


def make_image(rows: int = 200, cols: int = 300, value: int = 1000,
               spacing: tuple[float, float] = (0.1, 0.1)) -> RadiographImage:
    """A uniform 12-bit image with a bright 20 × 20 block at the top-left corner; Imager
    Pixel Spacing ``spacing`` (row, column mm)."""
    stored = np.full((rows, cols), value, dtype=np.uint16)
    stored[:20, :20] = 4095
    return RadiographImage(
        stored=stored,
        photometric="MONOCHROME2",
        calibration_header=CalibrationHeader(modality="DX", imager_pixel_spacing=spacing),
        sop_instance_uid="1.2.3",
        modality="DX",
        bits_stored=12,
        windows=(VoiWindow(2048.0, 4096.0, explanation="Default"),),
        patient=PatientInfo(name="Doe^Jane", patient_id="P-1", view_position="LL"),
    )


@pytest.fixture
def view(qtbot):
    widget = ImageView()
    qtbot.addWidget(widget)
    widget.viewport().resize(*VIEWPORT)
    widget.resize(*VIEWPORT)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_image(make_image())
    return widget


def grey_at(view: ImageView, point: QPointF) -> int:
    picture = view.viewport().grab().toImage()
    return picture.pixelColor(point.toPoint()).red()


# -- model → view ------------------------------------------------------------------------


def test_fit_centres_the_whole_image(view):
    # 300 × 200 image in a 400 × 300 viewport: zoom min(400/300, 300/200) = 4/3.
    assert view.zoom() == pytest.approx(4.0 / 3.0)
    top_left = view.image_to_view(-0.5, -0.5)
    bottom_right = view.image_to_view(299.5, 199.5)
    assert top_left.x() == pytest.approx(0.0, abs=1.0)
    assert bottom_right.x() == pytest.approx(400.0, abs=1.0)
    assert (top_left.y() + bottom_right.y()) / 2 == pytest.approx(150.0, abs=1.0)


def test_setting_window_updates_overlay_and_pixels(view, qtbot):
    with qtbot.waitSignal(view.windowChanged) as signal:
        view.set_window(VoiWindow(1000.0, 501.0, explanation="Bone"))
    assert signal.args[0] == VoiWindow(1000.0, 501.0, explanation="Bone")
    text = view.overlay_corners().text()
    assert "W 501  L 1000" in text
    assert "Bone" in text
    # Stored 1000 in window C 1000 / W 501 (LINEAR, PS3.3 C.11.2.1.2.1):
    # ((1000 - 999.5) / 500 + 0.5) * 255 = 127.755 -> 128 on screen.
    centre = view.image_to_view(150.0, 100.0)
    assert grey_at(view, centre) == pytest.approx(128, abs=1)
    view.set_window(VoiWindow(500.0, 100.0))
    assert grey_at(view, centre) == 255
    view.set_inverted(True)
    assert grey_at(view, centre) == 0
    assert "Inverted" in view.overlay_corners().text()
    view.set_image(make_image())  # a new film is shown as stored
    assert not view.is_inverted()


def test_overlay_names_calibration_source_and_zoom(view):
    text = view.overlay_corners().text()
    assert "Zoom 133 %" in text
    # 300 × 200 pixels of 0.2 (row) × 0.1 (column) mm: 300 × 400 column widths on screen,
    # fitted into 400 × 300: zoom = min(400 / 300, 300 / 400) = 75 % (per image column).
    view.set_image(make_image(spacing=(0.2, 0.1)))
    text = view.overlay_corners().text()
    assert "mm at detector" in text
    assert "0.2 × 0.1 mm/px" in text
    assert "Zoom 75 %" in text
    assert "Doe Jane" in text and "ID P-1" in text and "left lateral" in text


def test_rotate_and_flip_map_image_points(view):
    centre = QPointF(149.5, 99.5)
    zoom = view.zoom()
    c = view.image_to_view(centre.x(), centre.y())
    right = view.image_to_view(centre.x() + 30, centre.y())
    assert (right - c).x() == pytest.approx(30 * zoom, abs=1e-6)

    view.rotate_right()  # clockwise: image +x points down the screen
    zoom = view.zoom()
    c = view.image_to_view(centre.x(), centre.y())
    right = view.image_to_view(centre.x() + 30, centre.y())
    down = view.image_to_view(centre.x(), centre.y() + 30)
    assert (right - c).x() == pytest.approx(0.0, abs=1e-6)
    assert (right - c).y() == pytest.approx(30 * zoom, abs=1e-6)
    assert (down - c).x() == pytest.approx(-30 * zoom, abs=1e-6)

    view.reset_view()
    view.flip_horizontal()
    c = view.image_to_view(centre.x(), centre.y())
    right = view.image_to_view(centre.x() + 30, centre.y())
    down = view.image_to_view(centre.x(), centre.y() + 30)
    assert (right - c).x() == pytest.approx(-30 * view.zoom(), abs=1e-6)
    assert (down - c).y() == pytest.approx(30 * view.zoom(), abs=1e-6)

    view.reset_view()
    view.flip_vertical()
    c = view.image_to_view(centre.x(), centre.y())
    down = view.image_to_view(centre.x(), centre.y() + 30)
    assert (down - c).y() == pytest.approx(-30 * view.zoom(), abs=1e-6)

    # view_to_image is the inverse of image_to_view in any orientation.
    view.rotate_left()
    back = view.view_to_image(view.image_to_view(12.25, 80.5))
    assert (back.x(), back.y()) == pytest.approx((12.25, 80.5), abs=1e-9)


def test_rotation_moves_the_drawn_pixels(view):
    view.set_overlays_visible(False)  # the block sits under the top-left overlay text
    view.set_window(VoiWindow(2048.0, 4096.0))
    bright_block = view.image_to_view(9.5, 9.5)
    assert grey_at(view, bright_block) == 255
    view.rotate_right()  # the top-left block is now at the top-right of the picture
    block = view.image_to_view(9.5, 9.5)
    far = view.image_to_view(150.0, 100.0)
    assert block.x() > far.x() and block.y() < far.y()
    assert grey_at(view, block) == 255
    assert grey_at(view, far) < 100


def test_only_the_visible_part_is_rendered_at_screen_resolution(view):
    big = make_image(rows=3000, cols=3000)
    view.set_image(big)
    view.viewport().repaint()
    (x0, y0, x1, y1), step, _filtered = view.image_item().last_render
    # 3000 px into 300 px of viewport: one sample per 10 pixels is enough.
    assert step == (10, 10)
    assert (x0, y0, x1, y1) == (0, 0, 3000, 3000)
    view.set_zoom(1.0)  # 1:1 about the centre: a 400 × 300 window on the image
    view.viewport().repaint()
    (x0, y0, x1, y1), step, filtered = view.image_item().last_render
    assert step == (1, 1) and not filtered
    assert x1 - x0 <= 402 and y1 - y0 <= 302
    assert x0 == pytest.approx(1500 - 200, abs=2) and y0 == pytest.approx(1500 - 150, abs=2)


def test_box_reduce_means_blocks():
    stored = np.arange(7 * 8, dtype=np.uint16).reshape(7, 8)
    reduced = box_reduce(stored, 3)
    assert reduced.shape == (3, 3)
    # Block (0, 0) = rows 0-2 x columns 0-2: mean of 0,1,2,8,9,10,16,17,18 = 9.
    assert reduced[0, 0] == 9
    assert reduced[1, 1] == np.round(stored[3:6, 3:6].mean())
    assert reduced[2, 0] == stored[6, 0]  # partial edge block: its first pixel
    assert reduced[0, 2] == stored[0, 6]
    signed = -stored.astype(np.int16)
    assert box_reduce(signed, 3)[1, 1] == -np.round(stored[3:6, 3:6].mean())


@pytest.mark.parametrize("shape, steps", [((30, 40), (1, 1)), ((2100, 1800), (3, 2)),
                                          ((1601, 1000), (1, 1))])
def test_lookup_gathers_from_strided_views(shape, steps):
    # Large regions are split between two threads; the result is the same table lookup.
    rng = np.random.default_rng(5)
    stored = rng.integers(0, 65536, shape, dtype=np.uint16)
    table = rng.integers(0, 2**32, 65536, dtype=np.uint32)
    view = stored[1::steps[0], 2::steps[1]]
    pixels = lookup(table, view)
    assert pixels.flags.c_contiguous and pixels.dtype == np.uint32
    np.testing.assert_array_equal(pixels, table[view.astype(np.int64)])


def test_box_reduce_uneven_factors():
    stored = np.arange(7 * 8, dtype=np.uint16).reshape(7, 8)
    reduced = box_reduce(stored, (2, 3))  # 2 rows x 3 columns per block
    assert reduced.shape == (4, 3)
    assert reduced[1, 1] == np.round(stored[2:4, 3:6].mean())
    assert reduced[3, 0] == stored[6, 0]  # partial bottom block: its first pixel
    assert reduced[0, 2] == stored[0, 6]  # partial right block


def test_zoomed_out_film_is_box_filtered_not_aliased(view, qtbot):
    # Columns alternate 3000, 0, 0: sampling every 3rd column sees only 3000 (white), the
    # mean of each 3 × 3 block is 1000.
    stored = np.zeros((900, 900), dtype=np.uint16)
    stored[:, ::3] = 3000
    image = RadiographImage(stored=stored, photometric="MONOCHROME2",
                            calibration_header=CalibrationHeader(), sop_instance_uid="1.5",
                            bits_stored=12)
    view.set_overlays_visible(False)
    view.set_image(image, VoiWindow(1500.0, 3001.0))
    assert view.zoom() == pytest.approx(1.0 / 3.0)
    centre = view.image_to_view(450.0, 450.0)
    first = grey_at(view, centre)
    assert first == 255  # sampled
    qtbot.waitUntil(lambda: view.image_item().reduced_factors() == [(3, 3)])
    # LINEAR C 1500 / W 3001: ((1000 - 1499.5) / 3000 + 0.5) * 255 = 85.0
    assert grey_at(view, centre) == pytest.approx(85, abs=1)
    assert view.image_item().last_render[1:] == ((3, 3), True)


def test_signed_pixels_display_through_the_pipeline(view):
    stored = np.full((50, 60), -1000, dtype=np.int16)
    stored[:, 30:] = 1000
    image = RadiographImage(
        stored=stored, photometric="MONOCHROME2", calibration_header=CalibrationHeader(),
        sop_instance_uid="1.9", bits_stored=16, pixel_representation=1,
    )
    view.set_overlays_visible(False)
    view.set_image(image, VoiWindow(0.0, 2000.0))
    # LINEAR C 0 / W 2000: -1000 -> 0 (x <= c - 0.5 - (w-1)/2), 1000 -> 255.
    assert grey_at(view, view.image_to_view(10.0, 25.0)) == 0
    assert grey_at(view, view.image_to_view(50.0, 25.0)) == 255
    assert "px" in view.overlay_corners().text()


# -- view → model ------------------------------------------------------------------------


def test_right_drag_changes_window(view, qtbot):
    start = view.voi_window()
    viewport = view.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.RightButton, pos=QPoint(100, 100))
    with qtbot.waitSignal(view.windowChanged):
        qtbot.mouseMove(viewport, QPoint(200, 100))
    moved_right = view.voi_window()
    assert moved_right.width > start.width  # right: wider
    assert moved_right.center == pytest.approx(start.center)
    qtbot.mouseMove(viewport, QPoint(200, 150))
    moved_down = view.voi_window()
    assert moved_down.center > start.center  # down: higher centre (darker)
    assert moved_down.width == pytest.approx(moved_right.width)
    qtbot.mouseRelease(viewport, Qt.MouseButton.RightButton, pos=QPoint(200, 150))
    # 12-bit range 4095 over 1024 screen px: 100 px right = +399.9 width.
    assert moved_right.width - start.width == pytest.approx(100 * 4095 / 1024)


def send_wheel(view: ImageView, pos: QPointF, steps: int) -> None:
    event = QWheelEvent(
        pos,
        view.viewport().mapToGlobal(pos),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), event)


@pytest.mark.parametrize("rotate", [False, True])
def test_wheel_zoom_keeps_point_under_cursor(view, qtbot, rotate):
    if rotate:
        view.rotate_right()
        view.flip_horizontal()
    cursor = QPointF(97.0, 211.0)
    before = view.view_to_image(cursor)
    zoom = view.zoom()
    with qtbot.waitSignal(view.zoomChanged):
        send_wheel(view, cursor, 2)
    assert view.zoom() == pytest.approx(zoom * ZOOM_STEP**2)
    after = view.view_to_image(cursor)
    # Scrolling is in whole screen pixels: half a pixel at the new zoom at most.
    tolerance = 0.75 / view.zoom()
    assert after.x() == pytest.approx(before.x(), abs=tolerance)
    assert after.y() == pytest.approx(before.y(), abs=tolerance)
    send_wheel(view, cursor, -3)
    again = view.view_to_image(cursor)
    assert again.x() == pytest.approx(before.x(), abs=1.0 / view.zoom())


def test_left_drag_pans_and_emits_cursor(view, qtbot):
    viewport = view.viewport()
    before = view.image_to_view(50.0, 50.0)
    with qtbot.waitSignal(view.cursorMoved) as moved:
        qtbot.mouseMove(viewport, QPoint(120, 80))
    expected = view.view_to_image(QPointF(120, 80))
    assert moved.args == pytest.approx([expected.x(), expected.y()])
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=QPoint(120, 80))
    qtbot.mouseMove(viewport, QPoint(150, 60))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=QPoint(150, 60))
    after = view.image_to_view(50.0, 50.0)
    assert (after - before).x() == pytest.approx(30, abs=1)
    assert (after - before).y() == pytest.approx(-20, abs=1)


class RecordingHandler:
    def __init__(self) -> None:
        self.pressed: list[tuple[float, float]] = []

    def press(self, view, event, image_pos):
        self.pressed.append((image_pos.x(), image_pos.y()))
        return True

    def move(self, view, event, image_pos):
        return False

    def release(self, view, event, image_pos):
        return True


def test_interaction_handler_gets_left_clicks_in_image_coordinates(view, qtbot):
    handler = RecordingHandler()
    view.set_interaction_handler(handler)
    target = view.image_to_view(40.0, 60.0)
    before = view.image_to_view(0.0, 0.0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert len(handler.pressed) == 1
    x, y = handler.pressed[0]
    assert x == pytest.approx(40.0, abs=1.0 / view.zoom())
    assert y == pytest.approx(60.0, abs=1.0 / view.zoom())
    assert view.image_to_view(0.0, 0.0) == before  # consumed: no pan


def test_loupe_follows_cursor_magnified(view, qtbot):
    loupe = Loupe(view)
    loupe.set_enabled(True)
    view.set_window(VoiWindow(2048.0, 4096.0))
    target = view.image_to_view(19.0, 10.0)  # the right edge of the bright block
    qtbot.mouseMove(view.viewport(), target.toPoint())
    qtbot.waitUntil(loupe.isVisible)
    assert loupe.loupe_zoom() == pytest.approx(4 * view.zoom())
    picture = loupe.grab().toImage()
    half = loupe.width() // 2
    offset = int(3 * loupe.loupe_zoom())  # three image pixels either side of the crosshair
    assert picture.pixelColor(half - offset, half).red() == 255  # inside the block
    assert picture.pixelColor(half + offset, half).red() < 100  # outside it
    loupe.set_enabled(False)
    assert not loupe.isVisible()


def test_qt_binding_survives_many_signal_emits():
    """The view emits ``cursorMoved`` on every mouse move. PySide6 6.12.0 drops a reference
    to ``True`` on every ``Signal.emit`` and aborts the process after a few hundred
    (pyproject excludes it); this guards against a binding with that bug."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from PySide6.QtCore import QObject, Signal\n"
        "class Source(QObject):\n"
        "    moved = Signal(float, float)\n"
        "source = Source()\n"
        "before = sys.getrefcount(True)\n"
        "for i in range(20000):\n"
        "    source.moved.emit(1.0, 2.0)\n"
        "print(sys.getrefcount(True) - before)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-300:]
    assert abs(int(result.stdout.strip())) < 100


# -- resizing --------------------------------------------------------------------------


def test_resize_keeps_the_image_point_at_the_centre_when_not_fitted(view, qtbot):
    """A view the user zoomed keeps the anatomy at the viewport centre when the window is
    resized (reported: 400 → 800 × 900 moved the centre by half the size change)."""
    view.set_image(make_image(rows=3000, cols=2000))
    view.set_zoom(1.0)
    rect = view.viewport().rect()
    landed = view.image_to_view(700.0, 1000.0)
    view.pan_by(rect.width() / 2.0 - landed.x(), rect.height() / 2.0 - landed.y())
    before = view.view_to_image(QPointF(rect.width() / 2.0, rect.height() / 2.0))
    assert (before.x(), before.y()) == pytest.approx((700.0, 1000.0), abs=1.0)
    view.resize(800, 900)
    qtbot.waitUntil(lambda: view.viewport().width() == 800)
    after = view.view_to_image(QPointF(400.0, 450.0))
    assert (after.x(), after.y()) == pytest.approx((700.0, 1000.0), abs=1.0)
    assert view.zoom() == pytest.approx(1.0)


def test_first_show_keeps_a_centre_set_while_hidden(qtbot):
    """A view placed on an image point before it was ever shown (a case window's second
    pane) keeps that point at the centre when it gets its real size: the first resize has
    no old size, so the view must remember the viewport it was placed in."""
    hidden = ImageView()
    qtbot.addWidget(hidden)
    hidden.set_image(make_image(rows=3000, cols=2000))
    hidden.set_zoom(0.5)
    rect = hidden.viewport().rect()  # Qt's default size of a never-shown widget
    landed = hidden.image_to_view(700.0, 1000.0)
    hidden.pan_by(rect.width() / 2.0 - landed.x(), rect.height() / 2.0 - landed.y())
    hidden.resize(600, 900)
    hidden.show()
    qtbot.waitUntil(lambda: hidden.viewport().width() == 600)
    after = hidden.view_to_image(QPointF(300.0, 450.0))
    assert (after.x(), after.y()) == pytest.approx((700.0, 1000.0), abs=1.0)


# -- non-square pixels: physical aspect on screen (docs/clinical-reference.md §1) ----------------

ROW_MM, COL_MM = 0.16, 0.10  # like sample_dicom/variants/dx_nonsquare.dcm


def _square_mm_on_screen(view: ImageView, x: float, y: float, side_mm: float):
    """Screen vectors of the two sides of a ``side_mm`` square whose corner is at image
    point ``(x, y)``: ``side_mm / COL_MM`` columns wide, ``side_mm / ROW_MM`` rows high."""
    corner = view.image_to_view(x, y)
    across = view.image_to_view(x + side_mm / COL_MM, y) - corner
    down = view.image_to_view(x, y + side_mm / ROW_MM) - corner
    return across, down


@pytest.mark.parametrize("turns", [
    (), ("rotate_right",), ("rotate_left",), ("flip_horizontal",), ("flip_vertical",),
    ("rotate_right", "flip_horizontal"), ("flip_vertical", "rotate_left", "rotate_left"),
])
def test_a_square_in_mm_is_square_on_screen(view, turns):
    view.set_image(make_image(rows=500, cols=800, spacing=(ROW_MM, COL_MM)))
    assert view.pixel_aspect() == pytest.approx(1.6)
    for turn in turns:
        getattr(view, turn)()
    across, down = _square_mm_on_screen(view, 100.0, 100.0, 10.0)
    length = np.hypot(across.x(), across.y())
    # 10 mm = 100 columns at zoom screen pixels per column, whatever the orientation.
    assert length == pytest.approx(100.0 * view.zoom(), rel=1e-9)
    assert np.hypot(down.x(), down.y()) == pytest.approx(length, rel=1e-9)
    assert across.x() * down.x() + across.y() * down.y() == pytest.approx(0.0, abs=1e-6)
    # Sides stay on the screen axes (rotations are quarter turns).
    assert min(abs(across.x()), abs(across.y())) == pytest.approx(0.0, abs=1e-9)
    for point in ((0.0, 0.0), (12.25, 480.5), (799.5, 3.75)):
        back = view.view_to_image(view.image_to_view(*point))
        assert (back.x(), back.y()) == pytest.approx(point, abs=1e-9)


def test_non_square_fit_and_one_to_one(view):
    # 300 columns × 200 rows of 0.16 × 0.10 mm: 300 × 320 column widths on screen.
    view.set_image(make_image(spacing=(ROW_MM, COL_MM)))
    assert view.zoom() == pytest.approx(min(400 / 300, 300 / 320))  # 0.9375
    top = view.image_to_view(0.0, -0.5)
    bottom = view.image_to_view(0.0, 199.5)
    assert bottom.y() - top.y() == pytest.approx(300.0, abs=1e-6)  # fills the height
    view.rotate_right()  # now 320 wide, 300 high: fits at zoom 1
    assert view.zoom() == pytest.approx(1.0)
    view.reset_view()
    view.actual_size()  # 1:1 = one image column per screen pixel
    step_x = view.image_to_view(11.0, 5.0) - view.image_to_view(10.0, 5.0)
    step_y = view.image_to_view(10.0, 6.0) - view.image_to_view(10.0, 5.0)
    assert (step_x.x(), step_x.y()) == pytest.approx((1.0, 0.0))
    assert (step_y.x(), step_y.y()) == pytest.approx((0.0, 1.6))
    assert "Zoom 100 %" in view.overlay_corners().text()


def test_non_square_zoom_keeps_the_point_under_the_cursor(view):
    view.set_image(make_image(rows=500, cols=800, spacing=(ROW_MM, COL_MM)))
    view.rotate_right()
    cursor = QPointF(90.0, 210.0)
    before = view.view_to_image(cursor)
    view.set_zoom(view.zoom() * 3.0, anchor=cursor)
    after = view.view_to_image(cursor)
    assert (after.x(), after.y()) == pytest.approx((before.x(), before.y()), abs=1.0)


def test_non_square_rendering_subsamples_each_axis_for_the_screen(view, qtbot):
    # 3000 × 3000 pixels of 0.2 (row) × 0.1 (column) mm are 3000 × 6000 column widths:
    # fitted into 400 × 300 at zoom 0.05, a column is 0.05 and a row 0.1 screen pixels.
    view.set_overlays_visible(False)
    view.set_image(make_image(rows=3000, cols=3000, spacing=(0.2, 0.1)))
    assert view.zoom() == pytest.approx(0.05)
    view.viewport().repaint()
    (x0, y0, x1, y1), steps, filtered = view.image_item().last_render
    assert steps == (10, 20) and not filtered  # (row step, column step)
    qtbot.waitUntil(lambda: view.image_item().reduced_factors() == [(10, 20)])
    view.viewport().repaint()
    assert view.image_item().last_render[1:] == ((10, 20), True)


def test_non_square_pixels_are_drawn_stretched(view):
    # The bright 20 × 20 pixel block is 2 mm wide and 3.2 mm high: at 1:1 it covers 20
    # screen pixels across and 32 down.
    view.set_overlays_visible(False)
    view.set_image(make_image(spacing=(ROW_MM, COL_MM)), VoiWindow(2048.0, 4096.0))
    view.actual_size()
    origin = view.image_to_view(-0.5, -0.5)
    view.pan_by(20.0 - origin.x(), 20.0 - origin.y())  # the block's corner at (20, 20)
    origin = view.image_to_view(-0.5, -0.5)
    assert (origin.x(), origin.y()) == pytest.approx((20.0, 20.0), abs=0.5)
    assert grey_at(view, QPointF(origin.x() + 18.0, origin.y() + 30.0)) == 255  # inside
    assert grey_at(view, QPointF(origin.x() + 10.0, origin.y() + 34.0)) < 100  # below
    assert grey_at(view, QPointF(origin.x() + 22.0, origin.y() + 10.0)) < 100  # beside


def test_loupe_shows_non_square_pixels_in_physical_aspect(view, qtbot):
    view.set_image(make_image(rows=500, cols=800, spacing=(ROW_MM, COL_MM)))
    view.rotate_right()
    loupe = Loupe(view)
    loupe.set_enabled(True)
    qtbot.mouseMove(view.viewport(), view.image_to_view(200.0, 200.0).toPoint())
    qtbot.waitUntil(loupe.isVisible)
    m = loupe.scene_to_loupe()
    corner = m.map(QPointF(200.0, 200.0))
    across = m.map(QPointF(200.0 + 10.0 / COL_MM, 200.0)) - corner
    down = m.map(QPointF(200.0, 200.0 + 10.0 / ROW_MM)) - corner
    assert np.hypot(across.x(), across.y()) == pytest.approx(np.hypot(down.x(), down.y()))
    assert across.x() * down.x() + across.y() * down.y() == pytest.approx(0.0, abs=1e-6)
    # The loupe shows the same shape as the view (same orientation), magnified.
    view_across, _ = _square_mm_on_screen(view, 200.0, 200.0, 10.0)
    assert across.x() == pytest.approx(view_across.x() * loupe.magnification, abs=1e-6)
    assert across.y() == pytest.approx(view_across.y() * loupe.magnification, abs=1e-6)


def test_landmark_handles_stay_round_and_constant_on_non_square_pixels(view):
    from ovcf_viewer.qt.annotate.landmark_items import AnnotationLayer, HandleItem, HandleKey

    view.set_image(make_image(rows=500, cols=800, spacing=(ROW_MM, COL_MM)))
    layer = AnnotationLayer(view.scene())
    handle = HandleItem(HandleKey(level="L1", name="sa"), layer, layer.root)
    handle.setPos(100.0, 100.0)
    sizes = set()
    for turn in (None, "rotate_right", "flip_vertical"):
        if turn is not None:
            getattr(view, turn)()
        for zoom in (0.5, 2.0):
            view.set_zoom(zoom)
            rect = handle.deviceTransform(view.viewportTransform()).mapRect(
                handle.boundingRect())
            assert rect.width() == pytest.approx(rect.height())
            sizes.add(round(rect.width(), 6))
            centre = rect.center()
            expected = view.image_to_view(100.0, 100.0)
            assert (centre.x(), centre.y()) == pytest.approx((expected.x(), expected.y()),
                                                             abs=1e-6)
    assert len(sizes) == 1


def test_resize_of_a_fitted_non_square_view_refits(view, qtbot):
    view.set_image(make_image(spacing=(ROW_MM, COL_MM)))
    view.resize(640, 300)
    qtbot.waitUntil(lambda: view.viewport().width() == 640)
    assert view.zoom() == pytest.approx(min(640 / 300, 300 / 320))
    centre = view.view_to_image(QPointF(320.0, 150.0))
    assert (centre.x(), centre.y()) == pytest.approx((149.5, 99.5), abs=0.6)
