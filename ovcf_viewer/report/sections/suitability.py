"""The suitability summary (docs/clinical-reference.md §6) of an evaluation already made."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.report.formatting import _plain_value, format_points
from ovcf_viewer.report.sections.base import (
    _MEASURED_LABELS,
    _OPTION_SHORT,
    _REASON_PREFIX,
    _STATUS_COLOURS,
    _BuilderBase,
)
from ovcf_viewer.report.source import DISCLAIMER
from ovcf_viewer.report.styles import _ACCENT, FONT_BOLD, _color, _esc, _table


class SuitabilitySection(_BuilderBase):
    """The suitability summary when an evaluation was given."""

    # -- suitability -----------------------------------------------------------------------
    def suitability(self) -> None:
        """The suitability summary (docs/clinical-reference.md §6) from
        :func:`ovcf_viewer.suitability.evaluate`."""
        from reportlab.platypus import CondPageBreak, KeepTogether, Spacer

        src = self.source
        if src.evaluation is None and not src.suitability_unavailable:
            return
        self.story.append(CondPageBreak(self.frame_height * 0.45))
        comp = src.comparison
        treated = comp is not None and any(
            f.timepoint.kind in ("postop", "followup") for f in comp.films)
        # On a treated case this is the decision as it stood before treatment (§6), never
        # advice for now.
        self.story.append(self.heading(
            "Pre-operative decision: procedure suitability before treatment (decision support)"
            if treated else "Procedure suitability (decision support)"))
        ev = src.evaluation
        if ev is None:
            self.story.append(self.p(self.t(src.suitability_unavailable), "warning"))
            self.story.append(self.p(_esc(DISCLAIMER), "disclaimer"))
            return
        self.story.append(self.p(self.t(
            f"Measured inputs: {src.suitability_film}. Rules: {ev.rules_name} {ev.rules_version}. "
            f"Confidence: {ev.confidence_text}."), "body"))
        if treated:
            self.story.append(self.p(
                "This is the suitability the pre-operative film supported, not a "
                "recommendation for the patient now.", "warning"))
        self.story += [self.p(self.t(f"Warning: {w.message}."), "warning")
                       for w in src.suitability_warnings]
        self.story.append(self.p(_esc(ev.disclaimer), "disclaimer"))
        self.story.append(Spacer(1, 4))
        head = ["Option", "Status", "Reasons (source)"]
        rows: list[list[Any]] = [[self.p(_esc(h), "head") for h in head]]
        extra: list[tuple[Any, ...]] = [("VALIGN", (0, 0), (-1, -1), "TOP")]
        for option in ev.options:
            reasons = "<br/>".join(
                f"<b>{_esc(_REASON_PREFIX.get(r.effect, r.effect))}:</b> {self.t(r.text)} "
                f"<font color='#5f6b78'>[{_esc(r.source)}]</font>"
                for r in ev.own_reasons(option)  # shared notes once, below the table
            ) or "—"
            rows.append([
                self.p(_esc(option.label), "cell_bold"),
                self.p(f"<font color='{_STATUS_COLOURS.get(option.status, '#1a1f26')}'>"
                       f"<b>{_esc(option.status.replace('_', ' '))}</b></font>", "cell"),
                self.p(reasons, "cell"),
            ])
        self.story.append(_table(rows, self.cols([0.17, 0.12, 0.71]), extra=extra))
        if ev.shared_notes:
            self.story.append(self.p("<b>Notes for several options:</b><br/>" + "<br/>".join(
                self.t(text) for text in ev.shared_notes), "body"))
        self.story.append(Spacer(1, 6))
        approach = ev.approach
        lines = [f"<b>Approach:</b> {_esc(approach.suggested)}"]
        lines += [f"&nbsp;&nbsp;{_esc(_REASON_PREFIX.get(r.effect, r.effect))}: {self.t(r.text)} "
                  f"<font color='#5f6b78'>[{_esc(r.source)}]</font>" for r in approach.reasons]
        viscosity = ", ".join(f"{_OPTION_SHORT.get(k, k)}: {v}"
                              for k, v in ev.cement_viscosity.viscosity.items())
        lines.append(f"<b>Cement viscosity:</b> {_esc(viscosity)}")
        hint = ev.of_type_hint
        lines.append(f"<b>OF type hint (app):</b> {_esc(hint.of_type or 'none')} — "
                     f"{self.t(hint.reason)}")
        self.story.append(KeepTogether(
            [self.p("<br/>".join(lines), "body"), Spacer(1, 6)] + self._of_score_table(ev)))
        self.story.append(KeepTogether(self._inputs_table(ev)))

    def _of_score_table(self, ev: Any) -> list[Any]:
        score = ev.of_score
        rows: list[list[Any]] = [[self.p("Item", "head"), self.p("Points", "head"),
                                  self.p("Detail", "head")]]
        for item in score.items:
            rows.append([
                self.p(_esc(item.label), "cell"),
                format_points(item.points),
                self.p(self.t(item.detail), "cell"),
            ])
        total = format_points(score.total, signed=False) if score.total is not None else "unknown"
        recommendation = score.recommendation or "cannot be given (OF type unknown)"
        rows.append([self.p("<b>Total</b>", "cell"), total,
                     self.p(f"<b>{_esc(recommendation)}</b>", "cell")])
        return [
            self.p("Modified OF score", "h2"),
            _table(rows, self.cols([0.36, 0.1, 0.54]),
                   extra=[("ALIGN", (1, 1), (1, -1), "RIGHT"),
                          ("VALIGN", (0, 0), (-1, -1), "TOP"),
                          ("LINEABOVE", (0, -1), (-1, -1), 0.6, _color(_ACCENT)),
                          ("FONT", (1, -1), (1, -1), FONT_BOLD, 7.8)]),
            self.p(self.t(f"{score.caveat} Source: {score.source}."), "note"),
        ]

    def _inputs_table(self, ev: Any) -> list[Any]:
        labels = self.source.suitability_labels

        def finding_label(name: str) -> str:
            return labels.get(name, name)

        rows: list[list[Any]] = [[self.p("Measured input", "head"), self.p("Value", "head"),
                                  self.p("Provenance", "head")]]
        for name in ev.measured.to_dict():  # MEASURED_NAMES, in order
            value = getattr(ev.measured, name)
            rows.append([
                self.p(_esc(_MEASURED_LABELS.get(name, name)), "cell"),
                self.p(_esc(_plain_value(name, value.value)), "cell"),
                self.p(self.t(value.provenance()), "cell"),
            ])
        findings = ev.findings.to_dict()
        known = [f"{finding_label(k)}: {_plain_value(k, v)}" for k, v in findings.items()
                 if k not in ("format", "version", "measured_overrides") and v is not None]
        unknown = [finding_label(n) for n in ev.unknown_inputs]
        return [
            self.p("Inputs", "h2"),
            _table(rows, self.cols([0.3, 0.14, 0.56]),
                   extra=[("VALIGN", (0, 0), (-1, -1), "TOP")]),
            self.p("<b>Findings entered:</b> " + self.t("; ".join(known) or "none"), "small"),
            self.p("<b>Unknown (not guessed):</b> " + self.t("; ".join(unknown) or "none"),
                   "small"),
        ]
