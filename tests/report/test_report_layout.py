"""The report's layout and wording: on the one-film and three-film sample reports every page
but the last is inked down to at least 60 % of its text frame (no film section pushed to a new
page leaving the one before mostly blank); no settings placeholder, nested brackets or bare
number; the film figure keeps the film's burned-in side marker (the synthetic samples carry an
"L" or "R" in the upper anterior corner); Genant's height reduction and LOVBH differ where
they should (a biconcave fracture), each checked against a hand computation."""

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
from tests.shots import shots_dir

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
    shots = shots_dir()
    if shots is not None:  # the engineer's look at the pages
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


@pytest.mark.parametrize("annotations", [
    SAMPLE / "pre.json",
    SAMPLE.parent / "variants" / "cr_mono1_right.json",  # MONOCHROME1, facing right, "R"
])
def test_crop_keeps_the_burned_in_side_marker(annotations):
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.report.figure import _anterior_sign
    from ovcf_viewer.report.inputs import prepare_source

    film = prepare_source(load_case_inputs([annotations]), Settings()).films[0]
    marker = side_marker_box(film)
    assert marker is not None
    # devtools.synthetic: a letter 14 mm tall, 12 mm from the top, in the anterior corner
    cal = film.calibration
    assert marker[1] * cal.row_mm == pytest.approx(12.0, abs=1.5)
    assert (marker[3] - marker[1]) * cal.row_mm == pytest.approx(14.0, abs=1.5)
    if _anterior_sign(film.annotations) < 0:
        assert marker[0] * cal.col_mm == pytest.approx(12.0, abs=1.5)
    else:
        assert 10.0 <= (film.image.columns - marker[2]) * cal.col_mm <= 28.0
    assert marker_in_region(marker, _crop_region(film, marker))


def test_tight_crop_would_cut_the_marker_and_the_figure_says_so():
    """Without widening, the sample's crop misses the marker; the figure keeps it and the side
    panel states the orientation and that the marker is in the figure."""
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.report.inputs import prepare_source

    film = prepare_source(load_case_inputs([SAMPLE / "pre.json"]), Settings()).films[0]
    assert not marker_in_region(side_marker_box(film), _crop_region(film))
    text = " ".join(" ".join(page_texts(_report(("pre",)))[0].split()).split())
    assert "Orientation anterior to the left; side marker in the figure" in text


def test_height_reduction_and_lovbh_differ_on_a_biconcave_fracture(tmp_path):
    """With L1's middle height collapsed (biconcave), Genant's reduction is the middle one and
    LOVBH stays the anterior one: the summary prints two different numbers, each as
    computed here by hand from the landmark coordinates (§1, §4)."""
    import json
    import math
    import shutil

    from ovcf_viewer.io.dicom import load_image

    shutil.copy(SAMPLE / "pre.dcm", tmp_path / "pre.dcm")
    doc = json.loads((SAMPLE / "pre.json").read_text(encoding="utf-8"))
    points = {v["level"]: v["points"] for v in doc["vertebrae"]}
    l1 = points["L1"]
    sm, im = l1["sm"], l1["im"]
    # both endplates bulge into the body: the middle height shrinks to 40 %
    l1["sm"] = [sm[0] + 0.3 * (im[0] - sm[0]), sm[1] + 0.3 * (im[1] - sm[1])]
    l1["im"] = [im[0] - 0.3 * (im[0] - sm[0]), im[1] - 0.3 * (im[1] - sm[1])]
    (tmp_path / "pre.json").write_text(json.dumps(doc), encoding="utf-8")

    cal = load_image(tmp_path / "pre.dcm").calibration()

    def height(level: str, x: str) -> float:
        (x0, y0), (x1, y1) = points[level][f"s{x}"], points[level][f"i{x}"]
        return math.hypot((x1 - x0) * cal.col_mm, (y1 - y0) * cal.row_mm)

    reductions = {x: 1 - height("L1", x) / ((height("T12", x) + height("L2", x)) / 2)
                  for x in "amp"}
    assert max(reductions, key=reductions.get) == "m"
    a0, a1, a2 = height("L1", "a"), height("T12", "a"), height("L2", "a")
    lovbh = ((a1 + a2) - 2 * a0) / (a1 + a2) * 100
    reduction = reductions["m"] * 100
    assert abs(reduction - lovbh) > 5  # the construction makes them differ

    from ovcf_viewer.report import format_pct
    from tests.pdf_helpers import layout_lines

    source = prepare_report_from_paths([tmp_path / "pre.json"], Settings())
    lines = [line for page in layout_lines(build_report(source, Settings(), report_date=WHEN))
             for line in page]
    row = next(line for line in lines if line.startswith("L1 Pre-operative"))
    assert f"{format_pct(reduction)} (Hm)" in row
    assert row.split("(Hm)", 1)[1].split()[2:4] == format_pct(lovbh).split()
