"""Start the GUI: ``run_gui(paths)`` creates the application and the main window, opens the
given files and folders, and runs the event loop until the window closes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from ovcf_viewer import __version__

if TYPE_CHECKING:
    from ovcf_viewer.qt.main_window import MainWindow

__all__ = ["build_main_window", "create_application", "run_gui"]


def create_application(argv: Sequence[str] | None = None) -> QApplication:
    """The process's QApplication (created once, named for settings and window titles)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
    app.setApplicationName("OVCF Viewer")
    app.setOrganizationName("OVCF Viewer")
    app.setApplicationVersion(__version__)
    return app  # type: ignore[return-value]


def build_main_window() -> MainWindow:
    """The application's main window with everything installed on it: the viewer itself
    plus landmark placement, measuring tools and the measurements panel
    (:meth:`ovcf_viewer.qt.annotate.annotation_controller.AnnotationController.install`), the
    Training menu, the suitability panel, cases, report and settings
    (:func:`ovcf_viewer.qt.workstation.install_workstation`), and DICOM SR export/import
    (:func:`ovcf_viewer.qt.dialogs.sr_actions.install_sr_actions`)."""
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.main_window import MainWindow

    window = MainWindow()
    window.annotation_controller = AnnotationController.install(window)
    from ovcf_viewer.qt.training.training_mode import install_training  # Training menu

    install_training(window)
    from ovcf_viewer.qt.workstation import install_workstation  # suitability, cases, report

    install_workstation(window)
    from ovcf_viewer.qt.dialogs.sr_actions import install_sr_actions  # DICOM SR export/import

    install_sr_actions(window)
    from ovcf_viewer.qt.archive.actions import install_archive  # Query/Retrieve, Send

    install_archive(window)
    from ovcf_viewer.qt.dialogs.help import install_help_menu  # shortcut sheet, About (last)

    install_help_menu(window)
    return window


def run_gui(paths: Sequence[str], annotations: str | None = None) -> int:
    """Show the main window on ``paths`` (files and folders) and run until it is closed.

    ``annotations`` names an exchange-format annotation file, loaded after the images (its
    landmarks then show on the image they belong to). Returns the process exit status (0 on a
    normal close).
    """
    app = create_application()
    window = build_main_window()
    window.resize(1400, 900)
    window.show()
    if paths:
        window.open_paths(list(paths))
    if annotations:
        window.open_annotations(annotations)
    return int(app.exec())
