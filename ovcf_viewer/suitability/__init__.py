"""Procedure suitability: decision support for conservative care, PVP, PKP, expandable
augmentation or referral for stabilisation (docs/clinical-reference.md §6). Never an order:
every evaluation carries :data:`DISCLAIMER`.

Three inputs, all plain data:

* :class:`Findings` — the clinician's findings. Every field is optional; ``None`` means
  *unknown*, is listed as unknown and lowers the confidence; it is never guessed.
* :class:`MeasuredInputs` — values measured from the landmarks (worst Genant grade and height
  reduction, segmental kyphosis, fractured levels, vertebra plana, deformity progression),
  each a :class:`MeasuredValue` with its provenance (level and film) or marked as overridden
  by the user. :func:`measured_inputs_from` fills it from
  :class:`~ovcf_viewer.measure.measurements.ImageMeasurements`.
* :class:`Rules` — thresholds, reason texts and sources, read from the TOML rules file by
  :func:`load_rules`. The bundled file is ``resources/suitability_rules.toml`` at the
  repository top, shipped inside the package as ``ovcf_viewer.resources`` and found through
  :mod:`importlib.resources` (source checkout, editable and normal installs alike; see
  :data:`.rules.BUNDLED_RULES_PATH`); a department's own file is named in
  ``Settings.rules_file``).

:func:`evaluate` combines them into an :class:`Evaluation`: per option a status
(favoured / possible / caution / contraindicated) with reasons, each reason naming the
values that triggered it and its source; the suggested approach, cement viscosity, the
modified OF score with its itemised breakdown, an AO OF-type hint, the unknown inputs and a
confidence. It is pure and deterministic (no clock, no I/O) and takes well under 5 ms.

Status of an option from the effects of the rules that fired on it: *contraindicated* if any
rule contraindicates it; else *caution* if any rule cautions; else *favoured* if some rule
favours it and none argues against it; else *possible*.

Units: percentages are percent (0–100), angles degrees (kyphosis positive, §3), widths mm.

Modules, in dependency order: :mod:`.common` (vocabulary, number formatting), :mod:`.inputs`
(findings and measured inputs), :mod:`.rules` (the rules file), :mod:`.of_score` (modified OF
score, OF-type hint), :mod:`.conditions` (the named rule conditions), :mod:`.evaluation` (the
engine and its JSON document). May import :mod:`ovcf_viewer.measure`, :mod:`ovcf_viewer.model`
and :mod:`ovcf_viewer.util`; never :mod:`ovcf_viewer.report`, ``services``, ``cli`` or ``qt``.
"""

from ovcf_viewer.suitability.common import (
    APPROACHES,
    DISCLAIMER,
    EFFECTS,
    FINDINGS_FORMAT,
    OF_TYPES,
    OPTION_IDS,
    STATUSES,
)
from ovcf_viewer.suitability.evaluation import (
    ApproachSuggestion,
    CementSuggestion,
    Evaluation,
    OptionAssessment,
    Reason,
    evaluate,
)
from ovcf_viewer.suitability.inputs import (
    FINDING_FIELDS,
    FINDING_RANGES,
    FINDING_SPECS,
    FRACTURE_TYPES,
    MEASURED_NAMES,
    MEASURED_SPECS,
    FilmMeasurements,
    Findings,
    FindingsError,
    MeasuredInputs,
    MeasuredValue,
    apply_overrides,
    choose_films,
    finding_label,
    findings_from_dict,
    findings_from_json,
    load_findings,
    measured_inputs_from,
)
from ovcf_viewer.suitability.of_score import (
    OFScore,
    OFScoreItem,
    OFTypeHint,
    modified_of_score,
    of_type_hint,
)
from ovcf_viewer.suitability.rules import (
    BUNDLED_RULES_PATH,
    Rules,
    RulesError,
    load_rules,
    rules_for_settings,
)

__all__ = [
    "APPROACHES",
    "BUNDLED_RULES_PATH",
    "DISCLAIMER",
    "EFFECTS",
    "FINDING_FIELDS",
    "FINDING_RANGES",
    "FINDING_SPECS",
    "FRACTURE_TYPES",
    "MEASURED_SPECS",
    "OF_TYPES",
    "FINDINGS_FORMAT",
    "MEASURED_NAMES",
    "OPTION_IDS",
    "STATUSES",
    "ApproachSuggestion",
    "CementSuggestion",
    "Evaluation",
    "FilmMeasurements",
    "Findings",
    "FindingsError",
    "MeasuredInputs",
    "MeasuredValue",
    "OFScore",
    "OFScoreItem",
    "OFTypeHint",
    "OptionAssessment",
    "Reason",
    "Rules",
    "RulesError",
    "apply_overrides",
    "choose_films",
    "evaluate",
    "findings_from_dict",
    "findings_from_json",
    "finding_label",
    "load_findings",
    "load_rules",
    "measured_inputs_from",
    "modified_of_score",
    "of_type_hint",
    "rules_for_settings",
]
