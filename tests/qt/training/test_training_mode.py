"""Training window: a resident places landmarks with real clicks on a sample film (reference
hidden), submits, sees feedback and an overlay, and after three attempts a progress chart."""

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.io.teaching import practice_films
from ovcf_viewer.io.training_history import TrainingHistory
from ovcf_viewer.model.landmarks import POINT_NAMES, load_annotations
from ovcf_viewer.qt.training.training_mode import (
    FeedbackOverlay,
    TrainingWindow,
    save_as_teaching_case,
)

REPO = Path(__file__).resolve().parents[3]
CASE = REPO / "sample_dicom" / "case-0001"

pytestmark = [
    pytest.mark.skipif(not CASE.is_dir(), reason="sample_dicom not generated"),
]


@pytest.fixture
def window(qtbot, tmp_path):
    films = [f for f in practice_films() if f.case_id == "sample:case-0001"]
    win = TrainingWindow(TrainingHistory(tmp_path / "h.sqlite3"), films)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    return win


def click(view, x, y):
    """Press and release at image point (x, y), sent as events with float positions (no
    double-click synthesis, no rounding to whole screen pixels)."""
    pos = view.image_to_view(x, y)
    for kind, buttons in ((QEvent.Type.MouseButtonPress, Qt.MouseButton.LeftButton),
                          (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        event = QMouseEvent(kind, QPointF(pos), view.viewport().mapToGlobal(pos),
                            Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), event)


def click_levels(qtbot, win, offset_px=(0.0, 0.0), skip=()):
    """Click every asked-for landmark at the reference position + ``offset_px`` (image px),
    in placement order; the controller moves to the next level by itself."""
    ref = win.reference
    view = win.view
    for level in win.levels:
        for name in POINT_NAMES:
            if (level, name) in skip:
                continue
            x, y = ref.vertebrae[level].points[name]
            click(view, x + offset_px[0], y + offset_px[1])


def overlays(win):
    return [i for i in win.view.scene().items() if isinstance(i, FeedbackOverlay)]


def test_start_needs_a_name_and_hides_the_reference(window):
    pre = next(f for f in window.films if f.label == "pre")
    # The film was annotated in the viewer: training must not show (or overwrite) that.
    AnnotationStore().save(load_annotations(pre.reference_path))
    assert window.choose_film(pre.key)
    assert not window.start() and "name" in window.instructions.text()
    window.set_resident("Dr Test")
    assert window.start()
    assert window.levels == ("T12", "L1", "L2")
    assert "T12, L1, L2" in window.instructions.text()
    assert window.controller.model.vertebrae == {}
    assert overlays(window) == []
    assert window.controller.mode == "landmarks" and not window.settings.edge_assist
    # ... and the viewer's saved annotations are untouched.
    saved = AnnotationStore().load(load_annotations(pre.reference_path).sop_instance_uid)
    assert len(saved.complete_vertebrae()) == 7


def test_click_submit_feedback_and_history(qtbot, window, tmp_path):
    window.set_resident("Dr Test")
    window.choose_film("sample:case-0001/pre")
    assert window.start()
    # 10 image px to the right = 1.6 mm at 0.16 mm columns (the patient faces left: posterior).
    click_levels(qtbot, window, offset_px=(10.0, 0.0))
    model = window.controller.model
    assert sorted(model.complete_vertebrae()) == ["L1", "L2", "T12"]
    x, y = model.vertebrae["L1"].points["sa"]
    rx, ry = window.reference.vertebrae["L1"].points["sa"]
    assert (x, y) == pytest.approx((rx + 10, ry), abs=1e-6)
    with qtbot.waitSignal(window.attemptScored) as signal:
        window.submit_button.click()
    score = signal.args[0]
    assert score.mean_point_error_mm == pytest.approx(1.6, abs=1e-6)
    assert score.grade_agreement == 1.0
    assert window.table.columnCount() == 3
    assert window.table.horizontalHeaderItem(1).text() == "L1"
    assert window.table.verticalHeaderItem(0).text() == "Mean point error (mm)"
    assert "mm at detector" in window.table_caption.text()
    assert window.table.item(0, 1).text() == "1.6"  # L1 mean point error (one decimal)
    assert window.table.item(2, 1).text() == "0.0\u00a0·\u00a00%"  # a pure shift keeps Ha
    assert "mm at detector" in window.summary_label.text()
    (overlay,) = overlays(window)
    assert len(overlay.error_vectors()) == 18
    assert not window.controller.layer.is_visible()
    stored = window.history.attempts("dr test")
    assert len(stored) == 1 and stored[0].case_id == "sample:case-0001"
    assert stored[0].image_label == "pre" and stored[0].duration_s > 0
    assert window.resident_combo.findText("Dr Test") >= 0
    assert not window.submit_button.isEnabled()


def test_advice_for_anterior_corners_on_the_osteophyte(qtbot, window):
    window.set_resident("R")
    window.choose_film("sample:case-0001/pre")
    window.start()
    ref = window.reference
    view = window.view
    for level in window.levels:
        for name in POINT_NAMES:
            x, y = ref.vertebrae[level].points[name]
            dx = -20.0 if (level, name) in (("L1", "sa"), ("L1", "ia")) else 0.0
            click(view, x + dx, y)
    score = window.submit()
    assert score.advice[0].kind == "anterior_out"
    assert "osteophyte" in window.advice_label.text()


def test_incomplete_attempt_is_scored_and_says_so(qtbot, window):
    window.set_resident("R")
    window.choose_film("sample:case-0001/pre")
    window.start()
    assert window.submit() is None and "Place the landmarks" in window.instructions.text()
    click_levels(qtbot, window, skip={("L2", n) for n in POINT_NAMES})
    score = window.submit()
    assert score.incomplete_levels == ("L2",)
    assert "not all six landmarks" in window.advice_label.text()


def test_three_attempts_progress_chart_and_csv(qtbot, window, tmp_path):
    window.set_resident("Dr Progress")
    for offset in (12.0, 6.0, 2.0):
        film = window.choose_random()
        assert film is not None
        assert window.start()
        click_levels(qtbot, window, offset_px=(offset, 0.0))
        assert window.submit() is not None
    keys = {p.case_id + "/" + p.image_label for p in window.history.progress("Dr Progress")}
    assert len(keys) == 3  # Random prefers films not practised yet
    series = window.chart.series
    assert [p.mean_point_error for p in series] == pytest.approx([1.92, 0.96, 0.32], abs=1e-6)
    assert window.chart.canvas is not None and not window.chart.placeholder.isVisible()
    axes = window.chart.figure.axes
    assert len(axes) == 2 and len(axes[0].lines[0].get_xdata()) == 3
    assert "mm at detector" in axes[0].get_ylabel()
    csv_path = tmp_path / "attempts.csv"
    assert window.export_csv(csv_path) == 3
    assert csv_path.read_text(encoding="utf-8-sig").count("Dr Progress") == 3


def messages(parent):
    from PySide6.QtWidgets import QMessageBox

    return [b.text() for b in parent.findChildren(QMessageBox, "teaching-case-message")]


def test_save_as_teaching_case_action(qtbot, tmp_path):
    from PySide6.QtWidgets import QWidget

    parent = QWidget()
    qtbot.addWidget(parent)
    ref = load_annotations(CASE / "pre.json")
    case = save_as_teaching_case(parent, [(CASE / "pre.dcm", ref)], title="wedge L1")
    assert case is not None and case.title == "wedge L1"
    assert any(f.key.startswith(case.case_id) for f in practice_films())
    assert "de-identified" in messages(parent)[-1]
    ref.vertebrae.clear()
    assert save_as_teaching_case(parent, [(CASE / "pre.dcm", ref)], title="x") is None
    assert "no complete vertebra" in messages(parent)[-1]


def test_main_window_training_menu(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()  # installs the Training menu
    qtbot.addWidget(main)
    actions = main.training_actions
    titles = [a.text() for a in main.menuBar().actions()]
    assert titles.count("&Training") == 1
    assert actions.save_current_as_teaching_case(title="x") is None  # nothing open yet
    assert "Open a DICOM film" in messages(main)[-1]
    assert main.open_image(CASE / "pre.dcm")
    assert main.open_annotations(CASE / "pre.json")
    case = actions.save_current_as_teaching_case(title="L1 wedge from the viewer")
    assert case is not None and len(case.films) == 1
    trainer = actions.open_training()
    qtbot.addWidget(trainer)
    assert trainer.choose_film(case.films[0].key)
    trainer.set_resident("R")
    assert trainer.start() and trainer.levels == ("T12", "L1", "L2")


def test_damaged_history_still_lets_a_resident_practise(qtbot):
    from ovcf_viewer.io.training_history import history_path

    history_path().write_bytes(b"not a database" * 100)
    films = [f for f in practice_films() if f.case_id == "sample:case-0001"]
    win = TrainingWindow(films=films)
    qtbot.addWidget(win)
    assert "session only" in win.instructions.text()
    win.set_resident("R")
    win.choose_film("sample:case-0001/pre")
    assert win.start()
    click_levels(qtbot, win)
    assert win.submit() is not None and len(win.chart.series) == 1


NONSQUARE = REPO / "sample_dicom" / "variants"


def test_overlay_markers_round_on_a_nonsquare_film(qtbot):
    """dx_nonsquare (0.16 mm rows × 0.10 mm columns): rows are drawn 1.6 column widths high,
    yet every expert circle and resident cross covers a square on screen of the constant
    marker size, at two zooms and rotated; the markers sit on their image points and the
    green circle drawn on screen is as wide as it is high."""
    from PySide6.QtGui import QColor

    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.qt.training.training_mode import EXPERT_COLOUR, MARKER_RADIUS_PX
    from ovcf_viewer.qt.viewer.image_view import ImageView

    image = load_image(NONSQUARE / "dx_nonsquare.dcm")
    reference = load_annotations(NONSQUARE / "dx_nonsquare.json")
    attempt = load_annotations(NONSQUARE / "dx_nonsquare.json")
    for vertebra in attempt.vertebrae.values():
        for name, (x, y) in list(vertebra.points.items()):
            vertebra.points[name] = (x + 40.0, y + 60.0)
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(700, 700)
    view.show()  # lay the viewport out now, not at the first grab
    qtbot.waitExposed(view)
    view.set_image(image)
    assert view.pixel_aspect() == pytest.approx(1.6)
    overlay = FeedbackOverlay(reference, attempt, ["L1"])
    view.scene().addItem(overlay)
    assert len(overlay.markers) == 12
    size = 2 * (MARKER_RADIUS_PX + 1.5)
    for turn in (None, "rotate_right"):
        if turn:
            getattr(view, turn)()
        for zoom in (0.5, 3.0):
            view.set_zoom(zoom, view.image_to_view(866.0, 545.0))
            for marker in overlay.markers:
                rect = marker.deviceTransform(view.viewportTransform()).mapRect(
                    marker.boundingRect())
                assert (rect.width(), rect.height()) == pytest.approx((size, size)), zoom
                centre = view.image_to_view(marker.pos().x(), marker.pos().y())
                assert (rect.center().x(), rect.center().y()) == pytest.approx(
                    (centre.x(), centre.y()), abs=1e-6)
    # Pixels: one expert circle alone (a single point draws no outline), at 1:1.
    view.scene().removeItem(overlay)
    lone = load_annotations(NONSQUARE / "dx_nonsquare.json")
    lone.vertebrae["L1"].points.clear()
    lone.vertebrae["L1"].points["sm"] = (866.0, 545.0)
    view.scene().addItem(FeedbackOverlay(lone, attempt, ["L1"]))
    view.reset_view()
    view.set_zoom(1.0, view.image_to_view(866.0, 545.0))
    centre = view.image_to_view(866.0, 545.0)
    picture = view.viewport().grab().toImage()
    green = []
    r = int(MARKER_RADIUS_PX) + 3
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            colour = QColor(picture.pixel(round(centre.x()) + dx, round(centre.y()) + dy))
            if colour.green() > 150 and colour.red() < 150 and colour.blue() < 170:
                green.append((dx, dy))
    assert green, "no expert circle drawn"
    xs, ys = [p[0] for p in green], [p[1] for p in green]
    assert max(ys) - min(ys) == pytest.approx(max(xs) - min(xs), abs=1)
    assert max(ys) - min(ys) <= 2 * MARKER_RADIUS_PX + 3
    assert EXPERT_COLOUR.green() > 150


def test_focus_on_fits_the_rect_on_screen_on_a_nonsquare_film(qtbot):
    """The feedback zoom frames the levels as they appear on screen: rows 1.6 column widths
    high, so a rect 300 columns × 600 rows is 300 × 960 at zoom 1 and must fit, centred,
    with its 25 % margins, the taller side filling the viewport."""
    from types import SimpleNamespace

    from PySide6.QtCore import QRectF

    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.qt.training.training_mode import TrainingWindow
    from ovcf_viewer.qt.viewer.image_view import ImageView

    image = load_image(NONSQUARE / "dx_nonsquare.dcm")
    view = ImageView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.set_image(image)
    rect = QRectF(700.0, 400.0, 300.0, 600.0)
    TrainingWindow.focus_on(SimpleNamespace(view=view, image=image), rect)
    viewport = view.viewport().rect()
    top_left = view.image_to_view(rect.left(), rect.top())
    bottom_right = view.image_to_view(rect.right(), rect.bottom())
    height = bottom_right.y() - top_left.y()
    assert height * 1.5 == pytest.approx(viewport.height(), rel=0.01)
    assert top_left.y() >= 0 and bottom_right.y() <= viewport.height()
    assert view.zoom() == pytest.approx(viewport.height() / (1.5 * 600 * 1.6), rel=0.01)
