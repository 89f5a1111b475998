"""The viewer starts on a data folder it cannot create or write, says so where the user looks
(the save status in the status bar), and keeps every edit in memory."""

from __future__ import annotations

import numpy as np

from ovcf_viewer.devtools.synthetic import write_dicom


def test_window_starts_and_says_edits_stay_in_memory(qtbot, tmp_path, monkeypatch):
    film = write_dicom(tmp_path / "film.dcm", np.full((96, 64), 1000, np.uint16),
                       spacing=(0.2, 0.2))
    blocked = tmp_path / "home"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(blocked))
    from ovcf_viewer.qt.app import build_main_window

    window = build_main_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_paths([film])
    controller = window.annotation_controller
    status = controller.save_status_label.text()
    assert "could not be read" in status and "All edits saved" not in status
    controller.model.set_point("L1", "sa", (10.0, 20.0))
    qtbot.waitUntil(lambda: "kept in memory" in controller.save_status_label.text())
    assert controller.model.vertebrae["L1"].points["sa"] == (10.0, 20.0)
    assert controller.autosaver.pending
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "warning",
                        lambda *args, **kwargs: QMessageBox.StandardButton.Discard)


def test_closing_with_edits_in_memory_asks(qtbot, tmp_path, monkeypatch):
    film = write_dicom(tmp_path / "film.dcm", np.full((96, 64), 1000, np.uint16),
                       spacing=(0.2, 0.2))
    blocked = tmp_path / "home"
    blocked.write_text("a file where the data folder should be")
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(blocked))
    from PySide6.QtWidgets import QMessageBox

    from ovcf_viewer.qt.app import build_main_window

    asked = []

    def answer(*args, **kwargs):
        asked.append(args[2])
        return QMessageBox.StandardButton.Cancel if len(asked) == 1 else (
            QMessageBox.StandardButton.Discard)

    monkeypatch.setattr(QMessageBox, "warning", answer)
    window = build_main_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.open_paths([film])
    window.annotation_controller.model.set_point("L1", "sa", (10.0, 20.0))
    assert not window.close()  # asked, and the user chose to stay
    assert asked and "could not be written" in asked[0]
    assert window.isVisible()
    assert window.close()  # asked again; the user discards
    assert len(asked) == 2
