"""The issue's case built from the sample case (sample_dicom/case-0001): pre-op, post-op and
3-month films, VAS 8 → 3 → 2, a PKP at L1 with 4.5 mL (transverse width 40 mm) and a
paravertebral leak drawn on the post-operative film."""

from __future__ import annotations

import shutil
from pathlib import Path

from ovcf_viewer.io.case_files import load_case_inputs
from ovcf_viewer.model.case import Case
from ovcf_viewer.model.outcomes import CementFinding, LeakRegion, LevelProcedure, PainScore

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom" / "case-0001"
#: A quadrilateral beside L1's anterior wall on the post-operative film, image coordinates.
LEAK_POINTS = ((400.0, 700.0), (440.0, 700.0), (440.0, 760.0), (400.0, 760.0))
WIDTH_MM = 40.0
CEMENT_ML = 4.5


def copy_sample(folder: Path) -> Path:
    for name in ("pre", "post", "followup"):
        for ext in ("dcm", "json"):
            shutil.copy(SAMPLE / f"{name}.{ext}", folder / f"{name}.{ext}")
    return folder


def outcome_case(folder: Path) -> Case:
    """The case, its films copied into ``folder``."""
    copy_sample(folder)
    case = load_case_inputs([folder / f"{n}.json" for n in ("pre", "post", "followup")])
    pre, post, fu = (case.preop_film(), case.postop_film(), case.followup_films()[0])
    case = case.with_pain(pre.sop_instance_uid, PainScore(vas=8))
    case = case.with_pain(post.sop_instance_uid, PainScore(vas=3))
    case = case.with_pain(fu.sop_instance_uid, PainScore(vas=2, odi=24))
    case = case.with_level_procedure(LevelProcedure(
        "L1", technique="PKP", approach="bilateral", viscosity="high", cement_ml=CEMENT_ML,
        width_mm=WIDTH_MM))
    case = case.with_cement(post.sop_instance_uid,
                            CementFinding("L1", leakage=None, endplate_contact=True))
    return case.with_leak_region(post.sop_instance_uid, "L1",
                                 LeakRegion("paravertebral", LEAK_POINTS))
