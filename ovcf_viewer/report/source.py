"""What goes into a report: :class:`ReportSource` (the films with their measurements, the
comparison, the suitability evaluation) and the document constants."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from ovcf_viewer.measure.measurements import (
    ImageMeasurements,
)
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import ImageAnnotations, Timepoint, level_index
from ovcf_viewer.render.format import MISSING as MISSING  # "—": cannot be measured

if TYPE_CHECKING:
    from ovcf_viewer.model.image import PatientInfo, RadiographImage


REPORT_TITLE = "Vertebral fracture measurement report"
DISCLAIMER = "Decision support only; the treating clinician decides."
DEIDENTIFIED = "De-identified"
#: Print resolution the image crops are rendered at (dots per inch of the printed crop).
PRINT_DPI = 300


class ReportError(Exception):
    """The report could not be built or written; the message is one line for the user."""


# --------------------------------------------------------------------------------------------
# What goes into a report
# --------------------------------------------------------------------------------------------


@dataclass
class ReportFilm:
    """One film of the report: its landmarks, the image (``None`` when the film is missing),
    the calibration the measurements used and the measurements (``None`` when they failed,
    with ``problem`` saying why)."""

    annotations: ImageAnnotations
    calibration: Calibration
    measurements: ImageMeasurements | None
    image: RadiographImage | None = None
    file_name: str = ""
    missing_reason: str = ""  # non-empty: "film missing: …"
    problem: str = ""  # non-empty: measurements could not be computed
    #: Cement leaks drawn on this film (§5a): ``(level, LeakRegion)``, outlined on the figure.
    leaks: list[Any] = field(default_factory=list)

    @property
    def timepoint(self) -> Timepoint | None:
        return self.annotations.timepoint

    @property
    def is_missing(self) -> bool:
        return self.image is None

    @property
    def study_date(self) -> date | None:
        if self.timepoint is not None and self.timepoint.date is not None:
            return self.timepoint.date
        if self.image is not None:
            return self.image.patient.study_date
        return None

    def title(self, *, deidentify: bool) -> str:
        """"Pre-operative — 2026-01-05" (no date when de-identified: dates identify)."""
        label = self.timepoint.label if self.timepoint is not None else "Film"
        if not deidentify and self.study_date is not None:
            label += f" — {self.study_date.isoformat()}"
        return label


@dataclass
class ReportSource:
    """Everything one report shows, already loaded and measured.

    ``comparison`` is a :class:`ovcf_viewer.measure.comparison.CaseComparison` (or ``None``),
    ``evaluation`` a :class:`ovcf_viewer.suitability.Evaluation` (or ``None``) with
    ``suitability_labels`` naming its fields (both filled by
    :func:`ovcf_viewer.services.report.prepare_report`);
    ``*_unavailable`` hold the one-line reason printed instead of a missing section.
    """

    films: list[ReportFilm]
    patient: PatientInfo | None = None
    procedure: str = ""
    treated_levels: tuple[str, ...] = ()
    comparison: Any = None
    comparison_unavailable: str = ""
    evaluation: Any = None
    suitability_film: str = ""  # which film the measured inputs came from
    suitability_unavailable: str = ""
    #: Plausibility warnings of the film the suitability inputs came from (§6a).
    suitability_warnings: list[Any] = field(default_factory=list)
    #: Clinic-words labels of the findings fields and measured inputs (name → label).
    suitability_labels: dict[str, str] = field(default_factory=dict)
    #: Follow-up outcomes (§5a): a measure.outcomes.OutcomeSummary and the case they are of.
    outcomes: Any = None
    outcome_case: Any = None
    #: Identifiers program text may quote (missing films' paths, the case id): a
    #: de-identified report maps each to its pseudonym (report.sections.base).
    identifying_terms: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def index_levels(self) -> list[str]:
        levels = {lv for f in self.films for lv in f.annotations.index_levels}
        levels.update(self.treated_levels)
        return sorted(levels, key=level_index)


def page_size_points(name: str) -> tuple[float, float]:
    """(width, height) in PDF points of ``"A4"`` or ``"Letter"``."""
    from reportlab.lib.pagesizes import A4, LETTER

    sizes = {"a4": A4, "letter": LETTER}
    try:
        return sizes[name.lower()]
    except KeyError:
        raise ReportError(f"page size {name!r}: expected A4 or Letter") from None
