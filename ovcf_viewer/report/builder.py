"""Building the PDF: :func:`build_report` lays out every section; :func:`write_report` saves it."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from ovcf_viewer import __version__
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.formatting import format_patient_name
from ovcf_viewer.report.sections.closing import ClosingSections
from ovcf_viewer.report.sections.comparison import ComparisonSection
from ovcf_viewer.report.sections.films import FilmSections
from ovcf_viewer.report.sections.header import HeaderSections
from ovcf_viewer.report.sections.outcomes import OutcomesSection
from ovcf_viewer.report.sections.page import PageDecoration, _numbered_canvas_class
from ovcf_viewer.report.sections.suitability import SuitabilitySection
from ovcf_viewer.report.source import (
    DEIDENTIFIED,
    REPORT_TITLE,
    ReportError,
    ReportSource,
    page_size_points,
)
from ovcf_viewer.report.styles import _register_fonts


class _Builder(HeaderSections, FilmSections, ComparisonSection, OutcomesSection,
               SuitabilitySection, ClosingSections, PageDecoration):
    """All sections of one report."""


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def build_report(
    source: ReportSource,
    settings: Settings | None = None,
    *,
    deidentify: bool = False,
    page_size: str | None = None,
    report_date: datetime | None = None,
    deidentifier: Any = None,
) -> bytes:
    """The report as PDF bytes. ``page_size`` overrides ``settings.page_size`` (A4/Letter).

    With ``deidentify`` no patient name, ID, birth date or sex, no film date, no file name
    and no header free text appears anywhere in the PDF, its metadata included: the patient
    is named by the pseudonym of :mod:`ovcf_viewer.io.deidentify` (``deidentifier``, the
    installation's by default), dates quoted in notes are shifted like the films' dates.
    """
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

    settings = settings or Settings()
    if not source.films:
        raise ReportError("nothing to report: no annotated film")
    _register_fonts()
    page = page_size_points(page_size or settings.page_size)
    builder = _Builder(
        source, settings, deidentify=deidentify, page=page,
        report_date=report_date or datetime.now(), deidentifier=deidentifier,
    )
    builder.header_block()
    builder.summary()
    builder.comparison()
    builder.outcomes()
    builder.film_sections()
    builder.suitability()
    builder.definitions()
    builder.signature()

    out = io.BytesIO()
    title = REPORT_TITLE
    if not deidentify and source.patient is not None and source.patient.name:
        title += f" — {format_patient_name(source.patient.name)}"
    doc = BaseDocTemplate(
        out,
        pagesize=page,
        leftMargin=builder.margin_x,
        rightMargin=builder.margin_x,
        topMargin=builder.margin_top,
        bottomMargin=builder.margin_bottom,
        title=title,
        author="OVCF Viewer" if deidentify else (settings.physician or "OVCF Viewer"),
        subject=DEIDENTIFIED + " vertebral morphometry" if deidentify
        else "Vertebral morphometry",
        creator=f"OVCF Viewer {__version__}",
        producer=f"OVCF Viewer {__version__} (reportlab)",
        keywords="",
    )
    frame = Frame(
        builder.margin_x, builder.margin_bottom, builder.width, builder.frame_height,
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="body",
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=builder.decorate)])
    from reportlab import rl_config

    # Binary (Flate only) streams: reportlab's pure-Python ASCII85 encoder would take about
    # 0.6 s per image crop; restored afterwards so other reportlab users are unaffected.
    saved_a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        doc.build(builder.story, canvasmaker=_numbered_canvas_class(builder))
    except Exception as exc:  # reportlab raises LayoutError and friends
        raise ReportError(f"could not lay out the report: {exc}") from exc
    finally:
        rl_config.useA85 = saved_a85
    return out.getvalue()


def write_report(path: str | Path, pdf: bytes) -> None:
    """Write the PDF atomically; :class:`ReportError` with a one-line message on failure."""
    from ovcf_viewer.util.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(path, pdf)
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from None
