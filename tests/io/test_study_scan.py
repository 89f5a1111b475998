"""Folder and DICOMDIR scanning into patients → studies → series → images."""

from __future__ import annotations

import numpy as np
from PIL import Image
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from ovcf_viewer.io.study_scan import PHOTOS_PATIENT_NAME, scan_paths
from tests.dicom_builders import COMPREHENSIVE_SR, make_dataset, save


def film(patient_id, name, study_uid, series_uid, instance, *, study_date="20240101",
         series_number=1, view="LL", rows=6, cols=5):
    return make_dataset(
        np.zeros((rows, cols), dtype=np.uint16),
        PatientID=patient_id,
        PatientName=name,
        StudyInstanceUID=study_uid,
        SeriesInstanceUID=series_uid,
        StudyDate=study_date,
        StudyTime="120000",
        StudyID="1",
        AccessionNumber="A1",
        StudyDescription=f"study {study_date}",
        SeriesDescription=f"series {series_number}",
        SeriesNumber=str(series_number),
        InstanceNumber=str(instance),
        ViewPosition=view,
    )


def test_loose_folder_groups_patients_studies_series(tmp_path):
    pre, post = generate_uid(), generate_uid()
    series_pre, series_post_a, series_post_b = generate_uid(), generate_uid(), generate_uid()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    save(film("P1", "Doe^Jane", post, series_post_b, 1, study_date="20240301", series_number=2),
         tmp_path / "a" / "deep" / "x1")
    save(film("P1", "Doe^Jane", post, series_post_a, 2, study_date="20240301"),
         tmp_path / "a" / "x2.dcm")
    save(film("P1", "Doe^Jane", post, series_post_a, 1, study_date="20240301"),
         tmp_path / "a" / "x3.dcm")
    save(film("P1", "Doe^Jane", pre, series_pre, 1, study_date="20240101", rows=9, cols=7),
         tmp_path / "pre.dcm")
    save(film("P2", "Abel^Ann", generate_uid(), generate_uid(), 1), tmp_path / "other.dcm")

    result = scan_paths([tmp_path])
    assert result.errors == []
    assert result.files_seen == 5 and result.image_count == 5
    assert [p.name for p in result.patients] == ["Abel Ann", "Doe Jane"]  # sorted by name
    jane = result.patients[1]
    assert jane.patient_id == "P1"
    assert [s.study_instance_uid for s in jane.studies] == [pre, post]  # by date
    first_image = jane.studies[0].series[0].images[0]
    assert (first_image.rows, first_image.columns) == (9, 7)
    assert first_image.view_position == "LL" and first_image.modality == "DX"
    post_study = jane.studies[1]
    assert [s.series_number for s in post_study.series] == [1, 2]
    assert [i.instance_number for i in post_study.series[0].images] == [1, 2]  # by number
    assert post_study.series[0].images[0].path.name == "x3.dcm"


def test_bad_files_are_listed_and_do_not_stop_the_scan(tmp_path):
    save(film("P1", "Doe^Jane", generate_uid(), generate_uid(), 1), tmp_path / "good.dcm")
    (tmp_path / "readme.txt").write_text("not an image")
    sr = make_dataset(np.zeros((2, 2), dtype=np.uint16), sop_class=COMPREHENSIVE_SR)
    for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated"):
        del sr[keyword]
    save(sr, tmp_path / "report.dcm")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden: ignored
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)

    result = scan_paths([tmp_path, tmp_path / "missing.dcm"])
    assert result.image_count == 1
    errors = {path.name: message for path, message in result.errors}
    assert set(errors) == {"readme.txt", "report.dcm", "broken.png", "missing.dcm"}
    assert "Comprehensive SR" in errors["report.dcm"]
    assert "not a DICOM file" in errors["readme.txt"]
    assert "not found" in errors["missing.dcm"]
    assert all("\n" not in message for message in errors.values())


def test_photographs_go_under_the_pseudo_patient(tmp_path):
    Image.fromarray(np.zeros((10, 20), dtype=np.uint8)).save(tmp_path / "scan.png")
    Image.fromarray(np.zeros((4, 8, 3), dtype=np.uint8) + 50).save(tmp_path / "photo.jpg")
    save(film("P1", "Doe^Jane", generate_uid(), generate_uid(), 1), tmp_path / "f.dcm")
    result = scan_paths([tmp_path])
    assert [p.name for p in result.patients] == ["Doe Jane", PHOTOS_PATIENT_NAME]
    photos = result.patients[1]
    assert photos.is_photos
    images = {i.path.name: i for i in photos.images()}
    assert set(images) == {"scan.png", "photo.jpg"}
    assert (images["scan.png"].rows, images["scan.png"].columns) == (10, 20)
    assert not images["scan.png"].is_dicom
    assert images["scan.png"].sop_instance_uid.startswith("2.25.")


def _write_dicomdir(root):
    fs = FileSet()
    study = generate_uid()
    series = generate_uid()
    for instance in (1, 2):
        fs.add(film("P9", "Cd^Export", study, series, instance))
    fs.write(root)
    return root / "DICOMDIR"


def test_dicomdir_alone_finds_its_images_case_insensitively(tmp_path):
    dicomdir = _write_dicomdir(tmp_path / "cd")
    # Rename every referenced path to lower case, as some mounted CDs show them.
    for path in sorted((tmp_path / "cd").rglob("*"), key=lambda p: -len(p.parts)):
        if path.name != "DICOMDIR":
            path.rename(path.with_name(path.name.lower()))
    result = scan_paths([dicomdir])
    assert result.errors == []
    assert result.image_count == 2
    assert result.patients[0].name == "Cd Export"


def test_folder_with_dicomdir_lists_each_image_once(tmp_path):
    _write_dicomdir(tmp_path / "cd")
    result = scan_paths([tmp_path / "cd"])
    assert result.errors == [] and result.image_count == 2


def test_dicomdir_reference_to_missing_file(tmp_path):
    dicomdir = _write_dicomdir(tmp_path / "cd")
    victim = next(p for p in (tmp_path / "cd").rglob("*") if p.is_file() and p != dicomdir)
    victim.unlink()
    result = scan_paths([dicomdir])
    assert result.image_count == 1
    assert [m for _, m in result.errors] == ["listed in DICOMDIR but missing"]


def test_duplicate_instance_is_listed_once(tmp_path):
    ds = film("P1", "Doe^Jane", generate_uid(), generate_uid(), 1)
    save(ds, tmp_path / "a.dcm")
    save(ds, tmp_path / "copy.dcm")
    result = scan_paths([tmp_path])
    assert result.image_count == 1
    assert result.errors == [(tmp_path / "copy.dcm", "duplicate of a.dcm (same SOP Instance UID)")]


def test_progress_reports_and_can_stop(tmp_path):
    for i in range(4):
        save(film("P1", "Doe^Jane", generate_uid(), generate_uid(), i), tmp_path / f"{i}.dcm")
    calls = []

    def progress(done, total):
        calls.append((done, total))
        return done < 2

    result = scan_paths([tmp_path], progress=progress)
    assert calls == [(1, 4), (2, 4)]
    assert result.image_count == 2


def test_one_patient_record_for_the_header_the_image_and_the_scan(tmp_path):
    """The folder scan, the header reader and the image loader read the patient, study and
    series into the same record (model.image.PatientInfo), not three look-alikes."""
    from pathlib import Path

    from ovcf_viewer.io.dicom import load_image, read_header

    sample = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001" / "pre.dcm"
    header = read_header(sample)
    image = load_image(sample)
    assert header.patient == image.patient
    assert header.patient.name and header.patient.study_date is not None
    assert (header.patient_name, header.study_date) == (image.patient.name,
                                                        image.patient.study_date)
    (patient,) = scan_paths([sample]).patients
    assert patient.info == image.patient
    assert (patient.birth_date, patient.sex) == (image.patient.birth_date, image.patient.sex)
