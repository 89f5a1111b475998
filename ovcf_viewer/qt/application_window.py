"""The application's main window, built explicitly from its parts.

:class:`ApplicationWindow` is the viewer (:class:`~ovcf_viewer.qt.main_window.MainWindow`:
File, View and Window menus, the study browser, the image view) plus, each constructed here
with what it needs and kept as a typed attribute:

- ``annotation_controller`` — landmarks, measuring tools, undo, autosave: its toolbar, the
  *Annotate* menu, the measurements dock, the *View ▸ Vertebra labels* submenu and its
  selected-handle and save-status labels are placed here;
- ``training_actions`` — the *Training* menu;
- ``workstation`` — the suitability dock, cases, the report and the settings dialog: its
  actions go into the File menu above *Quit* (with *Recover autosaved case*); the window's
  close asks it first (edits or a case autosave only in memory);
- ``sr_actions`` — DICOM SR export and import, and the SR beside an opened film: its entries
  go into the File menu above *Export report…*;
- ``archive`` — *Query/Retrieve…* and *Send to archive…* (PACS), in the File menu above
  *Quit*;
- ``folder_annotations`` — loads the annotation files beside an opened folder's films
  (asks before replacing landmarks already placed);
- ``notice_bar`` / ``startup_notices`` — banners at the top for what start-up found
  (:mod:`ovcf_viewer.qt.notice_banner`);
- ``help_actions`` — the *Help* menu (shortcut sheet on ``F1``, About), the last menu.

All of them share the one :class:`~ovcf_viewer.model.settings.Settings` instance given to the
window, which a :class:`~ovcf_viewer.model.settings.SettingsKeeper` saves on every change.
"""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from ovcf_viewer.model.settings import THEMES, Settings, SettingsKeeper
from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
from ovcf_viewer.qt.archive.actions import ArchiveActions
from ovcf_viewer.qt.dialogs.folder_annotations import FolderAnnotationLoader
from ovcf_viewer.qt.dialogs.help import HelpActions
from ovcf_viewer.qt.dialogs.sr_actions import SrActions
from ovcf_viewer.qt.layout import LAYOUT_VERSION, WIDE_WINDOW_PX, LayoutMemory
from ovcf_viewer.qt.main_window import MainWindow
from ovcf_viewer.qt.notice_banner import NoticeBar, StartupNotices
from ovcf_viewer.qt.settings_link import follow_settings
from ovcf_viewer.qt.theme import THEME_NAMES, apply_theme, current_theme
from ovcf_viewer.qt.training.training_mode import TrainingActions
from ovcf_viewer.qt.workstation import Workstation

__all__ = ["ApplicationWindow"]


class ApplicationWindow(MainWindow):
    """The viewer with the annotation layer, training and the workstation (see the module
    docstring)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(settings, parent)
        self.settings_keeper = SettingsKeeper(settings, on_problem=self._on_settings_problem)

        controller = AnnotationController(self.view, settings, self, browser=self.browser)
        self.annotation_controller = controller
        # Two rows: viewing and the mouse modes, then landmark placement (one row overflowed
        # a 1400 px window and hid the level box, Undo/Redo and Hide behind "»").
        self.tools_toolbar = controller.create_tools_toolbar(self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.tools_toolbar)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.annotate_toolbar = controller.create_toolbar(self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.annotate_toolbar)
        self.measurements_dock = self._add_dock("Measurements", "measurements-dock",
                                                controller.panel)
        self.annotate_menu = self.menuBar().addMenu("&Annotate")
        _fill(self.annotate_menu, controller.menu_actions())
        self.annotate_menu.addAction(self.measurements_dock.toggleViewAction())
        self.view_menu.addMenu(controller.create_labels_menu(self))  # Alt+1..4
        self.statusBar().addPermanentWidget(controller.selection_label)
        self.statusBar().addPermanentWidget(controller.save_status_label)
        self.imageOpened.connect(controller.set_image)
        self.annotationsLoaded.connect(controller.load_annotations)
        controller.promptChanged.connect(self.statusBar().showMessage)
        # Connected after set_image above: a film's waiting undo step finds its new stack.
        self.folder_annotations = FolderAnnotationLoader(self, controller)

        self.training_actions = TrainingActions(self, controller, settings)
        self.training_menu = self.menuBar().addMenu("&Training")
        _fill(self.training_menu, self.training_actions.menu_actions())

        self.workstation = Workstation(self, controller, settings)
        self.suitability_dock = self._add_dock("Procedure suitability", "suitability-dock",
                                               self.workstation.suitability)
        self.tabifyDockWidget(self.measurements_dock, self.suitability_dock)
        self.measurements_dock.raise_()
        self._initial_state = self.saveState(LAYOUT_VERSION)  # toolbars and docks placed
        for action in self.workstation.file_actions():
            if action is None:
                self.file_menu.insertSeparator(self.quit_action)
            else:
                self.file_menu.insertAction(self.quit_action, action)
        self.view_menu.addAction(self.suitability_dock.toggleViewAction())

        self.sr_actions = SrActions(self, controller)
        for entry in self.sr_actions.file_entries():
            if isinstance(entry, QMenu):
                self.file_menu.insertMenu(self.workstation.report_action, entry)
            else:
                self.file_menu.insertAction(self.workstation.report_action, entry)
        # After the controller's own slot (connected above): its model is the new film's.
        self.imageOpened.connect(self.sr_actions.on_image_opened)

        self.archive = ArchiveActions(self, self.sr_actions, self.workstation)
        for action in self.archive.file_actions():
            if action is None:
                self.file_menu.insertSeparator(self.quit_action)
            else:
                self.file_menu.insertAction(self.quit_action, action)

        self._build_look_menu(settings)
        # Banners at the top: unusable data folder, damaged store, cases not closed normally.
        self.notice_bar = NoticeBar(self)
        self.startup_notices = StartupNotices(self.notice_bar, self.workstation, controller)
        self.startup_notices.check()

        self.help_actions = HelpActions(self)  # the last menu
        self.help_menu = self.menuBar().addMenu("&Help")
        _fill(self.help_menu, self.help_actions.menu_actions())
        self.addAction(self.help_actions.sheet_action)  # F1 with the menu closed

    # -- layout and theme --------------------------------------------------------------------
    def _build_look_menu(self, settings: Settings) -> None:
        """View ▸ Theme (system / light / dark, a setting applied live) and View ▸ Reset
        layout; the window's layout is saved on close and restored when it is next shown."""
        self.layout_memory = LayoutMemory(self, settings, "main", self.arrange_default_layout,
                                          breakpoints=(WIDE_WINDOW_PX,))
        for dock in (self.browser_dock, self.measurements_dock, self.suitability_dock):
            dock.dockLocationChanged.connect(self.layout_memory.customised)
            dock.topLevelChanged.connect(self.layout_memory.customised)
            dock.toggleViewAction().toggled.connect(self.layout_memory.customised)  # closed
        self.view_menu.addSeparator()
        self.theme_menu = self.view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = self.theme_menu.addAction(THEME_NAMES[name])
            action.setCheckable(True)
            action.setData(name)
            self.theme_group.addAction(action)
            self.theme_actions[name] = action
        self.theme_group.triggered.connect(
            lambda action: setattr(self.settings, "theme", action.data()))
        self.reset_layout_action = self.view_menu.addAction("Reset &layout")
        self.reset_layout_action.setStatusTip(
            "Put the panels and toolbars back where they start, sized for this window")
        self.reset_layout_action.triggered.connect(self.layout_memory.reset)
        follow_settings(settings, self._follow_theme)
        self._follow_theme()

    def _follow_theme(self) -> None:
        theme = self.settings.theme
        if theme != current_theme():
            apply_theme(theme)
        for name, action in self.theme_actions.items():
            with QSignalBlocker(action):
                action.setChecked(name == theme)

    def arrange_default_layout(self, width: int) -> None:
        """The default layout for a window ``width`` px wide: the film gets at least 60 % of
        it. Below :data:`~ovcf_viewer.qt.layout.WIDE_WINDOW_PX` the studies, measurements and
        suitability panels are tabs of one right-hand column (measurements in front); from
        it the studies sit on the left and measurements above suitability on the right, both
        visible together. Until the user rearranges the panels, resizing the window across
        that width arranges it again."""
        size = self.size()  # moving docks can grow the window for a moment
        self.restoreState(self._initial_state, LAYOUT_VERSION)
        browser, measurements = self.browser_dock, self.measurements_dock
        suitability = self.suitability_dock
        for dock in (browser, measurements, suitability):
            dock.setFloating(False)
            dock.show()
        right = Qt.DockWidgetArea.RightDockWidgetArea
        horizontal = Qt.Orientation.Horizontal
        if width >= WIDE_WINDOW_PX:
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, browser)
            self.addDockWidget(right, measurements)
            self.splitDockWidget(measurements, suitability, Qt.Orientation.Vertical)
            self.resizeDocks([browser, measurements],
                             [round(0.11 * width), round(0.27 * width)], horizontal)
            self.resizeDocks([measurements, suitability], [3, 2], Qt.Orientation.Vertical)
        else:  # measurements and suitability are tabs already (the initial state)
            self.tabifyDockWidget(suitability, browser)
            measurements.raise_()
            self.resizeDocks([measurements], [min(480, max(360, round(0.30 * width)))],
                             horizontal)
        if self.size() != size:
            self.resize(size)

    def _add_dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _on_settings_problem(self, message: str) -> None:
        self.statusBar().showMessage(message)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if not self.workstation.confirm_close(event):
            event.ignore()  # edits only in memory and the user chose to stay
            return
        super().closeEvent(event)


def _fill(menu: QMenu, actions: list[QAction | None] | list[QAction]) -> None:
    for action in actions:
        if action is None:
            menu.addSeparator()
        else:
            menu.addAction(action)
