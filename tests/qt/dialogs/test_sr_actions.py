"""DICOM SR from the GUI: File ▸ Export ▸ DICOM SR… writes the shown film's SR (the panel's
numbers, valid per dciodvfy), Case ▸ Export DICOM SR… one per film, and an SR lying beside an
opened film brings its landmarks (loaded when the film has none, offered otherwise; undoable
and autosaved)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.io.store import AnnotationStore
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.services.sr import export_film_sr, import_sr
from tests.dciodvfy import assert_valid_dicom

SAMPLE = Path(__file__).resolve().parents[3] / "sample_dicom" / "case-0001"
NAMES = ("pre", "post", "followup")


@pytest.fixture
def films(tmp_path):
    folder = tmp_path / "films"
    folder.mkdir()
    for name in NAMES:
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder


@pytest.fixture
def window(qtbot):
    from ovcf_viewer.qt.app import build_main_window

    main = build_main_window()
    qtbot.addWidget(main)
    main.resize(1400, 900)
    return main


def _menu_action(window, *path: str):
    """The action reached through the menu bar by its visible texts."""
    actions = window.menuBar().actions()
    for i, text in enumerate(path):
        action = next(a for a in actions if a.text().replace("&", "") == text)
        if i == len(path) - 1:
            return action
        actions = action.menu().actions()
    raise AssertionError(path)


def test_file_export_dicom_sr_writes_the_shown_films_measurements(window, films, tmp_path,
                                                                  monkeypatch):
    assert window.open_paths([films / "pre.dcm"])
    assert window.open_annotations(films / "pre.json")
    target = tmp_path / "out" / "pre-sr.dcm"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "DICOM (*.dcm)")))
    _menu_action(window, "File", "Export", "DICOM SR…").trigger()
    assert target.exists(), window.statusBar().currentMessage()
    assert_valid_dicom(target)
    assert "DICOM SR written" in window.statusBar().currentMessage()
    panel = window.annotation_controller.measurements
    read = import_sr(target)
    assert set(read.values) == set(panel.vertebrae)
    for level, m in panel.vertebrae.items():
        assert read.values[level]["ha"] == pytest.approx(m.anterior_height_mm, rel=1e-9)
        assert read.values[level]["wedge_ratio"] == pytest.approx(m.wedge_ratio, rel=1e-9)


def test_file_export_deidentified_dicom_sr(window, films, tmp_path, monkeypatch):
    """The de-identified entry: the suggested name is the pseudonym's, the SR names the
    pseudonym and refers to the film's new UID, and it still reads back with its numbers."""
    from pydicom import dcmread

    from ovcf_viewer.io.deidentify import Deidentifier

    assert window.open_paths([films / "pre.dcm"])
    assert window.open_annotations(films / "pre.json")
    film = dcmread(films / "pre.dcm", stop_before_pixels=True)
    context = Deidentifier().context_for_dataset(film)
    offered: list[str] = []
    target = tmp_path / "out.dcm"

    def save_name(*args, **kwargs):
        offered.append(args[2])
        return str(target), "DICOM (*.dcm)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(save_name))
    _menu_action(window, "File", "Export", "De-identified DICOM SR…").trigger()
    assert target.exists(), window.statusBar().currentMessage()
    assert Path(offered[0]).name == f"{context.file_stem('pre.dcm')}-sr.dcm"
    assert_valid_dicom(target)
    sr = dcmread(target)
    assert sr.PatientID == context.patient_label and sr.PatientIdentityRemoved == "YES"
    assert str(film.PatientID) not in target.read_bytes().decode("latin-1")
    read = import_sr(target)
    assert read.annotations.sop_instance_uid == context.uid_for(str(film.SOPInstanceUID))
    assert set(read.values) == set(window.annotation_controller.measurements.vertebrae)


def test_export_without_landmarks_says_why(window, films, tmp_path, monkeypatch):
    assert window.open_paths([films / "post.dcm"])
    target = tmp_path / "x.dcm"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(target), "")))
    _menu_action(window, "File", "Export", "DICOM SR…").trigger()
    assert not target.exists()
    assert "no vertebra with all six landmarks" in window.error_box().text()


def test_sr_beside_a_film_without_landmarks_is_loaded_undoably(window, films, qtbot):
    annotations = load_annotations(films / "pre.json")
    sr = export_film_sr(load_image(films / "pre.dcm"), annotations, Settings(), films)
    assert window.open_paths([films / "pre.dcm"])
    model = window.annotation_controller.model
    assert sorted(model.vertebrae) == sorted(annotations.vertebrae)
    assert model.index_levels == annotations.index_levels
    for level, vertebra in annotations.vertebrae.items():
        for name, (x, y) in vertebra.points.items():
            got = model.vertebrae[level].points[name]
            assert abs(got[0] - x) <= 0.001 and abs(got[1] - y) <= 0.001
    assert sr.name in window.statusBar().currentMessage()
    # Saved like any edit, and one undo step takes it back.
    stored = AnnotationStore().load(annotations.sop_instance_uid)
    assert stored is not None and sorted(stored.vertebrae) == sorted(annotations.vertebrae)
    window.annotation_controller.undo_action.trigger()
    assert model.vertebrae == {}


def test_sr_beside_a_film_with_landmarks_is_offered_not_forced(window, films, qtbot):
    annotations = load_annotations(films / "pre.json")
    export_film_sr(load_image(films / "pre.dcm"), annotations, Settings(), films)
    # The film already has other landmarks (stored from an earlier session).
    mine = load_annotations(films / "pre.json")
    mine.vertebrae = {"L1": mine.vertebrae["L1"]}
    mine.index_levels = ["L1"]
    AnnotationStore().save(mine)
    assert window.open_paths([films / "pre.dcm"])
    model = window.annotation_controller.model
    assert sorted(model.vertebrae) == ["L1"]
    offer = _menu_action(window, "File", "Load landmarks from the SR beside this film")
    assert offer.isEnabled()
    assert "beside this film has landmarks" in window.statusBar().currentMessage()
    offer.trigger()
    assert sorted(model.vertebrae) == sorted(annotations.vertebrae)


def test_case_export_dicom_sr_writes_one_per_film(qtbot, films, tmp_path, monkeypatch):
    from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow

    case = load_case_inputs([films / f"{n}.json" for n in NAMES])
    controller = CaseController(Settings())
    controller.set_case(case)
    case_window = CaseWindow(controller)
    qtbot.addWidget(case_window)
    out = tmp_path / "sr"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    _menu_action(case_window, "Case", "Export DICOM SR…").trigger()
    written = sorted(p.name for p in out.glob("*.dcm"))
    assert written == ["followup-sr.dcm", "post-sr.dcm", "pre-sr.dcm"]
    for name in written:
        assert_valid_dicom(out / name)
    assert "3 DICOM SR file(s) written" in case_window.status_label.text()
    # The case's timepoints (with the follow-up's interval from the procedure) are recorded.
    follow = import_sr(out / "followup-sr.dcm").annotations.timepoint
    assert follow.kind == "followup" and follow.interval_days == \
        case.films_of_kind("followup")[0].timepoint.interval_days


def test_case_exports_de_identified_srs_and_table(qtbot, films, tmp_path, monkeypatch):
    """Case ▸ Export de-identified DICOM SR… and … table (CSV)…: one pseudonym, the films'
    new UIDs in both, nothing of the patient's ID or the film names."""
    import csv

    from pydicom import dcmread

    from ovcf_viewer.qt.case.case_view import CaseController, CaseWindow

    case = load_case_inputs([films / f"{n}.json" for n in NAMES])
    controller = CaseController(Settings())
    controller.set_case(case)
    case_window = CaseWindow(controller)
    qtbot.addWidget(case_window)
    out = tmp_path / "sr"
    out.mkdir()
    table = tmp_path / "table.csv"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(table), "")))
    _menu_action(case_window, "Case", "Export de-identified DICOM SR…").trigger()
    _menu_action(case_window, "Case", "Export de-identified table (CSV)…").trigger()
    srs = [dcmread(p) for p in sorted(out.glob("*.dcm"))]
    assert len(srs) == 3
    rows = list(csv.DictReader(table.open()))
    pseudonyms = {str(ds.PatientID) for ds in srs} | {r["patient_id"] for r in rows}
    assert len(pseudonyms) == 1 and pseudonyms.pop().startswith("ANON-")
    films_uids = {f.sop_instance_uid for f in case.films}
    referenced = {import_sr(p).annotations.sop_instance_uid for p in out.glob("*.dcm")}
    assert referenced == {r["sop_instance_uid"] for r in rows}
    assert not referenced & films_uids
    for path in [*out.glob("*.dcm"), table]:
        data = path.read_bytes()
        assert case.patient_id.encode() not in data and b"pre.dcm" not in data, path
        assert not any(n in path.name for n in NAMES), path


def test_file_export_report_as_dicom_files_it_in_the_study(window, films, tmp_path,
                                                           monkeypatch):
    from pydicom import dcmread
    from PySide6.QtWidgets import QDialog

    from ovcf_viewer.qt.dialogs.report_action import DICOM_FILTER, ReportOptionsDialog

    assert window.open_paths([films / "pre.dcm"])
    assert window.open_annotations(films / "pre.json")
    chosen = tmp_path / "report"  # no suffix: the DICOM filter chosen adds ".dcm"
    monkeypatch.setattr(ReportOptionsDialog, "exec",
                        lambda dialog: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(chosen), DICOM_FILTER)))
    _menu_action(window, "File", "Export report…").trigger()
    target = tmp_path / "report.dcm"
    assert target.is_file()
    assert_valid_dicom(target)
    ds = dcmread(target)
    film = dcmread(films / "pre.dcm", stop_before_pixels=True)
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
    assert ds.StudyInstanceUID == film.StudyInstanceUID
    assert bytes(ds.EncapsulatedDocument).startswith(b"%PDF")


def test_an_sr_added_to_an_open_folder_is_found_on_the_next_open(window, films):
    assert window.open_paths([films])  # the folder: pre, post and follow-up
    assert window.open_image(films / "post.dcm")
    assert window.sr_actions.sr_beside is None
    annotations = load_annotations(films / "post.json")
    export_film_sr(load_image(films / "post.dcm"), annotations, Settings(), films)
    assert window.open_image(films / "pre.dcm")
    assert window.open_image(films / "post.dcm")
    assert window.sr_actions.sr_beside == films / "post-sr.dcm"
    assert sorted(window.annotation_controller.model.vertebrae) == \
        sorted(annotations.vertebrae)
