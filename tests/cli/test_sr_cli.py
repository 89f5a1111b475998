"""``export-sr``, ``import-sr`` and ``report -o X.dcm`` from the command line: files pass
``dciodvfy``, a round trip gives the landmarks back, bad input is one line and exit 2."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from pydicom import dcmread
from pypdf import PdfReader

from ovcf_viewer.cli import main
from tests.dciodvfy import assert_valid_dicom

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"
NAMES = ("pre", "post", "followup")


@pytest.fixture()
def case_dir(tmp_path):
    for name in NAMES:
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    return tmp_path


def test_export_then_import_gives_the_landmarks_back(case_dir, tmp_path, capsys):
    out = tmp_path / "sr"
    code = main(["export-sr", *(str(case_dir / f"{n}.json") for n in NAMES), "-o", str(out),
                 "--observer", "Doe^Jane"])
    assert code == 0, capsys.readouterr().err
    written = sorted(out.glob("*.dcm"))
    assert [p.name for p in written] == ["followup-sr.dcm", "post-sr.dcm", "pre-sr.dcm"]
    for path in written:
        assert_valid_dicom(path)
    capsys.readouterr()
    back = tmp_path / "pre-back.json"
    assert main(["import-sr", str(out / "pre-sr.dcm"), "-o", str(back)]) == 0
    assert "0 item(s) skipped" in capsys.readouterr().out
    original = json.loads((case_dir / "pre.json").read_text())
    imported = json.loads(back.read_text())
    assert imported["image"]["sop_instance_uid"] == original["image"]["sop_instance_uid"]
    assert imported["index_levels"] == original["index_levels"]
    assert imported["timepoint"] == original["timepoint"]
    assert [v["level"] for v in imported["vertebrae"]] == \
        [v["level"] for v in original["vertebrae"]]
    for got, want in zip(imported["vertebrae"], original["vertebrae"], strict=True):
        for name, (x, y) in want["points"].items():
            gx, gy = got["points"][name]
            assert abs(gx - x) <= 0.001 and abs(gy - y) <= 0.001


def test_import_of_a_non_dicom_file_is_one_line_exit_2(case_dir, tmp_path, capsys):
    code = main(["import-sr", str(case_dir / "pre.json"), "-o", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert code == 2 and err == "ovcf-viewer import-sr: pre.json: not a DICOM file\n"
    assert not (tmp_path / "x.json").exists()


def test_import_of_an_image_is_one_line_exit_2(case_dir, tmp_path, capsys):
    code = main(["import-sr", str(case_dir / "pre.dcm"), "-o", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "pre.dcm: not a measurement SR" in err


def test_import_of_a_foreign_sr_says_what_it_skipped(tmp_path, capsys):
    from tests.io.test_sr import test_slicer_style_planar_roi_is_skipped_and_named as build

    build(tmp_path)  # writes tmp_path/slicer.dcm (a planar ROI with an area)
    capsys.readouterr()
    code = main(["import-sr", str(tmp_path / "slicer.dcm"), "-o", str(tmp_path / "s.json")])
    captured = capsys.readouterr()
    assert code == 0
    assert "skipped: measurement group 1 (Region 7): a planar region" in captured.err
    assert json.loads((tmp_path / "s.json").read_text())["vertebrae"] == []


def test_export_without_the_film_is_one_line_exit_2(case_dir, tmp_path, capsys):
    (case_dir / "pre.dcm").unlink()
    code = main(["export-sr", str(case_dir / "pre.json"), "-o", str(tmp_path / "sr")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "pre.json: film" in err


def _pdf_of(ds) -> PdfReader:
    data = bytes(ds.EncapsulatedDocument)[: int(ds.EncapsulatedDocumentLength)]
    assert data.startswith(b"%PDF")
    return PdfReader(io.BytesIO(data))


def test_report_as_encapsulated_pdf_in_the_study(case_dir, tmp_path, capsys):
    out = tmp_path / "report.dcm"
    code = main(["report", *(str(case_dir / f"{n}.json") for n in NAMES), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    assert_valid_dicom(out)
    ds = dcmread(out)
    film = dcmread(case_dir / "followup.dcm", stop_before_pixels=True)  # the latest film
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1"
    assert ds.StudyInstanceUID == film.StudyInstanceUID
    assert ds.SeriesInstanceUID != film.SeriesInstanceUID
    assert (ds.PatientName, ds.PatientID) == (film.PatientName, film.PatientID)
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    text = " ".join(page.extract_text() for page in _pdf_of(ds).pages)
    assert "OVCF-0001" in text


def test_deidentified_report_as_dcm_names_nobody(case_dir, tmp_path, capsys):
    out = tmp_path / "report.dcm"
    code = main(["report", *(str(case_dir / f"{n}.json") for n in NAMES), "-o", str(out),
                 "--deidentify"])
    assert code == 0, capsys.readouterr().err
    assert_valid_dicom(out)
    ds = dcmread(out)
    film = dcmread(case_dir / "followup.dcm", stop_before_pixels=True)
    assert ds.PatientIdentityRemoved == "YES"
    assert str(ds.PatientName) != str(film.PatientName)
    assert ds.PatientID != film.PatientID
    assert ds.StudyInstanceUID != film.StudyInstanceUID
    text = " ".join(page.extract_text() for page in _pdf_of(ds).pages)
    assert "OVCF-0001" not in text and str(film.PatientID) not in text


def test_report_dcm_without_any_dicom_film_is_exit_2(case_dir, tmp_path, capsys):
    for name in NAMES:
        (case_dir / f"{name}.dcm").unlink()
    code = main(["report", *(str(case_dir / f"{n}.json") for n in NAMES), "-o",
                 str(tmp_path / "r.dcm")])
    err = capsys.readouterr().err
    assert code == 2 and "no DICOM film to file the report with" in err
    assert not (tmp_path / "r.dcm").exists()
