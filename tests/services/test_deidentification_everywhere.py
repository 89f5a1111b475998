"""De-identification end to end: the sample case's three films, enriched with PHI in every
place a hostile header hides it, go through the report (PDF and DICOM), the teaching export,
the SR export and the CSV. No PHI byte reaches any output file or file name (raw bytes in
UTF-8, UTF-16 and Latin-1, the PDF's decompressed streams and metadata too); no clinical
word is blanked although the surname is "Long Viewer"; one patient reads alike in every
output, and the days between the films are unchanged."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ovcf_viewer.cli import main
from ovcf_viewer.io.deidentify import FREE_TEXT_REMOVED
from ovcf_viewer.io.teaching import save_teaching_case, teaching_dir
from ovcf_viewer.model.landmarks import load_annotations

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"
FINDINGS = REPO / "docs" / "examples" / "case-0001-preop-findings.json"
FILMS = ("pre", "post", "followup")

NAME = "LONG VIEWER^HILDEGARD"  # a surname made of two ordinary words
PATIENT_ID = "MRN-4711-XQ"
BIRTH = date(1938, 4, 12)
FOLDER = "Hildegard_Long_Viewer_MRN-4711-XQ"  # folder names carry names too
PHYSICIAN = "BRANDTNER^OTTOKAR"
INSTITUTION = "Sankt Quirinus Klinik"
ACCESSION = "ACC-55-7781"
TIMEZONE = "+0530"


def _enrich(ds: Dataset) -> None:
    """PHI in every place the profile must clean."""
    ds.PatientName, ds.PatientID = NAME, PATIENT_ID
    ds.PatientBirthDate = BIRTH.strftime("%Y%m%d")
    ds.OtherPatientIDs = "ALT-99-4711"
    ds.AccessionNumber = ds.StudyID = ACCESSION
    ds.InstitutionName = INSTITUTION
    ds.InstitutionAddress = "Quirinusplatz 3, Neuss"
    ds.ReferringPhysicianName = ds.PerformingPhysicianName = PHYSICIAN
    ds.OperatorsName = PHYSICIAN
    ds.StudyDescription = "LWS lateral Hildegard"
    ds.ImageComments = "Frau Hildegard Long Viewer, MRN-4711-XQ"
    ds.WindowCenterWidthExplanation = ["BONE Hildegard", "SOFT Hildegard"]
    ds.PixelSpacingCalibrationType = "FIDUCIAL"
    ds.PixelSpacingCalibrationDescription = "ruler held by Hildegard Long Viewer"
    ds.PixelSpacing = [0.139, 0.139]
    ds.SpecialNeeds = "Hildegard needs a hoist"
    ds.PatientTransportArrangements = "ambulance for Hildegard Long Viewer"
    ds.TimezoneOffsetFromUTC = TIMEZONE
    ds.AcquisitionDateTime = ds.AcquisitionDate + "093000" + TIMEZONE
    ds.PatientBirthDateInAlternativeCalendar = "Hildegard 5698-01-21"
    ds.PatientAlternativeCalendar = "J"
    request = Dataset()
    request.ReasonForTheRequestedProcedure = "back pain, Hildegard Long Viewer"
    request.RequestedProcedureID = "REQ-4711-77"
    ds.RequestAttributesSequence = Sequence([request])
    ds.ReasonForTheRequestedProcedure = "back pain, Hildegard Long Viewer"
    # Overlay plane with text in its description, label and bitmap; a curve.
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60000022, "LO", "Hildegard overlay")
    ds.add_new(0x60001500, "LO", "HILDEGARD")
    ds.add_new(0x60003000, "OW", b"HILDEGARD-MRN-4711-XQ\0\0\0")
    ds.add_new(0x50003000, "OW", b"HILDEGARD-CURVE\0")
    ds.add_new(0x60004000, "LT", "overlay comment Hildegard")
    # Private tags, flat and in a sequence.
    block = ds.private_block(0x0029, "ACME HOSPITAL 1.0", create=True)
    block.add_new(0x01, "LO", "Hildegard Long Viewer MRN-4711-XQ")
    block.add_new(0x02, "DA", BIRTH.strftime("%Y%m%d"))
    # A public element newer than the table (unknown to the dictionary), text VR.
    ds.add_new(0x0018FFF0, "LO", "Hildegard new public text")


def _needles(originals: dict[str, Dataset], study_dates: list[date]) -> list[str]:
    """Every string that must not appear in any output."""
    needles = [
        "HILDEGARD", "LONG VIEWER^", "LONG^VIEWER", "Long Viewer, Hildegard", PATIENT_ID,
        "MRN-4711", "ALT-99-4711", "REQ-4711", "BRANDTNER", "OTTOKAR", "Quirinus", ACCESSION,
        "ACME HOSPITAL", "Neuss", TIMEZONE, FOLDER,
    ]
    for d in [BIRTH, *study_dates]:
        needles += [d.strftime("%Y%m%d"), d.isoformat(), d.strftime("%d.%m.%Y"),
                    d.strftime("%m/%d/%Y"), d.strftime("%d/%m/%Y")]
    for ds in originals.values():
        for keyword in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"):
            if keyword in ds:
                needles.append(str(ds[keyword].value))
    return needles


def _encodings(needle: str) -> list[bytes]:
    out = []
    for variant in {needle, needle.upper(), needle.lower()}:
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "latin-1"):
            try:
                out.append(variant.encode(encoding))
            except UnicodeEncodeError:
                continue
    return out


def _pdf_layers(path: Path) -> list[bytes]:
    """The PDF's raw bytes, every stream decompressed, its text and metadata."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    layers = [path.read_bytes()]
    numbers = {n for objects in reader.xref.values() for n in objects} | set(reader.xref_objStm)
    assert numbers
    for number in sorted(numbers):
        obj = reader.get_object(number)
        if obj is not None and hasattr(obj, "get_data"):
            try:
                layers.append(obj.get_data())
            except Exception:  # an image stream whose filter pypdf does not decode
                continue
    layers.append(" ".join(p.extract_text() or "" for p in reader.pages).encode("utf-8"))
    layers.append(" ".join(str(v) for v in (reader.metadata or {}).values()).encode("utf-8"))
    return layers


def _leaks(path: Path, needles: list[str]) -> list[str]:
    layers = _pdf_layers(path) if path.suffix == ".pdf" else [path.read_bytes()]
    found = []
    for needle in needles:
        if any(enc in layer for enc in _encodings(needle) for layer in layers):
            found.append(f"{path.name}: {needle}")
        if needle.upper() in path.name.upper():
            found.append(f"file name {path.name}: {needle}")
    return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Every de-identified output of one run (module scope: the films are 5 MB each)."""
    import os

    tmp = tmp_path_factory.mktemp("deid")
    home = tmp / "home"
    old_home = os.environ.get("OVCF_VIEWER_HOME")
    os.environ["OVCF_VIEWER_HOME"] = str(home)
    try:
        folder = tmp / FOLDER
        folder.mkdir()
        originals: dict[str, Dataset] = {}
        study_dates: list[date] = []
        for name in FILMS:
            ds = pydicom.dcmread(SAMPLE / f"{name}.dcm")
            _enrich(ds)
            ds.save_as(folder / f"{FOLDER}_{name}.dcm", enforce_file_format=True)
            originals[name] = ds
            study_dates.append(date.fromisoformat(
                f"{ds.StudyDate[:4]}-{ds.StudyDate[4:6]}-{ds.StudyDate[6:]}"))
            doc = json.loads((SAMPLE / f"{name}.json").read_text())
            doc["image"]["file"] = f"{FOLDER}_{name}.dcm"
            (folder / f"{FOLDER}_{name}.json").write_text(json.dumps(doc))
        inputs = [str(folder / f"{FOLDER}_{n}.json") for n in FILMS]
        out = tmp / "out"
        out.mkdir()
        findings = ["--findings", str(FINDINGS)]
        assert main(["report", *inputs, *findings, "-o", str(out / "report.pdf"),
                     "--deidentify"]) == 0
        assert main(["report", *inputs, *findings, "-o", str(out / "report.dcm"),
                     "--deidentify"]) == 0
        assert main(["report", *inputs, *findings, "-o", str(tmp / "plain.pdf")]) == 0
        assert main(["export-sr", *inputs, "-o", str(out / "sr"), "--deidentify"]) == 0
        assert main(["export-csv", *inputs, "-o", str(out / "table.csv"), "--deidentify"]) == 0
        assert main(["export-csv", *inputs, "-o", str(tmp / "plain.csv")]) == 0
        annotations = [load_annotations(p) for p in inputs]
        case = save_teaching_case([folder / f"{FOLDER}_{n}.dcm" for n in FILMS], annotations,
                                  title="Wedge fracture L1")
        teaching = teaching_dir() / case.case_id
        shutil.copytree(teaching, out / "teaching")
        yield {"out": out, "tmp": tmp, "originals": originals, "study_dates": study_dates}
    finally:
        if old_home is None:
            os.environ.pop("OVCF_VIEWER_HOME", None)
        else:
            os.environ["OVCF_VIEWER_HOME"] = old_home


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file())


def test_every_output_is_written(exported):
    names = {p.relative_to(exported["out"]).parts[0] for p in _files(exported["out"])}
    assert names == {"report.pdf", "report.dcm", "sr", "table.csv", "teaching"}
    assert len(list((exported["out"] / "sr").glob("*.dcm"))) == 3
    assert len(list((exported["out"] / "teaching").glob("*.dcm"))) == 3


def test_the_needle_search_finds_phi_in_identified_outputs(exported):
    """The search itself can fail: the plain report and CSV and the enriched films carry
    the PHI it looks for."""
    needles = _needles(exported["originals"], exported["study_dates"])
    tmp = exported["tmp"]
    assert _leaks(tmp / "plain.pdf", needles)
    assert _leaks(tmp / "plain.csv", needles)
    film = next((tmp / FOLDER).glob("*.dcm"))
    found = " ".join(_leaks(film, needles))
    for needle in ("HILDEGARD", PATIENT_ID, TIMEZONE, "BRANDTNER", "Quirinus", ACCESSION):
        assert needle in found, needle


def test_no_phi_byte_in_any_output_or_file_name(exported):
    needles = _needles(exported["originals"], exported["study_dates"])
    leaks = [leak for path in _files(exported["out"]) for leak in _leaks(path, needles)]
    assert leaks == []


def test_no_clinical_word_blanked(exported):
    from pypdf import PdfReader

    reader = PdfReader(exported["out"] / "report.pdf")
    text = " ".join(p.extract_text() or "" for p in reader.pages)
    plain = " ".join(p.extract_text() or "" for p in PdfReader(exported["tmp"] / "plain.pdf")
                     .pages)
    assert "[removed]" not in text
    for phrase in ("Long convalescence", "OVCF Viewer"):
        assert phrase in plain, phrase  # the identified report says it: so must this one
        assert phrase in text, phrase
    assert FREE_TEXT_REMOVED in text  # the calibration description, replaced whole
    assert "text burned into them is not removed" in " ".join(text.split())
    assert "text burned into them" not in plain


def _dicoms(folder: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]


def test_one_patient_reads_alike_in_every_output(exported):
    out = exported["out"]
    teaching, srs = _dicoms(out / "teaching"), _dicoms(out / "sr")
    report_dcm = pydicom.dcmread(out / "report.dcm")
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    pseudonyms = {str(ds.PatientID) for ds in teaching + srs + [report_dcm]}
    pseudonyms |= {str(ds.PatientName).rstrip("^") for ds in teaching + srs + [report_dcm]}
    pseudonyms |= {r["patient_id"] for r in rows}
    assert len(pseudonyms) == 1 and pseudonyms.pop().startswith("ANON-")
    pseudonym = str(teaching[0].PatientID)
    from pypdf import PdfReader

    text = " ".join(p.extract_text() or "" for p in PdfReader(out / "report.pdf").pages)
    assert pseudonym in text
    # the SRs point at the teaching films' new UIDs, the CSV names them alike
    film_uids = {str(ds.SOPInstanceUID) for ds in teaching}
    referenced = {str(ds.CurrentRequestedProcedureEvidenceSequence[0]
                      .ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
                      .ReferencedSOPInstanceUID) for ds in srs}
    assert referenced == film_uids == {r["sop_instance_uid"] for r in rows}
    studies = {str(ds.StudyInstanceUID) for ds in teaching}
    assert {str(ds.StudyInstanceUID) for ds in srs} == studies
    assert str(report_dcm.StudyInstanceUID) in studies
    for ds in teaching + srs + [report_dcm]:
        assert ds.PatientIdentityRemoved == "YES"


def test_intervals_between_films_are_kept(exported):
    out = exported["out"]
    originals = [date.fromisoformat(d.isoformat()) for d in exported["study_dates"]]

    def as_date(text: str) -> date:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))

    teaching = sorted(as_date(str(ds.StudyDate)) for ds in _dicoms(out / "teaching"))
    offset = teaching[0] - min(originals)
    assert offset <= -timedelta(days=365)
    assert teaching == sorted(d + offset for d in originals)
    rows = list(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    plain = list(csv.DictReader(io.StringIO((exported["tmp"] / "plain.csv").read_text())))
    assert [r["interval_days"] for r in rows] == [r["interval_days"] for r in plain]
    assert {date.fromisoformat(r["date"]) for r in rows} == {
        date.fromisoformat(r["date"]) + offset for r in plain}
    # the teaching references carry the same shifted timepoint dates
    refs = [json.loads(p.read_text()) for p in (out / "teaching").glob("*.json")
            if p.name != "case.json"]
    assert {date.fromisoformat(r["timepoint"]["date"]) for r in refs} == {
        date.fromisoformat(r["date"]) for r in rows}


def test_kept_for_measurement(exported):
    for ds in _dicoms(exported["out"] / "teaching"):
        assert [float(v) for v in ds.PixelSpacing] == [0.139, 0.139]
        assert [float(v) for v in ds.ImagerPixelSpacing] == [0.16, 0.16]
        assert float(ds.EstimatedRadiographicMagnificationFactor) == 1.15
        assert ds.PhotometricInterpretation == "MONOCHROME2" and "WindowCenter" in ds
        assert ds.pixel_array.shape == (2000, 1400)
        assert not [e for e in ds if e.tag.group in (0x5000, 0x6000) or e.tag.is_private]
