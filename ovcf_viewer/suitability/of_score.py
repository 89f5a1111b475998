"""The modified OF score with its itemised breakdown and the AO OF-type hint
(docs/clinical-reference.md §6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ovcf_viewer.suitability.common import _at_or_above, _num, _plain
from ovcf_viewer.suitability.inputs import _FINDING_SPECS

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.suitability.inputs import Findings, MeasuredInputs
    from ovcf_viewer.suitability.rules import Rules


# ============================================================================ OF score and hint


@dataclass(frozen=True)
class OFScoreItem:
    """One line of the modified OF score: ``points`` is ``None`` when the input is unknown."""

    item_id: str
    label: str
    points: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "points": self.points, "detail": self.detail}


@dataclass(frozen=True)
class OFScore:
    """Modified OF score (§6): items, total (``None`` when the OF type is unknown) and the
    recommendation (≤ conservative_max conservative, > operative_above operative, else either)."""

    items: tuple[OFScoreItem, ...]
    total: float | None
    recommendation: str | None
    caveat: str
    source: str
    unknown: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "recommendation": self.recommendation,
            "items": {item.item_id: item.to_dict() for item in self.items},
            "caveat": self.caveat,
            "source": self.source,
        }


def _pts(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def modified_of_score(findings: Findings, measured: MeasuredInputs, rules: Rules) -> OFScore:
    """The modified OF score exactly as docs/clinical-reference.md §6 (AO Spine card, Blattert
    2018).

    OF1–OF5 = 2/4/6/8/10; T-score < −3 +1; deformity progression +1 / none −1; VAS ≥ 5 under
    analgesia +1 / < 5 −1; neurological deficit +2; mobilisation not possible +1 / possible −1;
    ASA > 3, frailty, anticoagulation −1 each (at most −2); an unknown item scores 0 and is
    shown as unknown. The total is ``None`` while the OF type is unknown. Points come from the
    rules file.
    """
    p = rules.of_score
    items: list[OFScoreItem] = []
    unknown: list[str] = []

    def add(item_id: str, label: str, points: float | None, detail: str, *inputs: str) -> None:
        items.append(OFScoreItem(item_id, label, None if points is None else _pts(points), detail))
        if points is None:
            unknown.extend(inputs)

    of = findings.of_type
    add("of_type", "OF type (OF1–OF5 = 2/4/6/8/10)",
        None if of is None else p["type_points"][of], of or "unknown", "of_type")

    t = findings.t_score
    below = p["t_score_below"]
    if t is None:
        add("t_score", f"T-score < {_num(below)}", None, "unknown", "t_score")
    else:
        hit = t < below
        add("t_score", f"T-score < {_num(below)}", p["t_score_points"] if hit else 0,
            f"T-score {_num(t)} {'<' if hit else '≥'} {_num(below)}")

    prog = measured.deformity_progression
    if prog.value is None:
        add("progression", "Deformity progression", None, "unknown (needs earlier films)",
            "deformity_progression")
    else:
        add("progression", "Deformity progression",
            p["progression_points"] if prog.value else p["no_progression_points"],
            f"{'progression' if prog.value else 'no progression'} ({prog.provenance()})")

    vas = findings.vas_under_analgesia
    vas_min = p["vas_min"]
    if vas is None:
        add("vas", f"Pain VAS under analgesia ≥ {_num(vas_min)}", None, "unknown",
            "vas_under_analgesia")
    else:
        high = vas >= vas_min
        add("vas", f"Pain VAS under analgesia ≥ {_num(vas_min)}",
            p["vas_high_points"] if high else p["vas_low_points"],
            f"VAS {_num(vas)} {'≥' if high else '<'} {_num(vas_min)}")

    neuro = findings.neurological_deficit
    add("neurological_deficit", "Neurological deficit",
        None if neuro is None else (p["neurological_deficit_points"] if neuro else 0),
        "unknown" if neuro is None else ("deficit" if neuro else "none"), "neurological_deficit")

    mob = findings.mobilisation_possible
    add("mobilisation", "Mobilisation not possible",
        None if mob is None else (p["mobile_points"] if mob else p["immobile_points"]),
        "unknown" if mob is None else ("possible" if mob else "not possible"),
        "mobilisation_possible")

    comorbid = {"asa_over_3": findings.asa_over_3, "frailty": findings.frailty,
                "anticoagulation": findings.anticoagulation}
    known = {k: val for k, val in comorbid.items() if val is not None}
    detail = ", ".join(
        f"{_FINDING_SPECS[k][1]}: {'unknown' if val is None else _plain(val)}"
        for k, val in comorbid.items()
    )
    floor = p["comorbidity_floor"]
    if known:
        raw = sum(p["comorbidity_points"] for val in known.values() if val)
        points = max(raw, floor)
        if raw < floor:
            detail += f" (capped at {_num(floor)})"
    else:
        points = None
    items.append(OFScoreItem(
        "comorbidity", f"ASA > 3, frailty, anticoagulation (each {_num(p['comorbidity_points'])},"
        f" at most {_num(floor)})", None if points is None else _pts(points), detail))
    unknown.extend(k for k, val in comorbid.items() if val is None)

    total = None
    recommendation = None
    if of is not None:
        total = _pts(sum(item.points for item in items if item.points is not None))
        if total <= p["conservative_max"]:
            recommendation = "conservative"
        elif total > p["operative_above"]:
            recommendation = "operative"
        else:
            recommendation = "either"
    return OFScore(tuple(items), total, recommendation, p["caveat"], p["source"], tuple(unknown))


@dataclass(frozen=True)
class OFTypeHint:
    """The app's AO Spine–DGOU OF-type hint from the measurements (a hint, not a class)."""

    of_type: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"of_type": self.of_type, "reason": self.reason, "label": "hint"}


def of_type_hint(findings: Findings, measured: MeasuredInputs, rules: Rules) -> OFTypeHint:
    """Suggest an OF type from what the lateral film and the findings show (Schnake 2018).

    OF1 no deformity (Genant grade 0; MRI oedema only); OF2 deformation without (or with minor)
    posterior-wall involvement; OF3 posterior-wall involvement (clinician, or a crush-type
    deformity with the posterior height reduced); OF4 vertebra plana (loss of the vertebral
    frame). OF5 (distraction/rotation) cannot be seen in these measurements: never hinted.
    """
    grade = measured.worst_genant_grade.value
    r = measured.worst_height_reduction_pct.value
    plana = _vertebra_plana(measured, rules)
    kind = measured.worst_fracture_type.value
    if plana:
        return OFTypeHint("OF4", "vertebra plana (loss of the vertebral frame): OF4 hint; "
                                 "OF5 needs distraction/rotation, not measured here")
    if grade is None and r is None:
        return OFTypeHint(None, "no hint: no measured vertebra")
    if grade == 0 or (grade is None and r is not None and r < 20.0):
        oedema = {True: "with oedema on MRI", False: "no oedema on MRI",
                  None: "MRI oedema unknown"}[findings.mri_oedema]
        return OFTypeHint("OF1", f"no deformity on the lateral film ({oedema}): OF1 hint")
    if findings.posterior_wall_involvement:
        return OFTypeHint("OF3", "posterior-wall involvement (clinician): OF3 hint")
    if kind == "crush":
        return OFTypeHint("OF3", "crush-type deformity (posterior height reduced): OF3 hint; "
                                 "confirm posterior-wall involvement on CT")
    wall = ("posterior wall intact (clinician)" if findings.posterior_wall_involvement is False
            else "posterior wall not assessed")
    return OFTypeHint("OF2", f"deformation, {kind or 'type unknown'}, {wall}: OF2 hint")


def _vertebra_plana(measured: MeasuredInputs, rules: Rules) -> bool | None:
    flag = measured.vertebra_plana
    if flag.overridden:
        return flag.value
    r = measured.worst_height_reduction_pct.value
    if r is not None:
        return _at_or_above(r, rules.threshold("vertebra_plana_min_reduction_pct"))
    return flag.value
