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
