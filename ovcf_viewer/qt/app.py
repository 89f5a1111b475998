"""Start the GUI: ``run_gui(paths)`` creates the application and the main window, opens the
given files and folders, and runs the event loop until the window closes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication

from ovcf_viewer import __version__
from ovcf_viewer.model.settings import Settings, load_settings, read_settings
from ovcf_viewer.qt.layout import fit_to_screen

if TYPE_CHECKING:
    from ovcf_viewer.qt.application_window import ApplicationWindow

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


def build_main_window(settings: Settings | None = None) -> ApplicationWindow:
    """The application's main window
    (:class:`~ovcf_viewer.qt.application_window.ApplicationWindow`: the viewer, landmark
    placement and measurements, training, suitability, cases, report, settings, DICOM SR and
    Help),
    sharing ``settings`` — the run's one instance, read from the settings file when not given.
    """
    from ovcf_viewer.qt.application_window import ApplicationWindow

    return ApplicationWindow(settings if settings is not None else load_settings())


def run_gui(paths: Sequence[str], annotations: str | None = None) -> int:
    """Show the main window on ``paths`` (files and folders) and run until it is closed.

    ``annotations`` names an exchange-format annotation file, loaded after the images (its
    landmarks then show on the image they belong to). Returns the process exit status (0 on a
    normal close).
    """
    app = create_application()
    settings, problems = read_settings()  # the run's one settings instance
    window = build_main_window(settings)
    fit_to_screen(window, 1400, 900)  # a saved layout, if any, replaces it when shown
    window.show()
    if problems:
        window.statusBar().showMessage("; ".join(problems))
    if paths:
        window.open_paths(list(paths))
    if annotations:
        window.open_annotations(annotations)
    return int(app.exec())
