"""The state every report section shares (page geometry, styles, the story being built) and
the text helpers, including de-identification of free text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.source import ReportSource
from ovcf_viewer.report.styles import _esc, _styles

#: What replaces free text copied from headers when de-identifying (never word-scrubbed).
FREE_TEXT_REMOVED = "[free text removed]"


class _BuilderBase:
    """Assembles the story (list of flowables) of one report; each section is a mixin."""

    def __init__(
        self,
        source: ReportSource,
        settings: Settings,
        *,
        deidentify: bool,
        page: tuple[float, float],
        report_date: datetime,
    ) -> None:
        from reportlab.lib.units import mm

        self.source = source
        self.settings = settings
        self.deidentify = deidentify
        self.page = page
        self.report_date = report_date
        self.mm = mm
        self.margin_x = 17 * mm
        self.margin_top = 25 * mm
        self.margin_bottom = 19 * mm
        self.width = page[0] - 2 * self.margin_x
        self.frame_height = page[1] - self.margin_top - self.margin_bottom
        self.s = _styles()
        self.story: list[Any] = []
        self.scrub_terms = _identifying_terms(source) if deidentify else []

    # -- helpers ---------------------------------------------------------------------------
    def p(self, text: str, style: str = "body") -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(text, self.s[style])

    def t(self, text: object) -> str:
        """Text from the model or another module, escaped for a Paragraph; when de-identifying,
        any patient name part, ID, birth date or film path it contains is removed."""
        out = str(text)
        for term in self.scrub_terms:
            out = _replace_ci(out, term, "[removed]")
        return _esc(out)

    def calibration_statement(self, calibration: Any, *, missing: bool = False) -> str:
        """The calibration's one-line statement; when de-identifying, a detail copied from
        the header or typed by a user (Pixel Spacing Calibration Description, a manual
        calibration's note) is replaced by :data:`FREE_TEXT_REMOVED`, never word-scrubbed.
        Details the program writes itself (magnification factor, detector plane) stay."""
        from dataclasses import replace

        from ovcf_viewer.model.calibration import CalibrationSource

        if self.deidentify and calibration.detail and missing:
            calibration = replace(calibration, detail="image file not found, path withheld")
        elif self.deidentify and calibration.detail and calibration.source in (
            CalibrationSource.PIXEL_SPACING, CalibrationSource.MANUAL
        ):
            calibration = replace(calibration, detail=FREE_TEXT_REMOVED)
        return calibration.statement()

    def missing_text(self, film: Any) -> str:
        """Why a film is missing; when de-identifying, without its path (folder and file
        names often carry the patient's name)."""
        if self.deidentify and film.missing_reason:
            return "film missing: the image file was not found (path withheld)"
        return film.missing_reason

    def heading(self, text: str) -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(_esc(text), self.s["h1"])

    def cols(self, fractions: Sequence[float]) -> list[float]:
        total = sum(fractions)
        return [self.width * f / total for f in fractions]


_HEIGHT_LABEL = {"a": "Ha anterior", "m": "Hm middle", "p": "Hp posterior"}
_HEIGHT_NAME = {"a": "anterior", "m": "middle", "p": "posterior"}
_REASON_PREFIX = {
    "contraindicate": "Contraindication",
    "caution": "Caution",
    "against": "Against",
    "favour": "For",
    "note": "Note",
    "unilateral": "Unilateral",
    "bilateral": "Bilateral",
}
_STATUS_COLOURS = {
    "favoured": "#1e6b34",
    "possible": "#3b4652",
    "caution": "#9a5b00",
    "contraindicated": "#b31e14",
    "needs_findings": "#5b4ca8",
    "not_indicated": "#5f6b78",
}
_OPTION_SHORT = {"pvp": "PVP", "pkp": "PKP", "expandable": "expandable augmentation"}
_MEASURED_LABELS = {
    "worst_genant_grade": "Worst Genant grade",
    "worst_height_reduction_pct": "Worst height reduction",
    "worst_fracture_type": "Fracture type (worst level)",
    "segmental_kyphosis_deg": "Segmental kyphosis",
    "fractured_levels": "Fractured levels (Genant ≥ 1)",
    "vertebra_plana": "Vertebra plana",
    "deformity_progression": "Deformity progression since earlier films",
}

def _replace_ci(text: str, term: str, replacement: str) -> str:
    import re

    pattern = re.escape(term)
    if term[:1].isalnum():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if term[-1:].isalnum():
        pattern += r"(?![A-Za-z0-9])"
    return re.sub(pattern, replacement, text, flags=re.IGNORECASE)


def _identifying_terms(source: ReportSource) -> list[str]:
    """Strings that identify the patient: name parts, ID, birth date in the usual spellings,
    and the films' paths and file names (they often carry the name). Longest first."""
    terms: set[str] = set(source.identifying_terms)
    patient = source.patient
    if patient is not None:
        for part in patient.name.replace("=", "^").replace(",", "^").split("^"):
            for word in part.split():
                if len(word) >= 2:
                    terms.add(word)
        if patient.name.strip():
            terms.add(patient.name.strip())
        if patient.patient_id.strip():
            terms.add(patient.patient_id.strip())
        if patient.birth_date is not None:
            b = patient.birth_date
            terms.update({b.isoformat(), b.strftime("%Y%m%d"), b.strftime("%d.%m.%Y"),
                          b.strftime("%m/%d/%Y"), b.strftime("%d/%m/%Y")})
    for film in source.films:
        if film.file_name:
            terms.add(film.file_name)
        if film.image is not None and film.image.path is not None:
            terms.add(str(film.image.path))
            terms.add(film.image.path.name)
    return sorted((t for t in terms if t), key=len, reverse=True)
