"""The archive in the GUI, driven like a hand against a real Orthanc: type search keys,
click Search, pick a study, see its series' thumbnails, click Retrieve and find the study
open in the viewer; cancel and resume; readable errors with a window that keeps working;
Send to archive with a result per item; the settings' nodes with Test connection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PySide6.QtCore import Qt

from ovcf_viewer.model.settings import ArchiveNode, load_settings, save_settings
from tests.dicom_builders import make_file
from tests.io.archive.helpers import SilentServer, assert_same_pixels, originals_by_uid
from tests.orthanc import SAMPLES, free_port

PRE_STUDY = str(pydicom.dcmread(SAMPLES[2], stop_before_pixels=True).StudyInstanceUID)
WAIT_MS = 30_000  # every archive call ends within the node's 10 s timeout


def save_nodes(*nodes: ArchiveNode) -> None:
    save_settings(load_settings().replace(archive_nodes=tuple(nodes)))


def use_nodes(window, *nodes: ArchiveNode) -> None:
    """The nodes entered in Settings: applied to the window's one settings instance."""
    window.settings.update_from(window.settings.replace(archive_nodes=tuple(nodes)))


@pytest.fixture
def window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1200, 800)
    main.show()
    qtbot.waitExposed(main)
    return main


def click(qtbot, button) -> None:
    qtbot.mouseMove(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def click_row(qtbot, table, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseMove(table.viewport(), rect.center())
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def open_query(window, qtbot, register: bool = True):
    window.archive.query_action.trigger()
    dialog = window.archive.query_dialog
    if register:  # not for a dialog the test closes (it deletes itself on close)
        qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)
    return dialog


def search_for_pre_study(dialog, qtbot) -> int:
    qtbot.keyClicks(dialog.patient_id, "OVCF-0001")
    click(qtbot, dialog.search_button)
    qtbot.waitUntil(lambda: dialog.studies.rowCount() == 5, timeout=WAIT_MS)
    dates = [dialog.studies.item(row, 0).text() for row in range(5)]
    assert dates == ["2026-04-08", "2026-01-08", "2026-01-05", "2026-01-04", "2026-01-02"]
    return dates.index("2026-01-05")


def test_search_select_retrieve_opens_in_viewer(window, qtbot, orthanc, tmp_path):
    use_nodes(window, orthanc.dimse_node(name="dept"))
    dialog = open_query(window, qtbot)
    assert dialog.node.currentData() == "dept"
    row = search_for_pre_study(dialog, qtbot)
    assert dialog.studies.item(row, 5).text() == "2"
    click_row(qtbot, dialog.studies, row)
    qtbot.waitUntil(lambda: dialog.series.count() == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: dialog.thumbnails_shown() == 2, timeout=WAIT_MS)
    dialog.grab().save(str(tmp_path / "query.png"))
    with qtbot.waitSignal(dialog.studyRetrieved, timeout=WAIT_MS) as retrieved:
        click(qtbot, dialog.retrieve_button)
    folder = Path(retrieved.args[0])
    assert dialog.progress.value() == dialog.progress.maximum() == 2
    originals = originals_by_uid(SAMPLES)
    files = sorted(folder.glob("*.dcm"))
    assert len(files) == 2
    for path in files:
        assert_same_pixels(path, originals[path.stem])
    # The study opened in the viewer, from the local cache under the data folder.
    shown = window.image()
    assert shown is not None and shown.path.parent == folder
    assert "archive-cache" in str(folder)
    # The thumbnails' instances were already cached: the retrieve fetched only the rest.
    assert "already here" in dialog.status.text()


def test_cancel_then_retrieve_again_resumes(window, qtbot, orthanc):
    use_nodes(window, orthanc.dicomweb_node(name="web"))
    dialog = open_query(window, qtbot)
    row = search_for_pre_study(dialog, qtbot)
    dialog.studies.selectRow(row)
    cancelled = []

    def cancel_at_first(done: int) -> None:
        if done >= 1 and not cancelled:
            cancelled.append(done)
            click(qtbot, dialog.cancel_button)

    dialog.progress.valueChanged.connect(cancel_at_first)  # the user watches the bar
    click(qtbot, dialog.retrieve_button)
    assert dialog.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.retrieve_button.isEnabled(), timeout=WAIT_MS)
    text = dialog.status.text()
    assert "retrieve cancelled after" in text or "Retrieved" in text
    dialog.progress.valueChanged.disconnect(cancel_at_first)
    with qtbot.waitSignal(dialog.studyRetrieved, timeout=WAIT_MS):
        click(qtbot, dialog.retrieve_button)
    assert "already here" in dialog.status.text()


def test_errors_are_one_readable_line_and_the_window_works(window, qtbot, orthanc):
    silent = SilentServer()
    try:
        use_nodes(
            window, orthanc.dimse_node(name="wrong-ae", called_aet="NOT-ORTHANC"),
            ArchiveNode("down", host="127.0.0.1", port=free_port(), called_aet="X",
                        timeout_s=3),
            ArchiveNode("silent", host="127.0.0.1", port=silent.port, called_aet="X",
                        timeout_s=1.5),
        )
        dialog = open_query(window, qtbot)
        expected = {"wrong-ae": "refused the association", "down": "not reachable",
                    "silent": "did not answer within 1.5 s"}
        for index, (name, words) in enumerate(expected.items()):
            dialog.node.setCurrentIndex(index)
            assert dialog.node.currentData() == name
            click(qtbot, dialog.search_button)
            assert not dialog.search_button.isEnabled()  # the search runs off the GUI thread
            window.view.fit()  # …and the main window keeps working meanwhile
            qtbot.waitUntil(lambda words=words: words in dialog.status.text(), timeout=WAIT_MS)
            assert "\n" not in dialog.status.text() and "Traceback" not in dialog.status.text()
            qtbot.waitUntil(dialog.search_button.isEnabled, timeout=WAIT_MS)
    finally:
        silent.close()


def test_send_shown_film_with_a_result_per_item(window, qtbot, empty_orthanc, tmp_path):
    use_nodes(window, empty_orthanc.dimse_node(name="dept"))
    assert window.open_paths([SAMPLES[1]])
    window.archive.send_action.trigger()
    dialog = window.archive.send_dialog
    qtbot.addWidget(dialog)
    assert dialog.table.item(0, 0).text() == "film"
    damaged = make_file(tmp_path / "damaged.dcm", np.zeros((4, 4), np.uint16))
    ds = pydicom.dcmread(damaged)
    del ds.StudyInstanceUID
    ds.save_as(damaged, enforce_file_format=True)
    dialog.add_item(damaged, "file")
    click(qtbot, dialog.send_button)
    qtbot.waitUntil(lambda: "sending…" not in dialog.results(), timeout=WAIT_MS)
    results = dialog.results()
    assert results[0] == "✓ stored"
    assert results[1].startswith("✗ refused by the archive")
    assert "1 of 2 item(s) not stored" in dialog.status.text()
    stored = [i["MainDicomTags"]["SOPInstanceUID"] for i in empty_orthanc.instances()]
    assert stored == [str(pydicom.dcmread(SAMPLES[1]).SOPInstanceUID)]


def test_settings_nodes_test_connection_and_save(qtbot, orthanc):
    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(load_settings())
    qtbot.addWidget(dialog)
    editor = dialog.archive_nodes
    click(qtbot, editor.add_button)
    for field, text in ((editor.name, "dept"), (editor.host, "127.0.0.1"),
                        (editor.called_aet, "ORTHANCTEST"), (editor.calling_aet, "OVCFTEST")):
        field.selectAll()
        qtbot.keyClicks(field, text)
        field.editingFinished.emit()
    editor.port.setValue(free_port())  # nothing listens there
    editor.port.editingFinished.emit()
    click(qtbot, editor.test_button)
    qtbot.waitUntil(lambda: "not reachable" in editor.test_result.text(), timeout=WAIT_MS)
    editor.port.setValue(orthanc.dicom_port)
    editor.port.editingFinished.emit()
    click(qtbot, editor.test_button)
    qtbot.waitUntil(lambda: "answered in" in editor.test_result.text(), timeout=WAIT_MS)
    dialog.archive_cache_mb.setValue(300)
    with qtbot.waitSignal(dialog.settingsChanged):
        dialog.accept()
    saved = load_settings()
    assert [(n.name, n.port, n.called_aet, n.calling_aet) for n in saved.archive_nodes] == [
        ("dept", orthanc.dicom_port, "ORTHANCTEST", "OVCFTEST")]
    assert saved.archive_cache_mb == 300


def test_settings_refuse_an_invalid_node(qtbot):
    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(load_settings())
    qtbot.addWidget(dialog)
    click(qtbot, dialog.archive_nodes.add_button)
    dialog.archive_nodes.called_aet.clear()
    dialog.accept()
    assert "called AE title must be 1 to 16 characters" in dialog.error_label.text()
    assert dialog.result() == 0 and load_settings().archive_nodes == ()


def test_closing_mid_retrieve_cancels_then_a_new_retrieve_completes(window, qtbot, orthanc):
    from ovcf_viewer.qt.archive import worker

    use_nodes(window, orthanc.dimse_node(name="dept"))
    dialog = open_query(window, qtbot, register=False)
    row = search_for_pre_study(dialog, qtbot)
    dialog.studies.selectRow(row)
    click(qtbot, dialog.retrieve_button)
    task = dialog._retrieve_task
    dialog.close()  # deleted on close; the task stops after the instance under way
    assert task.is_cancelled
    qtbot.waitUntil(lambda: not worker._LIVE, timeout=WAIT_MS)
    assert window.isVisible()  # the main window is unharmed
    again = open_query(window, qtbot)
    row = search_for_pre_study(again, qtbot)
    again.studies.selectRow(row)
    with qtbot.waitSignal(again.studyRetrieved, timeout=WAIT_MS) as retrieved:
        click(qtbot, again.retrieve_button)
    files = sorted(Path(retrieved.args[0]).glob("*.dcm"))
    originals = originals_by_uid(SAMPLES)
    assert len(files) == 2
    for path in files:
        assert_same_pixels(path, originals[path.stem])


def test_a_node_added_in_settings_shows_in_the_dialogs(window, qtbot):
    """The dialogs list the run's one settings instance, not the file read again: a node
    added in Settings is offered at once by a dialog already open and by one opened later,
    even when the settings file no longer says so."""
    from ovcf_viewer.qt.dialogs.settings_dialog import SettingsDialog

    query = open_query(window, qtbot)
    assert query.node.count() == 0 and "No archive node" in query.status.text()
    settings_dialog = SettingsDialog(window.settings)
    qtbot.addWidget(settings_dialog)
    editor = settings_dialog.archive_nodes
    click(qtbot, editor.add_button)
    for field, text in ((editor.name, "ward"), (editor.host, "127.0.0.1"),
                        (editor.called_aet, "WARDPACS")):
        field.selectAll()
        qtbot.keyClicks(field, text)
        field.editingFinished.emit()
    settings_dialog.accept()
    qtbot.waitUntil(lambda: query.node.count() == 1)
    assert query.current_node() is not None and query.current_node().called_aet == "WARDPACS"
    save_nodes()  # the file now lists no node: a dialog reading it would offer none
    window.archive.send_action.trigger()
    send = window.archive.send_dialog
    qtbot.addWidget(send)
    assert [send.node.itemData(i) for i in range(send.node.count())] == ["ward"]
