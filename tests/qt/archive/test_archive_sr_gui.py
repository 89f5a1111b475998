"""Two workstations through the archive, by hand: A opens a film with its landmarks, exports
the SR and sends film, SR and the report as Encapsulated PDF (*Send to archive* offers all
three); B, with its own data folder, searches, retrieves the study and sees the film open with
A's landmarks."""

from __future__ import annotations

import shutil

import pydicom
import pytest
from PySide6.QtCore import Qt

from ovcf_viewer.io.encapsulated import encapsulate_pdf
from ovcf_viewer.model.landmarks import load_annotations
from tests.orthanc import SAMPLES
from tests.qt.archive.test_archive_gui import WAIT_MS, click, save_nodes

PRE = SAMPLES[2]


def _pdf() -> bytes:
    """A one-page PDF made with reportlab (the report's own PDF library)."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Vertebral morphometry report")
    page.save()
    return buffer.getvalue()


def _window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1200, 800)
    main.show()
    qtbot.waitExposed(main)
    return main


def test_landmarks_travel_from_a_to_b(qtbot, empty_orthanc, tmp_path, monkeypatch):
    # Workstation A.
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(tmp_path / "a"))
    save_nodes(empty_orthanc.dimse_node(name="dept"))
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(PRE, films / PRE.name)
    a = _window(qtbot)
    assert a.open_paths([films / PRE.name])
    assert a.open_annotations(PRE.with_suffix(".json"))
    assert a.sr_actions.export_sr(films / "pre-sr.dcm") is not None
    # The report, saved as an Encapsulated PDF in the film's study (as File ▸ Export report…
    # does with a .dcm name).
    report = films / "report.dcm"
    encapsulate_pdf(_pdf(), pydicom.dcmread(PRE, stop_before_pixels=True)).save_as(
        report, enforce_file_format=True)
    a.workstation.report_action.last_written = report
    a.archive.send_action.trigger()
    send = a.archive.send_dialog
    qtbot.addWidget(send)
    assert [send.table.item(r, 0).text() for r in range(send.table.rowCount())] == [
        "film", "SR", "report (Encapsulated PDF)"]
    click(qtbot, send.send_button)
    qtbot.waitUntil(lambda: "sending…" not in send.results(), timeout=WAIT_MS)
    assert all(r.startswith("✓ stored") for r in send.results()), send.results()
    assert len(empty_orthanc.instances()) == 3

    # Workstation B: its own data folder and settings.
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(tmp_path / "b"))
    save_nodes(empty_orthanc.dimse_node(name="dept"))
    b = _window(qtbot)
    b.archive.query_action.trigger()
    query = b.archive.query_dialog
    qtbot.addWidget(query)
    qtbot.keyClicks(query.patient_id, "OVCF-0001")
    click(qtbot, query.search_button)
    qtbot.waitUntil(lambda: query.studies.rowCount() == 1, timeout=WAIT_MS)
    assert query.studies.item(0, 5).text() == "3"  # film, SR and report
    rect = query.studies.visualRect(query.studies.model().index(0, 0))
    qtbot.mouseClick(query.studies.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(query.studyRetrieved, timeout=WAIT_MS):
        click(qtbot, query.retrieve_button)
    shown = b.image()
    assert shown is not None and str(tmp_path / "b") in str(shown.path)
    assert len(list(shown.path.parent.glob("*.dcm"))) == 3
    model = b.annotation_controller.model
    placed = load_annotations(PRE.with_suffix(".json"))
    assert sorted(model.vertebrae) == sorted(placed.vertebrae)
    for level, vertebra in placed.vertebrae.items():
        for key, point in vertebra.points.items():
            assert model.vertebrae[level].points[key] == pytest.approx(point, abs=1e-3)
