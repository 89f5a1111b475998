"""``ovcf-viewer export-csv``: one row per case × timepoint × level with every measurement and
its calibration source, from a case document or from annotation files."""

import csv
import io
import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ovcf_viewer.cli import main
from ovcf_viewer.model.calibration import Calibration, CalibrationSource
from ovcf_viewer.model.case import Case, CaseFilm, save_case
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint, save_annotations
from tests.spine_builder import place, stack

PRE = [("T12", 28.0, 29.0, 30.0), ("L1", 16.0, 22.0, 28.0), ("L2", 30.0, 31.0, 32.0)]
POST = [("T12", 28.0, 29.0, 30.0), ("L1", 22.0, 25.0, 28.5), ("L2", 30.0, 31.0, 32.0)]


def write_dicom(path: Path, uid: str, spacing: float) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, uid
    ds.PatientID, ds.Modality = "P-7", "DX"
    ds.ImagerPixelSpacing = [spacing, spacing]
    ds.Rows, ds.Columns = 2400, 2000
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.zeros((2400, 2000), dtype=np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)


def make_film(folder: Path, name: str, heights, timepoint, spacing=0.15, with_file=True):
    uid = generate_uid()
    model = place(stack(heights), row_mm=spacing, col_mm=spacing, index_levels=("L1",))
    doc = model.to_json(partial=True)
    doc["image"]["sop_instance_uid"] = uid
    doc["image"]["file"] = f"{name}.dcm"
    annotations = ImageAnnotations.from_json(doc, partial=True)
    annotations.timepoint = timepoint
    if with_file:
        write_dicom(folder / f"{name}.dcm", uid, spacing)
    return CaseFilm(folder / f"{name}.dcm", uid, annotations, timepoint, timepoint.date)


@pytest.fixture
def case(tmp_path):
    pre = make_film(tmp_path, "pre", PRE, Timepoint("preop", date(2025, 1, 10)))
    post = make_film(tmp_path, "post", POST, Timepoint("postop", date(2025, 1, 13), 1),
                     spacing=0.12)
    return Case("C-9", patient_id="P-7", procedure="PVP", procedure_date=date(2025, 1, 12),
                treated_levels=("L1",), films=(pre, post))


def read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_case_document_to_rows(case, tmp_path, capsys):
    save_case(case, tmp_path / "case.json")
    out = tmp_path / "table.csv"
    assert main(["export-csv", str(tmp_path / "case.json"), "-o", str(out)]) == 0
    rows = read(out)
    assert [(r["timepoint"], r["level"]) for r in rows] == [
        ("preop", "T12"), ("preop", "L1"), ("preop", "L2"),
        ("postop", "T12"), ("postop", "L1"), ("postop", "L2")]
    for key in ("ha_mm", "hm_mm", "hp_mm", "wedge_ratio", "biconcavity_ratio", "crush_ratio",
                "wedge_angle_deg", "genant_grade", "genant_type", "height_reduction_pct",
                "segmental_kyphosis_deg", "lovbh_pct", "case_id", "patient_id", "date",
                "interval_days", "is_index", "calibration_source", "row_mm", "col_mm"):
        assert key in rows[0]
    pre_l1, post_l1 = rows[1], rows[4]
    assert pre_l1["case_id"] == "C-9" and pre_l1["patient_id"] == "P-7"
    assert float(pre_l1["ha_mm"]) == pytest.approx(16.0, abs=0.01)
    assert float(pre_l1["wedge_ratio"]) == pytest.approx(16 / 28, abs=1e-4)
    assert float(post_l1["ha_mm"]) == pytest.approx(22.0, abs=0.01)
    assert pre_l1["is_index"] == "1" and rows[0]["is_index"] == "0"
    assert rows[0]["segmental_kyphosis_deg"] == ""
    # L1 pre: r = 1 − 16/29 = 44.8 % → grade 3 wedge; LOVBH = (58 − 32)/58.
    assert pre_l1["genant_grade"] == "3" and pre_l1["genant_type"] == "wedge"
    assert float(pre_l1["height_reduction_pct"]) == pytest.approx((1 - 16 / 29) * 100, abs=0.01)
    assert float(pre_l1["lovbh_pct"]) == pytest.approx((58 - 32) / 58 * 100, abs=0.01)
    assert pre_l1["calibration_source"] == "detector" and pre_l1["row_mm"] == "0.15"
    assert post_l1["row_mm"] == "0.12" and post_l1["length_unit"] == "mm"
    assert (pre_l1["date"], pre_l1["interval_days"]) == ("2025-01-10", "-2")
    assert (post_l1["date"], post_l1["interval_days"]) == ("2025-01-13", "1")
    assert "6 rows written" in capsys.readouterr().err


def test_annotation_files_and_missing_image(case, tmp_path, capsys):
    paths = []
    for film in case.films:
        path = tmp_path / f"{film.path.stem}.json"
        save_annotations(film.annotations, path)
        paths.append(path)
    os.unlink(case.films[1].path)  # the post-operative image is gone
    case.films[0].annotations.set_manual_calibration(
        Calibration(CalibrationSource.MANUAL, 0.15, 0.15))
    save_annotations(case.films[0].annotations, paths[0])
    out = tmp_path / "t.csv"
    assert main(["export-csv", *map(str, paths), "-o", str(out)]) == 0
    rows = read(out)
    assert rows[0]["calibration_source"] == "manual"
    post = [r for r in rows if r["timepoint"] == "postop"]
    assert post[0]["calibration_source"] == "none" and post[0]["length_unit"] == "px"
    assert "not found" in post[0]["calibration_note"]
    # Pixels on the post-operative film: 22 mm at 0.12 mm/px = 183.3 px, under ha_px, never
    # under the millimetre column (the one renamed output of the safety work).
    assert post[1]["ha_mm"] == ""
    assert float(post[1]["ha_px"]) == pytest.approx(22 / 0.12, abs=0.01)
    err = capsys.readouterr().err
    assert "not found" in err and "lengths in pixels" in err
    assert rows[0]["case_id"] == "P-7"  # from the remaining image header


@pytest.mark.parametrize(
    "content,fragment",
    [
        ("{", "not valid JSON"),
        ('{"format": "ovcf-annotations", "version": 1, "image": {"sop_instance_uid": "1"}}',
         "timepoint"),
        ('{"format": "ovcf-case", "version": 3}', "unsupported case version"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, content, fragment):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["export-csv", str(bad), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert not (tmp_path / "x.csv").exists()


def test_missing_input_file(tmp_path, capsys):
    assert main(["export-csv", str(tmp_path / "nope.json"), "-o", str(tmp_path / "x.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_two_case_documents_to_stdout(case, tmp_path, capsys):
    save_case(case, tmp_path / "a.json")
    save_case(replace(case, case_id="C-10"), tmp_path / "b.json")
    assert main(["export-csv", str(tmp_path / "a.json"), str(tmp_path / "b.json"),
                 "-o", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["case_id"] for r in rows] == ["C-9"] * 6 + ["C-10"] * 6


def test_an_image_given_as_input_is_refused_clearly(case, tmp_path, capsys):
    assert main(["export-csv", str(case.films[0].path), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "not a text file" in err and "annotation files" in err
