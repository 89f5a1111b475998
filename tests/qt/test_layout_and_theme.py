"""The workstation's layout and look, measured on the window as shown: the film gets at least
60 % of the width at 1366×768 and 1400×900, every toolbar action is on screen (no overflow
arrow), the measurement table is compact with Genant grade and type by default and details on
demand, measurements and suitability are visible together on a wide window, layouts are saved
and restored per window, and the theme (system / light / dark) is applied live, readable and
saved."""

import json
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QFormLayout, QLabel, QToolBar, QToolButton

from ovcf_viewer.model.settings import Settings, read_settings, settings_path
from ovcf_viewer.qt.annotate.measurements_panel import (
    COMPACT_VERTEBRA_COLUMNS,
    INDEX_COLUMNS,
    VERTEBRA_COLUMNS,
)
from ovcf_viewer.qt.theme import MIN_CONTRAST, apply_theme, contrast_ratio, current_theme

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
SIZES = [(1400, 900), (1366, 768)]


@pytest.fixture(autouse=True)
def _system_theme_after():
    yield
    if QApplication.instance() is not None:
        apply_theme("system")  # the palette is the application's: leave it as found


def shown_window(qtbot, size, settings=None, film=True):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window(settings if settings is not None else Settings())
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    if film:
        assert window.open_paths([SAMPLE / "pre.dcm"])
        assert window.open_annotations(SAMPLE / "pre.json")
    QApplication.processEvents()
    return window


def on_screen(widget) -> bool:
    """Visible and not covered by a sibling tab: Qt paints some of it."""
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


@pytest.mark.parametrize("size", SIZES)
def test_the_film_gets_most_of_the_window_and_no_toolbar_overflows(qtbot, size):
    window = shown_window(qtbot, size)
    assert window.size().width() == size[0] and window.size().height() == size[1]
    viewport = window.view.viewport()
    assert viewport.width() >= 0.6 * size[0], (viewport.width(), size)
    assert viewport.height() >= 0.75 * size[1] - 120  # two toolbar rows, menu and status bar

    toolbars = window.findChildren(QToolBar)
    assert {t.objectName() for t in toolbars} >= {"view-toolbar", "tools-toolbar",
                                                  "annotate-toolbar"}
    for toolbar in toolbars:
        if not toolbar.isVisible():  # the notice bar while it holds no banner
            continue
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        assert extension is None or not extension.isVisible(), toolbar.objectName()
        box = toolbar.rect()
        for action in toolbar.actions():
            widget = toolbar.widgetForAction(action)
            if widget is None or action.isSeparator():
                continue
            assert widget.isVisible(), (toolbar.objectName(), action.text())
            assert box.contains(widget.geometry()), (toolbar.objectName(), action.text())
    controller = window.annotation_controller
    for essential in (controller.level_combo, controller.direction_combo):
        assert on_screen(essential)
    for action in (controller.index_action, controller.undo_action, controller.redo_action,
                   controller.hide_action):
        assert on_screen(window.annotate_toolbar.widgetForAction(action)), action.text()
    # Loading the annotations is an undo step; its name stays out of the toolbar button.
    assert controller.undo_action.text() != "Undo"
    assert window.annotate_toolbar.widgetForAction(controller.undo_action).text() == "Undo"

    # The measurements are in front; the compact table fits its panel without scrolling.
    panel = controller.panel
    assert on_screen(panel.vertebra_table)
    assert panel.shown_columns(panel.vertebra_table) == list(COMPACT_VERTEBRA_COLUMNS)
    assert panel.vertebra_table.horizontalScrollBar().maximum() == 0
    assert panel.index_table.horizontalScrollBar().maximum() == 0
    headers = [panel.header_text(panel.vertebra_table, VERTEBRA_COLUMNS.index(key))
               for key in ("ha", "grade", "type")]
    assert headers == ["Ha (mm at detector)", "Genant grade", "Genant type"]
    # The studies and suitability are one click away: tabs beside the measurements.
    tabified = window.tabifiedDockWidgets(window.measurements_dock)
    assert window.browser_dock in tabified and window.suitability_dock in tabified


def test_details_are_one_click_away_and_columns_can_be_chosen(qtbot):
    window = shown_window(qtbot, (1400, 900))
    panel = window.annotation_controller.panel
    grade = panel.vertebra_cell("L1", "grade")
    assert grade in {"0", "1", "2", "3"} and panel.vertebra_cell("L1", "type")
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert panel.details()
    assert panel.shown_columns(panel.vertebra_table) == list(VERTEBRA_COLUMNS)
    assert panel.shown_columns(panel.index_table) == list(INDEX_COLUMNS)
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert panel.shown_columns(panel.vertebra_table) == list(COMPACT_VERTEBRA_COLUMNS)
    # The column chooser (a header's context menu) adds one column.
    panel.set_column_shown(panel.vertebra_table, "wedge_ratio", True)
    assert "wedge_ratio" in panel.shown_columns(panel.vertebra_table)
    panel.set_column_shown(panel.vertebra_table, "level", False)  # the level always stays
    assert panel.shown_columns(panel.vertebra_table)[0] == "level"


def test_a_wide_window_shows_measurements_and_suitability_together(qtbot):
    window = shown_window(qtbot, (1920, 1080))
    assert window.suitability_dock not in window.tabifiedDockWidgets(window.measurements_dock)
    assert on_screen(window.annotation_controller.panel)
    assert on_screen(window.workstation.suitability)
    assert window.dockWidgetArea(window.browser_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert window.view.viewport().width() >= 0.6 * 1920
    # Narrowed and reset: tabs again.
    window.resize(1400, 900)
    window.reset_layout_action.trigger()
    QApplication.processEvents()
    assert window.suitability_dock in window.tabifiedDockWidgets(window.measurements_dock)
    assert window.view.viewport().width() >= 0.6 * 1400


def test_the_default_layout_follows_a_maximised_window_until_the_user_changes_it(qtbot):
    window = shown_window(qtbot, (1400, 900), film=False)
    memory = window.layout_memory
    assert memory.is_automatic()

    def together():
        return window.suitability_dock not in window.tabifiedDockWidgets(
            window.measurements_dock)

    window.resize(1920, 1080)  # maximised on a wide screen
    qtbot.waitUntil(together)
    qtbot.waitUntil(lambda: on_screen(window.annotation_controller.panel)
                    and on_screen(window.workstation.suitability))
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: not together())

    window.browser_dock.close()  # the user's own layout: kept through resizing
    assert not memory.is_automatic()
    window.resize(1920, 1080)
    QApplication.processEvents()
    QApplication.processEvents()
    assert not together() and window.browser_dock.isHidden()
    window.reset_layout_action.trigger()  # until asked for the default again
    assert memory.is_automatic() and together() and not window.browser_dock.isHidden()


def test_the_layout_is_saved_on_close_restored_and_reset(qtbot):
    # Within the offscreen platform's 800×600 screen: restoreGeometry keeps a window on its
    # screen, so a larger saved size would come back clipped.
    settings = Settings()
    window = shown_window(qtbot, (780, 595), settings, film=False)
    default_width = window.measurements_dock.width()
    window.resizeDocks([window.measurements_dock], [default_width + 160],
                       Qt.Orientation.Horizontal)
    QApplication.processEvents()
    widened = window.measurements_dock.width()
    assert widened >= default_width + 120
    window.suitability_dock.raise_()
    window.close()
    assert settings.window_layouts.get("main")
    saved, problems = read_settings(settings_path())  # written by the keeper as it changed
    assert problems == [] and saved.window_layouts["main"] == settings.window_layouts["main"]

    again = shown_window(qtbot, (700, 500), saved, film=False)
    assert (again.width(), again.height()) == (780, 595)  # saved, not the size asked for
    assert on_screen(again.workstation.suitability)  # the tab that was in front
    assert abs(again.suitability_dock.width() - widened) <= 4

    again.reset_layout_action.trigger()
    QApplication.processEvents()
    assert "main" not in saved.window_layouts
    assert abs(again.measurements_dock.width() - default_width) <= 4
    assert on_screen(again.annotation_controller.panel)


def test_a_damaged_saved_layout_gives_the_default_one(qtbot):
    settings = Settings(window_layouts={"main": "not base64;!!"})
    window = shown_window(qtbot, (1400, 900), settings, film=False)
    assert window.view.viewport().width() >= 0.6 * 1400


def test_the_dark_theme_is_applied_live_readable_and_saved(qtbot):
    settings = Settings()
    window = shown_window(qtbot, (1400, 900), settings)
    assert current_theme() == "system"
    window.theme_actions["dark"].trigger()
    QApplication.processEvents()  # the palette reaches the widgets by events
    assert settings.theme == "dark" and current_theme() == "dark"
    assert json.loads(settings_path().read_text(encoding="utf-8"))["theme"] == "dark"
    palette = QApplication.palette()
    base = palette.color(QPalette.ColorRole.Base)
    assert base.lightnessF() < 0.2 and window.palette().color(QPalette.ColorRole.Window) == (
        palette.color(QPalette.ColorRole.Window))
    for ground, text in ((QPalette.ColorRole.Base, QPalette.ColorRole.Text),
                         (QPalette.ColorRole.Window, QPalette.ColorRole.WindowText),
                         (QPalette.ColorRole.Button, QPalette.ColorRole.ButtonText),
                         (QPalette.ColorRole.ToolTipBase, QPalette.ColorRole.ToolTipText),
                         (QPalette.ColorRole.Highlight, QPalette.ColorRole.HighlightedText)):
        assert contrast_ratio(palette.color(ground), palette.color(text)) >= MIN_CONTRAST
    # A number below the deformity cut-off is red and still readable on the dark table.
    panel = window.annotation_controller.panel
    table = panel.vertebra_table
    items = [table.item(r, c) for r in range(table.rowCount())
             for c in range(table.columnCount())]
    alerts = [i for i in items if i is not None and i.data(Qt.ItemDataRole.UserRole + 1)]
    assert alerts, "the sample's L1 has a wedge ratio below the cut-off"
    for item in alerts:
        colour = item.foreground().color()
        assert colour.red() > colour.green() and contrast_ratio(colour, base) >= MIN_CONTRAST
    # The suitability panel's coloured texts (statuses, provenance, citations) too.
    results = window.workstation.suitability.results.toHtml()
    inks = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", results))
    assert len(inks) >= 3, inks
    for ink in inks:
        assert contrast_ratio(QColor(ink), base) >= MIN_CONTRAST, ink
    # The status bar and a grabbed frame are dark too (what the user sees).
    status = window.statusBar()
    assert status.palette().color(QPalette.ColorRole.Window).lightnessF() < 0.3
    frame = window.grab().toImage()
    assert frame.pixelColor(QPoint(frame.width() - 5, frame.height() // 2)).lightnessF() < 0.4

    # Chosen in the settings dialog: light, applied when the dialog is accepted.
    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(settings, window)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("light"))
    dialog.accept()
    QApplication.processEvents()
    assert settings.theme == "light" and current_theme() == "light"
    assert QApplication.palette().color(QPalette.ColorRole.Base).lightnessF() > 0.8
    assert window.theme_actions["light"].isChecked()
    assert read_settings(settings_path())[0].theme == "light"


def test_every_settings_spin_box_has_a_label(qtbot):
    from PySide6.QtWidgets import QAbstractSpinBox

    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    boxes = dialog.findChildren(QAbstractSpinBox)
    assert len(boxes) >= 4
    forms = dialog.findChildren(QFormLayout)

    def label_of(box):
        labels = [f.labelForField(box) for f in forms if f.labelForField(box) is not None]
        assert len(labels) == 1, box.suffix()
        return labels[0]

    for box in boxes:
        label = label_of(box)
        assert isinstance(label, QLabel) and label.text().strip(" :"), box.suffix()
    texts = {label_of(b).text() for b in (dialog.variability_deg, dialog.variability_mm)}
    assert len(texts) == 2  # two different labels, angles and lengths
