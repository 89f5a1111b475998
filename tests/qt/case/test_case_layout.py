"""The case window's single view: switching to it (and back) fits the films to the new width
instead of keeping the zoom that fitted half of it; the comparison tables are not cut off."""

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QTableWidget

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.case.case_view import CaseController, CaseWorkspace

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"


@pytest.fixture
def workspace(qtbot):
    case = load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")])
    controller = CaseController(Settings())
    controller.set_case(replace(case, procedure="PKP"))
    widget = CaseWorkspace(controller)
    qtbot.addWidget(widget)
    widget.resize(1366, 768)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def click_check(qtbot, box):
    """Click the check box's indicator, as a hand does (move, then press and release)."""
    point = QPoint(8, box.height() // 2)
    qtbot.mouseMove(box, point)
    QApplication.processEvents()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=point)


def test_single_view_fits_the_film_and_side_by_side_fits_both_again(workspace, qtbot):
    view = workspace.case_view
    left = view.left.view
    assert view.left.is_fitted() and view.right.is_fitted()
    half_zoom = left.zoom()
    half_width = left.viewport().width()

    click_check(qtbot, view.single_check)
    assert view.single_check.isChecked() and not view.right.isVisible()
    qtbot.waitUntil(lambda: left.viewport().width() > 1.5 * half_width)
    assert view.left.is_fitted()
    assert left.zoom() == pytest.approx(left.fit_zoom())
    # A tall film fitted to the height may keep its zoom; it must never stay below the fit.
    assert left.zoom() >= half_zoom - 1e-9

    # Zoomed in single view, then back to side by side: both films fitted to half the width.
    left.set_zoom(left.zoom() * 3)
    click_check(qtbot, view.single_check)
    assert not view.single_check.isChecked() and view.right.isVisible()
    qtbot.waitUntil(lambda: left.viewport().width() < 0.75 * view.width())
    assert view.left.is_fitted() and view.right.is_fitted()


def test_no_comparison_header_is_elided_at_1366(workspace):
    """Every column is at least as wide as its header's longest line (a table narrower than
    its columns scrolls; it never shortens a header to "Loss of co…")."""
    tables = [t for t in workspace.findChildren(QTableWidget)
              if t.isVisible() and t.rowCount() and t.columnCount()]
    assert len(tables) >= 2
    for table in tables:
        for column in range(table.columnCount()):
            header = table.horizontalHeaderItem(column)
            if header is None or table.isColumnHidden(column):
                continue
            needed = max(table.fontMetrics().horizontalAdvance(line)
                         for line in header.text().split("\n"))
            assert table.columnWidth(column) >= needed, header.text()


def test_splitter_sizes_are_saved_with_the_window_and_reset(qtbot):
    """LayoutMemory on a window with a splitter (the case window's shape), small enough for
    the offscreen platform's 800×600 screen."""
    from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter

    from ovcf_viewer.qt.layout import LayoutMemory

    settings = Settings()

    def window():
        win = QMainWindow()
        qtbot.addWidget(win)
        splitter = QSplitter(win)
        splitter.addWidget(QLabel("films"))
        splitter.addWidget(QLabel("panels"))
        win.setCentralWidget(splitter)
        memory = LayoutMemory(win, settings, "case",
                              lambda width: splitter.setSizes([width // 2, width - width // 2]),
                              [splitter])
        win.resize(700, 500)
        win.show()
        qtbot.waitExposed(win)
        return win, splitter, memory

    first, splitter, _memory = window()
    default = splitter.sizes()
    assert abs(default[0] - default[1]) <= 1
    splitter.setSizes([500, 200])
    moved = splitter.sizes()
    first.close()
    assert settings.window_layouts["case"].count(";") == 2

    second, splitter, memory = window()
    assert splitter.sizes() == moved
    memory.reset()
    assert splitter.sizes() == default and "case" not in settings.window_layouts


def test_the_case_window_keeps_its_layout(qtbot):
    from ovcf_viewer.qt.case.case_view import CaseWindow

    settings = Settings()
    controller = CaseController(settings)
    controller.set_case(load_case_inputs([SAMPLE / f"{n}.json" for n in ("pre", "post")]))
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    assert window.layout_memory.splitters == window.workspace.splitters
    window.close()
    assert settings.window_layouts["case"].count(";") == 2
    window.reset_layout_action.trigger()
    assert "case" not in settings.window_layouts


def test_a_window_larger_than_the_screen_is_fitted_to_it(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from ovcf_viewer.qt.layout import fit_to_screen

    window = QMainWindow()
    qtbot.addWidget(window)
    area = window.screen().availableGeometry()
    fit_to_screen(window, area.width() + 500, area.height() + 300)
    assert (window.width(), window.height()) == (area.width(), area.height())
    fit_to_screen(window, area.width() - 100, area.height() - 100)
    assert (window.width(), window.height()) == (area.width() - 100, area.height() - 100)


def test_comparison_colours_stay_readable_on_the_dark_theme(workspace, qtbot):
    from PySide6.QtGui import QColor, QPalette

    from ovcf_viewer.qt.theme import MIN_CONTRAST, apply_theme, contrast_ratio

    try:
        apply_theme("dark")
        QApplication.processEvents()  # PaletteChange: the panel draws itself again
        base = QApplication.palette().color(QPalette.ColorRole.Base)
        panel = workspace.panel
        coloured = [item for table in (panel.kyphosis_table, panel.heights_table)
                    for r in range(table.rowCount()) for c in range(table.columnCount())
                    if (item := table.item(r, c)) is not None
                    and item.foreground().style() != Qt.BrushStyle.NoBrush]
        assert coloured, "the sample has changes within measurement variability (muted)"
        for item in coloured:
            assert contrast_ratio(item.foreground().color(), base) >= MIN_CONTRAST, item.text()
        window = QApplication.palette().color(QPalette.ColorRole.Window)
        for label in (panel.legend, workspace.outcomes.message):  # labels on the window
            ink = label.styleSheet().split("color:")[1].strip(" ;")
            assert contrast_ratio(QColor(ink), window) >= MIN_CONTRAST, label.objectName()
    finally:
        apply_theme("system")


# ------------------------------------------------------------- compact comparison tables


def four_film_case(folder: Path) -> list[Path]:
    """The sample case with a second follow-up film a year after the procedure: a copy of the
    3-month film under its own SOP Instance UID and study date (the common 3-month and
    12-month follow-up, the widest the compact tables get in routine use)."""
    import json
    import shutil

    import pydicom
    from pydicom.uid import generate_uid

    for name in ("pre", "post", "followup"):
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", folder / f"{name}{suffix}")
    uid = generate_uid()
    ds = pydicom.dcmread(SAMPLE / "followup.dcm")
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.StudyDate = "20270108"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.save_as(folder / "year.dcm")
    doc = json.loads((SAMPLE / "followup.json").read_text())
    doc["image"] = {"sop_instance_uid": uid, "file": "year.dcm"}
    doc["timepoint"] = {"kind": "followup", "date": "2027-01-08"}
    (folder / "year.json").write_text(json.dumps(doc))
    return [folder / f"{n}.json" for n in ("pre", "post", "followup", "year")]


def open_case_window(qtbot, inputs, size):
    from ovcf_viewer.qt.case.case_view import CaseWindow

    controller = CaseController(Settings())
    controller.set_case(replace(load_case_inputs(inputs), procedure="PKP"))
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    QApplication.processEvents()
    return window


def headers(table):
    return [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]


def assert_whole(table, viewport):
    """Every column of ``table`` is as wide as its header's and its cells' longest line, the
    columns fit the table without a scroll bar, and the table lies inside ``viewport``."""
    from PySide6.QtGui import QFontMetrics

    header_metrics = table.horizontalHeader().fontMetrics()
    for column in range(table.columnCount()):
        widths = [header_metrics.horizontalAdvance(line)
                  for line in table.horizontalHeaderItem(column).text().split("\n")]
        for row in range(table.rowCount()):
            if (item := table.item(row, column)) is not None:
                widths.append(QFontMetrics(item.font()).horizontalAdvance(item.text()))
        assert table.columnWidth(column) >= max(widths), headers(table)[column]
    inner = table.width() - 2 * table.frameWidth()
    assert table.horizontalHeader().length() <= inner, headers(table)
    assert table.horizontalScrollBar().maximum() == 0
    left = table.mapTo(viewport, QPoint(0, 0)).x()
    assert left >= 0 and left + table.width() <= viewport.width()


@pytest.mark.parametrize("size", [(1366, 768), (1400, 900)])
@pytest.mark.parametrize("films", [3, 4])
def test_compact_comparison_tables_fit_the_case_window(qtbot, tmp_path, size, films):
    """At the laptop and the default window sizes the comparison tables open compact and show
    every column whole, with no sideways scrolling, for a case with one or two follow-ups."""
    from PySide6.QtWidgets import QScrollArea

    from tests.shots import shots_dir

    inputs = ([SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")] if films == 3
              else four_film_case(tmp_path))
    window = open_case_window(qtbot, inputs, size)
    panel = window.workspace.panel
    window.workspace.tabs.setCurrentWidget(panel)
    QApplication.processEvents()
    assert not panel.details()
    follow_ups = ["3 months"] if films == 3 else ["3 months", "12 months"]
    assert headers(panel.kyphosis_table) == [
        "Level", "Pre-op", "Post-op", "Correction", *follow_ups,
        f"Loss of\ncorrection\n({follow_ups[-1]})"]
    assert headers(panel.heights_table) == [
        "Level", "Height", "Pre-op", "Post-op", *follow_ups, "Restored",
        f"Height loss\n({follow_ups[-1]})"]
    # The film's date and calibration are one hover away.
    tip = panel.heights_table.horizontalHeaderItem(2).toolTip()
    assert "2026-01-05" in tip and "mm" in tip
    viewport = panel.findChild(QScrollArea).viewport()
    for table in (panel.kyphosis_table, panel.heights_table):
        assert_whole(table, viewport)
    # No room was kept for a scroll bar the tables do not need: the last row ends at the
    # table's bottom frame.
    table = panel.heights_table
    last = table.rowCount() - 1
    bottom = table.rowViewportPosition(last) + table.rowHeight(last)
    assert table.viewport().height() - bottom <= 1
    if (folder := shots_dir()) is not None:
        window.grab().save(str(folder / f"case-window-{size[0]}-{films}-films.png"))


def test_details_by_hand_shows_every_column_and_compact_again(qtbot):
    window = open_case_window(qtbot, [SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")],
                              (1366, 768))
    panel = window.workspace.panel
    button = panel.details_button

    def click(widget):
        centre = widget.rect().center()
        qtbot.mouseMove(widget, centre)
        QApplication.processEvents()
        qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=centre)
        qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=centre)
        QApplication.processEvents()

    compact = headers(panel.heights_table)
    restored = panel.heights_table.item(3, compact.index("Restored")).data(
        Qt.ItemDataRole.UserRole)  # L1 anterior (rows: T12 Ha Hm Hp, L1 Ha …)
    click(button)
    assert panel.details()
    full = headers(panel.heights_table)
    assert len(full) > len(compact)
    assert any("2026-01-05" in h and "mm at detector" in h for h in full)
    for wanted in ("Reference H_ref\n(pre-operative)", "% of initial", "% of lost\nheight",
                   "% of\nreference"):
        assert wanted in full
    assert isinstance(restored, float) and restored > 0
    assert panel.heights_table.item(3, full.index("Restored\nH_post − H_pre")).data(
        Qt.ItemDataRole.UserRole) == restored
    assert "Angle" in headers(panel.kyphosis_table) and panel.kyphosis_caption.isHidden()
    # Every column of the details is reachable by scrolling the table sideways.
    table = panel.heights_table
    assert table.horizontalScrollBar().maximum() > 0
    assert table.horizontalScrollBar().isVisible()
    click(button)
    assert not panel.details() and headers(panel.heights_table) == compact
    assert "segmental kyphosis (T12 sup. – L2 inf.)" in panel.kyphosis_caption.text()


def test_charts_follow_the_theme(workspace, qtbot):
    """The dark reading-room theme draws the trend chart and the training progress chart dark
    (a white chart was the brightest thing on the screen), and the light theme light again."""
    from datetime import UTC, datetime

    from matplotlib.colors import to_rgb

    from ovcf_viewer.io.training_history import ProgressPoint
    from ovcf_viewer.qt.theme import apply_theme
    from ovcf_viewer.qt.training.training_mode import ProgressChart
    from ovcf_viewer.render.chart_ink import DARK, LIGHT

    progress = ProgressChart()
    qtbot.addWidget(progress)
    progress.set_series("Dr Hand", [
        ProgressPoint(1, datetime(2026, 11, 1, tzinfo=UTC), "c1", "case 1", 1.2, "mm", 1.0),
        ProgressPoint(2, datetime(2026, 11, 2, tzinfo=UTC), "c2", "case 2", 0.8, "mm", 0.5)])
    progress.show()
    chart = workspace.chart
    workspace.tabs.setCurrentWidget(chart)

    def grounds():
        return {to_rgb(chart.figure.get_facecolor()), to_rgb(chart.heights_axes.get_facecolor()),
                to_rgb(progress.figure.get_facecolor()),
                *(to_rgb(ax.get_facecolor()) for ax in progress.figure.axes)}

    try:
        for name, ink in (("dark", DARK), ("light", LIGHT), ("dark", DARK)):
            apply_theme(name)
            QApplication.processEvents()  # PaletteChange reaches the charts
            assert grounds() == {to_rgb(ink.face)}, name
            title = chart.heights_axes.title
            assert to_rgb(title.get_color()) == to_rgb(ink.text)
            # The data survive the redraw: the L1 anterior line is there with its values.
            assert len(chart.height_lines[("L1", "a")].get_ydata()) == 3
    finally:
        apply_theme("system")


def test_suitability_tab_stacks_in_a_narrow_panel_and_sits_side_by_side_in_a_wide_one(qtbot):
    """At 1366 px, side by side cut the measured inputs' override fields off: the tab stacks
    findings above the evaluation; a wide window puts them side by side again."""
    from PySide6.QtWidgets import QScrollArea, QSplitter

    window = open_case_window(qtbot, [SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")],
                              (1366, 768))
    tab = window.workspace.suitability
    window.workspace.tabs.setCurrentWidget(tab)
    QApplication.processEvents()
    inner = tab.panel.findChild(QSplitter)
    assert inner.orientation() == Qt.Orientation.Vertical
    scroll = tab.panel.findChild(QScrollArea)
    for row in tab.panel.measured_rows.values():  # every override field whole on screen
        right = row.editor.mapTo(scroll.viewport(), row.editor.rect().topRight()).x()
        assert 0 <= right < scroll.viewport().width(), row.name
    window.resize(2400, 1000)
    qtbot.waitUntil(lambda: tab.width() >= 900)
    QApplication.processEvents()
    assert inner.orientation() == Qt.Orientation.Horizontal


def test_labels_turn_one_line_where_full_ones_would_cover_landmarks(qtbot):
    """In the case window's narrow panes at 1366 px, full vertebra labels would cover the
    landmarks (they have no room off the bone): they show on one line, covering no handle.
    Where there is room they are full again, and a user's choice of compact labels stays."""
    from PySide6.QtCore import QPointF

    from ovcf_viewer.render.label_layout import HANDLE_RADIUS_PX

    window = open_case_window(qtbot, [SAMPLE / f"{n}.json" for n in ("pre", "post", "followup")],
                              (1366, 768))
    view = window.workspace.case_view

    def covered(pane):
        """Labels whose box on screen touches a handle."""
        layer, screen = pane.layer, pane.view
        out = []
        for level, label in layer.shown_labels().items():
            # The label ignores the view's scale: its box is in screen pixels.
            box = label.deviceTransform(screen.viewportTransform()).mapRect(
                label.boundingRect())
            grown = box.adjusted(-HANDLE_RADIUS_PX, -HANDLE_RADIUS_PX, HANDLE_RADIUS_PX,
                                 HANDLE_RADIUS_PX)
            if any(grown.contains(QPointF(screen.mapFromScene(h.scenePos())))
                   for h in layer.handles.values()):
                out.append(level)
        return out

    for pane in (view.left, view.right):
        layer = pane.layer
        assert covered(pane) == []
        assert layer.auto_compact and len(layer.shown_labels()) == 7
        assert all("\n" not in label.text() for label in layer.shown_labels().values())
    # Single view: twice the width, room for the full labels off the landmarks.
    click_check(qtbot, view.single_check)
    qtbot.waitUntil(lambda: not view.left.layer.auto_compact)
    assert any("Ha " in label.text() for label in view.left.layer.shown_labels().values())
