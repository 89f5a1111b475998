"""Opening studies and cases as a person does: a folder brings its annotation files with it
(asking before replacing landmarks already placed), *Open case…* takes the CLI's inputs, and a
new case made in the dialog reports what the CLI reports for the same films."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDateTimeEdit, QFileDialog

from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.services.folder_annotations import landmarks_state
from tests.pdf_helpers import page_texts
from tests.shots import shots_dir

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom"
NAMES = ("pre", "post", "followup")


@pytest.fixture
def folder(tmp_path):
    """The sample case's films and annotation files, plus one annotation file of a film that
    is not in the folder."""
    target = tmp_path / "study"
    shutil.copytree(SAMPLE / "case-0001", target)
    shutil.copy(SAMPLE / "variants" / "dx_nonsquare.json", target / "other-film.json")
    return target


@pytest.fixture
def window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1400, 900)
    main.show()
    return main


def uid(folder: Path, name: str) -> str:
    return load_annotations(folder / f"{name}.json").sop_instance_uid


def open_folder(window, monkeypatch, folder: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.open_folder_action.trigger()


def click(qtbot, widget) -> None:
    qtbot.mouseMove(widget)
    QApplication.processEvents()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def shot(widget, name: str) -> None:
    shots = shots_dir()
    if shots is not None:
        widget.grab().save(str(shots / name))


# ------------------------------------------------------------------------- opening a folder


def test_opening_a_folder_loads_the_annotation_files_of_its_films(window, qtbot, monkeypatch,
                                                                  folder):
    open_folder(window, monkeypatch, folder)
    store = AnnotationStore()
    for name in NAMES:
        stored = store.load(uid(folder, name))
        assert stored is not None, name
        assert landmarks_state(stored) == landmarks_state(load_annotations(folder / f"{name}.json"))
    # The shown film has them on screen, with its measurements.
    shown = window.annotation_controller.model
    assert shown is not None and "L1" in shown.vertebrae
    assert window.annotation_controller.measurements.vertebrae["L1"].genant.grade == 2
    browser = window.browser
    assert "3 annotation file(s) loaded" in browser.errors_label.text()
    assert browser.error_count() == 0  # listed, not a failure
    assert any(m.startswith("other-film.json: for no film here") for m in browser.note_messages())
    assert "skipped (.json)" not in browser.errors_label.text()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith(
        "Landmarks loaded from 3 annotation file(s); 1 file(s) not loaded"))


def _with_moved_l1(folder: Path, name: str):
    model = load_annotations(folder / f"{name}.json")
    x, y = model.vertebrae["L1"].points["sa"]
    model.set_point("L1", "sa", (x, y + 30))
    return model


def test_landmarks_already_placed_are_not_replaced_without_asking(window, qtbot, monkeypatch,
                                                                   folder):
    mine = _with_moved_l1(folder, "post")
    AnnotationStore().save(mine)
    open_folder(window, monkeypatch, folder)
    loader = window.folder_annotations
    qtbot.waitUntil(lambda: loader.question is not None and loader.question.isVisible())
    assert "post.json" in loader.question.text()
    assert "2 annotation file(s) loaded, 1 asked about" in window.browser.errors_label.text()
    assert landmarks_state(AnnotationStore().load(mine.sop_instance_uid)) == \
        landmarks_state(mine)  # nothing overwritten while asking
    click(qtbot, loader.keep_button)
    assert "post.json: your landmarks kept, not loaded" in window.browser.note_messages()
    assert landmarks_state(AnnotationStore().load(mine.sop_instance_uid)) == \
        landmarks_state(mine)
    # The other films, which had nothing, got their files' landmarks.
    assert AnnotationStore().load(uid(folder, "pre")) is not None


def test_replacing_from_the_files_is_one_undo_step_on_that_film(window, qtbot, monkeypatch,
                                                                 folder):
    mine = _with_moved_l1(folder, "post")
    AnnotationStore().save(mine)
    open_folder(window, monkeypatch, folder)
    loader = window.folder_annotations
    qtbot.waitUntil(lambda: loader.question is not None and loader.question.isVisible())
    click(qtbot, loader.load_button)
    assert "3 annotation file(s) loaded, 1 not loaded (listed)" in \
        window.browser.errors_label.text()
    from_file = load_annotations(folder / "post.json")
    assert landmarks_state(AnnotationStore().load(mine.sop_instance_uid)) == \
        landmarks_state(from_file)  # autosaved
    # Show the post-operative film, then undo (the Annotate menu's Undo).
    assert window.open_image(folder / "post.dcm")
    model = window.annotation_controller.model
    assert landmarks_state(model) == landmarks_state(from_file)
    assert window.annotation_controller.undo_action.text() == "Undo Load landmarks from post.json"
    window.annotation_controller.undo_action.trigger()
    qtbot.waitUntil(lambda: landmarks_state(model) == landmarks_state(mine))
    assert landmarks_state(AnnotationStore().load(mine.sop_instance_uid)) == \
        landmarks_state(mine)  # the undo is autosaved too


# ------------------------------------------------------------------------------ open case


def test_open_case_accepts_the_annotation_files_the_cli_takes(window, qtbot, monkeypatch, folder):
    files = [str(folder / f"{n}.json") for n in NAMES]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (files, ""))
    window.workstation.open_case_action.trigger()
    case_window = window.workstation.case_windows[-1]
    qtbot.addWidget(case_window)
    case = case_window.controller.case
    assert [f.label for f in case.chronological_films()] == [
        "Pre-operative", "Post-operative", "Follow-up (3 months)"]
    assert len(case_window.controller.images) == 3
    assert all(f.annotations.vertebrae for f in case.films)


def test_open_case_on_one_annotation_file_without_timepoint_opens_its_film(
        window, qtbot, monkeypatch, folder):
    document = json.loads((folder / "pre.json").read_text())
    document.pop("timepoint")
    (folder / "pre.json").write_text(json.dumps(document))
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *a, **k: ([str(folder / "pre.json")], ""))
    window.workstation.open_case_action.trigger()
    assert window.workstation.case_windows == []
    assert window.image().sop_instance_uid == document["image"]["sop_instance_uid"]
    assert "L1" in window.annotation_controller.model.vertebrae
    assert window.annotation_controller.undo_action.isEnabled()  # one undo step


@pytest.mark.parametrize("content, expected", [
    ("{not json", "bad.json"),
    ('{"format": "something-else"}', "bad.json"),
])
def test_open_case_says_in_one_line_what_it_cannot_open(window, qtbot, monkeypatch, folder,
                                                        content, expected):
    (folder / "bad.json").write_text(content)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames",
                        lambda *a, **k: ([str(folder / "bad.json")], ""))
    window.workstation.open_case_action.trigger()
    message = window.statusBar().currentMessage()
    assert message.startswith("Not opened: ") and expected in message and "\n" not in message
    assert window.workstation.case_windows == []  # no empty case window
    assert window.isVisible() and window.open_paths([folder / "pre.dcm"])  # still usable


# ------------------------------------------------------------------------------- new case


def _report_text(pdf: Path) -> str:
    text = "\n".join(page_texts(pdf))
    # The moment of writing differs between the two runs.
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<when>", text)
    return re.sub(r"· \d{4}-\d{2}-\d{2} ·", "· <day> ·", text)


def _cli_report(folder: Path, target: Path) -> str:
    from ovcf_viewer.cli import main

    files = [str(folder / f"{n}.json") for n in NAMES]
    assert main(["report", *files, "-o", str(target), "--page-size", "A4"]) == 0
    return _report_text(target)


def _new_case_dialog(window, qtbot, monkeypatch, folder):
    films = [str(folder / f"{n}.dcm") for n in NAMES]
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: (films, ""))
    window.workstation.new_case_action.trigger()
    dialog = window.workstation.new_case_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible())
    return dialog


def _gui_report(window, qtbot, dialog, target: Path) -> str:
    from ovcf_viewer.qt.dialogs.report_action import export_report

    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: len(window.workstation.case_windows) == 1)
    case_window = window.workstation.case_windows[0]
    qtbot.addWidget(case_window)
    qtbot.waitUntil(lambda: case_window.controller.comparison is not None)
    written = export_report(case_window, case_window.report_case(), path=target,
                            deidentify=False, page_size="A4",
                            settings=case_window.controller.settings,
                            images=case_window.report_images())
    assert written == target
    return _report_text(target)


def test_new_case_proposes_timepoints_and_procedure_from_the_films(window, qtbot, monkeypatch,
                                                                   folder):
    dialog = _new_case_dialog(window, qtbot, monkeypatch, folder)
    shot(dialog, "new-case-dialog.png")
    assert dialog.date_known.isChecked()
    assert dialog.chosen_procedure_date().isoformat() == "2026-01-08"
    kinds = [box.currentData() for box in dialog.timepoint_boxes]
    assert kinds == ["preop", "postop", "followup"]
    assert [dialog.table.item(r, 3).text() for r in range(3)] == [
        "—", "day 0", "3 months, day 90"]
    assert dialog.technique.currentData() == "PKP"  # "after L1 kyphoplasty"
    assert dialog.treated_levels.text() == "L1"
    assert "after L1 kyphoplasty" in dialog.date_source.text()
    # The hand moves the procedure date one day back: the proposals follow.
    dialog.procedure_date.setFocus()
    dialog.procedure_date.setCurrentSection(QDateTimeEdit.Section.DaySection)
    qtbot.keyClick(dialog.procedure_date, Qt.Key.Key_Down)
    assert dialog.chosen_procedure_date().isoformat() == "2026-01-07"
    assert [dialog.table.item(r, 3).text() for r in range(3)] == [
        "—", "day 1", "3 months, day 91"]
    # Procedure date not known: each film keeps what its description says, without days.
    click(qtbot, dialog.date_known)
    assert not dialog.procedure_date.isEnabled()
    assert [box.currentData() for box in dialog.timepoint_boxes] == [
        "preop", "postop", "followup"]
    assert [dialog.table.item(r, 3).text() for r in range(3)] == ["—", "—", "—"]
    # The hand overrides one film's timepoint; knowing the date again leaves that one alone.
    box = dialog.timepoint_boxes[2]
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Up)  # Follow-up → Post-operative
    click(qtbot, dialog.date_known)
    assert [b.currentData() for b in dialog.timepoint_boxes] == ["preop", "postop", "postop"]
    assert dialog.choice().timepoints[uid(folder, "followup")].kind == "postop"
    # A level that does not exist is refused in the dialog, which stays open.
    dialog.treated_levels.clear()
    qtbot.keyClicks(dialog.treated_levels, "L9")
    click(qtbot, dialog.ok_button)
    assert dialog.isVisible() and "L9" in dialog.problem.text()
    dialog.reject()


def test_gui_report_of_a_new_case_says_what_the_cli_report_says(window, qtbot, monkeypatch,
                                                                 folder, tmp_path):
    open_folder(window, monkeypatch, folder)  # the films' landmarks come from their files
    dialog = _new_case_dialog(window, qtbot, monkeypatch, folder)
    # The annotation files record no technique: the hand sets "not recorded", as the CLI has.
    dialog.technique.setFocus()
    qtbot.keyClick(dialog.technique, Qt.Key.Key_Home)
    assert dialog.technique.currentData() is None
    gui = _gui_report(window, qtbot, dialog, tmp_path / "gui.pdf")
    cli = _cli_report(folder, tmp_path / "cli.pdf")
    assert "Post-operative, day 0" in gui and "Follow-up (3 months), day 90" in gui
    assert "not recorded; treated level(s) L1" in gui
    assert gui == cli


def _body(pdf: Path) -> str:
    """The report's words without the page furniture (the running head and foot repeated on
    every page, "Page n of m"), so a page break moved by a longer line does not count."""
    pages = [page.splitlines() for page in page_texts(pdf)]
    running = set.intersection(*(set(lines) for lines in pages))
    words = " ".join(line for lines in pages for line in lines
                     if line not in running and not re.fullmatch(r"Page \d+ of \d+", line))
    return " ".join(re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "<when>", words).split())


def test_gui_report_with_the_technique_differs_from_the_cli_only_by_it(window, qtbot,
                                                                       monkeypatch, folder,
                                                                       tmp_path):
    open_folder(window, monkeypatch, folder)
    dialog = _new_case_dialog(window, qtbot, monkeypatch, folder)
    assert dialog.technique.currentData() == "PKP"  # kept as proposed
    _gui_report(window, qtbot, dialog, tmp_path / "gui.pdf")
    shot(window.workstation.case_windows[0], "case-window-after-new-case.png")
    _cli_report(folder, tmp_path / "cli.pdf")
    gui, cli = _body(tmp_path / "gui.pdf"), _body(tmp_path / "cli.pdf")
    technique = "Percutaneous kyphoplasty (PKP)"
    assert f"Procedure {technique}; treated level(s) L1" in gui
    assert "Procedure not recorded; treated level(s) L1" in cli
    # The comparison section names a recorded procedure; nothing else differs.
    assert f"Treated level(s): L1. Procedure: {technique}." in gui
    gui = gui.replace(f" Procedure: {technique}.", "")
    assert gui.replace(technique, "not recorded") == cli
