"""The PDF report of the issue's case (tests.outcome_case): key results state the pain change
and the leak beside restoration and correction; the outcomes section shows the pain table,
the procedure record with the volume estimate and its formula, and the cement findings."""

from __future__ import annotations

import math
import re

from ovcf_viewer.model.outcomes import CementFinding
from ovcf_viewer.report import build_report
from ovcf_viewer.services.report import prepare_report
from tests.outcome_case import CEMENT_ML, outcome_case
from tests.pdf_helpers import page_texts, render_pages
from tests.services.test_outcome_outputs import expected_l1_volume_ml


def _text(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page_texts(pdf)))


def test_report_key_results_and_outcomes_section(tmp_path):
    case = outcome_case(tmp_path)
    pdf = build_report(prepare_report(case))
    text = _text(pdf)
    key = text[text.index("Key results"):text.index("Before, after and follow-up")]
    assert "L1 anterior height" in key and "L1 segmental kyphosis" in key
    assert "Pain: VAS 8 → 3 (−5, −62.5 %), pre-operative → post-operative; VAS 8 → 2 (−6, " \
           "−75.0 %), pre-operative → follow-up (3 months)." in key
    assert ("Complications: L1: cement leakage (paravertebral soft tissue) on the "
            "post-operative film.") in key
    section = text[text.index("Follow-up outcomes"):]
    assert "Pre-operative -3 8.0 — Post-operative 0 3.0 — Follow-up (3 months) 90 2.0 24.0" \
        in section
    volume = expected_l1_volume_ml(case)
    row = (f"L1 PKP Bilateral high {CEMENT_ML:.1f} 40.0 {volume:.1f} "
           f"{CEMENT_ML / volume * 100:.1f} %")
    assert row in section
    assert "V ≈ π·(D/2)·(W/2)·Hmean" in section and "not a volumetric measurement" in section
    assert "No target fill percentage is given" in section
    assert "Post-operative L1 yes Paravertebral soft tissue 1 yes" in section
    assert "Yeom 2003" in section
    assert math.isfinite(volume)
    assert len(render_pages(pdf)) >= 3  # every page renders


def test_no_leak_and_no_width_say_so(tmp_path):
    from dataclasses import replace

    case = outcome_case(tmp_path)
    post = case.postop_film().sop_instance_uid
    case = case.with_cement(post, CementFinding("L1", leakage=False, endplate_contact=None))
    case = case.with_level_procedure(replace(case.level_procedure("L1"), width_mm=None))
    text = _text(build_report(prepare_report(case)))
    assert "Complications: no cement leakage seen on the films" in text
    assert "L1: volume unknown (transverse width not recorded)." in text
    assert "Post-operative L1 no — — unknown" in text


def test_deidentified_report_keeps_the_outcomes(tmp_path):
    case = outcome_case(tmp_path)
    text = _text(build_report(prepare_report(case), deidentify=True))
    assert "Pain: VAS 8 → 3" in text and "Follow-up outcomes" in text


def test_drawn_leak_is_outlined_on_the_post_operative_figure(tmp_path):
    """Same case with and without the drawn region: only the post-operative figure changes,
    and it gains orange outline pixels."""
    import numpy as np

    from ovcf_viewer.model.outcomes import CementFinding as Finding

    case = outcome_case(tmp_path)
    source = prepare_report(case)
    post = next(f for f in source.films if f.timepoint and f.timepoint.kind == "postop")
    assert [(lv, r.location) for lv, r in post.leaks] == [("L1", "paravertebral")]
    uid = case.postop_film().sop_instance_uid
    plain = case.with_cement(uid, Finding("L1", leakage=True, locations=("paravertebral",)))
    with_leak = [np.asarray(p.convert("RGB"), dtype=int)
                 for p in render_pages(build_report(source), dpi=150)]
    without = [np.asarray(p.convert("RGB"), dtype=int)
               for p in render_pages(build_report(prepare_report(plain)), dpi=150)]

    def orange(page):
        r, g, b = page[..., 0], page[..., 1], page[..., 2]
        return int(((r > 220) & (g > 100) & (g < 160) & (b < 60)).sum())

    gained = [orange(a) - orange(b) for a, b in zip(with_leak, without, strict=False)]
    assert max(gained) > 20  # the outline (a thin line: 150 dpi keeps it clear of 20 px)
    assert sum(1 for g in gained if g > 20) == 1  # on one figure only
