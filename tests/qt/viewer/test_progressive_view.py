"""A JPEG 2000 film opened progressively in the view: the preview is painted where full
resolution will be, points placed on it stay exact when full resolution is swapped in, the
measurements panel works throughout, edge assist waits for full resolution, and a failed
background decode is reported like a failed open."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from ovcf_viewer.io import progressive
from ovcf_viewer.io.progressive import open_progressive
from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.measure.edge_assist import snap_corner
from ovcf_viewer.model.errors import CorruptPixelDataError
from ovcf_viewer.model.landmarks import POINT_NAMES
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
from ovcf_viewer.qt.main_window import MainWindow, cursor_status
from ovcf_viewer.qt.viewer.image_view import ImageView

from ...io.progressive_films import film, pattern, pydicom_pixels, require_system_openjpeg
from ...spine_builder import BodySpec, place
from ..annotate.test_landmarks_gui import bring_into_view, click

require_system_openjpeg()

ROW_MM, COL_MM = 0.16, 0.10  # the test films' Imager Pixel Spacing: non-square on purpose


@pytest.fixture
def gate(monkeypatch):
    """Hold full-resolution decodes until ``gate.set()``; released at teardown."""
    event = threading.Event()
    original = progressive._decode_full

    def held(*args):
        event.wait(30)
        return original(*args)

    monkeypatch.setattr(progressive, "_decode_full", held)
    yield event
    event.set()


@pytest.fixture(scope="module")
def large_film(tmp_path_factory):
    """Large enough to be opened progressively in a 900 × 700 main window (encoded once)."""
    return film(tmp_path_factory.mktemp("large"), "jpeg2000", name="large.dcm",
                pixels=pattern(rows=2400, cols=2000))


@pytest.fixture
def annotated_view(qtbot, tmp_path):
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(300, 260)
    view.show()
    qtbot.waitExposed(view)
    settings = Settings(edge_assist=False)
    controller = AnnotationController(view, settings, view,
                                      store=AnnotationStore(tmp_path / "a.sqlite3"))
    qtbot.addWidget(controller.create_toolbar(view))
    qtbot.addWidget(controller.panel)
    return view, controller


def show_progressively(view: ImageView, controller, path):
    viewport = view.viewport().size()
    opened = open_progressive(path, (viewport.width(), viewport.height()))
    assert opened is not None
    image, preview = opened
    view.set_image(image, preview=preview)
    controller.set_image(image)
    return image, preview


def l1_truth(facing: str = "left"):
    """One body 36 mm deep (360 columns), its posterior-inferior corner near the side the
    spine faces away from, so it lies inside the 520-column film."""
    spec = BodySpec("L1", ha=17.0, hm=20.0, hp=26.0, rotation_deg=5.0)
    origin = (440.0, 420.0) if facing == "left" else (80.0, 420.0)
    return place([spec], facing=facing, tilt_deg=-7.0, row_mm=ROW_MM, col_mm=COL_MM,
                 centre_px=origin)


@pytest.mark.parametrize("facing", ["left", "right"])
def test_points_placed_on_the_preview_stay_exact_after_full_resolution(
        annotated_view, tmp_path, qtbot, gate, facing):
    view, controller = annotated_view
    path = film(tmp_path, "jpeg2000")
    image, preview = show_progressively(view, controller, path)
    assert preview.level >= 1
    view.viewport().repaint()
    assert view.showing_preview() and view.full_resolution_pending()
    region, steps, _ = view.image_item().last_render
    assert steps[0] % preview.factor == 0  # painted from the preview's samples

    truth = l1_truth(facing)
    controller.level_combo.setCurrentText("L1")
    controller.set_mode("landmarks")
    for name in POINT_NAMES:
        xy = truth.vertebrae["L1"].points[name]
        bring_into_view(view, xy)
        click(view, xy)
    placed = dict(controller.model.vertebrae["L1"].points)
    for name in POINT_NAMES:
        assert placed[name] == pytest.approx(truth.vertebrae["L1"].points[name], abs=1e-9)
    on_screen = {name: view.image_to_view(*xy) for name, xy in placed.items()}
    panel = controller.panel
    before = {c: panel.vertebra_cell("L1", c) for c in ("ha", "hm", "hp")}
    assert float(before["ha"]) == pytest.approx(17.0, abs=0.01)
    assert float(before["hm"]) == pytest.approx(20.0, abs=0.01)
    assert float(before["hp"]) == pytest.approx(26.0, abs=0.01)
    assert view.showing_preview()  # all of that happened before full resolution

    with qtbot.waitSignal(view.fullResolutionArrived, timeout=60_000):
        gate.set()
    qtbot.waitUntil(lambda: not view.showing_preview(), timeout=60_000)
    view.viewport().repaint()
    np.testing.assert_array_equal(view.image().stored, pydicom_pixels(path))
    assert dict(controller.model.vertebrae["L1"].points) == placed
    handles = {key.name: item for key, item in controller.layer.handles.items()
               if key.level == "L1"}
    assert set(handles) == set(POINT_NAMES)
    for name, xy in placed.items():
        assert view.image_to_view(*xy) == on_screen[name]  # same place on screen
        assert (handles[name].pos().x(), handles[name].pos().y()) == pytest.approx(xy, abs=1e-9)
    assert {c: panel.vertebra_cell("L1", c) for c in ("ha", "hm", "hp")} == before


def test_main_window_opens_a_jpeg2000_film_and_full_resolution_arrives(
        qtbot, tmp_path, large_film):
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    path = large_film
    assert window.open_image(path)
    image = window.image()
    assert image.pending is not None  # opened progressively
    qtbot.waitUntil(lambda: not window.view.full_resolution_pending(), timeout=60_000)
    qtbot.waitUntil(lambda: not window.view.showing_preview(), timeout=60_000)
    np.testing.assert_array_equal(image.stored, pydicom_pixels(path))
    assert window.error_box() is None or not window.error_box().isVisible()
    text = cursor_status(image, 300.0, 150.0, image.calibration(), *window.view.display_state())
    assert f"stored {int(pydicom_pixels(path)[150, 300])}" in text
    window.view.viewport().repaint()
    window.grab().save(str(tmp_path / "full.png"))


def test_cursor_values_wait_for_full_resolution(qtbot, tmp_path, gate):
    path = film(tmp_path, "jpeg2000")
    image, _ = open_progressive(path, (100, 100))
    text = cursor_status(image, 300.0, 150.0, image.calibration(), None, False)
    assert "x 300.0  y 150.0 px" in text
    assert "full resolution not yet decoded" in text and "stored" not in text
    gate.set()
    image.wait_for_pixels(timeout=60)
    assert "stored" in cursor_status(image, 300.0, 150.0, image.calibration(), None, False)


def test_a_failed_background_decode_says_so_and_the_app_keeps_running(
        qtbot, tmp_path, monkeypatch, large_film):
    def fails(ds, codestream):
        raise CorruptPixelDataError(None, "JPEG 2000 Lossless pixel data cannot be decoded: "
                                    "damaged")

    monkeypatch.setattr(progressive, "_imagecodecs_lossless", fails)
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    path = large_film
    assert window.open_image(path)
    assert window.image().pending is not None  # opened progressively
    qtbot.waitUntil(lambda: window.error_box() is not None and window.error_box().isVisible(),
                    timeout=60_000)
    assert "cannot be decoded" in window.error_box().text()
    assert "Traceback" not in window.error_box().text()
    image = window.image()
    assert image.pixels_failed()
    assert window.view.showing_preview()  # what was seen stays seen
    assert "pixel values unavailable" in cursor_status(
        image, 10.0, 10.0, image.calibration(), None, False)
    window.error_box().close()
    monkeypatch.undo()
    other = film(tmp_path, "jpegls")
    assert window.open_image(other)  # and the next film opens as usual
    np.testing.assert_array_equal(window.image().stored, pydicom_pixels(other))


def test_edge_assist_snaps_on_full_resolution_only(annotated_view, tmp_path, qtbot, gate):
    """A click while full resolution is still decoding: edge assist waits for it (here the
    decode is released a moment later from another thread) and snaps on its pixels."""
    view, controller = annotated_view
    controller.settings.edge_assist = True
    path = film(tmp_path, "jpeg2000")
    image, _ = show_progressively(view, controller, path)
    assert view.full_resolution_pending()
    controller.level_combo.setCurrentText("L1")
    controller.set_mode("landmarks")
    corner = (258.0, 131.0)  # near the bright block's top-left corner (256, 128)
    bring_into_view(view, corner)
    release = threading.Timer(0.2, gate.set)
    release.start()
    click(view, corner)
    release.join()
    expected, _ = snap_corner(pydicom_pixels(path), corner, "sa", image.calibration())
    assert controller.model.vertebrae["L1"].points["sa"] == pytest.approx(expected, abs=1e-9)


def test_a_case_opens_its_jpeg2000_films_progressively_in_parallel(qtbot, tmp_path_factory):
    """Three films of one patient: all three are opened (in parallel) as previews, both panes
    paint theirs, and full resolution replaces each, identical to pydicom's decode."""
    from ovcf_viewer.qt.case.case_view import CaseController, CaseWorkspace

    folder = tmp_path_factory.mktemp("case")
    paths = [film(folder, "jpeg2000", name=f"{when}.dcm", pixels=pattern(2400, 2000, seed=i),
                  study_date=date, patient_id="P1")
             for i, (when, date) in enumerate([("pre", "2026-01-02"), ("post", "2026-01-09"),
                                                ("followup", "2026-04-01")])]
    controller = CaseController(Settings(), autosave=False)
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1400, 900)
    widget.show()
    qtbot.waitExposed(widget)
    assert controller.preview_viewport is not None
    messages = controller.new_case(paths)
    assert not [m for m in messages if "cannot" in m]
    images = list(controller.images.values())
    assert len(images) == 3
    assert all(image.pending is not None for image in images)  # opened progressively
    panes = (widget.case_view.left, widget.case_view.right)
    assert all(pane.view.image() is not None for pane in panes)
    qtbot.waitUntil(lambda: all(image.pixels_ready() for image in images), timeout=120_000)
    qtbot.waitUntil(lambda: not any(pane.view.showing_preview() for pane in panes),
                    timeout=60_000)
    qtbot.waitUntil(lambda: not controller.previews, timeout=60_000)
    for image in images:
        assert not image.pixels_failed()
        np.testing.assert_array_equal(image.stored, pydicom_pixels(image.path))


def test_an_automatic_window_from_the_preview_is_redone_on_full_resolution(
        qtbot, tmp_path, gate):
    """A film without DICOM windows is first windowed from the preview's histogram; once full
    resolution arrives the window is the one opening the film whole gives. A window the user
    chose meanwhile would be kept (next test)."""
    from ovcf_viewer.render import display

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(200, 160)
    view.show()
    qtbot.waitExposed(view)
    path = film(tmp_path, "jpeg2000", windows=[])
    image, preview = open_progressive(path, (200, 160))
    assert not image.windows
    view.set_image(image, preview=preview)
    first = view.voi_window()
    assert first.explanation.startswith("Auto")
    with qtbot.waitSignal(view.fullResolutionArrived, timeout=60_000):
        gate.set()
    whole = display.auto_window(load_image_whole(path))
    assert view.voi_window() == whole


def test_a_window_chosen_on_the_preview_is_kept(qtbot, tmp_path, gate):
    from ovcf_viewer.model.image import VoiWindow

    view = ImageView()
    qtbot.addWidget(view)
    view.resize(200, 160)
    view.show()
    qtbot.waitExposed(view)
    path = film(tmp_path, "jpeg2000", windows=[])
    image, preview = open_progressive(path, (200, 160))
    view.set_image(image, preview=preview)
    chosen = VoiWindow(900.0, 700.0, explanation="Manual")
    view.set_window(chosen)
    with qtbot.waitSignal(view.fullResolutionArrived, timeout=60_000):
        gate.set()
    assert view.voi_window() == chosen


def load_image_whole(path):
    from ovcf_viewer.io.dicom import load_image

    return load_image(path)
