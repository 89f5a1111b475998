"""The named rule conditions: for each rule in the rules file, whether it is met and the
values that decided it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ovcf_viewer.suitability.common import _above, _at_or_above, _num, _plain
from ovcf_viewer.suitability.inputs import _FINDING_SPECS
from ovcf_viewer.suitability.of_score import _vertebra_plana

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.suitability.inputs import Findings, MeasuredInputs
    from ovcf_viewer.suitability.of_score import OFScore
    from ovcf_viewer.suitability.rules import Rules


# ============================================================================ rule conditions


@dataclass(frozen=True)
class _Result:
    outcome: str | None  # None: not decided (unknown inputs, or not applicable)
    values: Mapping[str, str] = field(default_factory=dict)
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Context:
    findings: Findings
    measured: MeasuredInputs
    rules: Rules
    of_score: OFScore

    def t(self, name: str) -> float:
        return self.rules.threshold(name)


@dataclass(frozen=True)
class _RuleDef:
    outcomes: tuple[str, ...]
    variables: tuple[str, ...]
    condition: Callable[[_Context], _Result]


def _flag(value: bool | None, name: str, yes_when: bool = True) -> _Result:
    if value is None:
        return _Result(None, unknown=(name,))
    return _Result("yes" if value is yes_when else "no")


def _reduction_text(ctx: _Context) -> str | None:
    r = ctx.measured.worst_height_reduction_pct
    if r.value is None:
        return None
    grade = ctx.measured.worst_genant_grade.value
    parts = [] if grade is None else [f"Genant grade {grade}"]
    parts.append(r.provenance())
    return f"{_num(r.value)} % ({', '.join(parts)})"


def _levels_text(ctx: _Context) -> str:
    levels = ctx.measured.fractured_levels
    noun = "fractured level" if levels.value == 1 else "fractured levels"
    return f"{levels.value} {noun} ({levels.provenance()})"


def _pain_text(f: Findings) -> str:
    if f.pain_duration_weeks is None:
        return "pain duration unknown"
    return f"pain {_num(f.pain_duration_weeks)} weeks"


def _c_no_fracture(ctx: _Context) -> _Result:
    grade = ctx.measured.worst_genant_grade
    if grade.value is not None:
        text = f"worst Genant grade {grade.value}, {grade.provenance()}"
        return _Result("yes" if grade.value == 0 else "no", {"grade": text})
    levels = ctx.measured.fractured_levels
    if levels.value is not None:
        return _Result("yes" if levels.value == 0 else "no",
                       {"grade": f"{levels.value} fractured levels, {levels.provenance()}"})
    return _Result(None, unknown=("worst_genant_grade",))


_ABSOLUTE_FIELDS = ("symptomatic", "improving_on_medical_therapy", "infection_or_sepsis",
                    "uncorrectable_coagulopathy", "cement_or_contrast_allergy", "mri_oedema")


def _c_unanswered(ctx: _Context) -> _Result:
    missing = [_FINDING_SPECS[n][1] for n in _ABSOLUTE_FIELDS if getattr(ctx.findings, n) is None]
    if not missing:
        return _Result("no")
    return _Result("yes", {"unknown": ", ".join(missing)})


def _c_vertebra_plana(ctx: _Context) -> _Result:
    plana = _vertebra_plana(ctx.measured, ctx.rules)
    limit = f"{_num(ctx.t('vertebra_plana_min_reduction_pct'))} %"
    if plana is None:
        return _Result(None, unknown=("worst_height_reduction_pct",))
    reduction = _reduction_text(ctx) or "unknown"
    if ctx.measured.vertebra_plana.overridden:
        reduction += f"; vertebra plana {_plain(plana)} (overridden by the user)"
    return _Result("yes" if plana else "no", {"reduction": reduction, "limit": limit})


def _c_levels(threshold: str, strictly_above: bool) -> Callable[[_Context], _Result]:
    def condition(ctx: _Context) -> _Result:
        levels = ctx.measured.fractured_levels.value
        if levels is None:
            return _Result(None, unknown=("fractured_levels",))
        if levels == 0:  # nothing fractured: the no_fracture rule speaks
            return _Result(None)
        limit = ctx.t(threshold)
        hit = _above(levels, limit) if strictly_above else _at_or_above(levels, limit)
        return _Result("yes" if hit else "no",
                       {"levels": _levels_text(ctx), "limit": _num(limit)})
    return condition


def _c_no_oedema(ctx: _Context) -> _Result:
    result = _flag(ctx.findings.mri_oedema, "mri_oedema", yes_when=False)
    return replace(result, values={"pain": _pain_text(ctx.findings)})


def _c_collapse(ctx: _Context) -> _Result:
    r = ctx.measured.worst_height_reduction_pct.value
    if r is None:
        return _Result(None, unknown=("worst_height_reduction_pct",))
    grade = ctx.measured.worst_genant_grade.value
    if grade == 0:  # below Genant grade 1 there is no collapse to grade (no_fracture rule)
        return _Result(None)
    limit = ctx.t("mild_moderate_max_reduction_pct")
    return _Result("no" if _above(r, limit) else "yes",
                   {"reduction": _reduction_text(ctx) or "", "limit": f"{_num(limit)} %"})


def _c_kyphosis(ctx: _Context) -> _Result:
    k = ctx.measured.segmental_kyphosis_deg
    if k.value is None:
        return _Result(None, unknown=("segmental_kyphosis_deg",))
    limit = ctx.t("kyphosis_pkp_min_deg")
    return _Result("yes" if _at_or_above(k.value, limit) else "no",
                   {"kyphosis": f"{_num(k.value)}° ({k.provenance()})",
                    "limit": f"{_num(limit)}°"})


def _c_of_type(ctx: _Context) -> _Result:
    of = ctx.findings.of_type
    if of is None:
        return _Result(None, unknown=("of_type",))
    outcome = "of1" if of == "OF1" else ("of4_5" if of in ("OF4", "OF5") else "of2_3")
    return _Result(outcome, {"of_type": f"{of} (clinician)"})


def _c_of_score(ctx: _Context) -> _Result:
    score = ctx.of_score
    if score.total is None:
        return _Result(None)  # its unknown inputs are counted by the score itself
    return _Result(score.recommendation, {
        "total": _num(score.total),
        "conservative_max": _num(ctx.rules.of_score["conservative_max"]),
        "operative_above": _num(ctx.rules.of_score["operative_above"]),
    })


def _c_wide_body(ctx: _Context) -> _Result:
    width = ctx.findings.vertebral_body_width_mm
    if width is None:
        return _Result(None, unknown=("vertebral_body_width_mm",))
    override = ctx.rules.bilateral_width_override_mm
    limit = ctx.t("bilateral_width_min_mm") if override is None else override
    source = "rules file" if override is None else "settings"
    return _Result("yes" if _above(width, limit) else "no",
                   {"width": f"{_num(width)} mm (clinician, AP film/CT)",
                    "limit": f"{_num(limit)} mm", "limit_source": f"threshold from {source}"})


def _c_poor_condition(ctx: _Context) -> _Result:
    f = ctx.findings
    named = {"poor_general_condition": f.poor_general_condition, "asa_over_3": f.asa_over_3,
             "frailty": f.frailty}
    present = [_FINDING_SPECS[k][1] for k, val in named.items() if val]
    if present:
        return _Result("yes", {"conditions": ", ".join(present)})
    missing = tuple(k for k, val in named.items() if val is None)
    if missing:
        return _Result(None, unknown=missing)
    return _Result("no", {"conditions": "none"})


_YES_NO = ("yes", "no")

#: Every rule the code knows, in evaluation order; the rules file must define each of them.
_RULES: dict[str, _RuleDef] = {
    "asymptomatic": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.symptomatic, "symptomatic", yes_when=False)),
    "improving": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.improving_on_medical_therapy, "improving_on_medical_therapy")),
    "no_fracture": _RuleDef(_YES_NO, ("grade",), _c_no_fracture),
    "infection": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.infection_or_sepsis, "infection_or_sepsis")),
    "coagulopathy": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.uncorrectable_coagulopathy, "uncorrectable_coagulopathy")),
    "allergy": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.cement_or_contrast_allergy, "cement_or_contrast_allergy")),
    "contraindications_unanswered": _RuleDef(_YES_NO, ("unknown",), _c_unanswered),
    "radicular_pain": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.radicular_pain_dominant, "radicular_pain_dominant")),
    "retropulsion": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.retropulsion_canal_compromise, "retropulsion_canal_compromise")),
    "vertebra_plana": _RuleDef(_YES_NO, ("reduction", "limit"), _c_vertebra_plana),
    "posterior_wall_defect": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.posterior_wall_involvement, "posterior_wall_involvement")),
    "too_many_levels": _RuleDef(_YES_NO, ("levels", "limit"),
                                _c_levels("max_levels_per_session", strictly_above=True)),
    "no_oedema": _RuleDef(_YES_NO, ("pain",), _c_no_oedema),
    "pregnancy": _RuleDef(_YES_NO, (), lambda c: _flag(c.findings.pregnancy, "pregnancy")),
    "mild_moderate_collapse": _RuleDef(_YES_NO, ("reduction", "limit"), _c_collapse),
    "kyphosis": _RuleDef(_YES_NO, ("kyphosis", "limit"), _c_kyphosis),
    "multilevel": _RuleDef(_YES_NO, ("levels", "limit"),
                           _c_levels("multilevel_min_levels", strictly_above=False)),
    "posterior_wall": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.posterior_wall_involvement, "posterior_wall_involvement")),
    "neurological_deficit": _RuleDef(_YES_NO, (), lambda c: _flag(
        c.findings.neurological_deficit, "neurological_deficit")),
    "of_type": _RuleDef(("of1", "of2_3", "of4_5"), ("of_type",), _c_of_type),
    "of_score": _RuleDef(("conservative", "either", "operative"),
                         ("total", "conservative_max", "operative_above"), _c_of_score),
    "wide_body": _RuleDef(_YES_NO, ("width", "limit", "limit_source"), _c_wide_body),
    "poor_condition": _RuleDef(_YES_NO, ("conditions",), _c_poor_condition),
}
