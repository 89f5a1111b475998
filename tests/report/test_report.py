"""The PDF report: the text read back from the PDF carries every number of the model,
de-identification leaves no identifier anywhere in the file, missing films and uncalibrated
films are reported as such, A4 and Letter, nothing outside the page, and the timing.

Expected values are computed independently of the report: images loaded with ``load_image``,
calibrated per docs/clinical-reference.md §1, measured with ``measure_image`` / ``compare`` and
formatted with the report's own formatting functions (the formatting is the only shared
piece; the numbers are not taken from the report builder).
"""

from __future__ import annotations

import io
import math
import re
import shutil
import time
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pypdf import PdfReader

from ovcf_viewer import __version__
from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.io.dicom import load_image
from ovcf_viewer.measure.measurements import measure_image
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report import (
    DEIDENTIFIED,
    DISCLAIMER,
    build_report,
    format_angle,
    format_length,
    format_pct,
    format_points,
    format_ratio,
    format_signed_angle,
    format_signed_length,
    format_signed_pct,
    genant_text,
)
from ovcf_viewer.services.compare import compare
from ovcf_viewer.services.report import prepare_report_from_paths
from ovcf_viewer.suitability import (
    Findings,
    evaluate,
    measured_inputs_from,
    rules_for_settings,
)
from tests.pdf_helpers import drawn_images, layout_lines, page_fragments, page_texts, render_pages

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom" / "case-0001"
FILMS = ("pre", "post", "followup")
NAME, GIVEN, PATIENT_ID, BIRTH = "QUARTZWELL", "WINIFRED", "PID-774411", "19390714"
WHEN = datetime(2026, 11, 25, 9, 30)
SETTINGS = Settings(institution="Spine Centre Testville", physician="Dr. Test Surgeon")
FINDINGS = Findings(
    pain_duration_weeks=3, mri_oedema=True, posterior_wall_involvement=False,
    neurological_deficit=False, t_score=-3.2, vas_under_analgesia=7,
    mobilisation_possible=False, of_type="OF2", symptomatic=True,
)


def _copy_case(folder: Path, *, films=FILMS, drop_spacing=(), skip_images=()) -> list[Path]:
    """The sample case under ``folder`` with a made-up patient identity in every header;
    ``drop_spacing`` films lose both spacing tags (no calibration), ``skip_images`` films have
    their annotation file but no image (film missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in films:
        shutil.copy(SAMPLE / f"{name}.json", folder / f"{name}.json")
        out.append(folder / f"{name}.json")
        if name in skip_images:
            continue
        ds = pydicom.dcmread(SAMPLE / f"{name}.dcm")
        ds.PatientName = f"{NAME}^{GIVEN}"
        ds.PatientID = PATIENT_ID
        ds.PatientBirthDate = BIRTH
        if name in drop_spacing:
            for keyword in ("ImagerPixelSpacing", "PixelSpacing"):
                if keyword in ds:
                    delattr(ds, keyword)
        ds.save_as(folder / f"{name}.dcm")
    return out


def _pdf_text(pdf: bytes, *, layout: bool) -> list[str]:
    """Text of each page read back with pypdf: in content order, or with ``layout`` as
    visual lines from the text positions (a table row on one line, cells in column order)."""
    if layout:
        return ["\n".join(lines) for lines in layout_lines(pdf)]
    return page_texts(pdf)


def _norm(text: str) -> str:
    return " ".join(text.split())


def _lines(pages: list[str]) -> list[str]:
    return [_norm(line) for page in pages for line in page.splitlines()]


def _expected_case(paths: list[Path], settings: Settings):
    """The model, computed without the report: the case, its images' calibrations (§1) and
    the comparison (which measures every film with ``measure_image``)."""
    case = load_case_inputs(paths)
    calibrations = {}
    for film in case.films:
        if film.path is not None and film.path.is_file():
            image = load_image(film.path)
            calibrations[film.sop_instance_uid] = image.calibration(
                use_magnification=settings.use_magnification,
                manual=film.annotations.manual_calibration,
            )
    return case, compare(case, settings, calibrations)


def _reduction(v) -> str:
    """Genant's height reduction as the report prints it: the percentage and the height it
    comes from, the most reduced of Ha, Hm, Hp (§4)."""
    known = {k: r for k, r in v.genant.reductions.items() if r is not None}
    worst = max(known, key=known.get)
    return f"{format_pct(v.genant.height_reduction_pct)} (H{worst})"


def _section(text: str, start: str, end_markers: tuple[str, ...]) -> str:
    i = text.index(start)
    ends = [text.find(m, i + len(start)) for m in end_markers]
    ends = [e for e in ends if e != -1]
    return text[i: min(ends) if ends else len(text)]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The three-timepoint sample case with findings, built once for the module."""
    folder = tmp_path_factory.mktemp("case")
    paths = _copy_case(folder)
    findings = folder / "findings.json"
    findings.write_text(FINDINGS.to_json(), encoding="utf-8")
    start = time.perf_counter()
    source = prepare_report_from_paths(paths, SETTINGS, findings_path=findings)
    pdf = build_report(source, SETTINGS, report_date=WHEN)
    elapsed = time.perf_counter() - start
    return {"folder": folder, "paths": paths, "pdf": pdf, "elapsed": elapsed,
            "source": source}


# ------------------------------------------------------------------------------ timing


def test_three_timepoint_report_time(sample, tmp_path):
    """asks for under 2 s; the figure is printed (run with -s), the bound generous."""
    paths = _copy_case(tmp_path / "again")
    start = time.perf_counter()
    source = prepare_report_from_paths(paths, SETTINGS)
    pdf = build_report(source, SETTINGS)
    elapsed = time.perf_counter() - start
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    print(f"\nreport of the three-timepoint sample case: {elapsed:.2f} s "
          f"(first build incl. imports {sample['elapsed']:.2f} s), {pages} pages, "
          f"{len(pdf) / 1e6:.1f} MB")
    assert elapsed < 10.0


# ------------------------------------------------------------------------------ numbers


def test_every_film_table_matches_the_model(sample):
    _case, comp = _expected_case(sample["paths"], SETTINGS)
    layout = _lines(_pdf_text(sample["pdf"], layout=True))
    full = "\n".join(layout)
    assert len(comp.films) == 3
    for film in comp.films:
        m = film.measurements
        section = _section(full, f"Vertebral measurements — {film.label}",
                           ("Vertebral measurements —", "Procedure suitability"))
        unit = film.calibration.unit_tag
        assert f"Heights ({unit})" in section
        rows = section.splitlines()
        assert len(m.vertebrae) == 7  # T11 to L5
        for level, v in m.vertebrae.items():
            star = " *" if level in m.index_levels else ""
            expected = " ".join([
                level + star,
                format_length(v.anterior_height_mm), format_length(v.middle_height_mm),
                format_length(v.posterior_height_mm), format_ratio(v.wedge_ratio),
                format_ratio(v.biconcavity_ratio), format_ratio(v.crush_ratio),
                format_angle(v.wedge_angle_deg), _reduction(v), genant_text(v),
            ])
            assert any(r.startswith(expected) for r in rows), (film.label, expected)
        for level, index in m.index_levels.items():
            # the endplates cell wraps onto the line above; the numbers share one line
            expected = " ".join([level, format_angle(index.segmental_kyphosis_deg),
                                 format_angle(index.wedge_angle_deg),
                                 format_angle(index.cobb_deg(SETTINGS.cobb_definition)),
                                 format_pct(index.lovbh_pct)])
            assert expected in rows, expected


def test_summary_and_comparison_match_the_model(sample):
    _case, comp = _expected_case(sample["paths"], SETTINGS)
    rows = _lines(_pdf_text(sample["pdf"], layout=True))
    raw = _norm(" ".join(_pdf_text(sample["pdf"], layout=False)))
    # summary of the index level across films
    for film in comp.films:
        v = film.measurements.vertebrae["L1"]
        i = film.measurements.index_levels["L1"]
        expected = " ".join([
            "L1", film.label, genant_text(v), _reduction(v),
            format_ratio(v.wedge_ratio), format_angle(i.segmental_kyphosis_deg),
            format_pct(i.lovbh_pct), film.calibration.unit_tag,
        ])
        assert any(r.startswith(expected) for r in rows), expected
    # heights at each timepoint, mm and % of reference, every compared level
    names = {"a": "Ha anterior", "m": "Hm middle", "p": "Hp posterior"}
    for lc in comp.levels:
        for k, name in names.items():
            cells = [name]
            for heights, pct in zip(lc.heights_mm, lc.pct_of_reference, strict=True):
                cells += [format_length(heights[k]), format_pct(pct[k])]
            expected = " ".join(cells)
            assert any(r.endswith(expected) for r in rows), expected
    # restoration four ways at the treated level
    l1 = comp.level("L1")
    assert l1.role == "treated" and len(l1.restoration) == 3
    for r in l1.restoration:
        expected = " ".join([
            names[r.height], format_length(r.pre_mm), format_length(r.post_mm),
            format_length(r.reference_mm), format_signed_length(r.absolute_mm),
            format_signed_pct(r.pct_of_initial), format_signed_pct(r.pct_of_lost),
            format_signed_pct(r.pct_of_reference), format_signed_length(r.ratio_change_pp),
        ])
        assert any(row.startswith(expected) for row in rows), expected
    # kyphosis correction and its loss
    k = l1.kyphosis
    assert k is not None and k.losses
    expected = " ".join([format_angle(k.pre_deg), format_angle(k.post_deg),
                         format_signed_angle(k.correction_deg)])
    assert any(expected in row for row in rows), expected
    assert any(format_signed_angle(k.losses[0].loss_deg) in row for row in rows)
    # height loss at follow-up
    for loss in l1.height_loss:
        expected = " ".join([
            "L1 *", names[loss.height], loss.followup_label, format_length(loss.post_mm),
            format_length(loss.followup_mm), format_signed_length(loss.loss_mm),
            format_signed_pct(loss.loss_pct_of_post),
        ])
        assert any(row.startswith(expected) for row in rows), expected
    # key results on page 1 say the same
    a = l1.restoration_for("a")
    unit = comp.film(comp.preop_uid).calibration.unit_tag
    assert (f"restored {format_signed_length(a.absolute_mm)} {unit} "
            f"({format_signed_pct(a.pct_of_initial)} of initial") in raw
    assert not comp.new_deformities
    assert "New deformities: none" in raw


def test_calibration_definitions_and_page_furniture(sample):
    _case, comp = _expected_case(sample["paths"], SETTINGS)
    pages = _pdf_text(sample["pdf"], layout=False)
    raw = _norm(" ".join(pages))
    for film in comp.films:
        assert _norm(film.calibration.statement()) in raw
    assert "mm at detector" in raw
    assert "superior endplate (sp→sa) of the vertebra above" in raw
    assert "Reference: adjacent vertebrae" in raw  # the Genant reference setting
    assert "Spine Centre Testville" in raw and "Dr. Test Surgeon" in raw
    assert f"{NAME}, {GIVEN}" in raw or f"{NAME} {GIVEN}" in raw
    assert PATIENT_ID in raw and "1939-07-14" in raw
    assert "2026-11-25 09:30" in raw
    assert "Signature" in raw
    for n, page in enumerate(pages, start=1):
        text = _norm(page)
        assert f"Page {n} of {len(pages)}" in text
        assert DISCLAIMER in text
        assert f"OVCF Viewer {__version__}" in text


def test_suitability_summary_matches_the_evaluation(sample):
    """The OF score and each option's status equal an independent evaluation of the
    pre-operative film with the same findings (docs/clinical-reference.md §6)."""
    case, comp = _expected_case(sample["paths"], SETTINGS)
    pre = comp.film(comp.preop_uid)
    rules = rules_for_settings(SETTINGS)
    measured = measured_inputs_from(pre.measurements, list(comp.treated_levels), [],
                                    film="pre-operative film", rules=rules)
    expected = evaluate(FINDINGS, measured, rules)
    rows = _lines(_pdf_text(sample["pdf"], layout=True))
    raw = _norm(" ".join(_pdf_text(sample["pdf"], layout=False)))
    assert expected.of_score.total is not None
    total = (f"Total {format_points(expected.of_score.total, signed=False)} "
             f"{expected.of_score.recommendation}")
    assert any(r.startswith(total) for r in rows), total
    for item in expected.of_score.items:
        assert _norm(item.detail) in raw
    for option in expected.options:
        assert f"{option.status}" in raw
        for reason in option.reasons:
            assert _norm(reason.text) in raw, reason.text
    assert DISCLAIMER in raw


# ------------------------------------------------------------------------------ de-identified


def _all_strings(pdf: bytes) -> str:
    """Everything a reader could find: raw bytes, every inflated stream, the metadata."""
    parts = [pdf.decode("latin-1")]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue  # an image stream (DCT, or not deflated): no text in it
    return "\n".join(parts)


def test_deidentified_report_has_no_identifiers(sample):
    source = sample["source"]
    pdf = build_report(source, SETTINGS, deidentify=True, report_date=WHEN)
    reader = PdfReader(io.BytesIO(pdf))
    metadata = " ".join(str(v) for v in (reader.metadata or {}).values())
    # two ways of reading the text: the positioned fragments laid out, and plain extraction
    text = _norm(" ".join(_pdf_text(pdf, layout=True)))
    plain_text = " ".join(page.extract_text() for page in reader.pages)
    blob = _all_strings(pdf)
    assert DEIDENTIFIED in text
    forbidden = [NAME, GIVEN, PATIENT_ID, BIRTH, "1939-07-14", "14.07.1939",
                 "pre.dcm", "post.dcm", "followup.dcm", str(sample["folder"]), "2026-01-05"]
    for word in forbidden:
        for where, haystack in (("layout text", text), ("plain text", plain_text),
                                ("metadata", metadata), ("bytes", blob)):
            assert word.lower() not in haystack.lower(), (word, where)
    assert "female" not in text
    # …and the measurements are still all there
    l1 = source.films[0].measurements.vertebrae["L1"]
    assert format_length(l1.anterior_height_mm) in text


# ---------------------------------------------------------------- missing film, no calibration


def test_missing_film_is_reported_and_measured_in_pixels(tmp_path):
    paths = _copy_case(tmp_path / "case", skip_images=("post",))
    source = prepare_report_from_paths(paths, SETTINGS)
    pdf = build_report(source, SETTINGS, report_date=WHEN)
    pages = _pdf_text(pdf, layout=True)
    rows = _lines(pages)
    raw = _norm(" ".join(_pdf_text(pdf, layout=False)))
    assert "Film missing" in raw and "post.dcm not found" in raw
    assert "lengths in pixels" in raw
    # the post-operative film's saved landmarks, measured in pixels (§1: no calibration)
    post = load_annotations(tmp_path / "case" / "post.json")
    expected = measure_image(post, Calibration.none(), SETTINGS)
    section = _section("\n".join(rows), "Vertebral measurements — Post-operative",
                       ("Vertebral measurements —", "Calibration and definitions"))
    assert "Heights (px)" in section
    for level, v in expected.vertebrae.items():
        star = " *" if level in expected.index_levels else ""
        cells = " ".join([level + star, format_length(v.anterior_height_mm),
                          format_length(v.middle_height_mm), format_length(v.posterior_height_mm),
                          format_ratio(v.wedge_ratio)])
        assert any(r.startswith(cells) for r in section.splitlines()), cells
    # the comparison says the films differ in calibration instead of mixing mm and px:
    # no millimetre minus pixel, no "new deformity" from a change of unit
    assert "different calibration sources" in raw
    assert "mm and px cannot be subtracted" in raw
    assert "new deformities were not assessed between them" in raw
    assert "New deformity:" not in raw and "ADJACENT/OTHER LEVEL" not in raw
    _case, comp = _expected_case(paths, SETTINGS)
    restored = comp.level("L1").restoration_for("a")
    row = " ".join(["Ha anterior", format_length(restored.pre_mm),
                    format_length(restored.post_mm), format_length(restored.reference_mm),
                    "— — — —", format_signed_length(restored.ratio_change_pp)])
    assert any(r.startswith(row) for r in rows), row


def test_uncalibrated_single_film(tmp_path):
    paths = _copy_case(tmp_path / "case", films=("pre",), drop_spacing=("pre",))
    source = prepare_report_from_paths(paths, SETTINGS)
    assert not source.films[0].calibration.is_calibrated
    pdf = build_report(source, SETTINGS, report_date=WHEN)
    raw = _norm(" ".join(_pdf_text(pdf, layout=False)))
    rows = _lines(_pdf_text(pdf, layout=True))
    assert "No calibration: lengths in pixels" in raw
    assert "Heights (px)" in "\n".join(rows)
    assert "mm at detector" not in raw
    assert "Before, after and follow-up" not in raw  # one film: nothing to compare
    annotations = load_annotations(paths[0])
    expected = measure_image(annotations, Calibration.none(), SETTINGS).vertebrae["L1"]
    cells = " ".join(["L1 *", format_length(expected.anterior_height_mm),
                      format_length(expected.middle_height_mm),
                      format_length(expected.posterior_height_mm)])
    assert any(r.startswith(cells) for r in rows), cells
    assert "No clinical findings entered" in raw


# ---------------------------------------------------------------- page size and layout


@pytest.mark.parametrize("page_size,expected", [("A4", (595.3, 841.9)), ("Letter", (612, 792))])
def test_page_size_and_nothing_outside_the_margins(sample, tmp_path, page_size, expected):
    pdf = build_report(sample["source"], SETTINGS, page_size=page_size, report_date=WHEN)
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(path)
    for page in reader.pages:
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(expected, abs=0.1)
    # Nothing drawn (text, rules, figures) lies in the 10 mm margin: the pages rendered at
    # 72 dpi (one pixel per point) have ink only inside the margin box (one pixel of slack
    # for anti-aliasing).
    margin = 10 / 25.4 * 72
    for number, image in enumerate(render_pages(pdf, dpi=72), start=1):
        ink = (np.asarray(image) < 250).any(axis=2)
        rows, columns = np.nonzero(ink)
        assert len(rows) > 1000, f"page {number} is blank"
        assert columns.min() >= math.floor(margin) - 1, number
        assert columns.max() <= math.ceil(expected[0] - margin), number
        assert rows.min() >= math.floor(margin) - 1, number
        assert rows.max() <= math.ceil(expected[1] - margin), number
    # …and every text fragment starts inside it (read from the content streams' positions)
    fragments = [f for page in page_fragments(pdf) for f in page]
    assert sum(len(f.text.split()) for f in fragments) > 500
    for f in fragments:
        assert margin <= f.x <= expected[0] - margin, f
        assert margin <= f.y <= expected[1] - margin, f


def test_sample_report_pages_render(sample, tmp_path):
    """PDFium (pypdfium2) renders every page, and no page comes out blank; the pages are
    written as PNG files (the way to look at them)."""
    images = render_pages(sample["pdf"], dpi=30)
    assert len(images) == len(PdfReader(io.BytesIO(sample["pdf"])).pages) >= 5
    for number, image in enumerate(images, start=1):
        assert image.width == pytest.approx(595.3 * 30 / 72, abs=1)  # A4 by default
        # the text frame only (the running header and footer are on every page); small text
        # at 30 dpi renders grey: ink is anything clearly darker than paper
        body = np.asarray(image)[round(25 / 25.4 * 30):-round(19 / 25.4 * 30)]
        assert (body < 200).any(axis=2).sum() > 500, f"page {number} is blank"
        image.save(tmp_path / f"page-{number}.png")
    assert len(sorted(tmp_path.glob("page-*.png"))) == len(images)


def test_images_only_in_film_figures_at_print_resolution(sample):
    """Crops are the only raster images: the main figure of each film at about 300 dpi
    (never upsampled: the close-up shows the film's own pixels); tables, chart and overlays
    are vector."""
    by_page: dict[int, list[float]] = {}
    for image in drawn_images(sample["pdf"]):
        by_page.setdefault(image.page, []).append(image.ppi_x)
    pages = _pdf_text(sample["pdf"], layout=False)
    film_pages = {n for n, text in enumerate(pages, start=1)
                  if "Lengths in" in text}  # the facts table beside each film's figure
    assert set(by_page) == film_pages and len(film_pages) == 3
    for ppis in by_page.values():
        assert 280 <= max(ppis) <= 330
    trend_page = next(n for n, text in enumerate(pages, start=1) if "Trend" in text)
    assert trend_page not in by_page


# ------------------------------------------------------------------------------ pixel aspect

NONSQUARE = REPO / "sample_dicom" / "variants"


def _nonsquare_copy(folder: Path, *, aspect_ratio_only: bool = False) -> Path:
    """dx_nonsquare (Imager Pixel Spacing 0.16 rows × 0.10 columns) and its annotation file;
    with ``aspect_ratio_only`` the spacing is replaced by Pixel Aspect Ratio 16\\10 (an
    uncalibrated film whose pixels are still 1.6 times as high as wide)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NONSQUARE / "dx_nonsquare.json", folder / "dx_nonsquare.json")
    ds = pydicom.dcmread(NONSQUARE / "dx_nonsquare.dcm")
    assert [float(v) for v in ds.ImagerPixelSpacing] == [0.16, 0.10]
    if aspect_ratio_only:
        for keyword in ("ImagerPixelSpacing", "PixelSpacing"):
            if keyword in ds:
                delattr(ds, keyword)
        ds.PixelAspectRatio = [16, 10]
    ds.save_as(folder / "dx_nonsquare.dcm")
    return folder / "dx_nonsquare.json"


@pytest.mark.parametrize("aspect_ratio_only", [False, True], ids=["spacing", "aspect-ratio"])
def test_nonsquare_film_crop_drawn_in_physical_aspect(tmp_path, aspect_ratio_only):
    """The film figure and the index-level close-up draw the crop cols × col_mm wide and
    rows × row_mm high (1 %), so a 0.16 × 0.10 mm film is not squashed; the image keeps
    about the print resolution along both axes."""
    from ovcf_viewer.report.figure import _crop_region, _detail_region, _make_film_figure

    paths = [_nonsquare_copy(tmp_path / "film", aspect_ratio_only=aspect_ratio_only)]
    source = prepare_report_from_paths(paths, SETTINGS)
    film = source.films[0]
    pdf = tmp_path / "nonsquare.pdf"
    pdf.write_bytes(build_report(source, SETTINGS, report_date=WHEN))
    drawn = drawn_images(pdf)
    assert drawn, "no film image drawn"
    # The annotated spine first; the L1 close-up too when it fits beside the tables.
    regions = [_crop_region(film), _detail_region(film, "L1")][: len(drawn)]
    for image, region in zip(drawn, regions, strict=True):
        x0, y0, x1, y1 = region
        physical = ((x1 - x0) * 0.10) / ((y1 - y0) * 0.16)
        assert image.width_pt / image.height_pt == pytest.approx(physical, rel=0.01)
        # Printed resolution along rows and along columns agree (or the film's own rows are
        # shown when they are fewer than 300 dpi needs: never upsampled).
        assert image.ppi_x == pytest.approx(image.ppi_y, rel=0.12) or image.rows == y1 - y0
    close_up = _make_film_figure(film, 200.0, 200.0, SETTINGS, detail_level="L1")
    x0, y0, x1, y1 = _detail_region(film, "L1")
    assert close_up.width / close_up.height == pytest.approx(
        ((x1 - x0) * 0.10) / ((y1 - y0) * 0.16), rel=0.01)
