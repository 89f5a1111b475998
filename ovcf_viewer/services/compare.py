"""Compare a case's films (docs/clinical-reference.md §5) with every film calibrated: the
calibrations given (the GUI's loaded images) and the others read from the image headers."""

from __future__ import annotations

from collections.abc import Mapping

from ovcf_viewer.io.case_files import case_calibrations
from ovcf_viewer.measure import comparison
from ovcf_viewer.measure.comparison import CaseComparison
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.case import Case
from ovcf_viewer.model.settings import Settings

__all__ = ["compare"]


def compare(
    case: Case,
    settings: Settings | None = None,
    calibrations: Mapping[str, Calibration] | None = None,
) -> CaseComparison:
    """:func:`ovcf_viewer.measure.comparison.compare` with each film's calibration per §1:
    ``calibrations`` (SOP Instance UID → calibration) as given, the others from the film's
    manual calibration or image header (:func:`ovcf_viewer.io.case_files.film_calibration`),
    and pixels, said so in the notes, when the image is missing or unreadable."""
    known, notes = case_calibrations(case, settings, calibrations)
    return comparison.compare(case, settings, known, notes)
