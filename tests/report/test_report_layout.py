"""The report's pages are filled: on the one-film and three-film sample reports every page but
the last is inked down to at least 60 % of its text frame (no film section pushed to a new
page leaving the one before mostly blank), and the film figure keeps the film's burned-in
side marker (the synthetic samples carry an "L" in the upper anterior corner)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report import build_report
from ovcf_viewer.report.figure import _crop_region, marker_in_region, side_marker_box
from ovcf_viewer.services.report import prepare_report_from_paths
from tests.pdf_helpers import page_texts, render_pages

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom" / "case-0001"
FINDINGS = Path(__file__).resolve().parents[2] / "docs" / "examples" / \
    "case-0001-preop-findings.json"
WHEN = datetime(2026, 11, 26, 9, 0)
MM = 72 / 25.4
TOP, BOTTOM = 25 * MM, 19 * MM  # the report's text frame (report.sections.base)


def _report(films: tuple[str, ...], findings: Path | None = None) -> bytes:
    source = prepare_report_from_paths([SAMPLE / f"{n}.json" for n in films], Settings(),
                                       findings_path=findings)
    return build_report(source, Settings(), report_date=WHEN)


def inked_fraction(image, dpi: float) -> float:
    """How far down the text frame the page carries ink: the lowest row with a dark pixel,
    as a fraction of the frame's height (running header and footer excluded)."""
    grey = np.asarray(image.convert("L"))
    top, bottom = round(TOP * dpi / 72), grey.shape[0] - round(BOTTOM * dpi / 72)
    rows = np.nonzero((grey[top:bottom] < 200).any(axis=1))[0]
    return 0.0 if rows.size == 0 else (rows[-1] + 1) / (bottom - top)


@pytest.mark.parametrize(("films", "findings"), [
    (("pre",), None),
    (("pre", "post", "followup"), FINDINGS),
], ids=["one-film", "three-film"])
def test_every_page_but_the_last_is_filled(films, findings):
    pdf = _report(films, findings)
    pages = render_pages(pdf, dpi=50)
    fractions = [inked_fraction(page, 50) for page in pages]
    assert len(pages) >= 2
    for number, fraction in enumerate(fractions[:-1], start=1):
        assert fraction >= 0.6, f"page {number} inked to {fraction:.0%} only: {fractions}"
    assert fractions[-1] > 0.05  # the last page is not empty either
    shots = Path("/tmp/report-layout-shots")
    if shots.is_dir():  # the engineer's look at the pages
        for n, page in enumerate(render_pages(pdf, dpi=100), start=1):
            page.save(shots / f"{len(films)}-film-p{n}.png")


def test_one_film_report_starts_the_film_on_page_one():
    first = page_texts(_report(("pre",)))[0]
    assert "Summary of index levels" in first and "Pre-operative — " in first


def test_no_settings_placeholder_and_no_nested_brackets():
    text = " ".join(page_texts(_report(("pre", "post", "followup"), FINDINGS)))
    assert "not set" not in text and "(Settings)" not in text
    assert "Institution" not in text and "Physician" not in text  # unset: left out
    assert "(segmental (bisegmental)" not in text
    assert "restored +" in text
    restored = text.split("restored ", 1)[1].split("(", 1)[0]
    assert "mm" in restored  # "restored +5.7 mm at detector", never a bare number


def test_crop_keeps_the_burned_in_side_marker():
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.report.inputs import prepare_source

    for name, corner in (("pre", "left"),):
        source = prepare_source(load_case_inputs([SAMPLE / f"{name}.json"]), Settings())
        film = source.films[0]
        marker = side_marker_box(film)
        assert marker is not None
        # the synthetic "L" is 14 mm tall, 12 mm from the top and the anterior edge (§ devtools)
        cal = film.calibration
        assert marker[1] * cal.row_mm == pytest.approx(12.0, abs=1.5)
        assert (marker[3] - marker[1]) * cal.row_mm == pytest.approx(14.0, abs=1.5)
        assert corner == "left" and marker[0] * cal.col_mm == pytest.approx(12.0, abs=1.5)
        region = _crop_region(film, marker)
        assert marker_in_region(marker, region)
        assert not marker_in_region(marker, _crop_region(film))  # it would be cut without
