"""Follow-up outcomes (docs/clinical-reference.md §5a) as the outputs carry them: the
``outcomes`` block of the comparison document (``compare --json``) and the CSV columns.
Unknown values are ``null`` in JSON and empty in the CSV, never 0."""

from __future__ import annotations

from typing import Any

from ovcf_viewer.measure.comparison import CaseComparison
from ovcf_viewer.measure.outcomes import (
    VOLUME_FORMULA,
    VOLUME_LIMITS,
    OutcomeSummary,
    summarize_outcomes,
)
from ovcf_viewer.model.case import Case
from ovcf_viewer.model.outcomes import tristate_text

__all__ = ["OUTCOME_COLUMNS", "outcome_cells", "outcomes_document", "summarize_outcomes"]

#: CSV columns added after the measurement columns (additive).
OUTCOME_COLUMNS = (
    "pain_vas",
    "odi_pct",
    "technique",
    "approach",
    "cement_viscosity",
    "cement_ml",
    "transverse_width_mm",
    "body_volume_est_ml",
    "cement_fill_pct",
    "cement_leakage",
    "leak_locations",
    "leak_regions",
    "endplate_contact",
)


def outcomes_document(case: Case, comparison: CaseComparison,
                      summary: OutcomeSummary | None = None) -> dict[str, Any]:
    """The ``outcomes`` key of the comparison document."""
    summary = summary or summarize_outcomes(case, comparison)
    films = []
    for fm in comparison.films:
        film = case.film(fm.sop_instance_uid)
        films.append({
            "sop_instance_uid": fm.sop_instance_uid,
            "timepoint": fm.timepoint.kind,
            "label": fm.label,
            "days_from_procedure": fm.days_from_procedure,
            "pain_vas": film.pain.vas,
            "odi_pct": film.pain.odi,
            "cement": [c.to_json() for c in film.cement],
        })
    return {
        "films": films,
        "pain_change": [
            {"measure": c.measure, "from": c.from_label, "to": c.to_label,
             "before": c.before, "after": c.after, "absolute": c.absolute, "pct": c.pct}
            for c in summary.pain_changes
        ],
        "levels": [
            {
                **(v.record.to_json() if v.record is not None else {
                    "technique": None, "approach": None, "viscosity": None,
                    "cement_ml": None, "width_mm": None}),
                "level": v.level,
                "volume_film": v.film_label or None,
                "depth_mm": v.depth_mm,
                "mean_height_mm": v.mean_height_mm,
                "body_volume_est_ml": v.volume_ml,
                "cement_fill_pct": v.fill_pct,
                "volume_unknown_reason": v.reason or None,
                "calibration": v.calibration or None,
            }
            for v in summary.volumes
        ],
        "volume_formula": VOLUME_FORMULA,
        "volume_limits": VOLUME_LIMITS,
        "complications": [
            {"kind": c.kind, "level": c.level, "film": c.film_label, "text": c.text}
            for c in summary.complications
        ],
    }


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{round(value, 4):.4f}".rstrip("0").rstrip(".")


def outcome_cells(case: Case, summary: OutcomeSummary, sop_instance_uid: str,
                  level: str) -> dict[str, str]:
    """The :data:`OUTCOME_COLUMNS` of one CSV row (film × level): the film's pain score, the
    level's procedure record and volume estimate, and the film's cement findings at the level
    (post-operative films)."""
    film = case.film(sop_instance_uid)
    record = case.level_procedure(level)
    volume = next((v for v in summary.volumes if v.level == level), None)
    finding = film.cement_at(level)
    return {
        "pain_vas": _number(film.pain.vas),
        "odi_pct": _number(film.pain.odi),
        "technique": (record.technique or "") if record else "",
        "approach": (record.approach or "") if record else "",
        "cement_viscosity": (record.viscosity or "") if record else "",
        "cement_ml": _number(record.cement_ml) if record else "",
        "transverse_width_mm": _number(record.width_mm) if record else "",
        "body_volume_est_ml": _number(volume.volume_ml) if volume else "",
        "cement_fill_pct": _number(volume.fill_pct) if volume else "",
        "cement_leakage": (tristate_text(finding.leakage).replace("unknown", "")
                           if finding else ""),
        "leak_locations": ";".join(finding.locations) if finding else "",
        "leak_regions": str(len(finding.regions)) if finding and finding.regions else "",
        "endplate_contact": (tristate_text(finding.endplate_contact).replace("unknown", "")
                             if finding else ""),
    }


def sr_outcome_values(case: Case, comparison: CaseComparison, sop_instance_uid: str,
                      summary: OutcomeSummary | None = None) -> tuple[Any, ...]:
    """What the measurement SR of one film carries of the outcomes (§5a): its cement
    findings and drawn leaks per level, and on the post-operative film the injected cement,
    the body-volume estimate and the fill of each treated level."""
    from ovcf_viewer.io.sr import LevelOutcomeValues

    summary = summary or summarize_outcomes(case, comparison)
    film = case.film(sop_instance_uid)
    volumes = ({v.level: v for v in summary.volumes}
               if sop_instance_uid == comparison.postop_uid else {})
    levels = [c.level for c in film.cement] + [lv for lv in volumes
                                               if film.cement_at(lv) is None]
    out = []
    for level in levels:
        finding = film.cement_at(level)
        volume = volumes.get(level)
        record = volume.record if volume is not None else None
        values = LevelOutcomeValues(
            level=level,
            cement_ml=record.cement_ml if record is not None else None,
            body_volume_ml=volume.volume_ml if volume is not None else None,
            fill_pct=volume.fill_pct if volume is not None else None,
            leakage=finding.leakage if finding else None,
            endplate_contact=finding.endplate_contact if finding else None,
            leaks=tuple((r.location, r.points) for r in finding.regions) if finding else (),
        )
        if (values.cement_ml, values.body_volume_ml, values.fill_pct, values.leakage,
                values.endplate_contact) != (None,) * 5 or values.leaks:
            out.append(values)
    return tuple(out)
