"""The evaluation engine: :func:`evaluate` combines findings, measured inputs and rules into an
:class:`Evaluation` (per-option status with reasons, approach, cement viscosity, OF score,
unknown inputs, confidence); :meth:`Evaluation.to_dict` is its JSON document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ovcf_viewer.suitability.common import (
    _EFFECT_PREFIX,
    APPROACHES,
    AUGMENTATION_IDS,
    DISCLAIMER,
    EFFECTS,
    OPTION_IDS,
)
from ovcf_viewer.suitability.conditions import _RULES, _Context
from ovcf_viewer.suitability.inputs import Findings, MeasuredInputs, apply_overrides, finding_label
from ovcf_viewer.suitability.of_score import OFScore, OFTypeHint, modified_of_score, of_type_hint
from ovcf_viewer.suitability.rules import Rules

# ============================================================================ evaluation


@dataclass(frozen=True)
class Reason:
    """Why an option got a status: the effect, the filled text and its source."""

    effect: str
    text: str
    source: str
    rule_id: str

    def __str__(self) -> str:
        return f"{_EFFECT_PREFIX[self.effect]}: {self.text} [{self.source}]"


@dataclass(frozen=True)
class OptionAssessment:
    option_id: str
    label: str
    status: str
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.option_id, "label": self.label, "status": self.status,
                "reasons": [str(r) for r in self.reasons]}


@dataclass(frozen=True)
class ApproachSuggestion:
    """``suggested``: unilateral, bilateral, either (reasons conflict), unknown (no input
    decided it) or not applicable (every augmentation contraindicated)."""

    suggested: str
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"suggested": self.suggested, "reasons": [str(r) for r in self.reasons]}


@dataclass(frozen=True)
class CementSuggestion:
    viscosity: Mapping[str, str]
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.viscosity, "reasons": [str(r) for r in self.reasons]}


@dataclass(frozen=True)
class Evaluation:
    options: tuple[OptionAssessment, ...]
    approach: ApproachSuggestion
    cement_viscosity: CementSuggestion
    of_score: OFScore
    of_type_hint: OFTypeHint
    findings: Findings
    measured: MeasuredInputs
    unknown_inputs: tuple[str, ...]
    confidence: str
    rules_name: str
    rules_version: str
    rules_path: str
    disclaimer: str = DISCLAIMER

    def option(self, option_id: str) -> OptionAssessment:
        for option in self.options:
            if option.option_id == option_id:
                return option
        raise KeyError(option_id)

    def status(self, option_id: str) -> str:
        return self.option(option_id).status

    @property
    def confidence_text(self) -> str:
        n = len(self.unknown_inputs)
        return f"{self.confidence} ({n} unknown input{'s' if n != 1 else ''})"

    @property
    def shared_notes(self) -> tuple[str, ...]:
        """Notes that appear under several options, in order: shown once, above the options,
        rather than repeated under each (§6)."""
        counts: dict[str, int] = {}
        for option in self.options:
            for text in dict.fromkeys(str(r) for r in option.reasons if r.effect == "note"):
                counts[text] = counts.get(text, 0) + 1
        return tuple(text for text, n in counts.items() if n > 1)

    def own_reasons(self, option: OptionAssessment) -> tuple[Reason, ...]:
        """The option's reasons without the :attr:`shared_notes` (those are shown once)."""
        shared = set(self.shared_notes)
        return tuple(r for r in option.reasons if not (r.effect == "note" and str(r) in shared))

    def to_dict(self) -> dict[str, Any]:
        """The ``ovcf-viewer suitability --json`` document."""
        findings = self.findings.to_dict()
        for key in ("format", "version"):
            findings.pop(key)
        return {
            "options": [o.to_dict() for o in self.options],
            "approach": self.approach.to_dict(),
            "cement_viscosity": self.cement_viscosity.to_dict(),
            "of_score": self.of_score.to_dict(),
            "of_type_hint": self.of_type_hint.to_dict(),
            "inputs": {"findings": findings, "measured": self.measured.to_dict()},
            "unknown_inputs": [finding_label(n) for n in self.unknown_inputs],
            "confidence": {"level": self.confidence, "unknown_count": len(self.unknown_inputs)},
            "rules": {"name": self.rules_name, "version": self.rules_version,
                      "path": self.rules_path},
            "shared_notes": list(self.shared_notes),
            "disclaimer": self.disclaimer,
        }


def _status(reasons: Sequence[Reason]) -> str:
    effects = {r.effect for r in reasons}
    if "contraindicate" in effects:
        return "contraindicated"
    if "caution" in effects:
        return "caution"
    if "favour" in effects and "against" not in effects:
        return "favoured"
    return "possible"


#: Referral criteria (§6 table): referral is *not indicated* when every one is known absent.
REFERRAL_CRITERIA: tuple[str, ...] = ("neurological_deficit", "retropulsion_canal_compromise",
                                      "of_type")
_STATUS_SOURCE = "docs/clinical-reference.md §6"


def _needs_findings(findings: Findings) -> list[str]:
    """What is unknown that augmentation needs (§6): whether the fracture is symptomatic, and
    whether it is acute (neither MRI oedema nor pain duration given)."""
    missing = []
    if findings.symptomatic is None:
        missing.append("whether the fracture is symptomatic")
    if findings.mri_oedema is None and findings.pain_duration_weeks is None:
        missing.append("whether it is acute (MRI oedema or pain duration)")
    return missing


def _final_status(option_id: str, status: str, findings: Findings) -> tuple[str, Reason | None]:
    """§6 statuses beyond the rules' votes: an augmentation option that is not contraindicated
    *needs findings* while symptoms or acuity are unknown (morphology alone never makes it
    favoured); referral is *not indicated* when every referral criterion is known absent."""
    if option_id in AUGMENTATION_IDS and status != "contraindicated":
        missing = _needs_findings(findings)
        if missing:
            return "needs_findings", Reason(
                "note", f"Needs findings: {' and '.join(missing)} unknown; morphology alone "
                "never makes augmentation favoured", _STATUS_SOURCE, "status.needs_findings")
    if option_id == "refer" and status == "possible":
        known_absent = (findings.neurological_deficit is False
                        and findings.retropulsion_canal_compromise is False
                        and findings.of_type is not None and findings.of_type not in ("OF4", "OF5"))
        if known_absent:
            return "not_indicated", Reason(
                "note", "Not indicated: no neurological deficit, no canal-compromising "
                f"retropulsion and {findings.of_type} (not OF4–OF5)", _STATUS_SOURCE,
                "status.not_indicated")
    return status, None


def evaluate(findings: Findings, measured: MeasuredInputs, rules: Rules) -> Evaluation:
    """Evaluate every option against the rules (docs/clinical-reference.md §6); pure and
    deterministic.

    The findings' ``measured_overrides`` are applied to ``measured`` first (shown as
    overridden). Unknown inputs are never guessed: a rule that needs one does not fire, the
    input is listed in ``unknown_inputs`` and the confidence drops (high / medium / low by the
    rules file's counts).
    """
    if findings.measured_overrides:
        measured = apply_overrides(measured, findings.measured_overrides)
    score = modified_of_score(findings, measured, rules)
    ctx = _Context(findings, measured, rules, score)
    per_option: dict[str, list[Reason]] = {option: [] for option in OPTION_IDS}
    approach_votes: dict[str, list[Reason]] = {a: [] for a in APPROACHES}
    unknown: dict[str, None] = dict.fromkeys(score.unknown)
    for rule_id, definition in _RULES.items():
        spec = rules.rules[rule_id]
        if not spec.enabled:
            continue
        result = definition.condition(ctx)
        unknown.update(dict.fromkeys(result.unknown))
        if result.outcome is None or result.outcome not in spec.outcomes:
            continue
        outcome = spec.outcomes[result.outcome]
        text = outcome.text.format_map(dict(result.values))
        for target, effect in outcome.effects.items():
            if target == "approach":
                approach_votes[effect].append(Reason(effect, text, spec.source, rule_id))
            else:
                per_option[target].append(Reason(effect, text, spec.source, rule_id))

    options = []
    for option_id in OPTION_IDS:
        option_spec = rules.options[option_id]
        reasons = sorted(per_option[option_id], key=lambda r: EFFECTS.index(r.effect))
        notes = [Reason("note", note, option_spec.source, f"options.{option_id}")
                 for note in option_spec.notes]
        status, why = _final_status(option_id, _status(reasons), findings)
        options.append(OptionAssessment(option_id, option_spec.label, status,
                                        tuple(([why] if why else []) + reasons + notes)))

    augmentable = any(o.status != "contraindicated" for o in options
                      if o.option_id in AUGMENTATION_IDS)
    uni, bi = approach_votes["unilateral"], approach_votes["bilateral"]
    if not augmentable:
        suggested = "not applicable"
    elif uni and bi:
        suggested = "either"
    elif bi:
        suggested = "bilateral"
    elif uni:
        suggested = "unilateral"
    else:
        suggested = "unknown"
    approach = ApproachSuggestion(suggested, tuple(bi + uni))

    cement = CementSuggestion(
        {option: c.viscosity for option, c in rules.cement.items()},
        tuple(Reason("note", c.text, c.source, f"cement.{o}") for o, c in rules.cement.items()),
    )
    unknown_inputs = tuple(unknown)
    n = len(unknown_inputs)
    if n <= rules.confidence["high_max_unknowns"]:
        confidence = "high"
    elif n <= rules.confidence["medium_max_unknowns"]:
        confidence = "medium"
    else:
        confidence = "low"
    return Evaluation(
        options=tuple(options),
        approach=approach,
        cement_viscosity=cement,
        of_score=score,
        of_type_hint=of_type_hint(findings, measured, rules),
        findings=findings,
        measured=measured,
        unknown_inputs=unknown_inputs,
        confidence=confidence,
        rules_name=rules.name,
        rules_version=rules.version,
        rules_path=rules.path,
    )
