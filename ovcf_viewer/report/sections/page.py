"""Page decoration: running header and footer with the disclaimer, "Page N of M"."""

from __future__ import annotations

from typing import Any

from ovcf_viewer import __version__
from ovcf_viewer.report.formatting import format_patient_name
from ovcf_viewer.report.sections.base import _BuilderBase
from ovcf_viewer.report.source import DEIDENTIFIED, DISCLAIMER, REPORT_TITLE
from ovcf_viewer.report.styles import _ACCENT, _MUTED, _RULE, FONT, FONT_BOLD, _color


class PageDecoration(_BuilderBase):
    """The running header and footer of every page."""

    # -- page decoration -------------------------------------------------------------------
    def decorate(self, canvas: Any, doc: Any) -> None:
        """Running header and footer on every page ("Page N of M" is added at save time)."""
        c = canvas
        w, h = self.page
        c.saveState()
        top = h - 13 * self.mm
        c.setFont(FONT_BOLD, 8)
        c.setFillColor(_color(_ACCENT))
        c.drawString(self.margin_x, top, self.settings.institution or "OVCF Viewer")
        c.setFont(FONT, 7.6)
        c.setFillColor(_color(_MUTED))
        c.drawRightString(w - self.margin_x, top, self._running_patient())
        c.setStrokeColor(_color(_ACCENT))
        c.setLineWidth(0.6)
        c.line(self.margin_x, top - 4, w - self.margin_x, top - 4)
        bottom = 11 * self.mm
        c.setStrokeColor(_color(_RULE))
        c.setLineWidth(0.4)
        c.line(self.margin_x, bottom + 9, w - self.margin_x, bottom + 9)
        c.setFont(FONT, 6.8)
        c.setFillColor(_color(_MUTED))
        c.drawString(
            self.margin_x, bottom,
            f"OVCF Viewer {__version__} · {REPORT_TITLE} · "
            f"{self.report_date.strftime('%Y-%m-%d')} · {DISCLAIMER}",
        )
        c.restoreState()

    def _running_patient(self) -> str:
        if self.deidentify:
            return f"Patient: {DEIDENTIFIED} ({self.pseudonym})"
        patient = self.source.patient
        if patient is None:
            return REPORT_TITLE
        parts = [format_patient_name(patient.name)]
        if patient.patient_id:
            parts.append(f"ID {patient.patient_id}")
        if patient.birth_date:
            parts.append(f"born {patient.birth_date.isoformat()}")
        return " · ".join(p for p in parts if p)

def _numbered_canvas_class(builder: _BuilderBase) -> type:
    """A canvas that remembers every page and writes "Page N of M" once M is known."""
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's API)
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self.setFont(FONT, 6.8)
                self.setFillColor(_color(_MUTED))
                self.drawRightString(
                    builder.page[0] - builder.margin_x, 11 * builder.mm,
                    f"Page {self._pageNumber} of {total}",
                )
                super().showPage()
            super().save()

    return NumberedCanvas
