"""File ▸ Print report… (Ctrl+P): the Qt print dialog, then the same document as the PDF
export on the printer — same page count, every page inked — from the main window and the case
window. The printer is a QPrinter writing a PDF file, the dialog's exec monkeypatched."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.qt.dialogs.report_action import PrintReportAction, print_report
from ovcf_viewer.report import build_report
from ovcf_viewer.services.report import prepare_report
from tests.pdf_helpers import render_pages
from tests.shots import shots_dir

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"


@pytest.fixture
def inputs(tmp_path):
    for name in ("pre", "post", "followup"):
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return [tmp_path / f"{n}.json" for n in ("pre", "post", "followup")]


@pytest.fixture
def parent(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def dialogs(monkeypatch):
    """The print dialog answers Print (or Cancel when told) without showing itself."""
    answer = {"code": QDialog.DialogCode.Accepted, "seen": 0}

    def fake_exec(dialog):
        answer["seen"] += 1
        return answer["code"]

    monkeypatch.setattr(QPrintDialog, "exec", fake_exec)
    return answer


def pdf_printer(path: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    printer.setResolution(150)
    return printer


def _ink(image) -> int:
    return int((np.asarray(image) < 230).any(axis=2).sum())  # light: the print is a raster


def assert_printed_like_the_report(printed: Path, report: bytes, pages: int | None) -> None:
    """As many pages as the report, each carrying (about) the report page's ink."""
    expected = len(PdfReader(io.BytesIO(report)).pages)
    assert pages == expected
    assert len(PdfReader(printed).pages) == expected
    on_paper = render_pages(printed, dpi=30)
    in_pdf = render_pages(report, dpi=30)
    for number, (paper, pdf) in enumerate(zip(on_paper, in_pdf, strict=True), start=1):
        assert _ink(paper) > 100, f"printed page {number} is blank"
        assert _ink(paper) == pytest.approx(_ink(pdf), rel=0.35), number


def test_print_report_prints_every_page_of_the_pdf(parent, inputs, tmp_path, dialogs):
    case = load_case_inputs(inputs)
    printer = pdf_printer(tmp_path / "printed.pdf")
    pages = print_report(parent, case, printer=printer)
    assert dialogs["seen"] == 1
    report = build_report(prepare_report(case, Settings()), Settings())
    assert_printed_like_the_report(tmp_path / "printed.pdf", report, pages)
    shots = shots_dir()
    if shots is not None:  # the engineer's look at the printed pages
        for n, image in enumerate(render_pages(tmp_path / "printed.pdf", dpi=60), start=1):
            image.save(shots / f"printed-three-film-p{n}.png")
    # the paper keeps the report's own page size (A4 by default)
    assert float(PdfReader(tmp_path / "printed.pdf").pages[0].mediabox.width) == \
        pytest.approx(595.3, abs=1.5)


def test_cancelled_print_dialog_prints_nothing(parent, inputs, tmp_path, dialogs):
    dialogs["code"] = QDialog.DialogCode.Rejected
    printer = pdf_printer(tmp_path / "printed.pdf")
    assert print_report(parent, load_case_inputs(inputs), printer=printer) is None
    assert not (tmp_path / "printed.pdf").exists()


def test_bad_input_is_a_message_box(parent, tmp_path, dialogs):
    printer = pdf_printer(tmp_path / "printed.pdf")
    assert print_report(parent, [tmp_path / "missing.json"], printer=printer) is None
    boxes = parent.findChildren(QMessageBox)
    assert boxes and "could not be printed" in boxes[0].text()


def press_ctrl_p(qtbot, window) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    QApplication.processEvents()
    qtbot.keyClick(window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_p_prints_from_the_main_window(qtbot, tmp_path, dialogs):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1400, 900)
    assert main.open_paths([SAMPLE / "pre.dcm"])
    assert main.open_annotations(SAMPLE / "pre.json")
    action = main.workstation.print_action
    assert isinstance(action, PrintReportAction)
    assert action.shortcut().toString() == "Ctrl+P"
    assert main.workstation.report_action.shortcut().isEmpty()  # Export stays the PDF
    action.printer = pdf_printer(tmp_path / "printed.pdf")
    press_ctrl_p(qtbot, main)
    qtbot.waitUntil(lambda: action.last_pages is not None, timeout=60_000)
    case = main.workstation.current_film_case()
    report = build_report(prepare_report(case, main.workstation.settings),
                          main.workstation.settings)
    assert_printed_like_the_report(tmp_path / "printed.pdf", report, action.last_pages)
    main.close()


def test_ctrl_p_prints_from_the_case_window(qtbot, inputs, tmp_path, dialogs):
    from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow

    controller = CaseController(Settings())
    window = CaseWindow(controller)
    qtbot.addWidget(window)
    controller.set_case(load_case_inputs(inputs))
    window.resize(1400, 900)
    action = window.print_action
    assert action.shortcut().toString() == "Ctrl+P"
    action.printer = pdf_printer(tmp_path / "printed.pdf")
    press_ctrl_p(qtbot, window)
    qtbot.waitUntil(lambda: action.last_pages is not None, timeout=60_000)
    report = build_report(prepare_report(window.report_case(), Settings()), Settings())
    assert_printed_like_the_report(tmp_path / "printed.pdf", report, action.last_pages)
    window.close()
    QApplication.processEvents()
