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
        legend = panel.legend.styleSheet().split("color:")[1].strip(" ;")
        window = QApplication.palette().color(QPalette.ColorRole.Window)
        assert contrast_ratio(QColor(legend), window) >= MIN_CONTRAST
    finally:
        apply_theme("system")
