"""The state every report section shares (page geometry, styles, the story being built) and
the text helpers, including de-identification (through :mod:`ovcf_viewer.io.deidentify`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ovcf_viewer.io.deidentify import FREE_TEXT_REMOVED, DeidentificationContext, Deidentifier
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.source import ReportSource
from ovcf_viewer.report.styles import _esc, _styles

__all__ = ["FREE_TEXT_REMOVED"]


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
        deidentifier: Deidentifier | None = None,
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
        #: The patient's de-identification context (pseudonym, date offset), the same as in
        #: every other de-identified output of this patient; ``None`` when identified.
        self.deid: DeidentificationContext | None = (
            _context(source, deidentifier) if deidentify else None)
        self._identifiers = _identifiers(source) if deidentify else []

    # -- helpers ---------------------------------------------------------------------------
    def p(self, text: str, style: str = "body") -> Any:
        from reportlab.platypus import Paragraph

        return Paragraph(text, self.s[style])

    def t(self, text: object) -> str:
        """Text the program wrote (notes, warnings, reasons), escaped for a Paragraph. When
        de-identifying, the identifiers such text may quote are mapped to their pseudonyms:
        a film's path or file name (and the case id) to the pseudonymous file stem, an ISO
        date to the patient's shifted date. Words are never removed: a surname that is also a
        clinical word ("Long", "Viewer") stays where the program wrote the word."""
        out = str(text)
        if self.deid is not None:
            for term, pseudonym in self._identifiers:
                out = out.replace(term, self.deid.file_stem(pseudonym))
            out = _ISO_DATE.sub(lambda m: _shifted(m, self.deid), out)
        return _esc(out)

    @property
    def pseudonym(self) -> str:
        return self.deid.patient_label if self.deid is not None else ""

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

_ISO_DATE = re.compile(r"(?<![0-9])([0-9]{4})-([0-9]{2})-([0-9]{2})(?![0-9])")


def _shifted(match: re.Match[str], context: DeidentificationContext | None) -> str:
    from datetime import date

    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return match[0]
    return context.shift_date(day).isoformat() if context is not None else match[0]


def _context(source: ReportSource, deidentifier: Deidentifier | None) -> DeidentificationContext:
    """The patient's context from the installation's :class:`Deidentifier`."""
    deidentifier = deidentifier or Deidentifier()
    if source.patient is not None:
        return deidentifier.context_for_patient(source.patient)
    first = source.films[0].annotations.sop_instance_uid if source.films else ""
    return deidentifier.context(fallback=first)


def _identifiers(source: ReportSource) -> list[tuple[str, str]]:
    """The identifiers program text may quote — the films' paths and file names, the case
    id — each with what its pseudonym derives from (the file name), longest first."""
    from pathlib import Path

    found: dict[str, str] = {}
    for term in source.identifying_terms:
        found[term] = Path(term).name or term
    for film in source.films:
        if film.file_name:
            found[film.file_name] = film.file_name
        if film.image is not None and film.image.path is not None:
            found[str(film.image.path)] = film.image.path.name
            found[film.image.path.name] = film.image.path.name
    return sorted(((t, n) for t, n in found.items() if t.strip()),
                  key=lambda item: len(item[0]), reverse=True)
