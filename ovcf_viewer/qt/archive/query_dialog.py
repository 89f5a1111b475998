"""*File ▸ Query/Retrieve…*: search an archive, look at a study's series (with thumbnails),
retrieve it with a progress bar and *Cancel*, and hand the retrieved folder to the viewer.

All network calls run as :class:`~.worker.ArchiveTask`s; the dialog only reacts to their
signals, so it never freezes. Failures show as one readable line under the lists. Retrieved
studies go to the local cache (:func:`ovcf_viewer.services.archive.retrieve_to_cache`), where
an interrupted retrieve resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent, QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
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

__all__ = ["QueryRetrieveDialog"]

_COLUMNS = ("Date", "Patient ID", "Patient name", "Description", "Modality", "Images")
_THUMB = 96


def _qimage(grey: Any) -> QImage:
    """A QImage owning a copy of an (h, w) uint8 array."""
    height, width = grey.shape
    image = QImage(grey.data, width, height, width, QImage.Format.Format_Grayscale8)
    return image.copy()


class QueryRetrieveDialog(QDialog):
    """Emits :attr:`studyRetrieved` with the study's folder once a retrieve completes."""

    studyRetrieved = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None, settings: Settings | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Query/Retrieve")
        self.settings = settings if settings is not None else load_settings()
        self._studies: list[Any] = []
        self._search_task: ArchiveTask | None = None
        self._series_task: ArchiveTask | None = None
        self._retrieve_task: ArchiveTask | None = None
        self._thumb_task: ArchiveTask | None = None
        self._shown_study = ""
        self.last_folder: Path | None = None

        self.node = QComboBox()
        self._fill_nodes()
        self.patient_id = QLineEdit()
        self.patient_name = QLineEdit()
        self.patient_name.setPlaceholderText("SMITH* (wildcards * ?)")
        self.study_date = QLineEdit()
        self.study_date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        self.modality = QLineEdit()
        self.modality.setPlaceholderText("DX, CR…")
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)

        fields = QGridLayout()
        fields.addWidget(QLabel("Archive:"), 0, 0)
        fields.addWidget(self.node, 0, 1, 1, 3)
        fields.addWidget(QLabel("Patient ID:"), 1, 0)
        fields.addWidget(self.patient_id, 1, 1)
        fields.addWidget(QLabel("Patient name:"), 1, 2)
        fields.addWidget(self.patient_name, 1, 3)
        fields.addWidget(QLabel("Study date:"), 2, 0)
        fields.addWidget(self.study_date, 2, 1)
        fields.addWidget(QLabel("Modality:"), 2, 2)
        fields.addWidget(self.modality, 2, 3)
        fields.addWidget(self.search_button, 2, 4)

        self.studies = QTableWidget(0, len(_COLUMNS))
        self.studies.setHorizontalHeaderLabels(list(_COLUMNS))
        self.studies.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.studies.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.studies.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.studies.verticalHeader().setVisible(False)
        self.studies.horizontalHeader().setSectionResizeMode(
            3, QHeaderView.ResizeMode.Stretch
        )

        self.series = QListWidget()
        self.series.setViewMode(QListWidget.ViewMode.IconMode)
        self.series.setIconSize(QSize(_THUMB, _THUMB))
        self.series.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.series.setMovement(QListWidget.Movement.Static)
        self.series.setFixedHeight(_THUMB + 60)

        self.progress = QProgressBar()
        self.progress.setFormat("%v of %m instances")
        self.progress.setValue(0)
        self.retrieve_button = QPushButton("Retrieve")
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        actions = QHBoxLayout()
        actions.addWidget(self.progress, 1)
        actions.addWidget(self.retrieve_button)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(fields)
        layout.addWidget(self.studies, 1)
        layout.addWidget(QLabel("Series:"))
        layout.addWidget(self.series)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        self.resize(900, 600)

        self.search_button.clicked.connect(self.search)
        self.studies.itemSelectionChanged.connect(self._on_study_selected)
        self.retrieve_button.clicked.connect(self.retrieve)
        self.cancel_button.clicked.connect(self.cancel_retrieve)
        self.close_button.clicked.connect(self.close)
        if not self.settings.archive_nodes:
            self._error("No archive node yet: add one in Settings ▸ Archive (PACS).")
        self._sync_buttons()
        follow_settings(self.settings, self._on_settings_changed)

    def _fill_nodes(self) -> None:
        fill_node_combo(self.node, self.settings.archive_nodes)

    def _on_settings_changed(self) -> None:
        """A node added, edited or removed in Settings shows here at once (the one shared
        instance, not the file read again)."""
        self._fill_nodes()
        self._sync_buttons()

    # -- state -----------------------------------------------------------------------------
    def current_node(self) -> ArchiveNode | None:
        return chosen_node(self.node, self.settings.archive_nodes)

    def selected_study(self) -> Any | None:
        rows = self.studies.selectionModel().selectedRows()
        if not rows:
            return None
        return self._studies[rows[0].row()]

    def _busy(self, task: ArchiveTask | None) -> bool:
        return task is not None and task.running

    def _sync_buttons(self) -> None:
        has_node = self.current_node() is not None
        retrieving = self._busy(self._retrieve_task)
        self.search_button.setEnabled(has_node and not self._busy(self._search_task))
        self.retrieve_button.setEnabled(
            has_node and not retrieving and self.selected_study() is not None
        )
        self.cancel_button.setEnabled(retrieving)

    def _info(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def _error(self, text: str) -> None:
        self.status.setStyleSheet("color: #b00020")
        self.status.setText(text)

    # -- search ----------------------------------------------------------------------------
    def search(self) -> None:
        from ovcf_viewer.io.archive import StudyQuery

        node = self.current_node()
        if node is None:
            return
        try:
            query = StudyQuery(
                patient_id=self.patient_id.text().strip(),
                patient_name=self.patient_name.text().strip(),
                study_date=self.study_date.text().strip(),
                modality=self.modality.text().strip().upper(),
            )
        except ValueError as exc:
            self._error(str(exc))
            return
        self._info(f"Searching {node.name}…")
        task = ArchiveTask(_SearchJob(node, query))
        task.succeeded.connect(self._on_found)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._sync_buttons)
        self._search_task = task
        task.start()
        self._sync_buttons()

    def _on_found(self, studies: list[Any]) -> None:
        self._studies = list(studies)
        self.studies.clearSelection()
        self.studies.setRowCount(len(self._studies))
        for row, study in enumerate(self._studies):
            date = study.study_date
            shown_date = f"{date[:4]}-{date[4:6]}-{date[6:]}" if len(date) == 8 else date
            count = "" if study.number_of_instances is None else str(study.number_of_instances)
            values = (shown_date, study.patient_id, study.patient_name.replace("^", " "),
                      study.study_description, "/".join(study.modalities), count)
            for column, value in enumerate(values):
                self.studies.setItem(row, column, QTableWidgetItem(value))
        self.studies.resizeColumnsToContents()
        self.series.clear()
        self._info(f"{len(self._studies)} stud{'y' if len(self._studies) == 1 else 'ies'} found"
                   if self._studies else "No study matches.")

    def _on_failed(self, message: str, _error: object) -> None:
        self._error(message)

    # -- series and thumbnails ------------------------------------------------------------
    def _on_study_selected(self) -> None:
        self._sync_buttons()
        study = self.selected_study()
        node = self.current_node()
        self.series.clear()
        if study is None or node is None:
            return
        self._shown_study = study.study_instance_uid
        task = ArchiveTask(_SeriesJob(node, study.study_instance_uid))
        task.succeeded.connect(self._on_series)
        task.failed.connect(self._on_failed)
        self._series_task = task
        task.start()

    def _on_series(self, result: tuple[str, list[Any]]) -> None:
        study_uid, series = result
        if study_uid != self._shown_study:
            return  # the user moved on to another study
        node = self.current_node()
        self.series.clear()
        for item in series:
            number = item.series_number if item.series_number is not None else "?"
            label = (f"{item.modality} #{number}\n{item.series_description}\n"
                     f"{item.number_of_instances or '?'} image(s)")
            entry = QListWidgetItem(label)
            entry.setData(Qt.ItemDataRole.UserRole, item.series_instance_uid)
            entry.setSizeHint(QSize(_THUMB + 60, _THUMB + 56))
            self.series.addItem(entry)
        if node is not None and series:
            # One task fetches the thumbnails in turn (a C-MOVE node has one receiving port).
            task = ArchiveTask(_ThumbnailJob(
                node, study_uid, [item.series_instance_uid for item in series], self.settings
            ))
            task.succeeded.connect(self._on_thumbnails)
            self._thumb_task = task
            task.start()

    def _on_thumbnails(self, result: tuple[str, dict[str, Any]]) -> None:
        study_uid, pictures = result
        if study_uid != self._shown_study:
            return
        for row in range(self.series.count()):
            entry = self.series.item(row)
            grey = pictures.get(entry.data(Qt.ItemDataRole.UserRole))
            if grey is not None:
                entry.setIcon(QIcon(QPixmap.fromImage(_qimage(grey))))

    def thumbnails_shown(self) -> int:
        return sum(
            1 for row in range(self.series.count()) if not self.series.item(row).icon().isNull()
        )

    # -- retrieve --------------------------------------------------------------------------
    def retrieve(self) -> None:
        study = self.selected_study()
        node = self.current_node()
        if study is None or node is None or self._busy(self._retrieve_task):
            return
        self.progress.setRange(0, max(1, study.number_of_instances or 1))
        self.progress.setValue(0)
        self._info(f"Retrieving study of {study.study_date or 'unknown date'} from {node.name}…")
        task = ArchiveTask(_RetrieveJob(node, study.study_instance_uid, self.settings))
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(self._on_retrieved)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._sync_buttons)
        self._retrieve_task = task
        task.start()
        self._sync_buttons()

    def cancel_retrieve(self) -> None:
        if self._retrieve_task is not None:
            self._retrieve_task.cancel()
            self._info("Cancelling after the instance under way…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_retrieved(self, result: Any) -> None:
        self.last_folder = result.folder
        self.progress.setValue(result.total)
        if result.received == 0:
            done = f"All {result.total} instance(s) were already here"
        elif result.skipped:
            done = f"Retrieved {result.received} instance(s), {result.skipped} already here"
        else:
            done = f"Retrieved {result.received} instance(s)"
        self._info(f"{done}; opening in the viewer.")
        self.studyRetrieved.emit(result.folder)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        # Closing stops the retrieve after the instance under way; what arrived stays cached.
        if self._retrieve_task is not None:
            self._retrieve_task.cancel()
        super().closeEvent(event)


# Jobs are small callables (not lambdas) so the worker's signature stays explicit.
class _SearchJob:
    def __init__(self, node: ArchiveNode, query: Any) -> None:
        self.node, self.query = node, query

    def __call__(self, progress: Any, cancelled: Any) -> Any:
        from ovcf_viewer.services import archive

        return archive.find_studies(self.node, self.query)


class _SeriesJob:
    def __init__(self, node: ArchiveNode, study_uid: str) -> None:
        self.node, self.study_uid = node, study_uid

    def __call__(self, progress: Any, cancelled: Any) -> Any:
        from ovcf_viewer.services import archive

        return self.study_uid, archive.find_series(self.node, self.study_uid)


class _ThumbnailJob:
    def __init__(self, node: ArchiveNode, study_uid: str, series_uids: list[str],
                 settings: Settings) -> None:
        self.node, self.study_uid, self.series_uids = node, study_uid, series_uids
        self.settings = settings

    def __call__(self, progress: Any, cancelled: Any) -> Any:
        from ovcf_viewer.io.archive import ArchiveError
        from ovcf_viewer.services import archive

        pictures = {}
        for series_uid in self.series_uids:
            try:
                pictures[series_uid] = archive.series_thumbnail(
                    self.node, self.study_uid, series_uid, self.settings, size=_THUMB
                )
            except ArchiveError:
                continue  # a missing thumbnail is no error worth showing; retrieve will say
        return self.study_uid, pictures


class _RetrieveJob:
    def __init__(self, node: ArchiveNode, study_uid: str, settings: Settings) -> None:
        self.node, self.study_uid, self.settings = node, study_uid, settings

    def __call__(self, progress: Any, cancelled: Any) -> Any:
        from ovcf_viewer.services import archive

        return archive.retrieve_to_cache(
            self.node, self.study_uid, self.settings, progress=progress, cancel=cancelled
        )
