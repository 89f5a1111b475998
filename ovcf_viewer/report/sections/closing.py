"""The calibration statement of every film, the definitions used and the signature block."""

from __future__ import annotations

from typing import Any

from ovcf_viewer import __version__
from ovcf_viewer.measure.measurements import (
    DEFORMITY_RATIO,
)
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.report.sections.base import _BuilderBase
from ovcf_viewer.report.source import DISCLAIMER
from ovcf_viewer.report.styles import _HEADER_FILL, _RULE, _color, _esc, _table

#: Rows of "Definitions used" kept on the page of the signature block.
_ROWS_WITH_SIGNATURE = 4


class ClosingSections(_BuilderBase):
    """Calibration statements, definitions and the signature block."""

    # -- calibration and definitions -------------------------------------------------------
    def definitions(self) -> None:
        from reportlab.platypus import CondPageBreak, Spacer

        st = self.settings
        # heading and the first rows together; the tables then flow across the page break
        self.story.append(CondPageBreak(90))
        self.story.append(self.heading("Calibration and definitions"))
        rows: list[list[Any]] = [[self.p("Film", "head"), self.p("Source", "head"),
                                  self.p("Row × column spacing", "head"),
                                  self.p("Statement", "head")]]
        for film in self.source.films:
            cal = film.calibration
            spacing = (f"{cal.row_mm:.4g} × {cal.col_mm:.4g} mm/px"
                       if cal.is_calibrated else "none (pixels)")
            statement = self.calibration_statement(cal, missing=film.is_missing)
            if film.is_missing:
                statement += f". {self.missing_text(film)}"
            rows.append([
                self.p(_esc(film.timepoint.label if film.timepoint else "Film"), "cell"),
                self.p(_esc(cal.unit_tag), "cell"),
                self.p(_esc(spacing), "cell"),
                self.p(_esc(statement), "cell"),
            ])
        self.story.append(_table(rows, self.cols([0.17, 0.15, 0.17, 0.51]),
                                 extra=[("VALIGN", (0, 0), (-1, -1), "TOP")]))
        if any(f.calibration.source.value == "detector" for f in self.source.films):
            self.story.append(self.p(_esc(
                "“mm at detector”: Imager Pixel Spacing without magnification correction; on a "
                "lateral lumbar film this overstates true size by roughly 5–40 %. Compare such "
                "films by ratio and angle."), "note"))
        self.story.append(Spacer(1, 6))
        definitions = [
            ("Landmarks", "Six points per vertebral body: superior and inferior endplate, "
             "anterior, middle (deepest point) and posterior (docs/clinical-reference.md §2)."),
            ("Heights", "Ha = |sa−ia|, Hm = |sm−im|, Hp = |sp−ip|; distances in mm use the "
             "row and column spacing separately (§1, §3)."),
            ("Deformity ratios", f"Wedge Ha/Hp, biconcavity Hm/Hp, crush Hp/Hp ref; below "
             f"{DEFORMITY_RATIO:.2f} is a deformity (Siminoski 2006; EPOS)."),
            ("Genant grade", f"Reference: {_reference_name(st)} (setting). Reduction r = max "
             f"over a, m, p of (1 − H/H ref): grade 0 r < 20 %, 1 20–25 %, 2 25–40 %, "
             f"3 > 40 %; type wedge, biconcave or crush by the most reduced height (§4)."),
            ("Cobb angle", f"The report's “Cobb” is the {_cobb_name(st.cobb_definition)} "
             f"(setting). Segmental kyphosis, the bisegmental or local Cobb angle: superior "
             f"endplate (sp→sa) of the vertebra above "
             f"to inferior endplate (ip→ia) of the vertebra below; vertebral wedge angle: the "
             f"index vertebra's own endplates. Kyphosis positive, lordosis negative (§3)."),
            ("Restoration", "Height restoration in mm, % of initial height, % of lost "
             "height and % of reference height (McKiernan 2003); kyphosis correction "
             "θpre − θpost, loss of correction θfollow-up − θpost (§5)."),
            ("Incident deformity", "A height falling by ≥ 20 % and ≥ 4 mm between two "
             "films (EPOS, §5)."),
            ("Variability", f"Changes smaller than {st.variability_deg:g}° or "
             f"{st.variability_mm:g} mm are within measurement variability (setting; Morrissy "
             f"1990, Alanay 2007)."),
            ("Magnification", "Correction by the radiographic magnification factor is "
             + ("enabled" if st.use_magnification else "disabled") + " (setting)."),
        ]
        rows = [[self.p(_esc(a), "head"), self.p(_esc(b), "cell")] for a, b in definitions]
        self.story.append(CondPageBreak(70))
        self.story.append(self.p("Definitions used", "h2"))
        style = [("VALIGN", (0, 0), (-1, -1), "TOP"),
                 ("BACKGROUND", (0, 0), (0, -1), _color(_HEADER_FILL))]
        hairline = 0.25, _color(_RULE)
        # The last rows go with the signature (signature()): a page never holds only it.
        self.story.append(_table(rows[:-_ROWS_WITH_SIGNATURE], self.cols([0.18, 0.82]),
                                 header_rows=0,
                                 extra=[*style, ("LINEBELOW", (0, -1), (-1, -1), *hairline)]))
        self._definitions_tail = _table(
            rows[-_ROWS_WITH_SIGNATURE:], self.cols([0.18, 0.82]), header_rows=0,
            extra=[*style, ("LINEABOVE", (0, 0), (-1, 0), 0, _color(_RULE))])

    # -- signature -------------------------------------------------------------------------
    def signature(self) -> None:
        from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

        line = "_" * 34
        # a de-identified report names no person (the signer writes by hand)
        physician = "" if self.deidentify else (self.settings.physician or "")
        rows = [
            [self.p("Reviewed and signed", "h2"), ""],
            [self.p(_esc(f"Name: {physician}" if physician else "Name:"), "body"),
             self.p("Date:", "body")],
            [Spacer(1, 16), Spacer(1, 16)],
            [self.p(line, "body"), self.p(line, "body")],
            [self.p("Signature", "small"), self.p("Date", "small")],
        ]
        table = Table(rows, colWidths=[self.width * 0.5, self.width * 0.5], hAlign="LEFT")
        table.setStyle(TableStyle([
            ("SPAN", (0, 0), (1, 0)),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ]))
        tail = getattr(self, "_definitions_tail", None)
        self.story.append(KeepTogether([
            *([tail] if tail is not None else []), Spacer(1, 10), table, Spacer(1, 8),
            self.p(_esc(DISCLAIMER), "disclaimer"),
            self.p(_esc(
                f"Generated by OVCF Viewer {__version__}. Measurements are computed exactly "
                f"from the landmarks shown; their accuracy is that of the landmark placement "
                f"(about ±2–6 mm in height and ±5° in kyphosis between repeat readings)."),
                "small"),
        ]))


def _cobb_name(definition: str) -> str:
    return {
        "segmental": "segmental kyphosis",
        "vertebral_wedge": "vertebral wedge angle",
    }.get(definition, definition)


def _reference_name(settings: Settings) -> str:
    return {
        "adjacent": "adjacent vertebrae (mean of the placed, non-fractured neighbours)",
        "own_posterior": "vertebra's own posterior height",
    }.get(settings.genant_reference, settings.genant_reference)
