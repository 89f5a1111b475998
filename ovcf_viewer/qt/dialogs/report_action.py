"""File > Export report…: the same PDF as ``ovcf-viewer report``, from the GUI.

:func:`export_report` asks for the options (de-identify, paper size) and the file name, builds
the report with :mod:`ovcf_viewer.report` under a wait cursor and reports any error in a
message box; it never raises for bad input. :class:`ExportReportAction` is the menu action:
give it a callable returning the current case (or annotation files), and the lead wires it
into the File menu.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ovcf_viewer.model.settings import PAGE_SIZES, Settings

__all__ = ["ExportReportAction", "ReportOptionsDialog", "export_report"]

#: What a caller may hand over: a Case, or paths of a case document / annotation files.
CaseOrInputs = Any


class ReportOptionsDialog(QDialog):
    """De-identify and paper size, before the file dialog."""

    def __init__(self, parent: QWidget | None, settings: Settings) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export report")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.deidentify = QCheckBox("De-identify (no patient name, ID, birth date, sex, "
                                    "film dates or file names)")
        self.page_size = QComboBox()
        self.page_size.addItems(list(PAGE_SIZES))
        self.page_size.setCurrentText(settings.page_size)
        form.addRow(self.deidentify)
        form.addRow("Paper size:", self.page_size)
        layout.addLayout(form)
        note = QLabel("The report includes every film's measurements, the comparison and "
                      "the suitability summary when findings were entered.")
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


#: The save dialog's filter for a report filed as a DICOM Encapsulated PDF.
DICOM_FILTER = "DICOM Encapsulated PDF (*.dcm)"


def _default_name(case_or_inputs: CaseOrInputs, deidentify: bool) -> str:
    case_id = getattr(case_or_inputs, "case_id", "")
    if case_id and not deidentify:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id)
        return f"{safe}-report.pdf"
    return "report.pdf"


def export_report(
    parent: QWidget | None,
    case_or_inputs: CaseOrInputs,
    *,
    path: str | os.PathLike[str] | None = None,
    deidentify: bool | None = None,
    page_size: str | None = None,
    settings: Settings | None = None,
    images: dict[str, Any] | None = None,
    findings: Any = None,
) -> Path | None:
    """Build and save the report; returns the file written, ``None`` if cancelled or failed
    (the failure is shown in a message box).

    ``case_or_inputs`` is a :class:`~ovcf_viewer.model.case.Case` or paths of a case document or
    annotation files. ``images`` maps SOP Instance UID → loaded image (the viewer's own, so no
    file is read twice). Options left ``None`` are asked for; ``path`` ``None`` opens a file
    dialog.
    """
    from ovcf_viewer.report import ReportError, build_report, write_report
    from ovcf_viewer.services.report import prepare_report, prepare_report_from_paths

    settings = settings if settings is not None else Settings()
    if deidentify is None or page_size is None:
        dialog = ReportOptionsDialog(parent, settings)
        if deidentify is not None:
            dialog.deidentify.setChecked(deidentify)
        if page_size is not None:
            dialog.page_size.setCurrentText(page_size)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        deidentify = dialog.deidentify.isChecked()
        page_size = dialog.page_size.currentText()
    if path is None:
        chosen, chosen_filter = QFileDialog.getSaveFileName(
            parent, "Export report", _default_name(case_or_inputs, deidentify),
            f"PDF documents (*.pdf);;{DICOM_FILTER}",
        )
        if not chosen:
            return None
        suffix = ".dcm" if chosen_filter == DICOM_FILTER else ".pdf"
        path = chosen if chosen.lower().endswith((".pdf", ".dcm")) else chosen + suffix
    target = Path(path)
    settings = settings.replace(page_size=page_size)  # for this report only
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        if isinstance(case_or_inputs, str | os.PathLike) or (
            isinstance(case_or_inputs, Sequence) and not isinstance(case_or_inputs, str)
        ):
            given = [case_or_inputs] if isinstance(case_or_inputs, str | os.PathLike) \
                else list(case_or_inputs)
            paths = [Path(p) for p in given]
            source = prepare_report_from_paths(paths, settings)
        else:
            source = prepare_report(case_or_inputs, settings, findings=findings,
                                    images=_with_pixels(images))
        pdf = build_report(source, settings, deidentify=deidentify)
        if target.suffix.lower() == ".dcm":  # into the patient's study, as report -o X.dcm
            from ovcf_viewer.services.report_dicom import report_as_dicom

            pdf = report_as_dicom(source, pdf, deidentify=deidentify)
        write_report(target, pdf)
    except (ReportError, ValueError) as exc:
        QGuiApplication.restoreOverrideCursor()
        _show_error(parent, str(exc))
        return None
    except Exception as exc:  # a report must never take the viewer down
        QGuiApplication.restoreOverrideCursor()
        _show_error(parent, f"unexpected error: {exc}")
        return None
    QGuiApplication.restoreOverrideCursor()
    return target


def _show_error(parent: QWidget | None, message: str) -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Export report")
    box.setText("The report could not be written.")
    box.setInformativeText(message)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.open()  # non-modal: the viewer keeps running; tests find it via parent.findChildren


def _with_pixels(images: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report draws the films' pixels: wait for any still decoding in the background (a
    JPEG 2000 film opened progressively). One whose decode failed is left out, so the report
    reads its file itself and says why it cannot."""
    if not images:
        return images
    from ovcf_viewer.model.errors import ImageLoadError

    ready = {}
    for uid, image in images.items():
        wait = getattr(image, "wait_for_pixels", None)
        try:
            if wait is not None:
                wait()
        except ImageLoadError:
            continue
        ready[uid] = image
    return ready


class ExportReportAction(QAction):
    """File > Export report…; ``case_provider`` returns the current case (or annotation file
    paths), or ``None`` when nothing is open (the action then says so)."""

    def __init__(
        self,
        parent: QWidget,
        case_provider: Callable[[], CaseOrInputs | None],
        images_provider: Callable[[], dict[str, Any]] | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        super().__init__("Export report…", parent)
        self._settings = settings
        self.setStatusTip("Write the PDF measurement report of the current case")
        self._parent_widget = parent
        self._case_provider = case_provider
        self._images_provider = images_provider
        self.last_written: Path | None = None
        self.triggered.connect(self._on_triggered)

    def _on_triggered(self) -> None:
        case = self._case_provider()
        if case is None:
            _show_error(self._parent_widget, "open a case or annotated films first")
            return
        images = self._images_provider() if self._images_provider is not None else None
        self.last_written = export_report(self._parent_widget, case, images=images,
                                          settings=self._settings)
