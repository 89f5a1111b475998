"""The PDF measurement report: what a clinician files in the record and sends on.

One document per case (or per set of annotated films): a header with the institution,
physician and patient (or "De-identified", with no name, ID, birth date or sex anywhere in
the file, metadata included), a summary of the index levels across timepoints, one section per
film (an image crop at print resolution in the displayed default window, landmarks, outlines
and labels drawn as vector graphics over it, and the measurement tables), the pre/post/
follow-up comparison with its trend chart, the suitability summary when findings are given,
the calibration statement of every film and the definitions used, a signature block, and the
decision-support disclaimer on every page.

Conventions (docs/clinical-reference.md §1–§6): image coordinates ``(x, y) = (column, row)``,
``(0, 0)``
at the centre of the top-left pixel; lengths in mm under the film's calibration, or px when
it has none, always printed with :attr:`Calibration.unit_tag`; angles in degrees, kyphosis
positive. Every number is printed through the ``format_*`` functions of :mod:`.formatting`
so tests can compare the PDF's text with the model formatted the same way.

reportlab is imported inside functions (start-up path). Text is real text in an embedded,
subset DejaVu Sans (shipped with matplotlib), so every glyph (≥, −, ×, °) is selectable and
searchable; tables and overlays are vector graphics.

Modules: :mod:`.source` (what goes into a report), :mod:`.formatting` (numbers),
:mod:`.styles` (typography), :mod:`.figure` and :mod:`.figure_flowable` (the film figure),
:mod:`.chart` (the trend chart), :mod:`.sections` (one mixin per section of the document),
:mod:`.builder` (:func:`build_report`), :mod:`.inputs` (case → :class:`ReportSource`). The
suitability evaluation is made by :mod:`ovcf_viewer.services.report`, which also offers
``prepare_report``; this package may import ``render``, ``io``, ``measure``, ``model`` and
``util`` (and :mod:`ovcf_viewer.suitability` for type annotations only), never
``suitability`` at run time, ``services``, ``cli`` or ``qt``.
"""

from ovcf_viewer.report.builder import (
    build_report,
    write_report,
)
from ovcf_viewer.report.formatting import (
    format_angle,
    format_date,
    format_length,
    format_patient_name,
    format_pct,
    format_points,
    format_ratio,
    format_signed_angle,
    format_signed_length,
    format_signed_pct,
    genant_text,
)
from ovcf_viewer.report.inputs import (
    prepare_source,
)
from ovcf_viewer.report.source import (
    DEIDENTIFIED,
    DISCLAIMER,
    REPORT_TITLE,
    ReportError,
    ReportFilm,
    ReportSource,
    page_size_points,
)

__all__ = [
    "DEIDENTIFIED",
    "DISCLAIMER",
    "REPORT_TITLE",
    "ReportError",
    "ReportFilm",
    "ReportSource",
    "build_report",
    "format_points",
    "format_angle",
    "format_date",
    "format_length",
    "format_patient_name",
    "format_pct",
    "format_ratio",
    "format_signed_angle",
    "format_signed_length",
    "format_signed_pct",
    "genant_text",
    "page_size_points",
    "write_report",
    "prepare_source",
]
