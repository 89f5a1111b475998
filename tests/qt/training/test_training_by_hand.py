"""A practice session driven like a hand (move, hover with events processed, press, release on
``view.viewport()``) on the synthetic teaching library: de-identified throughout, the viewer's
loupe and window presets, level-shift feedback first and alone, Random never the picture just
practised, repeats off the progress line. Screenshots go to $OVCF_TEST_SHOTS when it is set
(to look at them), otherwise to the test's temporary folder."""

import math
import os
import shutil
from pathlib import Path

import pytest
from pydicom import dcmread
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QApplication, QLabel

from ovcf_viewer.io.teaching import practice_films, teaching_dir
from ovcf_viewer.io.training_history import TrainingHistory
from ovcf_viewer.model.landmarks import POINT_NAMES
from ovcf_viewer.qt.training.training_mode import TrainingWindow, repeated_attempts
from tests.qt.annotate.test_tools_by_hand import Hand

REPO = Path(__file__).resolve().parents[3]
CASE = REPO / "sample_dicom" / "case-0001"

pytestmark = pytest.mark.skipif(not CASE.is_dir(), reason="sample_dicom not generated")


def screen(view, xy) -> QPoint:
    return view.image_to_view(*xy).toPoint()


def image_at(view, point: QPoint) -> tuple[float, float]:
    p = view.view_to_image(QPointF(point))
    return (p.x(), p.y())


def open_window(qtbot, tmp_path, films):
    win = TrainingWindow(TrainingHistory(tmp_path / "h.sqlite3"), films)
    win.shots_dir = tmp_path / "shots"  # see shoot()
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    return win


def place_by_hand(hand, win, source_of=None):
    """Click the six points of every asked-for level where the expert put those of
    ``source_of[level]`` (default: the level itself); returns where each click landed
    (image coordinates), keyed by (asked level, point)."""
    source_of = source_of or {}
    landed = {}
    for level in win.levels:
        source = win.reference.vertebrae[source_of.get(level, level)]
        for name in POINT_NAMES:
            target = screen(win.view, source.points[name])
            hand.click(target)
            landed[(level, name)] = image_at(win.view, target)
    return landed


def visible_text(win) -> str:
    """Everything the window shows as text: title, labels, combo entries, the overlays."""
    parts = [win.windowTitle(), win.view.overlay_corners().text()]
    parts += [label.text() for label in win.findChildren(QLabel) if label.isVisible()]
    for combo in (win.film_combo, win.resident_combo):
        parts += [combo.itemText(i) for i in range(combo.count())]
    return "\n".join(parts)


def shoot(win, name):
    shots = Path(os.environ.get("OVCF_TEST_SHOTS") or win.shots_dir)
    shots.mkdir(parents=True, exist_ok=True)
    QApplication.processEvents()
    assert win.grab().save(str(shots / name))


def test_a_practice_session_by_hand_on_a_synthetic_case(qtbot, tmp_path):
    films = [f for f in practice_films() if f.case_id in ("synthetic:tl-07", "synthetic:tl-12")]
    win = open_window(qtbot, tmp_path, films)
    win.set_resident("Dr Hand")
    assert win.choose_film("synthetic:tl-07/lateral")
    # Rendered on first use, off the GUI thread; the film opens when it is there.
    with qtbot.waitSignal(win.filmStarted, timeout=60_000):
        qtbot.mouseClick(win.start_button, Qt.MouseButton.LeftButton)
        assert "Preparing Synthetic case 07" in win.instructions.text()
    assert win.levels == ("T12", "L1", "L2")
    assert "TEACHING" not in visible_text(win) and "TL-07" not in visible_text(win)
    hand = Hand(qtbot, win.view)
    # The loupe follows the hand.
    win.loupe_action.trigger()
    target = screen(win.view, win.reference.vertebrae["L1"].points["sa"])
    hand.move_to(target)
    qtbot.waitUntil(win.loupe.isVisible)
    at = win.loupe.image_position()
    assert (at.x(), at.y()) == pytest.approx(image_at(win.view, target), abs=1e-6)
    landed = place_by_hand(hand, win)
    shoot(win, "01-case-shown-landmarks-placed.png")
    model = win.controller.model
    assert sorted(model.complete_vertebrae()) == ["L1", "L2", "T12"]
    with qtbot.waitSignal(win.attemptScored) as signal:
        qtbot.mouseClick(win.submit_button, Qt.MouseButton.LeftButton)
    score = signal.args[0]
    # The error of each landmark is where the click landed against the expert, in mm.
    cal = win.calibration
    expected = [math.hypot((landed[(lv, n)][0] - win.reference.vertebrae[lv].points[n][0])
                           * cal.col_mm,
                           (landed[(lv, n)][1] - win.reference.vertebrae[lv].points[n][1])
                           * cal.row_mm)
                for lv in win.levels for n in POINT_NAMES]
    assert score.mean_point_error_mm == pytest.approx(sum(expected) / len(expected), abs=1e-6)
    assert score.level_shift is None and not win.level_shift_label.isVisible()
    assert score.levels["L1"].reference_grade == 3
    assert win.table.item(0, 1).text() == f"{score.levels['L1'].mean_point_error_mm:.1f}"
    win.loupe_action.trigger()
    shoot(win, "02-after-scoring.png")
    assert_cells_not_truncated(win)


def assert_cells_not_truncated(win):
    """Every feedback cell and row header fits its column (no "…" elision): each column is
    at least as wide as its widest cell needs (the delegate's size hint, margins included)."""
    table = win.table
    metrics = table.fontMetrics()
    for column in range(table.columnCount()):
        width = table.columnWidth(column)
        assert width >= table.sizeHintForColumn(column), column
        for row in range(table.rowCount()):
            text = table.item(row, column).text()
            assert metrics.horizontalAdvance(text) < width, (row, column, text, width)
    header = table.verticalHeader()
    for row in range(table.rowCount()):
        text = table.verticalHeaderItem(row).text()
        assert metrics.horizontalAdvance(text) <= header.width(), text


def test_every_level_one_off_gives_the_level_shift_first_and_alone(qtbot, tmp_path):
    films = [f for f in practice_films() if f.case_id == "sample:case-0001"]
    win = open_window(qtbot, tmp_path, films)
    win.set_resident("Dr Count")
    win.choose_film("sample:case-0001/pre")
    assert win.start() and win.levels == ("T12", "L1", "L2")
    hand = Hand(qtbot, win.view)
    # The resident counts from the wrong rib: marks L1, L2, L3 as T12, L1, L2.
    place_by_hand(hand, win, {"T12": "L1", "L1": "L2", "L2": "L3"})
    with qtbot.waitSignal(win.attemptScored) as signal:
        qtbot.mouseClick(win.submit_button, Qt.MouseButton.LeftButton)
    score = signal.args[0]
    assert score.level_shift is not None and score.level_shift.offset == 1
    assert [a.kind for a in score.advice] == ["level_shift"]
    assert win.level_shift_label.isVisible()
    text = win.level_shift_label.text()
    assert "Whole vertebra shifted" in text and "caudally: check the level" in text
    assert "your L1 is L2" in text and text.count("check the level") == 1
    assert win.advice_label.text() == ""  # nothing computed against the wrong vertebra
    layout = win.level_shift_label.parentWidget().layout()
    assert layout.indexOf(win.level_shift_label) < layout.indexOf(win.summary_label)
    shoot(win, "03-level-shift-feedback.png")
    assert_cells_not_truncated(win)
    # On a 1366 × 768 laptop the three levels' errors still show whole, without scrolling.
    win.resize(1366, 768)
    qtbot.waitUntil(lambda: win.width() == 1366)
    QApplication.processEvents()
    assert win.table.horizontalScrollBar().maximum() == 0
    assert_cells_not_truncated(win)


def test_practice_never_shows_who_the_patient_is(qtbot, tmp_path):
    """Even a case put in the teaching folder by hand, its header never de-identified."""
    folder = teaching_dir() / "tc-by-hand"
    folder.mkdir(parents=True)
    ds = dcmread(CASE / "pre.dcm")
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "DOE^JANE", "MRN-4711", "19510417"
    ds.StudyDescription = "Jane Doe lumbar spine"
    ds.save_as(folder / "pre.dcm")
    shutil.copy(CASE / "pre.json", folder / "pre.json")
    (folder / "case.json").write_text(
        '{"format": "ovcf-teaching-case", "case_id": "tc-by-hand", "title": "Wedge, hand-made",'
        ' "films": [{"label": "pre", "image": "pre.dcm", "reference": "pre.json"}]}')
    films = [f for f in practice_films() if f.case_id in ("tc-by-hand", "sample:case-0001")]
    win = open_window(qtbot, tmp_path, films)
    win.set_resident("Dr Private")
    for key in ("tc-by-hand/pre", "sample:case-0001/pre"):
        assert win.choose_film(key) and win.start()
        shown = visible_text(win)
        for secret in ("DOE", "JANE", "MRN-4711", "1951", "SYNTHETIC", "OVCF-0001", "1948",
                       "2026-01-05", "Jane"):
            assert secret not in shown, (key, secret)
        assert "Practice: " in win.view.overlay_corners().text()
        assert win.windowTitle().endswith(win.film.title)
        hand = Hand(qtbot, win.view)
        place_by_hand(hand, win)
        with qtbot.waitSignal(win.attemptScored):
            qtbot.mouseClick(win.submit_button, Qt.MouseButton.LeftButton)
        shown = visible_text(win)
        assert "DOE" not in shown and "MRN-4711" not in shown and "1948" not in shown


def test_window_presets_and_a_hand_dragged_window(qtbot, tmp_path):
    films = [f for f in practice_films() if f.case_id == "sample:case-0001"]
    win = open_window(qtbot, tmp_path, films)
    win.set_resident("Dr Window")
    win.choose_film("sample:case-0001/pre")
    assert win.start()
    combo = win.window_presets.combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels[0].startswith("BONE (") and labels[1] == "SOFT (C 1350 / W 2700)"
    assert labels[-2:] == ["Full range", "Auto (histogram)"]
    assert combo.currentText() == labels[0]  # the film's first window is shown
    soft = 1
    combo.setCurrentIndex(soft)
    combo.activated.emit(soft)
    assert (win.view.voi_window().center, win.view.voi_window().width) == (1350.0, 2700.0)
    # Right-drag adjusts the window by hand; the combo then names it "Manual".
    hand = Hand(qtbot, win.view)
    centre = win.view.viewport().rect().center()
    hand.drag(centre, centre + QPoint(60, 30), Qt.MouseButton.RightButton)
    assert combo.currentText().startswith("Manual (C ")
    assert win.view.voi_window().width != 2700.0


def test_random_after_practice_never_the_same_picture_and_repeats_off_the_line(
        qtbot, tmp_path):
    every = {f.key: f for f in practice_films()}
    pre = every["sample:case-0001/pre"]
    j2k_like = next(f for case_films in [practice_films()] for f in case_films
                    if f.key == "sample:case-0001/post")
    win = open_window(qtbot, tmp_path, [pre, j2k_like])
    win.set_resident("Dr Again")
    win.choose_film(pre.key)
    assert win.start()
    hand = Hand(qtbot, win.view)
    place_by_hand(hand, win)
    with qtbot.waitSignal(win.attemptScored):
        qtbot.mouseClick(win.submit_button, Qt.MouseButton.LeftButton)
    for _ in range(20):
        qtbot.mouseClick(win.random_button, Qt.MouseButton.LeftButton)
        assert win.film_combo.currentData() == "sample:case-0001/post"
    # The same film again is a repeat: kept off the progress line.
    win.choose_film(pre.key)
    assert win.start()
    place_by_hand(hand, win)
    with qtbot.waitSignal(win.attemptScored):
        qtbot.mouseClick(win.submit_button, Qt.MouseButton.LeftButton)
    points = win.history.progress("Dr Again")
    assert repeated_attempts(points) == [False, True]
    assert win.chart.repeats == [False, True]
    win.tabs.setCurrentIndex(1)
    axes = win.chart.figure.axes[0]
    progress_line, repeat_line = axes.get_lines()[:2]
    assert list(progress_line.get_xdata()) == [1]
    assert list(repeat_line.get_xdata()) == [2]
    shoot(win, "04-progress-with-a-repeat.png")


def test_a_case_that_cannot_be_prepared_says_why_and_the_window_keeps_working(
        qtbot, tmp_path, monkeypatch):
    from ovcf_viewer.io import teaching

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(teaching, "generated_library_dir", lambda: blocker / "lib")
    films = [f for f in practice_films() if f.source == "synthetic"][:2]
    win = open_window(qtbot, tmp_path, films)
    win.set_resident("Dr Full Disk")
    win.choose_film(films[0].key)
    qtbot.mouseClick(win.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Cannot open this case" in win.instructions.text(), timeout=30_000)
    assert "could not be prepared" in win.instructions.text()
    assert win.film is None and win.start_button.isEnabled()
