"""``ovcf-viewer report INPUT... -o report.pdf``: annotation files or a case
document in, the PDF out; bad input is one line on stderr with exit status 2."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from ovcf_viewer.cli import main
from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.case import save_case
from ovcf_viewer.model.settings import Settings, save_settings, settings_path
from ovcf_viewer.report import DEIDENTIFIED, DISCLAIMER
from tests.pdf_helpers import page_texts

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"
FINDINGS = REPO / "docs" / "examples" / "case-0001-preop-findings.json"


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("case")
    for name in ("pre", "post", "followup"):
        for suffix in (".json", ".dcm"):
            shutil.copy(SAMPLE / f"{name}{suffix}", folder / f"{name}{suffix}")
    return folder


def _inputs(folder: Path) -> list[str]:
    return [str(folder / f"{name}.json") for name in ("pre", "post", "followup")]


def _text(pdf_path: Path) -> str:
    return " ".join(" ".join(page_texts(pdf_path)).split())


def test_annotation_files_to_letter_pdf(sample_dir, tmp_path, capsys):
    out = tmp_path / "report.pdf"
    code = main(["report", *_inputs(sample_dir), "-o", str(out), "--page-size", "Letter",
                 "--findings", str(FINDINGS)])
    assert code == 0, capsys.readouterr().err
    reader = PdfReader(out)
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (612, 792)
    text = _text(out)
    assert "SYNTHETIC" in text and "OVCF-0001" in text
    assert "Modified OF score" in text and "Before, after and follow-up" in text
    assert DISCLAIMER in text


def test_page_size_from_settings_and_deidentify(sample_dir, tmp_path, capsys):
    save_settings(Settings(page_size="Letter", institution="Clinic X"),
                  settings_path())
    out = tmp_path / "anon.pdf"
    assert main(["report", *_inputs(sample_dir), "-o", str(out), "--deidentify"]) == 0
    reader = PdfReader(out)
    assert float(reader.pages[0].mediabox.width) == 612
    text = _text(out)
    assert DEIDENTIFIED in text and "Clinic X" in text
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    for identifier in ("SYNTHETIC", "OVCF-0001", "1948-03-02", "pre.dcm"):
        assert identifier not in text and identifier not in metadata
    # A4 on request overrides the setting
    out_a4 = tmp_path / "a4.pdf"
    assert main(["report", *_inputs(sample_dir), "-o", str(out_a4), "--page-size", "a4"]) == 0
    assert round(float(PdfReader(out_a4).pages[0].mediabox.height), 1) == 841.9


def test_case_document_input(sample_dir, tmp_path, capsys):
    case = load_case_inputs(_inputs(sample_dir))
    case = replace(case, procedure="PKP", approach="bilateral")
    document = sample_dir / "case.json"
    save_case(case, document)
    out = tmp_path / "case.pdf"
    assert main(["report", str(document), "-o", str(out)]) == 0, capsys.readouterr().err
    text = _text(out)
    assert "Percutaneous kyphoplasty (PKP), bilateral" in text
    assert "No clinical findings entered" in text


def test_missing_film_still_reports(sample_dir, tmp_path, capsys):
    folder = tmp_path / "partial"
    folder.mkdir()
    for name in ("pre", "post"):
        shutil.copy(sample_dir / f"{name}.json", folder / f"{name}.json")
    shutil.copy(sample_dir / "pre.dcm", folder / "pre.dcm")  # post.dcm is missing
    out = tmp_path / "partial.pdf"
    code = main(["report", str(folder / "pre.json"), str(folder / "post.json"), "-o", str(out)])
    assert code == 0
    assert "post.dcm not found" in capsys.readouterr().err
    text = _text(out)
    assert "Film missing" in text and "lengths in pixels" in text


@pytest.mark.parametrize(
    "make_input,fragment",
    [
        (lambda d: d / "nothing.json", "nothing.json"),
        (lambda d: (d / "bad.json").write_text("{not json", encoding="utf-8") and d / "bad.json",
         "bad.json"),
        (lambda d: (d / "other.json").write_text('{"format": "x", "version": 1}',
                                                 encoding="utf-8") and d / "other.json",
         "other.json"),
    ],
)
def test_bad_input_exit_2(tmp_path, capsys, make_input, fragment):
    path = make_input(tmp_path)
    code = main(["report", str(path), "-o", str(tmp_path / "r.pdf")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ovcf-viewer report: ") and fragment in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.pdf").exists()


def test_bad_findings_exit_2(sample_dir, tmp_path, capsys):
    findings = tmp_path / "findings.json"
    findings.write_text('{"format": "ovcf-findings", "version": 1, "t_score": "low"}',
                        encoding="utf-8")
    code = main(["report", *_inputs(sample_dir), "-o", str(tmp_path / "r.pdf"),
                 "--findings", str(findings)])
    err = capsys.readouterr().err
    assert code == 2 and "findings.json" in err and "t_score" in err


def test_unwritable_output_exit_1(sample_dir, tmp_path, capsys):
    target = tmp_path / "no-such-folder" / "r.pdf"
    code = main(["report", *_inputs(sample_dir), "-o", str(target)])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write" in err


def test_help_lists_report(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "report" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    help_text = capsys.readouterr().out
    assert "--deidentify" in help_text and "--page-size" in help_text


def test_report_bytes_are_a_pdf(sample_dir, tmp_path):
    out = tmp_path / "r.pdf"
    assert main(["report", _inputs(sample_dir)[0], "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(PdfReader(io.BytesIO(data)).pages) >= 3
