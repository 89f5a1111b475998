"""The pre/post/follow-up comparison: heights by timepoint, restoration, kyphosis, height
loss, new deformities and the trend chart."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.report.chart import _trend_drawing
from ovcf_viewer.report.formatting import (
    format_angle,
    format_length,
    format_pct,
    format_signed_angle,
    format_signed_length,
    format_signed_pct,
)
from ovcf_viewer.report.sections.base import _HEIGHT_LABEL, _HEIGHT_NAME, _BuilderBase
from ovcf_viewer.report.sections.closing import _cobb_name
from ovcf_viewer.report.source import MISSING
from ovcf_viewer.report.styles import FONT_BOLD, _esc, _table


class ComparisonSection(_BuilderBase):
    """The pre/post/follow-up comparison and its trend chart."""

    # -- comparison ------------------------------------------------------------------------
    def comparison(self) -> None:
        """Before, after and follow-up (docs/clinical-reference.md §5), from
        :func:`ovcf_viewer.measure.comparison.compare`."""
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        src = self.source
        timed = [f for f in src.films if f.timepoint is not None]
        if len(timed) < 2 and src.comparison is None and not src.comparison_unavailable:
            return
        comp = src.comparison
        if comp is not None and len(comp.films) < 2 and not src.comparison_unavailable:
            return  # one film with a timepoint: nothing to compare
        self.story.append(CondPageBreak(self.frame_height * 0.45))
        self.story.append(self.heading("Before, after and follow-up"))
        if comp is None:
            self.story.append(self.p(self.t(
                "Comparison unavailable: "
                + (src.comparison_unavailable or "the films could not be compared.")),
                "warning"))
            return
        films = list(comp.films)
        if len(films) < 2:
            self.story.append(self.p(
                "Only one film has a timepoint: nothing to compare.", "body"))
            return
        self.story.append(self.p(self.t(self._comparison_intro(comp)), "body"))
        self.story.append(Spacer(1, 4))
        self.story.append(KeepTogether(self._heights_by_timepoint(comp)))
        for level in comp.levels:
            if level.role == "treated" and level.restoration:
                self.story.append(KeepTogether(self._restoration_table(comp, level)))
        kyphosis = [lc.kyphosis for lc in comp.levels if lc.kyphosis is not None]
        if kyphosis:
            self.story.append(KeepTogether(self._kyphosis_table(comp, kyphosis)))
        losses = [lc for lc in comp.levels if lc.height_loss and lc.role == "treated"]
        if losses:
            self.story.append(KeepTogether(self._height_loss_table(comp, losses)))
        self.story.append(KeepTogether(self._new_deformities(comp)))
        self.story.append(KeepTogether(self._trend_chart(comp)))
        notes = list(comp.notes) + [n for lc in comp.levels for n in lc.notes]
        if notes:
            self.story.append(self.p("Notes", "h2"))
            for note in dict.fromkeys(notes):
                self.story.append(self.p(self.t(note), "note"))

    def _film_column_label(self, film: Any) -> str:
        label = film.label
        if film.days_from_procedure is not None and film.timepoint.kind != "preop":
            label += f", day {film.days_from_procedure}"
        return label

    def _comparison_intro(self, comp: Any) -> str:
        treated = ", ".join(comp.treated_levels) or "none recorded"
        parts = [f"Treated level(s): {treated}."]
        if self.source.procedure:
            parts.append(f"Procedure: {self.source.procedure}.")
        unit = "each film’s unit" if comp.mixed_calibration else comp.films[0].calibration.unit_tag
        parts.append(
            f"Heights in {unit} "
            f"and as % of the reference height on the same film (magnification cancels). "
            f"Changes smaller than {comp.variability_mm:g} mm or {comp.variability_deg:g}° "
            f"are within measurement variability."
        )
        return " ".join(parts)

    def _heights_by_timepoint(self, comp: Any) -> list[Any]:
        films = list(comp.films)
        head1: list[Any] = ["Level", "Height"]
        head2: list[Any] = ["", ""]
        spans: list[tuple[tuple[int, int], tuple[int, int]]] = [((0, 0), (0, 1)),
                                                               ((1, 0), (1, 1))]
        for i, film in enumerate(films):
            col = 2 + 2 * i
            head1 += [self.p(self.t(self._film_column_label(film)), "head"), ""]
            head2 += [self.p(_esc(film.calibration.unit_tag), "head"), "% ref"]
            spans.append(((col, 0), (col + 1, 0)))
        rows: list[list[Any]] = [head1, head2]
        highlight = []
        for lc in comp.levels:
            first = len(rows)
            for k in ("a", "m", "p"):
                row: list[Any] = [lc.level + (" *" if lc.role == "treated" else "")
                                  if k == "a" else "", _HEIGHT_LABEL[k]]
                for heights, pct in zip(lc.heights_mm, lc.pct_of_reference, strict=True):
                    row.append(format_length(heights[k]) if heights else MISSING)
                    row.append(format_pct(pct.get(k)) if pct else MISSING)
                if lc.role == "treated":
                    highlight.append(len(rows))
                rows.append(row)
            spans.append(((0, first), (0, first + 2)))
        n = len(films)
        widths = self.cols([0.08, 0.11] + [0.81 / (2 * n)] * (2 * n))
        table = _table(
            rows, widths, header_rows=2, spans=spans, highlight_rows=highlight,
            align_right_from=2,
            extra=[("VALIGN", (0, 2), (0, -1), "TOP"),
                   ("FONT", (0, 2), (0, -1), FONT_BOLD, 7.8)],
        )
        return [self.p("Heights at each timepoint", "h2"), table, self.p(_esc(
            "* treated level. % ref: the height as a percentage of its reference height on "
            "the same film (mean of the placed, untreated neighbours, "
            "docs/clinical-reference.md §4)."),
            "note")]

    def _restoration_table(self, comp: Any, lc: Any) -> list[Any]:
        pre = comp.film(comp.preop_uid) if comp.preop_uid else None
        post = comp.film(comp.postop_uid) if comp.postop_uid else None
        same = _same_unit(pre, post)
        unit = pre.calibration.unit_tag if pre else ""
        if not same and pre is not None and post is not None:
            unit = f"pre-op {pre.calibration.unit_tag}, post-op {post.calibration.unit_tag}"
        head = ["Height", "Pre-op", "Post-op", "Reference", "Absolute",
                "% of initial", "% of lost", "% of reference", "Δ % ref (points)", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for r in lc.restoration:
            note = []
            if not same:
                note.append("mm and px cannot be subtracted: compare Δ % ref")
            elif not r.mm_comparable:
                note.append("different calibration: compare Δ % ref")
            if r.within_variability:
                note.append("within variability")
            rows.append([
                _HEIGHT_LABEL[r.height],
                format_length(r.pre_mm),
                format_length(r.post_mm),
                format_length(r.reference_mm),
                format_signed_length(r.absolute_mm if same else None),
                format_signed_pct(r.pct_of_initial if same else None),
                format_signed_pct(r.pct_of_lost if same else None),
                format_signed_pct(r.pct_of_reference if same else None),
                format_signed_length(r.ratio_change_pp),
                self.p(_esc("; ".join(note)), "cell"),
            ])
        refs = ", ".join(lc.reference_levels) or "none"
        return [
            self.p(_esc(f"Height restoration at {lc.level} (pre-operative → post-operative; "
                        f"lengths in {unit})"), "h2"),
            _table(rows, self.cols([0.12, 0.08, 0.08, 0.1, 0.09, 0.09, 0.09, 0.1, 0.1, 0.15]),
                   align_right_from=1, extra=[("ALIGN", (9, 1), (9, -1), "LEFT")]),
            self.p(_esc(
                f"Reference: pre-operative {lc.reference_kind.replace('_', ' ') or 'none'} "
                f"({refs}). Absolute = Hpost − Hpre; % of initial = (Hpost − Hpre)/Hpre; "
                f"% of lost = (Hpost − Hpre)/(Href − Hpre); % of reference = "
                f"(Hpost − Hpre)/Href (McKiernan 2003). Δ % ref compares each film with its own "
                f"reference, independent of magnification."), "note"),
        ]

    def _kyphosis_table(self, comp: Any, changes: list[Any]) -> list[Any]:
        head = ["Level", "Endplates", "Pre-op", "Post-op", "Correction (pre − post)",
                "Follow-up", "Loss of correction (FU − post)", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        for k in changes:
            notes = []
            if k.correction_within_variability:
                notes.append("correction within variability")
            base = [k.level, self.p(_esc(k.endplates or MISSING), "cell"),
                    format_angle(k.pre_deg), format_angle(k.post_deg),
                    format_signed_angle(k.correction_deg)]
            if not k.losses:
                rows.append(base + [MISSING, MISSING, self.p(_esc("; ".join(notes)), "cell")])
            for i, loss in enumerate(k.losses):
                row_notes = list(notes) if i == 0 else []
                if loss.within_variability:
                    row_notes.append("loss within variability")
                lead = base if i == 0 else ["", "", "", "", ""]
                rows.append(lead + [
                    self.p(self.t(f"{loss.followup_label}: {format_angle(loss.followup_deg)}"),
                           "cell"),
                    format_signed_angle(loss.loss_deg),
                    self.p(_esc("; ".join(row_notes)), "cell"),
                ])
        return [
            self.p(_esc(f"Kyphosis: “Cobb” = {_cobb_name(comp.cobb_definition)}"), "h2"),
            _table(rows, self.cols([0.07, 0.25, 0.08, 0.08, 0.11, 0.16, 0.11, 0.14]),
                   align_right_from=2,
                   extra=[("ALIGN", (5, 1), (5, -1), "LEFT"), ("ALIGN", (7, 1), (7, -1), "LEFT"),
                          ("VALIGN", (0, 1), (-1, -1), "TOP")]),
            self.p(_esc("Kyphosis positive, lordosis negative. A positive loss of correction "
                        "means the kyphosis recurred."), "note"),
        ]

    def _height_loss_table(self, comp: Any, levels: list[Any]) -> list[Any]:
        head = ["Level", "Height", "Follow-up", "Post-op", "Follow-up value", "Loss",
                "Loss % of post", "Note"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        highlight = []
        post = comp.film(comp.postop_uid) if comp.postop_uid else None
        for lc in levels:
            for loss in lc.height_loss:
                notes = []
                same = _same_unit(post, comp.film(loss.followup_uid))
                if not same:
                    notes.append("mm and px: not comparable")
                elif not loss.mm_comparable:
                    notes.append("different calibration")
                if loss.within_variability:
                    notes.append("within variability")
                if lc.role == "treated":
                    highlight.append(len(rows))
                rows.append([
                    lc.level + (" *" if lc.role == "treated" else ""),
                    _HEIGHT_LABEL[loss.height],
                    self.p(self.t(loss.followup_label), "cell"),
                    format_length(loss.post_mm),
                    format_length(loss.followup_mm),
                    format_signed_length(loss.loss_mm if same else None),
                    format_signed_pct(loss.loss_pct_of_post if same else None),
                    self.p(_esc("; ".join(notes)), "cell"),
                ])
        unit = comp.films[0].calibration.unit_tag if not comp.mixed_calibration else "film units"
        return [
            self.p(_esc(f"Height loss at follow-up (Hpost − Hfollow-up, {unit})"), "h2"),
            _table(rows, self.cols([0.08, 0.11, 0.2, 0.1, 0.12, 0.1, 0.11, 0.18]),
                   highlight_rows=highlight, align_right_from=3,
                   extra=[("ALIGN", (7, 1), (7, -1), "LEFT")]),
        ]

    def _new_deformities(self, comp: Any) -> list[Any]:
        out = [self.p("New (incident) deformities", "h2")]
        deformities, skipped = _comparable_deformities(comp)
        for before, after in skipped:
            out.append(self.p(self.t(
                f"{before} → {after}: one film in mm, the other in pixels; heights cannot be "
                f"compared, so new deformities were not assessed between them (see the "
                f"heights as % of reference)."), "note"))
        for nf in comp.new_fractures:
            out.append(self.p(self.t(f"New fracture: {nf.description} — not a treated level; "
                                     "the complication follow-up watches for."), "warning"))
        if not deformities and not comp.deformities_assessed:
            out.append(self.p(
                "Not assessed: no level is measured on two comparable films.", "body"))
            return out
        if not deformities:
            out.append(self.p(
                "None: no height fell by ≥ 20 % and ≥ 4 mm between consecutive films or "
                "against the baseline (latest pre-operative film; post-operative film for "
                "treated levels) at any measured level (EPOS).", "body"))
            return out
        for d in deformities:
            where = "treated level" if d.treated else "ADJACENT/OTHER LEVEL"
            unit = comp.film(d.to_uid).calibration.unit_tag
            text = (f"{d.level} ({where}): {_HEIGHT_NAME[d.height]} height "
                    f"{format_length(d.from_mm)} → {format_length(d.to_mm, unit)}, fell by "
                    f"{format_pct(d.drop_pct)} ({format_length(d.drop_mm, unit)}) from "
                    f"{d.from_label} to {d.to_label}")
            text += f" — found {d.comparison}"
            if not d.mm_tested:
                text += " (film in pixels: only the 20 % criterion tested)"
            out.append(self.p(self.t(text), "warning"))
        return out

    def _trend_chart(self, comp: Any) -> list[Any]:
        trend = comp.trend()
        pain = any(v is not None for v in trend.pain_vas)  # a third axes (§5a)
        drawing = _trend_drawing(trend, self.width, (135 if pain else 105) * self.mm,
                                 comp.variability_deg)
        return [
            self.p("Trend", "h2"),
            drawing,
            self.p(_esc(
                "Top: heights of the treated level(s) (Ha, Hm, Hp: anterior, middle, posterior) "
                "and the adjacent levels' anterior heights as % of reference on each film; the "
                "dotted line is the deformity cut-off. Bottom: kyphosis (“Cobb” = "
                f"{_cobb_name(trend.kyphosis_definition)}), degrees, with the post-operative "
                "value ± the measurement variability. Last, when recorded: pain on the visual "
                "analogue scale 0–10 (§5a). Time in days from the procedure — the "
                "same figure as the case window's trend chart."), "note"),
        ]


def _same_unit(a: Any, b: Any) -> bool:
    """Whether two compared films measure lengths in the same unit (mm or px); mm and px
    cannot be subtracted or divided into a percentage (docs/clinical-reference.md §1)."""
    return a is None or b is None or a.calibration.unit == b.calibration.unit


def _comparable_deformities(comp: Any) -> tuple[list[Any], list[tuple[str, str]]]:
    """The comparison's new deformities between films measured in the same unit, and the
    film pairs (labels) left out because one is in mm and the other in pixels."""
    kept = [d for d in comp.new_deformities
            if _same_unit(comp.film(d.from_uid), comp.film(d.to_uid))]
    films = list(comp.films)
    skipped = [(a.label, b.label) for a, b in zip(films, films[1:], strict=False)
               if not _same_unit(a, b)]
    return kept, skipped
