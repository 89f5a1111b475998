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
- ``help_actions`` — the *Help* menu (shortcut sheet on ``F1``, About), the last menu.

All of them share the one :class:`~ovcf_viewer.model.settings.Settings` instance given to the
window, which a :class:`~ovcf_viewer.model.settings.SettingsKeeper` saves on every change.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from ovcf_viewer.model.settings import Settings, SettingsKeeper
from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
from ovcf_viewer.qt.archive.actions import ArchiveActions
from ovcf_viewer.qt.dialogs.help import HelpActions
from ovcf_viewer.qt.dialogs.sr_actions import SrActions
from ovcf_viewer.qt.main_window import MainWindow
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
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, controller.create_toolbar(self))
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

        self.training_actions = TrainingActions(self, controller, settings)
        self.training_menu = self.menuBar().addMenu("&Training")
        _fill(self.training_menu, self.training_actions.menu_actions())

        self.workstation = Workstation(self, controller, settings)
        self.suitability_dock = self._add_dock("Procedure suitability", "suitability-dock",
                                               self.workstation.suitability)
        self.tabifyDockWidget(self.measurements_dock, self.suitability_dock)
        self.measurements_dock.raise_()
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

        self.help_actions = HelpActions(self)  # the last menu
        self.help_menu = self.menuBar().addMenu("&Help")
        _fill(self.help_menu, self.help_actions.menu_actions())
        self.addAction(self.help_actions.sheet_action)  # F1 with the menu closed

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
