"""Prepare a PDF report (:mod:`ovcf_viewer.report`) for a case or for command-line INPUTs:
every film loaded, calibrated, measured and compared (:func:`ovcf_viewer.report.prepare_source`)
and the suitability rules evaluated with :func:`ovcf_viewer.services.suitability.assess`,
as ``ovcf-viewer suitability`` and the case view do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report import ReportError, ReportSource, prepare_source
from ovcf_viewer.services.suitability import SuitabilityError, assess, comparison_films
from ovcf_viewer.suitability import Findings, FindingsError, finding_label, load_findings

if TYPE_CHECKING:
    from ovcf_viewer.model.image import RadiographImage

__all__ = ["prepare_report", "prepare_report_from_paths"]


def prepare_report(
    case: Any,
    settings: Settings | None = None,
    *,
    findings: Any = None,
    images: dict[str, RadiographImage] | None = None,
) -> ReportSource:
    """Load, calibrate, measure, compare and evaluate a :class:`~ovcf_viewer.model.case.Case`.

    ``images`` maps SOP Instance UID → an already loaded image (the GUI passes its own);
    other films are read from their paths. A film whose file is missing or unreadable is
    reported as "film missing" with its landmarks; its lengths use its manual calibration or
    pixels (docs/clinical-reference.md §1). ``findings`` is a
    :class:`~ovcf_viewer.suitability.Findings`; without it the case's saved findings are
    used, and without those the suitability section says none were entered.
    """
    settings = settings or Settings()
    source = prepare_source(case, settings, images=images)
    _add_suitability(source, case, settings, findings)
    return source


def _add_suitability(source: ReportSource, case: Any, settings: Settings, findings: Any) -> None:
    """Evaluate the suitability rules (docs/clinical-reference.md §6) through
    :func:`ovcf_viewer.services.suitability.assess`, as the CLI and the GUI do. Without
    findings (given or saved) the section says none were entered; any other problem refuses
    the report with the service's one-line message: a report without the section the
    clinician expects would be a silently degraded clinical document."""
    if findings is None and not case.findings_problem and case.findings == Findings():
        source.suitability_unavailable = (
            "No clinical findings entered: the suitability rules were not evaluated "
            "(give --findings FINDINGS.json or enter them in the suitability panel)."
        )
        return
    comp = source.comparison
    films = comparison_films(comp) if comp is not None else []
    try:
        result = assess(films, findings=findings, case=case, settings=settings,
                        index_levels=comp.treated_levels if comp is not None else None)
    except SuitabilityError as exc:
        raise ReportError(f"suitability cannot be evaluated: {exc}") from None
    source.evaluation = result.evaluation
    source.suitability_film = result.why
    source.suitability_warnings = [w for _label, w in result.warnings if _label ==
                                   result.current.label]
    source.suitability_labels = {
        name: finding_label(name)
        for name in (*result.evaluation.findings.to_dict(), *result.evaluation.measured.to_dict())
        if name not in ("format", "version", "measured_overrides")
    }


def prepare_report_from_paths(
    paths: Sequence[str | Path],
    settings: Settings | None = None,
    *,
    findings_path: str | Path | None = None,
) -> ReportSource:
    """:func:`prepare_report` for command-line INPUTs: one case document or a set of
    exchange-format annotation files (as ``export-csv``). Raises :class:`ReportError` with a
    one-line message for bad input."""
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.model.case import CaseFormatError

    findings = None
    if findings_path is not None:
        try:
            findings = load_findings(findings_path)
        except FindingsError as exc:
            raise ReportError(str(exc)) from None
    try:
        case = load_case_inputs([Path(p) for p in paths])
    except (CaseFormatError, OSError) as exc:
        raise ReportError(str(exc)) from None
    return prepare_report(case, settings, findings=findings)
