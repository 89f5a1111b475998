"""The archive's place in the main window: *File ▸ Query/Retrieve…* and *File ▸ Send to
archive…*. A retrieved study opens straight into the viewer (the window's own
``open_paths``, as for a folder the user opens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

__all__ = ["ArchiveActions", "install_archive"]


class ArchiveActions(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.query_dialog: Any = None
        self.send_dialog: Any = None
        self.query_action = QAction("Query/&Retrieve…", window)
        self.query_action.setShortcut("Ctrl+Shift+R")
        self.query_action.setStatusTip("Search the archive (PACS) and retrieve a study")
        self.query_action.triggered.connect(self.open_query)
        self.send_action = QAction("Send to &archive…", window)
        self.send_action.setStatusTip("Send the shown film (and other files) to the archive")
        self.send_action.triggered.connect(self.open_send)
        menu = _file_menu(window)
        before = getattr(window, "quit_action", None)
        for action in (self.query_action, self.send_action):
            menu.insertAction(before, action)
        menu.insertSeparator(before)

    def open_query(self) -> None:
        from ovcf_viewer.qt.archive.query_dialog import QueryRetrieveDialog

        dialog = QueryRetrieveDialog(self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.studyRetrieved.connect(self.open_retrieved)
        dialog.show()
        self.query_dialog = dialog

    def open_retrieved(self, folder: Path) -> None:
        self.window.open_paths([folder])  # type: ignore[attr-defined]

    def send_items(self) -> list[tuple[Path, str]]:
        """What *Send* offers: the shown film's file when it is DICOM; its measurement SR
        (the one lying beside it, and the one last exported); the SRs last exported from
        open case windows; and the report when it was last saved as an Encapsulated PDF
        (``.dcm``). More files are added in the dialog."""
        items: list[tuple[Path, str]] = []

        def offer(path: object, what: str) -> None:
            if path is None or not Path(str(path)).is_file():
                return
            candidate = Path(str(path))
            if all(candidate.resolve() != known.resolve() for known, _what in items):
                items.append((candidate, what))

        image_of = getattr(self.window, "image", None)
        image = image_of() if callable(image_of) else None
        if image is not None and image.path is not None and image.is_dicom:
            offer(image.path, "film")
        sr_actions = getattr(self.window, "sr_actions", None)
        offer(getattr(sr_actions, "sr_beside", None), "SR")
        offer(getattr(sr_actions, "last_written", None), "SR")
        workstation = getattr(self.window, "workstation", None)
        for case_window in list(getattr(workstation, "case_windows", [])):
            try:
                written = getattr(getattr(case_window, "sr_action", None), "last_written", [])
            except RuntimeError:  # a case window closed meanwhile
                continue
            for path in written or []:
                offer(path, "case SR")
        report = getattr(getattr(workstation, "report_action", None), "last_written", None)
        if report is not None and Path(str(report)).suffix.lower() == ".dcm":
            offer(report, "report (Encapsulated PDF)")
        return items

    def open_send(self) -> None:
        from ovcf_viewer.qt.archive.send_dialog import SendDialog

        dialog = SendDialog(self.send_items(), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        self.send_dialog = dialog


def _file_menu(window: QMainWindow) -> Any:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text().replace("&", "") == "File":
            return menu
    return window.menuBar().addMenu("&File")


def install_archive(window: QMainWindow) -> ArchiveActions:
    actions = ArchiveActions(window)
    window.archive = actions  # type: ignore[attr-defined]
    return actions
