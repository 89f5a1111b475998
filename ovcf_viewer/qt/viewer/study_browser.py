"""The study browser: what a scan of files and folders found, as patients → studies → images
(:func:`ovcf_viewer.io.study_scan.scan_paths`), and below it every file that could not be
opened with its one-line reason. Selecting an image (click, arrow keys) or activating it
(double-click, Enter) asks for it to be shown through ``imageActivated(path, frame)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.qt.theme import readable

if TYPE_CHECKING:  # the scanner imports pydicom: load it on first open, not at start-up
    from ovcf_viewer.io.study_scan import ScanImage, ScanPatient, ScanResult, ScanStudy

__all__ = ["StudyBrowser"]

_ERROR_RED = QColor(200, 40, 40)  # made readable on the theme's ground (qt.theme)

#: Suffixes of files that may hold an image; anything else found *inside a folder* that is not
#: an image (a README, the annotation JSON beside each film, AUTORUN.INF) is counted as
#: "other files", not listed as a failure. Files the user named explicitly always are.
_IMAGE_LIKE_SUFFIXES = frozenset(
    {"", ".dcm", ".dicom", ".dic", ".ima", ".img", ".dc3", ".png", ".jpg", ".jpeg", ".tif",
     ".tiff"}
)

_PATH_ROLE = Qt.ItemDataRole.UserRole
_FRAME_ROLE = Qt.ItemDataRole.UserRole + 1
_NOTE_ROLE = Qt.ItemDataRole.UserRole + 2  # an annotation file listed, not a failure
_MAX_FRAME_ROWS = 500  # a longer cine loop lists its first frames; any frame opens via File


def _patient_text(patient: ScanPatient) -> str:
    name = patient.name.replace("^", " ").strip() or "(no name)"
    extra = [f"ID {patient.patient_id}"] if patient.patient_id else []
    if patient.birth_date is not None:
        extra.append(f"born {patient.birth_date.isoformat()}")
    if patient.sex:
        extra.append(patient.sex)
    return name + (f"  ({', '.join(extra)})" if extra else "")


def _study_text(study: ScanStudy) -> str:
    when = study.study_date.isoformat() if study.study_date is not None else "(no date)"
    parts = [when, study.description or "Study"]
    if study.accession_number:
        parts.append(f"acc. {study.accession_number}")
    return "  ".join(parts)


class StudyBrowser(QWidget):
    """Tree of the last scan plus its error list. ``imageActivated(path, frame)`` when the
    user picks an image (frame 0 unless a frame row is picked)."""

    imageActivated = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result: ScanResult | None = None
        self._current: tuple[str, int] | None = None
        self._other_files: list[Path] = []
        self._annotation_counts = (0, 0, 0)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.currentItemChanged.connect(self._on_current_changed)
        self.tree.itemActivated.connect(self._on_item_activated)
        self.errors_label = QLabel(self)
        self.errors_label.setWordWrap(True)
        self.errors = QListWidget(self)
        self.errors.setWordWrap(True)
        error_panel = QWidget(self)
        error_layout = QVBoxLayout(error_panel)
        error_layout.setContentsMargins(0, 0, 0, 0)
        error_layout.addWidget(self.errors_label)
        error_layout.addWidget(self.errors)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(error_panel)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self._update_error_label()

    # -- filling ---------------------------------------------------------------------------
    def set_scan(
        self, result: ScanResult, explicit: Sequence[str | os.PathLike[str]] = ()
    ) -> tuple[int, int]:
        """Show ``result`` (replacing the previous scan); returns ``(images, errors)``.

        ``explicit`` are the paths the user named; a non-image file among them is an error,
        while non-image files merely found in a folder (``README.md``, ``*.json``) are only
        counted (:meth:`other_files`)."""
        self._result = result
        named = {Path(p).absolute() for p in explicit}
        self._other_files = []
        self._annotation_counts = (0, 0, 0)
        self._current = None
        with QSignalBlocker(self.tree):
            self.tree.clear()
            for patient in result.patients:
                patient_item = QTreeWidgetItem(self.tree, [_patient_text(patient)])
                for study in patient.studies:
                    study_item = QTreeWidgetItem(patient_item, [_study_text(study)])
                    for series in study.series:
                        for image in series.images:
                            self._add_image(study_item, image, series.description)
                    study_item.setExpanded(True)
                patient_item.setExpanded(True)
        self.errors.clear()
        for path, message in result.errors:
            path = Path(path)
            if (
                path.absolute() not in named
                and path.suffix.lower() not in _IMAGE_LIKE_SUFFIXES
                and message.startswith("not a DICOM file")
            ):
                self._other_files.append(path)
            else:
                self._add_error(path, message)
        self._update_error_label()
        return self.image_count(), self.error_count()

    def _add_image(self, parent: QTreeWidgetItem, image: ScanImage, series: str) -> None:
        text = f"{series} · {image.label}" if series else image.label
        item = QTreeWidgetItem(parent, [text])
        item.setData(0, _PATH_ROLE, str(image.path))
        item.setData(0, _FRAME_ROLE, 0)
        item.setToolTip(0, str(image.path))
        if image.number_of_frames > 1:
            for frame in range(min(image.number_of_frames, _MAX_FRAME_ROWS)):
                child = QTreeWidgetItem(item, [f"Frame {frame + 1}"])
                child.setData(0, _PATH_ROLE, str(image.path))
                child.setData(0, _FRAME_ROLE, frame)

    def _add_error(self, path: Path, message: str) -> None:
        entry = QListWidgetItem(f"{path.name}: {message}")
        entry.setToolTip(str(path))
        entry.setData(_PATH_ROLE, str(path))
        entry.setForeground(QBrush(readable(_ERROR_RED)))
        self.errors.addItem(entry)

    def note_annotation_files(self, loaded: Sequence[Path],
                              unmatched: Sequence[tuple[Path, str]],
                              asked: Sequence[Path] = ()) -> None:
        """Annotation files of the scan: ``loaded`` and ``asked`` (waiting for the user's
        answer) ones are counted, ``unmatched`` ones are listed in grey with why (not
        failures); none stays among the failures or the skipped files. Called again, it
        replaces the previous note."""
        done = ({Path(p).absolute() for p in (*loaded, *asked)}
                | {Path(p).absolute() for p, _ in unmatched})
        self._other_files = [p for p in self._other_files if p.absolute() not in done]
        for row in reversed(range(self.errors.count())):
            item = self.errors.item(row)
            if item.data(_NOTE_ROLE) or Path(item.data(_PATH_ROLE)).absolute() in done:
                self.errors.takeItem(row)
        for path, why in unmatched:
            entry = QListWidgetItem(f"{path.name}: {why}")
            entry.setToolTip(str(path))
            entry.setData(_PATH_ROLE, str(path))
            entry.setData(_NOTE_ROLE, True)
            entry.setForeground(QBrush(readable(QColor(110, 110, 110))))
            self.errors.addItem(entry)
        self._annotation_counts = (len(loaded), len(unmatched), len(asked))
        self._update_error_label()

    def _update_error_label(self) -> None:
        count = self.error_count()
        text = f"Could not open ({count})" if count else ""
        loaded, unmatched, asked = self._annotation_counts
        if loaded or unmatched or asked:
            text += ("; " if text else "") + f"{loaded} annotation file(s) loaded"
            if asked:
                text += f", {asked} asked about"
            if unmatched:
                text += f", {unmatched} not loaded (listed)"
        if self._other_files:
            suffixes = sorted({p.suffix.lower() or p.name for p in self._other_files})
            text += ("; " if text else "") + (
                f"{len(self._other_files)} other file(s) skipped ({', '.join(suffixes)})"
            )
        self.errors_label.setText(text)
        self.errors_label.setVisible(bool(text))
        self.errors_label.setToolTip("\n".join(str(p) for p in self._other_files))
        self.errors.setVisible(self.errors.count() > 0)

    # -- reading ---------------------------------------------------------------------------
    def scan_result(self) -> ScanResult | None:
        return self._result

    def images(self) -> list[ScanImage]:
        """Every image of the last scan, in browser order."""
        return self._result.images() if self._result is not None else []

    def image_count(self) -> int:
        return len(self.images())

    def error_count(self) -> int:
        return sum(1 for row in range(self.errors.count())
                   if not self.errors.item(row).data(_NOTE_ROLE))

    def other_files(self) -> list[Path]:
        """Non-image files found in folders (not failures)."""
        return list(self._other_files)

    def error_messages(self) -> list[str]:
        return [self.errors.item(i).text() for i in range(self.errors.count())
                if not self.errors.item(i).data(_NOTE_ROLE)]

    def note_messages(self) -> list[str]:
        """The annotation files listed as not loaded (``"x.json: for no film here …"``)."""
        return [self.errors.item(i).text() for i in range(self.errors.count())
                if self.errors.item(i).data(_NOTE_ROLE)]

    def error_summary(self) -> str:
        lines = self.error_messages()
        head = f"{len(lines)} file(s) could not be opened"
        shown = lines[:8] + ([f"… and {len(lines) - 8} more"] if len(lines) > 8 else [])
        return head + (":\n" + "\n".join(shown) if shown else "")

    def first_image(self) -> ScanImage | None:
        images = self.images()
        return images[0] if images else None

    def image_items(self) -> list[QTreeWidgetItem]:
        """Tree rows of whole images (not frame rows), in display order."""
        patients = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        studies = [study for patient in patients for study in _children(patient)]
        return [row for study in studies for row in _children(study)]

    # -- selection -------------------------------------------------------------------------
    def select_path(self, path: str | os.PathLike[str] | None, frame: int = 0) -> None:
        """Mirror the shown image in the tree without asking to open it again."""
        if path is None:
            return
        key = (str(Path(path)), int(frame))
        self._current = key
        with QSignalBlocker(self.tree):
            for row in self.image_items():
                if row.data(0, _PATH_ROLE) != key[0]:
                    continue
                target = row.child(frame) if frame else None
                self.tree.setCurrentItem(target if target is not None else row)
                return

    def mark_failed(self, path: str | os.PathLike[str], message: str) -> None:
        """An image the header scan accepted failed to load: flag its row and list it."""
        path_text = str(Path(path))
        for row in self.image_items():
            if row.data(0, _PATH_ROLE) == path_text:
                row.setForeground(0, QBrush(readable(_ERROR_RED)))
                row.setToolTip(0, f"{path_text}\n{message}")
        for i in range(self.errors.count()):
            if self.errors.item(i).data(_PATH_ROLE) == path_text:
                return
        self._add_error(Path(path), message)
        self._update_error_label()

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self._emit_for(current)

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        self._emit_for(item)

    def _emit_for(self, item: QTreeWidgetItem) -> None:
        path = item.data(0, _PATH_ROLE)
        if not path:
            return
        key = (str(path), int(item.data(0, _FRAME_ROLE) or 0))
        if key == self._current:
            return
        self._current = key
        self.imageActivated.emit(*key)


def _children(item: QTreeWidgetItem | None) -> list[QTreeWidgetItem]:
    """The child rows of a tree row (none for a missing row)."""
    if item is None:
        return []
    children = (item.child(i) for i in range(item.childCount()))
    return [child for child in children if child is not None]
