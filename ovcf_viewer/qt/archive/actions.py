"""The archive's place in the main window: *File ▸ Query/Retrieve…* and *File ▸ Send to
archive…*. A retrieved study opens straight into the viewer (the window's own
``open_paths``, as for a folder the user opens)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction

if TYPE_CHECKING:
    from ovcf_viewer.qt.dialogs.sr_actions import SrActions
    from ovcf_viewer.qt.main_window import MainWindow
    from ovcf_viewer.qt.workstation import Workstation

__all__ = ["ArchiveActions"]


class ArchiveActions(QObject):
    """*Query/Retrieve…* and *Send to archive…* for ``window`` (which places
    :meth:`file_actions`); *Send* offers what ``sr_actions`` and ``workstation`` last wrote."""

    def __init__(self, window: MainWindow, sr_actions: SrActions,
                 workstation: Workstation) -> None:
        super().__init__(window)
        self.window = window
        self.sr_actions = sr_actions
        self.workstation = workstation
        self.query_dialog: Any = None
        self.send_dialog: Any = None
        self.query_action = QAction("Query/&Retrieve…", window)
        self.query_action.setShortcut("Ctrl+Shift+R")
        self.query_action.setStatusTip("Search the archive (PACS) and retrieve a study")
        self.query_action.triggered.connect(self.open_query)
        self.send_action = QAction("Send to &archive…", window)
        self.send_action.setStatusTip("Send the shown film (and other files) to the archive")
        self.send_action.triggered.connect(self.open_send)

    def file_actions(self) -> list[QAction | None]:
        """The File menu's entries, in order (``None`` for a separator)."""
        return [self.query_action, self.send_action, None]

    def open_query(self) -> None:
        from ovcf_viewer.qt.archive.query_dialog import QueryRetrieveDialog

        # The run's one settings instance: a node just added in Settings is listed at once.
        dialog = QueryRetrieveDialog(self.window, settings=self.workstation.settings)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.studyRetrieved.connect(self.open_retrieved)
        dialog.show()
        self.query_dialog = dialog

    def open_retrieved(self, folder: Path) -> None:
        self.window.open_paths([folder])

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

        image = self.window.image()
        if image is not None and image.path is not None and image.is_dicom:
            offer(image.path, "film")
        offer(self.sr_actions.sr_beside, "SR")
        offer(self.sr_actions.last_written, "SR")
        for case_window in list(self.workstation.case_windows):
            try:
                written = case_window.sr_action.last_written
            except RuntimeError:  # a case window closed meanwhile
                continue
            for path in written or []:
                offer(path, "case SR")
        report = self.workstation.report_action.last_written
        if report is not None and Path(str(report)).suffix.lower() == ".dcm":
            offer(report, "report (Encapsulated PDF)")
        return items

    def open_send(self) -> None:
        from ovcf_viewer.qt.archive.send_dialog import SendDialog

        dialog = SendDialog(self.send_items(), self.window, settings=self.workstation.settings)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.show()
        self.send_dialog = dialog

