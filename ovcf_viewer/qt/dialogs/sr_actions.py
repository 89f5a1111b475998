"""DICOM SR in the viewer: File ▸ Export ▸ DICOM SR… for the shown film, File ▸ Import DICOM
SR…, Case ▸ Export DICOM SR… for a case, and the SR lying beside an opened film.

When a film is opened and a measurement SR in its folder refers to it
(:func:`ovcf_viewer.services.sr.index_measurement_srs`, read again when the folder changes),
its landmarks are loaded if the film has none yet, otherwise offered (*File ▸ Load landmarks
from the SR beside this film*). Loading goes through
:meth:`AnnotationController.load_annotations`: one undo step, autosaved like any other edit.
Errors are shown in the status bar (and a non-modal box), never raised.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

if TYPE_CHECKING:
    from ovcf_viewer.model.image import RadiographImage
    from ovcf_viewer.qt.annotate.annotation_controller import AnnotationController
    from ovcf_viewer.qt.main_window import MainWindow

__all__ = ["CaseSrAction", "SrActions"]


class SrActions(QObject):
    """The main window's SR actions. The window places :meth:`file_entries` in its File menu
    and calls :meth:`on_image_opened` after the annotation controller has the new film."""

    def __init__(self, window: MainWindow, controller: AnnotationController) -> None:
        super().__init__(window)
        self.window = window
        self.controller = controller
        self.sr_beside: Path | None = None
        self._sr_index: dict[Path, tuple[int, dict[str, Path]]] = {}
        self.last_written: Path | None = None

        self.export_menu = QMenu("Export", window)
        self.export_action = QAction("DICOM SR…", window)
        self.export_action.setStatusTip(
            "Write the shown film's measurements as a DICOM SR (TID 1500) in its study")
        self.export_action.triggered.connect(self.choose_export_path)
        self.export_menu.addAction(self.export_action)
        self.export_deidentified_action = QAction("De-identified DICOM SR…", window)
        self.export_deidentified_action.setStatusTip(
            "Write the shown film's measurements as a de-identified DICOM SR (PS3.15 Annex E: "
            "pseudonym, shifted dates, new UIDs, no names)")
        self.export_deidentified_action.triggered.connect(
            lambda: self.choose_export_path(deidentify=True))
        self.export_menu.addAction(self.export_deidentified_action)
        self.import_action = QAction("Import DICOM SR…", window)
        self.import_action.setStatusTip("Load the landmarks of a DICOM SR measurement report "
                                        "made on the shown film (undoable)")
        self.import_action.triggered.connect(self.choose_sr)
        self.load_beside_action = QAction("Load landmarks from the SR beside this film", window)
        self.load_beside_action.triggered.connect(self.load_sr_beside)
        self.load_beside_action.setEnabled(False)

    def file_entries(self) -> list[QMenu | QAction]:
        """The File menu's SR entries, in order: the Export submenu, import, load beside."""
        return [self.export_menu, self.import_action, self.load_beside_action]

    # -- export ------------------------------------------------------------------------------
    def choose_export_path(self, deidentify: bool = False) -> None:
        image = self.controller.image
        if image is None or image.path is None:
            self._say("Open a DICOM film first.", error=True)
            return
        stem = image.path.stem
        if deidentify:  # the name must not carry the film's (often the patient's) name
            stem = self._deidentifier().context_for_patient(image.patient).file_stem(
                image.path.name)
        suggested = str(image.path.with_name(f"{stem}-sr.dcm"))
        path, _ = QFileDialog.getSaveFileName(self.window, "Export DICOM SR", suggested,
                                              "DICOM (*.dcm)")
        if path:
            self.export_sr(path, deidentify=deidentify)

    @staticmethod
    def _deidentifier() -> Any:
        from ovcf_viewer.io.deidentify import Deidentifier

        return Deidentifier()

    def export_sr(self, path: str | os.PathLike[str], *, deidentify: bool = False
                  ) -> Path | None:
        """Write the shown film's SR to ``path`` (de-identified with ``deidentify``); the file
        written, or ``None`` (said why)."""
        from ovcf_viewer.services.sr import SrExportError, export_film_sr

        image, model = self.controller.image, self.controller.model
        if image is None or model is None:
            self._say("Open a DICOM film first.", error=True)
            return None
        try:
            written = export_film_sr(image, model, self.controller.settings, path,
                                     deidentifier=self._deidentifier() if deidentify else None)
        except SrExportError as exc:
            self._say(f"DICOM SR not written: {exc}", error=True)
            return None
        self.last_written = written
        self._say(f"DICOM SR written to {written}")
        return written

    # -- import ------------------------------------------------------------------------------
    def choose_sr(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Import DICOM SR", "",
                                              "DICOM (*.dcm);;All files (*)")
        if path:
            self.import_sr(path)

    def import_sr(self, path: str | os.PathLike[str]) -> bool:
        """Load the landmarks of the SR at ``path`` onto the shown film (one undo step)."""
        from ovcf_viewer.io.sr import SrFormatError
        from ovcf_viewer.services.sr import import_sr

        try:
            result = import_sr(path)
        except SrFormatError as exc:
            self._say(f"DICOM SR not loaded: {exc}", error=True)
            return False
        model = self.controller.model
        if model is None or result.annotations.sop_instance_uid != model.sop_instance_uid:
            self._say(f"DICOM SR not loaded: {Path(path).name} was made on another image",
                      error=True)
            return False
        loaded = result.annotations
        loaded.file, loaded.rows, loaded.columns = model.file, model.rows, model.columns
        if not self.controller.load_annotations(loaded):
            return False
        message = (f"Landmarks from {Path(path).name}: {len(loaded.vertebrae)} vertebra(e), "
                   f"{len(loaded.tools)} tool(s) (Undo to remove)")
        if result.skipped:
            message += f"; skipped: {'; '.join(result.skipped)}"
        self._say(message)
        return True

    def load_sr_beside(self) -> bool:
        if self.sr_beside is None:
            return False
        return self.import_sr(self.sr_beside)

    def on_image_opened(self, image: RadiographImage | None) -> None:
        """A film was opened (the controller already shows its landmarks): find the SR
        beside it and load or offer its landmarks."""
        self.sr_beside = None
        if image is not None and image.is_dicom and image.path is not None:
            try:
                self.sr_beside = self._srs_in(image.path.parent).get(image.sop_instance_uid)
            except OSError:
                self.sr_beside = None
        self.load_beside_action.setEnabled(self.sr_beside is not None)
        model = self.controller.model
        if self.sr_beside is None or model is None:
            return
        if model.vertebrae or model.tools:
            self._say(f"{self.sr_beside.name} beside this film has landmarks: File ▸ Load "
                      "landmarks from the SR beside this film")
        else:
            self.import_sr(self.sr_beside)

    def _srs_in(self, folder: Path) -> dict[str, Path]:
        """The folder's SRs by film, read again only when the folder changed (a file added,
        removed or renamed), so browsing a large folder film by film stays quick."""
        from ovcf_viewer.services.sr import index_measurement_srs

        stamp = folder.stat().st_mtime_ns
        cached = self._sr_index.get(folder)
        if cached is None or cached[0] != stamp:
            cached = (stamp, index_measurement_srs(folder))
            self._sr_index[folder] = cached
        return cached[1]

    def _say(self, message: str, *, error: bool = False) -> None:
        if error:
            self.window.show_error(message, modal_box=True)
        else:
            self.window.statusBar().showMessage(message)


class CaseSrAction(QAction):
    """Case ▸ Export DICOM SR…: one SR per annotated film of the case window's case (with
    ``deidentify``, Case ▸ Export de-identified DICOM SR…: PS3.15 Annex E, the patient's
    pseudonym, shifted dates, new UIDs, pseudonymous file names)."""

    def __init__(self, case_window: Any, *, deidentify: bool = False) -> None:
        super().__init__("Export de-identified DICOM SR…" if deidentify
                         else "Export DICOM S&R…", case_window)
        self.setStatusTip("Write each film's measurements as a " + (
            "de-identified " if deidentify else "") + "DICOM SR (TID 1500)")
        self.deidentify = deidentify
        self.case_window = case_window
        self.last_written: list[Path] = []
        self.triggered.connect(self.choose_folder)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.case_window, "Export DICOM SR into")
        if folder:
            self.export_to(folder, deidentify=self.deidentify)

    def export_to(self, folder: str | os.PathLike[str], *, deidentify: bool = False
                  ) -> list[Path]:
        from ovcf_viewer.services.sr import SrExportError, export_case_sr

        controller = self.case_window.controller
        if controller.case is None:
            self.case_window.show_message("No case open")
            return []
        try:
            result = export_case_sr(controller.case, folder, controller.settings,
                                    dict(controller.images), deidentify=deidentify)
        except SrExportError as exc:
            self.case_window.show_message(f"DICOM SR not written: {exc}")
            return []
        self.last_written = result.written
        text = f"{len(result.written)} DICOM SR file(s) written to {folder}"
        if result.notes:
            text += "; " + "; ".join(result.notes)
        self.case_window.show_message(text)
        return result.written
