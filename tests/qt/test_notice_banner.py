"""Banners at the top of the main window for what start-up found: a read-only or unusable
data folder (edits in memory, with Export), a damaged store moved aside (where the copy
is), and cases not closed normally — tested by killing a real GUI process (SIGKILL) with an
open, edited case, starting again and recovering it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ovcf_viewer.devtools.synthetic import write_dicom
from ovcf_viewer.util.paths import data_dir
from tests.read_only import read_only_folder

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SIGKILL, read-only folders")


def start(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    return window


def click(qtbot, button) -> None:
    qtbot.mouseMove(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_read_only_data_folder_banner_and_export_keeps_the_edit(qtbot, tmp_path, monkeypatch):
    film = write_dicom(tmp_path / "film.dcm", np.full((96, 64), 1000, np.uint16),
                       spacing=(0.2, 0.2))
    folder = data_dir()
    with read_only_folder(folder):
        window = start(qtbot)
        bar = window.notice_bar
        assert bar.isVisible() and set(bar.banners) == {"data-folder"}
        banner = bar.banners["data-folder"]
        assert banner.isVisible() and banner.geometry().top() < window.view.geometry().top() + 40
        assert banner.text().startswith(
            f"Edits are kept in memory only: the data folder {folder} is read-only")
        assert window.open_paths([film])
        controller = window.annotation_controller
        corners = {"sa": (10.0, 20.0), "sm": (20.0, 21.0), "sp": (30.0, 20.0),
                   "ia": (10.0, 40.0), "im": (20.0, 40.0), "ip": (30.0, 40.0)}
        for name, point in corners.items():
            controller.model.set_point("L1", name, point)
        qtbot.waitUntil(lambda: "kept in memory" in controller.save_status_label.text())
        target = tmp_path / "elsewhere.json"
        for name in ("information", "warning", "critical"):
            monkeypatch.setattr(QMessageBox, name,
                                lambda *args, **kwargs: QMessageBox.StandardButton.Discard)
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *args, **kwargs: (str(target), ""))
        click(qtbot, banner.buttons["Export annotations…"])
        saved = json.loads(target.read_text())
        points = [v["points"] for v in saved["vertebrae"] if v["level"] == "L1"]
        assert points == [{k: list(v) for k, v in corners.items()}]  # kept elsewhere
        window.grab().save(str(tmp_path / "read-only-banner.png"))
        window.close()
    assert list(folder.iterdir()) == []


def test_banner_for_a_data_folder_that_cannot_be_created(qtbot, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "data").write_text("a file where the data folder should be")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(home))
    window = start(qtbot)
    text = window.notice_bar.banners["data-folder"].text()
    assert "Edits are kept in memory only" in text and "cannot be created" in text
    click(qtbot, window.notice_bar.banners["data-folder"].close_button)
    qtbot.waitUntil(lambda: not window.notice_bar.isVisible())  # dismissed: the bar goes


def test_damaged_store_banner_says_where_the_copy_is(qtbot):
    from ovcf_viewer.io.store import AnnotationStore
    from ovcf_viewer.model.landmarks import ImageAnnotations

    path = data_dir() / "annotations.sqlite3"
    store = AnnotationStore(path)
    model = ImageAnnotations("1.2.3")
    model.set_point("L1", "sa", (1.0, 2.0))
    store.save(model)
    store.close()
    data = bytearray(path.read_bytes())
    data[:16] = b"this is not SQL!"
    path.write_bytes(bytes(data))
    window = start(qtbot)
    banner = window.notice_bar.banners["damaged-store"]
    aside = window.annotation_controller.store().moved_aside
    assert aside is not None and aside.is_file()
    assert "moved aside" in banner.text() and str(aside) in banner.text()
    assert "Open folder" in banner.buttons
    assert "data-folder" not in window.notice_bar.banners


def test_no_banner_on_a_clean_start(qtbot):
    window = start(qtbot)
    assert window.notice_bar.banners == {} and not window.notice_bar.isVisible()


CHILD = textwrap.dedent("""
    import sys
    from ovcf_viewer.qt.app import build_main_window, create_application
    app = create_application()
    window = build_main_window()
    window.show()
    case_window = window.workstation.new_case([sys.argv[1], sys.argv[2]])
    session = case_window.controller.session
    session.update(procedure="PKP", treated_levels=("L1",))
    film = session.case.films[0]
    film.annotations.set_point("T12", "sa", (123.5, 456.25))
    print(film.sop_instance_uid, flush=True)
    app.exec()
""")


def test_cases_left_open_by_a_killed_process_are_offered_and_recovered(qtbot, monkeypatch):
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(SAMPLE / "pre.dcm"), str(SAMPLE / "post.dcm")],
        stdout=subprocess.PIPE, text=True)
    try:
        uid = proc.stdout.readline().strip()
        assert uid, "the child did not open and edit its case"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    window = start(qtbot)
    banner = window.notice_bar.banners["unclosed-cases"]
    assert banner.text().startswith("1 case was not closed normally")
    click(qtbot, banner.buttons["Recover…"])
    qtbot.waitUntil(lambda: len(window.workstation.case_windows) == 1)
    case_window = window.workstation.case_windows[0]  # deletes itself on close
    case = case_window.controller.case
    assert case.procedure == "PKP" and case.treated_levels == ("L1",)
    assert case.film(uid).annotations.vertebrae["T12"].points["sa"] == (123.5, 456.25)
    assert "unclosed-cases" not in window.notice_bar.banners

    # Closed normally now: the next start offers nothing.
    case_window.close()
    second = start(qtbot)
    assert "unclosed-cases" not in second.notice_bar.banners
