"""The case window's Outcomes tab and leak tool, driven like a hand, on the issue's case
(tests.outcome_case: VAS 8 → 3 → 2, PKP at L1 with 4.5 mL, a paravertebral leak drawn on the
post-operative film)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from ovcf_viewer.model.case import load_case
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow
from ovcf_viewer.qt.case.outcomes_panel import CEMENT_ROWS, PROCEDURE_ROWS
from tests.outcome_case import LEAK_POINTS, outcome_case
from tests.shots import shots_dir


def mouse(view, kind, xy, button=Qt.MouseButton.LeftButton):
    pos = view.image_to_view(*xy)
    buttons = (Qt.MouseButton.NoButton if kind in (QEvent.Type.MouseButtonRelease,
                                                    QEvent.Type.MouseMove) else button)
    event = QMouseEvent(kind, QPointF(pos), view.viewport().mapToGlobal(pos),
                        Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), event)


def click(view, xy, qtbot):
    mouse(view, QEvent.Type.MouseMove, xy)  # move and hover first
    qtbot.wait(1)
    mouse(view, QEvent.Type.MouseButtonPress, xy)
    mouse(view, QEvent.Type.MouseButtonRelease, xy)


def open_window(qtbot, case, size=(1700, 1000)):
    """A case window on ``case`` at ``size``, shown."""
    controller = CaseController(Settings())
    controller.set_case(case)
    win = CaseWindow(controller)
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    return win, controller


@pytest.fixture
def window(qtbot, tmp_path):
    return open_window(qtbot, outcome_case(tmp_path))


def test_outcomes_tab_shows_the_case(window):
    win, controller = window
    panel = win.workspace.outcomes
    case = controller.case
    uids = [f.sop_instance_uid for f in case.chronological_films()]
    assert [panel.pain_edits[(u, "vas")].text() for u in uids] == ["8", "3", "2"]
    assert panel.pain_edits[(uids[0], "odi")].text() == ""  # not recorded, not 0
    assert panel.procedure_widgets[("L1", "technique")].currentData() == "PKP"
    assert panel.procedure_widgets[("L1", "cement_ml")].text() == "4.5"
    # One column per treated level, the fields as rows.
    assert panel.procedure.horizontalHeaderItem(0).text() == "L1"
    volume = panel.procedure.item(PROCEDURE_ROWS.index("Body volume est. (mL)"), 0).text()
    fill = panel.procedure.item(PROCEDURE_ROWS.index("Cement / volume"), 0).text()
    assert float(volume) > 0 and fill.endswith(" %")
    post = case.postop_film().sop_instance_uid
    assert panel.cement_widgets[(post, "L1", "leakage")].currentData() is True
    assert panel.cement_widgets[(post, "L1", "paravertebral")].isChecked()
    assert panel.cement.item(CEMENT_ROWS.index("Drawn outlines"), 0).text() == "1"
    assert "π·(D/2)·(W/2)·H̄" in panel.volume_note.text()
    # the drawn leak is on the post-operative film's pane
    pane = win.workspace.case_view.right
    assert pane.film.sop_instance_uid == post
    assert len(pane.leaks.items) == 1
    # the trend chart has the VAS line at 8, 3, 2
    line = win.workspace.chart.pain_line
    assert list(line.get_ydata()) == [8.0, 3.0, 2.0]
    assert list(line.get_xdata()) == [-3.0, 0.0, 90.0]  # days from the procedure
    win.workspace.tabs.setCurrentWidget(win.workspace.chart)
    win.workspace.chart.canvas.draw()
    shots = shots_dir()
    if shots is not None:
        win.workspace.chart.grab().save(str(shots / "outcomes_chart.png"))
    win.workspace.tabs.setCurrentWidget(panel)
    if shots is not None:
        win.grab().save(str(shots / "outcomes_window.png"))


def test_typing_a_bad_vas_is_refused_and_a_good_one_recorded_and_undone(window, qtbot):
    win, controller = window
    panel = win.workspace.outcomes
    win.workspace.tabs.setCurrentWidget(panel)
    uid = controller.case.postop_film().sop_instance_uid
    edit = panel.pain_edits[(uid, "vas")]
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "11")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "pain VAS 11 is out of range" in panel.message.text()
    assert controller.case.film(uid).pain.vas == 3.0
    assert panel.pain_edits[(uid, "vas")].text() == "3"
    edit = panel.pain_edits[(uid, "vas")]
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "4,5")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: controller.case.film(uid).pain.vas == 4.5)
    assert load_case(controller.session.autosave_file).film(uid).pain.vas == 4.5
    assert win.undo_case_edit()
    assert controller.case.film(uid).pain.vas == 3.0
    assert panel.pain_edits[(uid, "vas")].text() == "3"


def test_drawing_a_venous_leak_click_by_click(window, qtbot):
    win, controller = window
    panel = win.workspace.outcomes
    uid = controller.case.postop_film().sop_instance_uid
    panel.cement_widgets[(uid, "L1", "location")].setCurrentIndex(3)  # venous
    qtbot.mouseClick(panel.cement_widgets[(uid, "L1", "draw")], Qt.MouseButton.LeftButton)
    view = win.workspace.case_view.right.view
    assert win.workspace.leak_tool.active
    points = [(380.0, 850.0), (430.0, 850.0), (405.0, 900.0)]  # anterior to L1/L2, no handle
    click(view, points[0], qtbot)
    click(view, points[1], qtbot)
    # Enter with two points: refused, still drawing
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert "at least 3 points" in panel.message.text()
    assert win.workspace.leak_tool.active
    click(view, points[2], qtbot)
    # double click on the last point closes (Qt sends press, release, double click, release)
    mouse(view, QEvent.Type.MouseButtonPress, points[2])
    mouse(view, QEvent.Type.MouseButtonRelease, points[2])
    mouse(view, QEvent.Type.MouseButtonDblClick, points[2])
    mouse(view, QEvent.Type.MouseButtonRelease, points[2])
    finding = controller.case.film(uid).cement_at("L1")
    assert [r.location for r in finding.regions] == ["paravertebral", "venous"]
    drawn = finding.regions[1].points
    assert len(drawn) == 3  # the double click's second click added nothing
    for got, want in zip(drawn, points, strict=True):
        assert got == pytest.approx(want, abs=1e-6)
    assert finding.regions[0].points == LEAK_POINTS
    assert finding.locations == ("paravertebral", "venous")
    assert not win.workspace.leak_tool.active
    assert len(win.workspace.case_view.right.leaks.items) == 2
    saved = load_case(controller.session.autosave_file).film(uid).cement_at("L1")
    assert len(saved.regions) == 2
    assert panel.cement.item(CEMENT_ROWS.index("Drawn outlines"), 0).text() == "2"
    assert win.undo_case_edit()
    assert len(controller.case.film(uid).cement_at("L1").regions) == 1


def test_escape_cancels_a_drawing(window, qtbot):
    win, controller = window
    uid = controller.case.postop_film().sop_instance_uid
    win.workspace.start_leak_tool(uid, "L1", "disc")
    view = win.workspace.case_view.right.view
    click(view, (700.0, 800.0), qtbot)
    click(view, (760.0, 800.0), qtbot)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert not win.workspace.leak_tool.active
    assert len(controller.case.film(uid).cement_at("L1").regions) == 1
    assert view.interaction_handler() is not win.workspace.leak_tool


def test_comparison_panel_states_pain_procedure_and_leak(window):
    win, _controller = window
    text = win.workspace.panel.summary.text()
    assert "<b>Pain</b>: VAS 8 → 3 (−5, −62.5 %), pre-operative → post-operative" in text
    assert "<b>L1</b>: PKP, bilateral, high viscosity, 4.5 mL cement; est. body volume" in text
    assert ("Complication</b>: L1: cement leakage (paravertebral soft tissue) on the "
            "post-operative film") in text


@pytest.mark.parametrize("size", [(1366, 768), (1400, 900)])
def test_outcomes_tables_fit_the_panel(qtbot, tmp_path, size):
    """At the laptop and the default window sizes every outcomes table shows all its columns
    (widgets included) without sideways scrolling: the procedure and cement tables have a
    column per level and the fields as rows."""
    from PySide6.QtWidgets import QScrollArea, QTableWidget

    win, _controller = open_window(qtbot, outcome_case(tmp_path), size)
    panel = win.workspace.outcomes
    win.workspace.tabs.setCurrentWidget(panel)
    QApplication.processEvents()
    viewport = panel.findChild(QScrollArea).viewport()
    for table in (panel.pain, panel.procedure, panel.cement):
        assert table.columnCount() >= 1 and table.isVisible()
        inner = table.width() - 2 * table.frameWidth() - table.verticalHeader().width()
        assert table.horizontalHeader().length() <= inner
        assert table.horizontalScrollBar().maximum() == 0
        for column in range(table.columnCount()):
            for row in range(table.rowCount()):
                widget = table.cellWidget(row, column)
                if widget is not None:  # each control as wide as it wants to be
                    assert table.columnWidth(column) >= widget.sizeHint().width()
        left = table.mapTo(viewport, table.rect().topLeft()).x()
        assert left >= 0 and left + table.width() <= viewport.width()
    assert isinstance(panel.cement, QTableWidget)
    where = panel.cement.cellWidget(CEMENT_ROWS.index("Where"), 0)
    assert where.width() >= where.sizeHint().width()  # the four locations, none cut


def test_without_treated_levels_the_tables_say_so(qtbot, tmp_path):
    """No table of row names without a column: each section says what is missing."""
    from dataclasses import replace

    case = replace(outcome_case(tmp_path), treated_levels=())
    win, controller = open_window(qtbot, case, (1366, 768))
    panel = win.workspace.outcomes
    win.workspace.tabs.setCurrentWidget(panel)
    QApplication.processEvents()
    assert controller.case.treated_levels == ()
    assert not panel.procedure.isVisible() and panel.no_levels.isVisible()
    assert "No treated level recorded" in panel.no_levels.text()
    # The cement finding recorded at L1 on the post-operative film still shows.
    assert panel.cement.isVisible() and not panel.no_postop.isVisible()
    assert panel.cement.horizontalHeaderItem(0).text() == "Post-operative\nL1"
    # A case without a post-operative film says that instead.
    uid = controller.case.postop_film().sop_instance_uid
    from ovcf_viewer.model.landmarks import Timepoint

    films = tuple(replace(f, timepoint=Timepoint("followup", f.timepoint.date, 3))
                  if f.sop_instance_uid == uid else f for f in controller.case.films)
    controller.session.set_case(replace(controller.case, films=films))
    qtbot.waitUntil(lambda: panel.no_postop.isVisible())
    assert not panel.cement.isVisible()
    assert "No post-operative film" in panel.no_postop.text()
