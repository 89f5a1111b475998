"""The safety situations in the PDF report (docs/clinical-reference.md §5, §6, §6a):
warnings, new fractures, "treated", "not assessed", the pre-operative decision."""

from __future__ import annotations

from ovcf_viewer.model.case import CaseFilm
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint
from ovcf_viewer.model.settings import Settings
from tests.measure.test_safety import (
    POST_DAY,
    PRE_DAY,
    case_of,
    film,
    new_fracture_case,
    swap_anterior_posterior,
)

# --------------------------------------------------------------------- the PDF


def _pdf_text(case, findings=None):
    import io

    from pypdf import PdfReader

    from ovcf_viewer.report import build_report
    from ovcf_viewer.services.report import prepare_report

    source = prepare_report(case, Settings(), findings=findings)
    pdf = build_report(source, Settings())
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_pdf_new_fracture_treated_level_and_baseline():
    text = _pdf_text(new_fracture_case())
    assert "New fracture: T12: new fracture, first marked on the Follow-up (3 months) film" \
        in text
    assert "treated" in text
    assert "between consecutive films and against the baseline" in text


def test_pdf_warning_for_swapped_corners_and_the_preoperative_decision():
    from ovcf_viewer.suitability import Findings

    case = new_fracture_case()
    swap_anterior_posterior(case.films[0].annotations, "L2")
    text = _pdf_text(case, Findings())
    assert "Warning: L2: its anterior side points the opposite way" in text
    assert "Pre-operative decision: procedure suitability before treatment" in text
    assert "needs findings" in text
    assert text.count("morphology alone never makes augmentation favoured") == 1


def test_pdf_not_assessed_and_lovbh_neighbour_count():
    heights = [("T12", 27.0, 26.0, 28.0), ("L1", 14.0, 22.0, 28.0), ("L2", 29.0, 28.0, 30.0),
               ("L3", 30.0, 29.0, 31.0)]
    lone = film("6.1", heights, "preop", PRE_DAY, index=("L2",))
    text = _pdf_text(case_of(lone))
    assert "one untreated, unfractured neighbour (L3)" in text
    assert "index on this level?" in text or "L2 is marked as an index" in text
    empty = [CaseFilm(None, uid, ImageAnnotations(uid, ""), Timepoint(kind, when), when)
             for uid, kind, when in (("7.1", "preop", PRE_DAY), ("7.2", "postop", POST_DAY))]
    for f in empty:
        f.annotations.timepoint = f.timepoint
    text = _pdf_text(case_of(*empty))
    assert "New deformities: not assessed" in text or "Not assessed:" in text
    assert "New deformities: none" not in text and "None: no height fell" not in text
