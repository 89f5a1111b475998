"""The header block (institution, physician, patient or "De-identified") and the summary."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.report.formatting import (
    REDUCTION_VS_LOVBH,
    format_angle,
    format_date,
    format_length,
    format_patient_name,
    format_ratio,
    format_signed_angle,
    format_signed_length,
    format_signed_pct,
    genant_text,
    lovbh_text,
    reduction_text,
)
from ovcf_viewer.report.sections.base import _BuilderBase
from ovcf_viewer.report.sections.closing import _cobb_name, _reference_name
from ovcf_viewer.report.sections.comparison import _comparable_deformities, _same_unit
from ovcf_viewer.report.sections.outcomes import outcome_key_lines
from ovcf_viewer.report.source import DEIDENTIFIED, MISSING, REPORT_TITLE
from ovcf_viewer.report.styles import _HEADER_FILL, _esc, _table

#: Said on every de-identified report with film crops (io.deidentify cannot clean pixels).
BURNED_IN_NOTICE = ("De-identified from the headers only: the film crops show the pixels as "
                    "stored, and text burned into them is not removed. Look before sharing.")


class HeaderSections(_BuilderBase):
    """The header block and the summary of the index levels."""

    # -- header ----------------------------------------------------------------------------
    def header_block(self) -> None:
        from reportlab.platypus import Spacer

        src, st = self.source, self.settings
        self.story.append(self.p(_esc(REPORT_TITLE), "title"))
        films = ", ".join(
            f.timepoint.label if f.timepoint else "film" for f in src.films
        )
        self.story.append(self.p(_esc(f"Lateral spine radiographs: {films}"), "subtitle"))
        self.story.append(Spacer(1, 6))
        patient_rows = self._patient_rows()
        # An unset setting is left out: a clinical document prints no placeholder.
        clinic_rows = [(label, value) for label, value in (
            ("Institution", st.institution.strip()),
            ("Physician", st.physician.strip()),
            ("Report date", self.report_date.strftime("%Y-%m-%d %H:%M")),
            ("Procedure", self._procedure_text()),
        ) if value]
        n = max(len(patient_rows), len(clinic_rows))
        patient_rows += [("", "")] * (n - len(patient_rows))
        clinic_rows += [("", "")] * (n - len(clinic_rows))
        rows = [
            [self.p(_esc(a), "head"), self.p(_esc(b), "cell"),
             self.p(_esc(c), "head"), self.p(_esc(d), "cell")]
            for (a, b), (c, d) in zip(patient_rows, clinic_rows, strict=True)
        ]
        from reportlab.lib.colors import Color

        # label cells shaded only where a row has a label (the shorter column ends blank)
        shade = [("BACKGROUND", (col, r), (col, r), Color(*_HEADER_FILL))
                 for r, (left, right) in enumerate(zip(patient_rows, clinic_rows, strict=True))
                 for col, (label, _v) in ((0, left), (2, right)) if label]
        table = _table(
            rows, self.cols([0.15, 0.35, 0.15, 0.35]), header_rows=0,
            extra=[*shade, ("VALIGN", (0, 0), (-1, -1), "TOP")],
        )
        self.story.append(table)
        warnings = list(src.warnings)
        if self.deidentify and any(f.image is not None for f in src.films):
            warnings.append(BURNED_IN_NOTICE)
        for warning in warnings:
            self.story.append(Spacer(1, 3))
            self.story.append(self.p(_esc(warning), "warning"))

    def _patient_rows(self) -> list[tuple[str, str]]:
        if self.deidentify:  # the pseudonym every de-identified output of this patient uses
            return [("Patient", f"{DEIDENTIFIED} ({self.pseudonym})")]
        patient = self.source.patient
        if patient is None:
            return [("Patient", "not recorded in the films")]
        sex = {"F": "female", "M": "male", "O": "other"}.get(patient.sex.upper(), patient.sex)
        return [
            ("Patient", format_patient_name(patient.name) or "not recorded"),
            ("Patient ID", patient.patient_id or "not recorded"),
            ("Birth date", format_date(patient.birth_date)
             if patient.birth_date else "not recorded"),
            ("Sex", sex or "not recorded"),
        ]

    def _procedure_text(self) -> str:
        src = self.source
        parts = [src.procedure or "not recorded"]
        if src.treated_levels:
            parts.append("treated level(s) " + ", ".join(src.treated_levels))
        return "; ".join(parts)

    # -- summary ---------------------------------------------------------------------------
    def summary(self) -> None:
        src = self.source
        self.story.append(self.heading("Summary of index levels"))
        levels = src.index_levels
        if not levels:
            self.story.append(self.p(
                "No index (fractured) level is marked on these films: the tables below list "
                "every measured vertebra.", "body"))
            return
        cobb_name = _cobb_name(self.settings.cobb_definition)
        head = ["Level", "Film", "Genant grade", "Height reduction (most reduced)", "Ha/Hp",
                "Segmental kyphosis", "LOVBH (Ha vs neighbours)", "Calibration"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for level in levels:
            for film in src.films:
                m = film.measurements
                vm = m.vertebrae.get(level) if m else None
                im = m.index_levels.get(level) if m else None
                rows.append([
                    level,
                    self.p(_esc(film.timepoint.label if film.timepoint else "Film"), "cell"),
                    genant_text(vm) if vm else MISSING,
                    reduction_text(vm) if vm else MISSING,
                    format_ratio(vm.wedge_ratio) if vm else MISSING,
                    format_angle(im.segmental_kyphosis_deg) if im else MISSING,
                    self.p(_esc(lovbh_text(im)), "cell") if im else MISSING,
                    self.p(_esc(film.calibration.unit_tag
                                + (" (film missing)" if film.is_missing else "")), "cell"),
                ])
        self.story.append(_table(
            rows, self.cols([0.06, 0.18, 0.1, 0.14, 0.07, 0.11, 0.13, 0.21]),
            align_right_from=2,
            extra=[("ALIGN", (7, 1), (7, -1), "LEFT")],
        ))
        self.story.append(self.p(_esc(
            f"Genant grade and reduction against the {_reference_name(self.settings)}; "
            f"ratios and angles do not depend on magnification, so they compare across films "
            f"(docs/clinical-reference.md §1). Segmental kyphosis: superior endplate of the "
            f"vertebra "
            f"above to inferior endplate of the vertebra below, kyphosis positive; the report "
            f"calls “Cobb” the {cobb_name}. {REDUCTION_VS_LOVBH}"), "note"))
        # Plausibility warnings up front too (§6a): the numbers above may rest on a slip.
        for film in src.films:
            label = film.timepoint.label if film.timepoint else "Film"
            warnings = film.measurements.warnings if film.measurements is not None else ()
            self.story += [self.p(self.t(f"Warning ({label}): {w.message}."), "warning")
                           for w in warnings]
        self.story.extend(self._key_results())

    def _key_results(self) -> list[Any]:
        """One line per clinical question a surgeon asks of a case (§5): restoration,
        kyphosis correction and its loss, height loss at follow-up, new deformities."""
        comp = self.source.comparison
        if comp is None or len(comp.films) < 2:
            return []
        lines: list[str] = []
        pre = comp.film(comp.preop_uid) if comp.preop_uid else None
        unit = pre.calibration.unit_tag if pre else ""
        for lc in comp.levels:
            if lc.role != "treated":
                continue
            r = lc.restoration_for("a")
            post = comp.film(comp.postop_uid) if comp.postop_uid else None
            if r is not None and not _same_unit(pre, post):
                lines.append(
                    f"<b>{lc.level} anterior height</b>: pre- and post-operative films in "
                    f"different units (mm and px); change in % of reference "
                    f"{format_signed_length(r.ratio_change_pp)} percentage points.")
            elif r is not None:
                text = (f"<b>{lc.level} anterior height</b> {format_length(r.pre_mm)} → "
                        f"{format_length(r.post_mm)} {_esc(unit)}: restored "
                        f"{format_signed_length(r.absolute_mm, unit)} ("
                        f"{format_signed_pct(r.pct_of_initial)} of initial, "
                        f"{format_signed_pct(r.pct_of_lost)} of lost, "
                        f"{format_signed_pct(r.pct_of_reference)} of reference height)")
                if not r.mm_comparable:
                    text += "; films differ in calibration: compare by % of reference"
                lines.append(text + ".")
            k = lc.kyphosis
            if k is not None and (k.pre_deg is not None or k.post_deg is not None):
                text = (f"<b>{lc.level} {_esc(_cobb_name(k.definition))}</b> "
                        f"{format_angle(k.pre_deg)} → {format_angle(k.post_deg)}")
                if k.correction_deg is not None:
                    text += f": corrected {format_signed_angle(k.correction_deg)}"
                    if k.correction_within_variability:
                        text += " (within measurement variability)"
                for loss in k.losses:
                    text += (f"; loss of correction at {self.t(loss.followup_label)} "
                             f"{format_signed_angle(loss.loss_deg)}")
                    if loss.within_variability:
                        text += " (within measurement variability)"
                lines.append(text + ".")
            for loss in lc.height_loss:
                if loss.height != "a" or not _same_unit(post, comp.film(loss.followup_uid)):
                    continue
                text = (f"<b>{lc.level} anterior height at {self.t(loss.followup_label)}</b>: "
                        f"{format_length(loss.followup_mm)} {_esc(unit)}, loss "
                        f"{format_signed_length(loss.loss_mm, unit)} "
                        f"({format_signed_pct(loss.loss_pct_of_post)} of post-operative)")
                if loss.within_variability:
                    text += " (within measurement variability)"
                lines.append(text + ".")
        lines += outcome_key_lines(self.source, self.t)  # pain, complications (§5a)
        deformities, _skipped = _comparable_deformities(comp)
        if deformities:
            for d in deformities:
                lines.append(f"<font color='#b31e14'><b>New deformity:</b> "
                             f"{self.t(d.description)}</font>.")
        elif not comp.deformities_assessed:
            lines.append("<b>New deformities</b>: not assessed (no level is measured on two "
                         "comparable films).")
        else:
            lines.append("<b>New deformities</b>: none (no height fell by ≥ 20 % and ≥ 4 mm "
                         "between consecutive films or against the baseline).")
        for nf in comp.new_fractures:
            lines.append(f"<font color='#b31e14'><b>New fracture:</b> "
                         f"{self.t(nf.description)} (not a treated level)</font>.")
        from reportlab.platypus import Spacer

        out: list[Any] = [Spacer(1, 4), self.p("Key results", "h2")]
        out += [self.p("• " + line, "body") for line in lines]
        return out
