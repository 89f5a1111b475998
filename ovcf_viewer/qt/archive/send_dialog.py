"""*File ▸ Send to archive…*: send the shown film's file (and any DICOM files added: an SR,
an Encapsulated PDF report) to an archive node, with each item's result beside it.

The send runs as an :class:`~.worker.ArchiveTask`; nothing leaves the machine before the
user presses *Send*.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.settings import ArchiveNode, Settings, load_settings
from ovcf_viewer.qt.archive.node_combo import chosen_node, fill_node_combo
from ovcf_viewer.qt.archive.worker import ArchiveTask
from ovcf_viewer.qt.settings_link import follow_settings

__all__ = ["SendDialog"]


class SendDialog(QDialog):
    def __init__(
        self,
        items: Sequence[tuple[Path, str]] = (),
        parent: QWidget | None = None,
        settings: Settings | None = None,
    ) -> None:
        """``items``: ``(file, what it is)`` pairs offered for sending."""
        super().__init__(parent)
        self.setWindowTitle("Send to archive")
        self.settings = settings if settings is not None else load_settings()
        self._items: list[tuple[Path, str]] = []
        self._task: ArchiveTask | None = None

        self.node = QComboBox()
        self._fill_nodes()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Item", "File", "Result"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("Add files…")
        self.send_button = QPushButton("Send")
        self.close_button = QPushButton("Close")
        self.status = QLabel("")
        self.status.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Archive:"))
        top.addWidget(self.node, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(760, 320)

        self.add_button.clicked.connect(self.choose_files)
        self.send_button.clicked.connect(self.send)
        self.close_button.clicked.connect(self.close)
        for path, what in items:
            self.add_item(path, what)
        if not self.settings.archive_nodes:
            self._error("No archive node yet: add one in Settings ▸ Archive (PACS).")
        self._sync()
        follow_settings(self.settings, self._on_settings_changed)

    def _fill_nodes(self) -> None:
        fill_node_combo(self.node, self.settings.archive_nodes)

    def _on_settings_changed(self) -> None:
        """A node added, edited or removed in Settings shows here at once (the one shared
        instance, not the file read again)."""
        self._fill_nodes()
        self._sync()

    def add_item(self, path: Path, what: str) -> None:
        self._items.append((Path(path), what))
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(what))
        file_cell = QTableWidgetItem(Path(path).name)
        file_cell.setToolTip(str(path))
        self.table.setItem(row, 1, file_cell)
        self.table.setItem(row, 2, QTableWidgetItem("not sent"))
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(1)
        self._sync()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Files to send", "", "DICOM files (*.dcm *.dicom);;All files (*)"
        )
        for path in paths:
            self.add_item(Path(path), "file")

    def _status_cell(self, row: int) -> QTableWidgetItem:
        """The row's result cell (set by :meth:`add_item`; made again if it was removed)."""
        cell = self.table.item(row, 2)
        if cell is None:
            cell = QTableWidgetItem("not sent")
            self.table.setItem(row, 2, cell)
        return cell

    def results(self) -> list[str]:
        return [self._status_cell(row).text() for row in range(self.table.rowCount())]

    def current_node(self) -> ArchiveNode | None:
        return chosen_node(self.node, self.settings.archive_nodes)

    def _sync(self) -> None:
        busy = self._task is not None and self._task.running
        self.send_button.setEnabled(
            bool(self._items) and self.current_node() is not None and not busy
        )

    def _error(self, text: str) -> None:
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(text)

    def send(self) -> None:
        node = self.current_node()
        if node is None or not self._items:
            return
        for row in range(self.table.rowCount()):
            self._status_cell(row).setText("sending…")
        self.status.setStyleSheet("")
        self.status.setText(f"Sending {len(self._items)} item(s) to {node.name}…")
        task = ArchiveTask(_SendJob(node, [path for path, _what in self._items]))
        task.succeeded.connect(self._on_sent)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._sync)
        self._task = task
        task.start()
        self._sync()

    def _on_sent(self, results: list[Any]) -> None:
        refused = 0
        for row, result in enumerate(results):
            cell = self._status_cell(row)
            cell.setText(("✓ " if result.ok else "✗ ") + result.message)
            cell.setForeground(Qt.GlobalColor.darkGreen if result.ok else Qt.GlobalColor.red)
            refused += not result.ok
        if refused:
            self._error(f"{refused} of {len(results)} item(s) not stored.")
        else:
            self.status.setStyleSheet("")
            self.status.setText(f"All {len(results)} item(s) stored.")

    def _on_failed(self, message: str, _error: object) -> None:
        for row in range(self.table.rowCount()):
            self._status_cell(row).setText("not sent")
        self._error(message)


class _SendJob:
    def __init__(self, node: ArchiveNode, paths: list[Path]) -> None:
        self.node, self.paths = node, paths

    def __call__(self, progress: Any, cancelled: Any) -> Any:
        from ovcf_viewer.services import archive

        return archive.send_files(self.node, self.paths)
