"""File > Export report…: the same PDF as the command line, errors in a message box,
dialogs cancellable."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.qt.dialogs import report_action
from ovcf_viewer.qt.dialogs.report_action import (
    ExportReportAction,
    ReportOptionsDialog,
    export_report,
)

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"

# The offscreen platform cannot size a message box from its hints and says so; that message is
# about the test platform, not the application.


@pytest.fixture
def inputs(tmp_path):
    for name in ("pre", "post"):
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return [tmp_path / "pre.json", tmp_path / "post.json"]


@pytest.fixture
def parent(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def test_case_with_viewer_images_to_pdf(parent, inputs, tmp_path):
    case = load_case_inputs(inputs)
    images = {f.sop_instance_uid: load_image(f.path) for f in case.films}
    out = export_report(parent, case, path=tmp_path / "r.pdf", deidentify=False,
                        page_size="Letter", images=images)
    assert out == tmp_path / "r.pdf"
    reader = PdfReader(out)
    assert float(reader.pages[0].mediabox.width) == 612
    assert not parent.findChildren(QMessageBox)


def test_paths_and_file_dialog(parent, inputs, tmp_path, monkeypatch):
    chosen = tmp_path / "chosen"  # the dialog's answer without ".pdf": it is added
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(chosen), "PDF documents (*.pdf)")))
    out = export_report(parent, inputs, deidentify=True, page_size="A4")
    assert out == tmp_path / "chosen.pdf" and out.is_file()


def test_cancelled_file_dialog_writes_nothing(parent, inputs, monkeypatch):
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    assert export_report(parent, inputs, deidentify=False, page_size="A4") is None


def test_options_dialog_is_asked_and_cancellable(parent, inputs, monkeypatch, qtbot):
    seen = []

    def fake_exec(dialog):
        seen.append((dialog.deidentify.isChecked(), dialog.page_size.currentText()))
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(ReportOptionsDialog, "exec", fake_exec)
    assert export_report(parent, inputs) is None
    assert seen == [(False, "A4")]


def test_bad_input_shows_a_message_box(parent, tmp_path):
    out = export_report(parent, [tmp_path / "missing.json"], path=tmp_path / "r.pdf",
                        deidentify=False, page_size="A4")
    assert out is None and not (tmp_path / "r.pdf").exists()
    boxes = parent.findChildren(QMessageBox)
    assert len(boxes) == 1
    assert "missing.json" in boxes[0].informativeText()


def test_action_without_a_case_says_so(parent):
    action = ExportReportAction(parent, _no_case)
    action.trigger()
    boxes = parent.findChildren(QMessageBox)
    assert boxes and "open a case" in boxes[0].informativeText()
    assert action.text() == "Export report…"


def test_action_exports_the_current_case(parent, inputs, tmp_path, monkeypatch):
    written = []

    def fake_export(widget, case, *, images=None, settings=None):
        written.append((widget, case, images))
        return tmp_path / "x.pdf"

    monkeypatch.setattr(report_action, "export_report", fake_export)
    provider = _Provider(inputs)
    action = ExportReportAction(parent, provider.case)
    action.trigger()
    assert written == [(parent, inputs, None)]
    assert action.last_written == tmp_path / "x.pdf"


def _no_case():
    return None


class _Provider:
    def __init__(self, value):
        self.value = value

    def case(self):
        return self.value
