"""``export-csv --deidentify``: the sample case, enriched with PHI in the header, its free
text and its folder name, exports with the same measurements and none of the PHI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pydicom

from ovcf_viewer.cli import main
from ovcf_viewer.services.csv_table import FREE_TEXT_REMOVED

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
PHI = {"name": "DOE^JANE", "id": "PID-12345", "folder": "DOE_JANE_2026"}


def _phi_case(tmp_path: Path) -> tuple[list[Path], list[str]]:
    """The sample pre/post films and annotations with PHI added; the JSON inputs and every
    string that must not reach a de-identified output."""
    folder = tmp_path / PHI["folder"]
    folder.mkdir()
    uids, dates = [], []
    for name in ("pre", "post"):
        ds = pydicom.dcmread(SAMPLE / f"{name}.dcm")
        ds.PatientName, ds.PatientID = PHI["name"], PHI["id"]
        ds.PixelSpacingCalibrationType = "FIDUCIAL"
        ds.PixelSpacingCalibrationDescription = "ruler held by DOE JANE"
        ds.PixelSpacing = [0.139, 0.139]  # differs from Imager Pixel Spacing: "in the patient"
        ds.WindowCenter, ds.WindowWidth = 2000, 4000
        ds.WindowCenterWidthExplanation = "set for JANE DOE"
        ds.save_as(folder / f"{name}.dcm")
        uids.append(str(ds.SOPInstanceUID))
        shutil.copy(SAMPLE / f"{name}.json", folder / f"{name}.json")
        doc = json.loads((folder / f"{name}.json").read_text())
        if doc.get("timepoint", {}).get("date"):
            dates.append(doc["timepoint"]["date"])
    secrets = [PHI["name"], "DOE", "JANE", PHI["id"], PHI["folder"], str(tmp_path), *uids,
               *dates, "ruler held", "set for"]
    return [folder / "pre.json", folder / "post.json"], secrets


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_deidentified_csv_keeps_measurements_and_drops_phi(tmp_path, capsys):
    inputs, secrets = _phi_case(tmp_path)
    assert main(["export-csv", *map(str, inputs), "-o", "-"]) == 0
    plain = capsys.readouterr().out
    assert PHI["id"] in plain  # the plain export does carry them: the test can fail
    assert main(["export-csv", *map(str, inputs), "-o", "-", "--deidentify"]) == 0
    captured = capsys.readouterr()
    for secret in secrets:
        assert secret not in captured.out, secret
        assert secret not in captured.err, secret
    plain_rows, clean_rows = _rows(plain), _rows(captured.out)
    assert len(plain_rows) == len(clean_rows) > 0
    kept = [c for c in plain_rows[0] if c not in (
        "case_id", "patient_id", "date", "sop_instance_uid", "file", "calibration_note")]
    for before, after in zip(plain_rows, clean_rows, strict=True):
        assert {c: before[c] for c in kept} == {c: after[c] for c in kept}
        assert after["case_id"] == "case-1" and after["patient_id"].startswith("ANON-")
        assert after["date"] and after["date"] != before["date"]  # shifted, not kept
        assert after["file"].startswith(after["patient_id"] + "-")
        assert after["sop_instance_uid"].startswith("2.25.")
        assert after["calibration_note"] in ("", FREE_TEXT_REMOVED)
    assert any(r["calibration_source"] == "pixel_spacing" for r in clean_rows)
    # one film, one pseudonym; two films, two
    by_film = {(r["file"], r["sop_instance_uid"]) for r in clean_rows}
    assert len(by_film) == 2
    assert len({r["patient_id"] for r in clean_rows}) == 1
    # the shift keeps the days between the films
    from datetime import date

    def span(rows):
        days = sorted({date.fromisoformat(r["date"]) for r in rows})
        return (days[-1] - days[0]).days

    assert span(clean_rows) == span(plain_rows) > 0


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return text + " " + meta


def test_deidentified_report_carries_no_phi_from_headers_free_text_or_paths(tmp_path):
    inputs, secrets = _phi_case(tmp_path)
    (inputs[0].parent / "post.dcm").unlink()  # a missing film: its path must not be printed
    out = tmp_path / "r.pdf"
    assert main(["report", *map(str, inputs), "-o", str(out), "--deidentify"]) == 0
    text = _pdf_text(out)
    assert "Calibration" in text  # the report is there
    leaked = [s for s in secrets if s in text]
    assert not leaked, leaked
