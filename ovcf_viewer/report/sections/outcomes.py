"""The report's follow-up outcomes section (docs/clinical-reference.md §5a): pain per
timepoint and its change, the procedure record per treated level with the volume estimate
(formula and limits beside it), and the cement findings per post-operative film."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.measure.outcomes import pain_change_text
from ovcf_viewer.model.outcomes import (
    APPROACH_LABELS,
    LEAK_LOCATION_LABELS,
    TECHNIQUE_LABELS,
    tristate_text,
)
from ovcf_viewer.report.formatting import format_pct
from ovcf_viewer.report.sections.base import _BuilderBase
from ovcf_viewer.report.source import MISSING
from ovcf_viewer.report.styles import _esc, _table


def _num(value: float | None, decimals: int = 1) -> str:
    return MISSING if value is None else f"{value:.{decimals}f}"


class OutcomesSection(_BuilderBase):
    """Pain, the procedure record with the volume estimate, and the cement findings."""

    def outcomes(self) -> None:
        from reportlab.platypus import KeepTogether, Spacer

        summary = self.source.outcomes
        case = self.source.outcome_case
        if summary is None or case is None:
            return
        has_films = any(not f.pain.is_empty or f.cement for f in case.films)
        if not has_films and not case.level_procedures:
            return
        self.story.append(self.heading("Follow-up outcomes"))
        p, t = self.p, self.t
        if summary.pain:
            rows: list[list[Any]] = [[p(h, "head") for h in (
                "Timepoint", "Days from procedure", "Pain VAS (0–10)", "ODI (%)")]]
            for point in summary.pain:
                rows.append([p(t(point.label), "cell"),
                             MISSING if point.days_from_procedure is None
                             else str(point.days_from_procedure),
                             _num(point.vas), _num(point.odi)])
            block = [p("Pain and disability", "h2"),
                     _table(rows, self.cols([0.4, 0.2, 0.2, 0.2]),
                            align_right_from=1)]
            block += [p("• " + t(pain_change_text(c)), "body")
                      for c in summary.pain_changes]
            block.append(p("Visual analogue scale 0–10 (Huskisson 1974); Oswestry Disability "
                           "Index 0–100 % (Fairbank &amp; Pynsent 2000); "
                           "docs/clinical-reference.md §5a.", "note"))
            self.story.append(KeepTogether(block))
        if summary.volumes:
            self.story.append(Spacer(1, 4))
            self.story.append(KeepTogether(self._procedure_table(summary)))
        findings = [(f, c) for f in case.chronological_films() for c in f.cement]
        if findings:
            self.story.append(Spacer(1, 4))
            rows = [[p(h, "head") for h in (
                "Film", "Level", "Cement leakage", "Where", "Drawn", "Both endplates")]]
            for film, c in findings:
                where = ", ".join(LEAK_LOCATION_LABELS[x] for x in c.locations)
                rows.append([p(t(film.label), "cell"), c.level,
                             tristate_text(c.leakage), p(_esc(where or MISSING), "cell"),
                             str(len(c.regions)) if c.regions else MISSING,
                             tristate_text(c.endplate_contact)])
            self.story.append(KeepTogether([
                p("Cement leakage and endplate contact", "h2"),
                _table(rows, self.cols([0.22, 0.08, 0.14, 0.32, 0.09, 0.15])),
                p("Locations after the routes of Yeom 2003 (J Bone Joint Surg Br 85:83–89). "
                  "“No” leakage means none seen on this film: plain films miss venous leaks "
                  "that CT shows (docs/clinical-reference.md §5a).", "note"),
            ]))

    def _procedure_table(self, summary: Any) -> list[Any]:
        p = self.p
        rows: list[list[Any]] = [[p(h, "head") for h in (
            "Level", "Technique", "Approach", "Viscosity", "Cement (mL)", "Width W (mm)",
            "Body volume est. (mL)", "Cement / volume")]]
        notes = []
        for v in summary.volumes:
            r = v.record
            rows.append([
                v.level,
                TECHNIQUE_LABELS.get(r.technique, MISSING) if r and r.technique else MISSING,
                APPROACH_LABELS.get(r.approach, MISSING) if r and r.approach else MISSING,
                (r.viscosity or MISSING) if r else MISSING,
                _num(r.cement_ml) if r else MISSING,
                _num(r.width_mm) if r else MISSING,
                _num(v.volume_ml),
                format_pct(v.fill_pct),
            ])
            if v.reason:
                notes.append(f"{v.level}: volume unknown ({v.reason}).")
            elif v.volume_ml is not None:
                notes.append(
                    f"{v.level}: D {v.depth_mm:.1f} mm, Hmean {v.mean_height_mm:.1f} mm on the "
                    f"{v.film_label.lower()} film; {v.calibration}.")
        return [
            p("Procedure record and cement volume", "h2"),
            _table(rows, self.cols([0.07, 0.17, 0.12, 0.1, 0.11, 0.12, 0.16, 0.15]),
                   align_right_from=4),
            p(_esc("Estimated body volume V ≈ π·(D/2)·(W/2)·Hmean: an elliptic cylinder with D "
                   "the body depth on the lateral film (mean endplate length), W the "
                   "transverse width from an AP film or CT, Hmean the mean of Ha, Hm and Hp. An "
                   "approximation ignoring the concave posterior wall, endplate concavity "
                   "and the collapse: a size indication, not a volumetric measurement; "
                   "unknown without W. No target fill percentage is given "
                   "(docs/clinical-reference.md §5a). " + " ".join(notes)), "note"),
        ]


def outcome_key_lines(source: Any, t: Any) -> list[str]:
    """Key-result lines (§5a) beside restoration and correction: the pain change, and the
    cement complications (leaks; new deformities have their own line). ``t`` escapes text."""
    summary, case = source.outcomes, source.outcome_case
    if summary is None or case is None:
        return []
    lines = []
    vas = [c for c in summary.pain_changes if c.measure == "vas"]
    if vas:
        lines.append("<b>Pain</b>: " + "; ".join(t(pain_change_text(c)) for c in vas) + ".")
    leaks = [c for c in summary.complications if c.kind == "leakage"]
    recorded = [c for f in case.films for c in f.cement if c.leakage is not None]
    if leaks:
        lines.append("<font color='#b31e14'><b>Complications</b>: "
                     + "; ".join(t(c.text) for c in leaks) + ".</font>")
    elif recorded:
        lines.append("<b>Complications</b>: no cement leakage seen on the films "
                     "(plain films miss venous leaks CT shows).")
    elif case.level_procedures:
        lines.append("<b>Complications</b>: cement leakage not recorded.")
    return lines
