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

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction, QGuiApplication, QImage, QKeySequence, QPageSize, QPainter
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
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

__all__ = ["ExportReportAction", "PrintReportAction", "ReportOptionsDialog", "export_report",
           "print_report"]

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
    patient_id = getattr(case_or_inputs, "patient_id", "") or ""
    patient_name = getattr(case_or_inputs, "patient_name", "") or ""
    if deidentify and (patient_id or patient_name):
        from ovcf_viewer.io.deidentify import Deidentifier  # the patient's pseudonym

        return f"{Deidentifier().context(patient_id, patient_name).patient_label}-report.pdf"
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
        source = _prepare(case_or_inputs, settings, images, findings)
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


def _prepare(case_or_inputs: CaseOrInputs, settings: Settings, images: dict[str, Any] | None,
             findings: Any) -> Any:
    """The report's source, as ``ovcf-viewer report`` prepares it."""
    from ovcf_viewer.services.report import prepare_report, prepare_report_from_paths

    if isinstance(case_or_inputs, str | os.PathLike) or (
        isinstance(case_or_inputs, Sequence) and not isinstance(case_or_inputs, str)
    ):
        given = [case_or_inputs] if isinstance(case_or_inputs, str | os.PathLike) \
            else list(case_or_inputs)
        return prepare_report_from_paths([Path(p) for p in given], settings)
    return prepare_report(case_or_inputs, settings, findings=findings,
                          images=_with_pixels(images))


#: The most a printed page is rendered at: finer gains nothing on a report of lines, text
#: and a 300-dpi film crop, and an A4 page at 600 dpi would take 100 MB.
MAX_PRINT_DPI = 300.0


def print_report(
    parent: QWidget | None,
    case_or_inputs: CaseOrInputs,
    *,
    printer: QPrinter | None = None,
    settings: Settings | None = None,
    images: dict[str, Any] | None = None,
    findings: Any = None,
) -> int | None:
    """File > Print report… (Ctrl+P): the Qt print dialog, then the same document as the PDF
    export printed page by page. Returns the number of pages sent to the printer, ``None`` if
    cancelled or failed (the failure is shown in a message box, never raised).

    The PDF is built as for *Export report*, each page rendered by PDFium (pypdfium2) at the
    printer's resolution (at most :data:`MAX_PRINT_DPI`) and painted onto the printer with
    ``QPainter``, so the paper shows exactly what the PDF shows."""
    from ovcf_viewer.report import ReportError, build_report

    settings = settings if settings is not None else Settings()
    printer = printer if printer is not None else QPrinter(QPrinter.PrinterMode.HighResolution)
    page_id = {"A4": QPageSize.PageSizeId.A4, "Letter": QPageSize.PageSizeId.Letter}
    printer.setPageSize(QPageSize(page_id.get(settings.page_size, QPageSize.PageSizeId.A4)))
    printer.setFullPage(True)  # the report carries its own margins
    printer.setDocName("Vertebral fracture measurement report")
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print report")
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        source = _prepare(case_or_inputs, settings, images, findings)
        pdf = build_report(source, settings)
        pages = _paint_pdf(pdf, printer)
    except (ReportError, ValueError, OSError) as exc:
        QGuiApplication.restoreOverrideCursor()
        _show_error(parent, str(exc), title="Print report",
                    text="The report could not be printed.")
        return None
    except Exception as exc:  # printing must never take the viewer down
        QGuiApplication.restoreOverrideCursor()
        _show_error(parent, f"unexpected error: {exc}", title="Print report",
                    text="The report could not be printed.")
        return None
    QGuiApplication.restoreOverrideCursor()
    return pages


def _paint_pdf(pdf: bytes, printer: QPrinter) -> int:
    """Paint every page of ``pdf`` onto ``printer``, each scaled to the paper keeping its
    proportions; returns the number of pages. Pages the user left out in the print dialog
    (a page range) are skipped."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    painter = QPainter()
    try:
        count = len(document)
        first, last = printer.fromPage(), printer.toPage()
        wanted = [i for i in range(count)
                  if first == 0 or first - 1 <= i <= (last or count) - 1]
        if not painter.begin(printer):
            raise OSError("the printer could not be opened")
        dpi = min(float(printer.resolution()), MAX_PRINT_DPI)
        target = printer.pageLayout().fullRectPixels(printer.resolution())
        for n, i in enumerate(wanted):
            if n:
                printer.newPage()
            page = document[i]
            bitmap = page.render(scale=dpi / 72.0)
            picture = bitmap.to_pil().convert("RGB")
            data = picture.tobytes()
            image = QImage(data, picture.width, picture.height, 3 * picture.width,
                           QImage.Format.Format_RGB888)
            scale = min(target.width() / picture.width, target.height() / picture.height)
            w, h = picture.width * scale, picture.height * scale
            x = target.x() + (target.width() - w) / 2
            y = target.y() + (target.height() - h) / 2
            painter.drawImage(QRectF(x, y, w, h), image)
        return len(wanted)
    finally:
        if painter.isActive():
            painter.end()
        document.close()


def _show_error(parent: QWidget | None, message: str, *, title: str = "Export report",
                text: str = "The report could not be written.") -> None:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
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


class PrintReportAction(QAction):
    """File > Print report… (Ctrl+P): :func:`print_report` on the current case (or annotation
    file paths); ``case_provider`` returns ``None`` when nothing is open (the action then
    says so)."""

    def __init__(
        self,
        parent: QWidget,
        case_provider: Callable[[], CaseOrInputs | None],
        images_provider: Callable[[], dict[str, Any]] | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        super().__init__("Print report…", parent)
        self.setShortcut(QKeySequence(QKeySequence.StandardKey.Print))
        self.setStatusTip("Print the measurement report of the current case")
        self._settings = settings
        self._parent_widget = parent
        self._case_provider = case_provider
        self._images_provider = images_provider
        #: The printer of the last print (tests point it at a PDF file).
        self.printer: QPrinter | None = None
        self.last_pages: int | None = None
        self.triggered.connect(self._on_triggered)

    def _on_triggered(self) -> None:
        case = self._case_provider()
        if case is None:
            _show_error(self._parent_widget, "open a case or annotated films first",
                        title="Print report", text="Nothing to print.")
            return
        images = self._images_provider() if self._images_provider is not None else None
        if self.printer is None:
            self.printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        self.last_pages = print_report(self._parent_widget, case, printer=self.printer,
                                       images=images, settings=self._settings)
