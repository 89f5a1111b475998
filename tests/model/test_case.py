"""Cases (docs/clinical-reference.md §5): timepoint proposals, the case document round trip, finding
films again after the folder moved, inputs from annotation files, and autosave that survives
a killed process."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ovcf_viewer.io.case_files import load_case_inputs, relocate_films
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.case import (
    Case,
    CaseFilm,
    CaseFormatError,
    CaseSession,
    autosave_path,
    autosaved_cases,
    load_case,
    missing_film_messages,
    propose_timepoints,
    save_case,
)
from ovcf_viewer.model.findings import Findings
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint, save_annotations
from tests.spine_builder import place, stack

HEIGHTS = [("T12", 28.0, 29.0, 30.0), ("L1", 16.0, 22.0, 28.0), ("L2", 30.0, 31.0, 32.0)]


def write_dicom(path: Path, uid: str, study_date: str, patient_id="P-42") -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # DX for presentation
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = uid
    ds.PatientName = "Doe^Jane"
    ds.PatientID = patient_id
    ds.StudyDate = study_date
    ds.Modality = "DX"
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.Rows, ds.Columns = 16, 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.zeros((16, 16), dtype=np.uint16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def annotations_for(uid: str, timepoint: Timepoint | None = None) -> ImageAnnotations:
    model = place(stack(HEIGHTS), row_mm=0.15, col_mm=0.15, index_levels=("L1",))
    doc = model.to_json(partial=True)
    doc["image"]["sop_instance_uid"] = uid
    out = ImageAnnotations.from_json(doc, partial=True)
    out.timepoint = timepoint
    return out


@pytest.fixture
def films_folder(tmp_path):
    """Three DICOM films in tmp_path/study/ and the case that refers to them."""
    study = tmp_path / "study"
    specs = [("pre.dcm", "20250110", Timepoint("preop", date(2025, 1, 10))),
             ("sub/post.dcm", "20250113", Timepoint("postop", date(2025, 1, 13), 1)),
             ("sub/fu.dcm", "20250412", Timepoint("followup", date(2025, 4, 12), 90))]
    films = []
    for name, study_date, tp in specs:
        uid = generate_uid()
        write_dicom(study / name, uid, study_date)
        films.append(CaseFilm(study / name, uid, annotations_for(uid, tp), tp,
                              date.fromisoformat(f"{study_date[:4]}-{study_date[4:6]}-"
                                                 f"{study_date[6:]}")))
    case = Case("CASE-1", patient_name="Jane Doe", patient_id="P-42", procedure="PKP",
                procedure_date=date(2025, 1, 12), treated_levels=("L1",), approach="bilateral",
                films=tuple(films), findings={"mri_oedema": True, "vas_under_analgesia": 7},
                notes="T-score −3.1")
    return study, case


def test_propose_timepoints_from_study_dates():
    proc = date(2025, 3, 10)
    dates = [date(2025, 2, 1), date(2025, 3, 9), date(2025, 3, 10), date(2025, 3, 17),
             date(2025, 3, 18), date(2025, 9, 10), None]
    tps = propose_timepoints(dates, proc)
    assert [t.kind if t else None for t in tps] == [
        "preop", "preop", "postop", "postop", "followup", "followup", None]
    assert tps[4].interval_days == 8
    assert tps[5].interval_days == 184 and tps[5].label == "Follow-up (6 months)"
    assert propose_timepoints(dates[:2], None) == [None, None]


def test_preop_is_the_latest_before_the_procedure():
    proc = date(2025, 3, 10)
    films = []
    for i, when in enumerate([date(2024, 12, 1), date(2025, 3, 1), date(2025, 3, 11)]):
        uid = f"9.{i}"
        films.append(CaseFilm(None, uid, annotations_for(uid), None, when))
    case = Case("c", procedure_date=proc, films=tuple(films)).with_proposed_timepoints()
    assert case.preop_film().sop_instance_uid == "9.1"
    assert case.postop_film().sop_instance_uid == "9.2"


def test_round_trip_keeps_everything_and_paths_are_relative(films_folder, tmp_path):
    study, case = films_folder
    target = study / "case.json"
    save_case(case, target)
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert doc["format"] == "ovcf-case" and doc["version"] == 2
    assert [f["file"] for f in doc["films"]] == ["pre.dcm", "sub/post.dcm", "sub/fu.dcm"]
    assert doc["films"][1]["annotations"]["format"] == "ovcf-annotations"
    assert doc["films"][1]["annotations"]["timepoint"]["kind"] == "postop"
    back = load_case(target)
    assert (back.case_id, back.patient_name, back.patient_id) == ("CASE-1", "Jane Doe", "P-42")
    assert (back.procedure, back.procedure_date, back.approach) == (
        "PKP", date(2025, 1, 12), "bilateral")
    assert back.treated_levels == ("L1",)
    assert back.findings == Findings(mri_oedema=True, vas_under_analgesia=7)
    assert back.notes == "T-score −3.1"
    for a, b in zip(case.films, back.films, strict=True):
        assert b.path == a.path.resolve()
        assert b.sop_instance_uid == a.sop_instance_uid
        assert b.timepoint == a.timepoint and b.study_date == a.study_date
        assert b.annotations.to_json() == a.annotations.to_json() | {
            "image": b.annotations.to_json()["image"]}
        assert b.annotations.vertebrae["L1"].points == a.annotations.vertebrae["L1"].points
    assert missing_film_messages(back) == []


def test_manual_calibration_survives_round_trip(films_folder):
    study, case = films_folder
    film = case.films[0]
    film.annotations.set_manual_calibration(Calibration(CalibrationSource.MANUAL, 0.12, 0.12))
    save_case(case, study / "case.json")
    back = load_case(study / "case.json")
    assert back.films[0].annotations.manual_calibration.row_mm == 0.12


def test_relocation_after_the_folder_moved(films_folder, tmp_path):
    study, case = films_folder
    save_case(case, study / "case.json")
    moved_case = tmp_path / "elsewhere" / "cases" / "case.json"
    moved_case.parent.mkdir(parents=True)
    shutil.copy(study / "case.json", moved_case)
    new_home = tmp_path / "archive" / "2025"
    new_home.parent.mkdir(parents=True)
    shutil.move(str(study), str(new_home))
    (new_home / "sub" / "fu.dcm").unlink()  # one film really is gone
    (new_home / "notes.txt").write_text("not an image")
    (new_home / "junk.dcm").write_bytes(b"garbage")

    reopened = load_case(moved_case)
    messages = missing_film_messages(reopened)
    assert len(messages) == 3 and all("not found" in m for m in messages)
    report = relocate_films(reopened, tmp_path / "archive")
    pre_uid, post_uid, fu_uid = (f.sop_instance_uid for f in case.films)
    assert report.found[pre_uid] == (new_home / "pre.dcm").resolve()
    assert report.found[post_uid] == (new_home / "sub" / "post.dcm").resolve()
    assert fu_uid not in report.found
    assert len(report.missing) == 1
    assert "Follow-up (3 months)" in report.missing[0] and fu_uid in report.missing[0]
    assert report.case.film(pre_uid).path.is_file()
    # Saved again, the case refers to the new places relative to itself.
    save_case(report.case, moved_case)
    again = load_case(moved_case)
    assert again.film(post_uid).path == (new_home / "sub" / "post.dcm").resolve()


def test_bad_documents_give_one_line_messages(tmp_path):
    bad = tmp_path / "bad.json"
    for text, fragment in [
        ("{", "not valid JSON"),
        ('{"format": "ovcf-case", "version": 9}', "unsupported case version"),
        ('{"format": "other"}', "not a case document"),
        ('{"format": "ovcf-case", "version": 1, "case_id": "x", '
         '"procedure": {"kind": "surgery"}}', "procedure"),
        ('{"format": "ovcf-case", "version": 1, "case_id": "x", '
         '"procedure": {"treated_levels": ["L9"]}}', "L9"),
    ]:
        bad.write_text(text)
        with pytest.raises(CaseFormatError) as info:
            load_case(bad)
        assert fragment in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(CaseFormatError, match="no such file"):
        load_case(tmp_path / "none.json")


def test_inputs_from_annotation_files(films_folder, tmp_path):
    study, case = films_folder
    out = tmp_path / "ann"
    out.mkdir()
    paths = []
    for film in case.films:
        film.annotations.file = os.path.relpath(film.path, out)
        path = out / f"{film.path.stem}.json"
        save_annotations(film.annotations, path)
        paths.append(path)
    built = load_case_inputs(paths)
    assert built.patient_id == "P-42" and built.case_id == "P-42"
    assert built.procedure_date == date(2025, 1, 12)  # post-op date minus 1 day
    assert built.treated_levels == ("L1",)
    assert built.postop_film().path == (study / "sub" / "post.dcm").resolve()
    # One case document works as input too; mixing both does not.
    save_case(case, study / "case.json")
    assert load_case_inputs([study / "case.json"]).case_id == "CASE-1"
    with pytest.raises(CaseFormatError, match="not both"):
        load_case_inputs([study / "case.json", paths[0]])
    # An annotation file without a timepoint is refused with its name.
    case.films[0].annotations.timepoint = None
    save_annotations(case.films[0].annotations, paths[0])
    with pytest.raises(CaseFormatError, match=paths[0].name):
        load_case_inputs(paths)


def test_session_autosaves_every_change(films_folder):
    _study, case = films_folder
    session = CaseSession(case)
    target = autosave_path("CASE-1")
    assert session.autosave_file == target and target.is_file()
    seen = []

    def count():
        seen.append(1)

    session.changed.connect(count)
    film = case.films[1]
    film.annotations.set_point("L1", "sa", (700.0, 900.0))
    assert load_case(target).film(film.sop_instance_uid).annotations.vertebrae["L1"].points[
        "sa"] == (700.0, 900.0)
    session.update(procedure="PVP")
    session.set_film_timepoint(film.sop_instance_uid, Timepoint("followup", None, 30))
    back = load_case(target)
    assert back.procedure == "PVP"
    assert back.film(film.sop_instance_uid).timepoint == Timepoint("followup", None, 30)
    assert film.annotations.timepoint == Timepoint("followup", None, 30)
    assert len(seen) == 3
    session.close()


def test_autosave_survives_a_killed_process(films_folder, tmp_path):
    study, case = films_folder
    save_case(case, study / "case.json")
    script = textwrap.dedent(
        f"""
        import sys
        from ovcf_viewer.model.case import CaseSession, load_case
        case = load_case({str(study / "case.json")!r})
        session = CaseSession(case)
        film = case.films[1]
        film.annotations.set_point("L1", "sa", (701.5, 899.25))
        print("saved", flush=True)
        i = 0
        while True:  # keep editing until killed, so the kill lands mid-write sometimes
            i += 1
            film.annotations.set_point("L2", "ia", (600.0 + (i % 50), 1500.0))
            if i % 10 == 0:
                print("edit", i, flush=True)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "saved"
        for _ in range(3):  # let it write a few dozen autosaves, then kill it mid-run
            assert proc.stdout.readline().startswith("edit")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    target = autosave_path("CASE-1")
    reopened = load_case(target)  # complete, parseable JSON
    film = reopened.film(case.films[1].sop_instance_uid)
    assert film.annotations.vertebrae["L1"].points["sa"] == (701.5, 899.25)
    assert film.path == (study / "sub" / "post.dcm").resolve()
    assert film.annotations.vertebrae["L2"].points["ia"][1] == 1500.0  # a later edit landed


def test_a_drag_is_saved_once_at_its_end(films_folder):
    _study, case = films_folder
    session = CaseSession(case)
    target = autosave_path("CASE-1")
    film = case.films[0]
    before = target.stat().st_mtime_ns
    film.annotations.preview_point("L1", "sa", (690.0, 880.0))
    film.annotations.preview_point("L1", "sa", (691.0, 881.0))
    assert target.stat().st_mtime_ns == before  # nothing written mid-drag
    with film.annotations.edit("Move L1 sa"):
        film.annotations.set_point("L1", "sa", (692.0, 882.0))
    assert load_case(target).film(film.sop_instance_uid).annotations.vertebrae["L1"].points[
        "sa"] == (692.0, 882.0)
    assert autosaved_cases()[0] == target
    session.close()


def test_bad_findings_open_the_case_empty_with_a_message_naming_file_and_key(films_folder):
    study, case = films_folder
    target = study / "case.json"
    save_case(case, target)
    doc = json.loads(target.read_text(encoding="utf-8"))
    doc["findings"] = {"mri_oedema": "yes", "t_score": -3.1}  # hand-edited: not a boolean
    target.write_text(json.dumps(doc), encoding="utf-8")
    back = load_case(target)
    assert back.findings == Findings()
    assert back.findings_problem.startswith(f"{target}: findings: 'mri_oedema' must be true")
    assert len(back.films) == len(case.films)
    # Saving again keeps the unread block until findings are entered.
    save_case(back, target)
    assert json.loads(target.read_text(encoding="utf-8"))["findings"] == doc["findings"]
    entered = replace(back, findings=Findings(mri_oedema=False))
    save_case(entered, target)
    assert load_case(target).findings == Findings(mri_oedema=False)


def test_case_findings_given_as_a_document_are_validated():
    assert Case("c", findings={"pregnancy": False}).findings == Findings(pregnancy=False)
    with pytest.raises(ValueError, match="'vas_under_analgesia' = 12 is outside 0..10"):
        Case("c", findings={"vas_under_analgesia": 12})


def test_new_case_ids_are_unique_and_not_the_patient():
    from ovcf_viewer.model.case import new_case_id

    ids = {new_case_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("case-") for i in ids)


def test_failed_case_autosave_is_pending_and_retried(tmp_path, monkeypatch):
    from ovcf_viewer.model import case as case_module

    blocker = tmp_path / "blocked"
    blocker.write_text("not a folder")
    target = blocker / "cases" / "c.json"
    monkeypatch.setattr(case_module, "autosave_path", lambda case_id: target)
    session = CaseSession(Case("c-1"))
    assert session.pending and "case autosave failed" in session.autosave_error
    assert not session.retry()
    blocker.unlink()
    target.parent.mkdir(parents=True)
    assert session.retry() and not session.pending and target.is_file()
