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
  :class:`~ovcf_viewer.core.measurements.ImageMeasurements`.
* :class:`Rules` — thresholds, reason texts and sources, read from the TOML rules file by
  :func:`load_rules`. The bundled file is ``resources/suitability_rules.toml`` at the
  repository top, shipped inside the package as ``ovcf_viewer.resources`` and found through
  :mod:`importlib.resources` (source checkout, editable and normal installs alike); a
  department's own file is named in ``Settings.rules_file``).

:func:`evaluate` combines them into an :class:`Evaluation`: per option a status
(favoured / possible / caution / contraindicated) with reasons, each reason naming the
values that triggered it and its source; the suggested approach, cement viscosity, the
modified OF score with its itemised breakdown, an AO OF-type hint, the unknown inputs and a
confidence. It is pure and deterministic (no clock, no I/O) and takes well under 5 ms.

Status of an option from the effects of the rules that fired on it: *contraindicated* if any
rule contraindicates it; else *caution* if any rule cautions; else *favoured* if some rule
favours it and none argues against it; else *possible*.

Units: percentages are percent (0–100), angles degrees (kyphosis positive, §3), widths mm.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.core.measurements import ImageMeasurements
    from ovcf_viewer.core.settings import Settings

__all__ = [
    "APPROACHES",
    "BUNDLED_RULES_PATH",
    "rules_with_fallback",
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

DISCLAIMER = "Decision support only; the treating clinician decides."

OPTION_IDS: tuple[str, ...] = ("conservative", "pvp", "pkp", "expandable", "refer")
AUGMENTATION_IDS: tuple[str, ...] = ("pvp", "pkp", "expandable")
STATUSES: tuple[str, ...] = ("favoured", "possible", "caution", "contraindicated")
#: Effects a rule can have on an option, most severe first (the order reasons are listed in).
EFFECTS: tuple[str, ...] = ("contraindicate", "caution", "against", "favour", "note")
APPROACHES: tuple[str, ...] = ("unilateral", "bilateral")
VISCOSITIES: tuple[str, ...] = ("low", "medium", "high")
OF_TYPES: tuple[str, ...] = ("OF1", "OF2", "OF3", "OF4", "OF5")
FINDINGS_FORMAT = "ovcf-findings"
FINDINGS_VERSION = 1

#: The bundled rules table, shipped inside the package (``resources/`` in a source checkout).
BUNDLED_RULES_PATH = Path(str(resources.files("ovcf_viewer.resources") / "suitability_rules.toml"))

_EFFECT_PREFIX = {
    "contraindicate": "Contraindication",
    "caution": "Caution",
    "against": "Against",
    "favour": "For",
    "note": "Note",
    "unilateral": "Unilateral",  # approach votes
    "bilateral": "Bilateral",
}


# ============================================================================ findings

#: Findings fields: name → (kind, label). ``kind`` is "bool", "number" or "of_type".
_FINDING_SPECS: dict[str, tuple[str, str]] = {
    "pain_duration_weeks": ("number", "Pain duration (weeks)"),
    "mri_oedema": ("bool", "Oedema on MRI STIR/T2 (acute fracture)"),
    "posterior_wall_involvement": ("bool", "Posterior-wall involvement"),
    "neurological_deficit": ("bool", "Neurological deficit"),
    "retropulsion_canal_compromise": ("bool", "Retropulsion compromising the canal"),
    "t_score": ("number", "T-score"),
    "vas_under_analgesia": ("number", "Pain VAS under analgesia (0–10)"),
    "mobilisation_possible": ("bool", "Mobilisation possible"),
    "asa_over_3": ("bool", "ASA > 3"),
    "frailty": ("bool", "Frailty"),
    "anticoagulation": ("bool", "Anticoagulation"),
    "poor_general_condition": ("bool", "Poor tolerance or general condition"),
    "symptomatic": ("bool", "Symptomatic fracture"),
    "improving_on_medical_therapy": ("bool", "Improving on medical therapy"),
    "radicular_pain_dominant": ("bool", "Radicular pain exceeds axial pain"),
    "infection_or_sepsis": ("bool", "Infection at the level or sepsis"),
    "uncorrectable_coagulopathy": ("bool", "Uncorrectable coagulopathy"),
    "cement_or_contrast_allergy": ("bool", "Allergy to cement or contrast"),
    "pregnancy": ("bool", "Pregnancy"),
    "of_type": ("of_type", "AO Spine–DGOU OF type"),
    "vertebral_body_width_mm": ("number", "Vertebral body width, transverse (mm, AP film or CT)"),
}

#: Plausible ranges of numeric findings (inclusive), for validation messages.
_FINDING_RANGES: dict[str, tuple[float, float]] = {
    "pain_duration_weeks": (0.0, 520.0),
    "t_score": (-10.0, 5.0),
    "vas_under_analgesia": (0.0, 10.0),
    "vertebral_body_width_mm": (5.0, 120.0),
}


class FindingsError(ValueError):
    """A findings document that cannot be read; the message names the file and the key."""


@dataclass(frozen=True)
class Findings:
    """The clinician's findings (docs/clinical-reference.md §6). ``None`` everywhere means unknown.

    Booleans are answers to the question in the field name (``mri_oedema=True``: oedema on
    STIR/T2, i.e. an acute, unhealed fracture). ``vas_under_analgesia`` is 0–10,
    ``t_score`` a DXA T-score, ``pain_duration_weeks`` weeks since onset,
    ``vertebral_body_width_mm`` the transverse diameter of the index body from an AP film or CT.
    ``measured_overrides`` maps :data:`MEASURED_NAMES` to values the user typed in place of
    the measured ones (saved with the findings, shown as "overridden").
    """

    pain_duration_weeks: float | None = None
    mri_oedema: bool | None = None
    posterior_wall_involvement: bool | None = None
    neurological_deficit: bool | None = None
    retropulsion_canal_compromise: bool | None = None
    t_score: float | None = None
    vas_under_analgesia: float | None = None
    mobilisation_possible: bool | None = None
    asa_over_3: bool | None = None
    frailty: bool | None = None
    anticoagulation: bool | None = None
    poor_general_condition: bool | None = None
    symptomatic: bool | None = None
    improving_on_medical_therapy: bool | None = None
    radicular_pain_dominant: bool | None = None
    infection_or_sepsis: bool | None = None
    uncorrectable_coagulopathy: bool | None = None
    cement_or_contrast_allergy: bool | None = None
    pregnancy: bool | None = None
    of_type: str | None = None
    vertebral_body_width_mm: float | None = None
    measured_overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Validate constructed findings exactly like parsed ones (one set of rules).
        for name, (kind, _label) in _FINDING_SPECS.items():
            value = getattr(self, name)
            checked = _check_finding(name, kind, value, "findings")
            if checked is not value:
                object.__setattr__(self, name, checked)
        overrides = {
            key: _check_measured(key, value, f"findings: measured_overrides.{key}")
            for key, value in dict(self.measured_overrides).items()
        }
        object.__setattr__(self, "measured_overrides", overrides)

    def to_dict(self) -> dict[str, Any]:
        """The findings document: every field (``null`` = unknown), format and version."""
        out: dict[str, Any] = {"format": FINDINGS_FORMAT, "version": FINDINGS_VERSION}
        for name in _FINDING_SPECS:
            out[name] = getattr(self, name)
        out["measured_overrides"] = dict(self.measured_overrides)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def unknown_fields(self) -> tuple[str, ...]:
        return tuple(name for name in _FINDING_SPECS if getattr(self, name) is None)


def finding_label(name: str) -> str:
    """Clinic-words label of a findings field or a measured input."""
    if name in _FINDING_SPECS:
        return _FINDING_SPECS[name][1]
    return _MEASURED_SPECS[name][1]


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_finding(name: str, kind: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if kind == "bool":
        if not isinstance(value, bool):
            raise FindingsError(
                f"{where}: {name!r} must be true, false or null (unknown), got {value!r}"
            )
        return value
    if kind == "of_type":
        if not isinstance(value, str) or value.strip().upper() not in OF_TYPES:
            raise FindingsError(
                f"{where}: {name!r} must be one of {', '.join(OF_TYPES)} or null, got {value!r}"
            )
        normalised = value.strip().upper()
        return value if normalised == value else normalised
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FindingsError(f"{where}: {name!r} must be a number or null, got {value!r}")
    low, high = _FINDING_RANGES[name]
    if not low <= value <= high:
        raise FindingsError(f"{where}: {name!r} = {value!r} is outside {low:g}..{high:g}")
    return value


def findings_from_dict(data: Any, *, where: str = "findings") -> Findings:
    """Parse a findings document (see :meth:`Findings.to_dict`). Missing keys are unknown.

    Raises :class:`FindingsError` naming ``where`` and the offending key: unknown keys (with a
    "did you mean" suggestion), wrong types, values out of range.
    """
    if not isinstance(data, Mapping):
        raise FindingsError(f"{where}: expected a JSON object, got {type(data).__name__}")
    if "format" in data and data["format"] != FINDINGS_FORMAT:
        raise FindingsError(
            f"{where}: 'format' is {data['format']!r}, expected {FINDINGS_FORMAT!r}"
        )
    if "version" in data and data["version"] != FINDINGS_VERSION:
        raise FindingsError(
            f"{where}: unsupported findings version {data['version']!r}; "
            f"this program reads version {FINDINGS_VERSION}"
        )
    values: dict[str, Any] = {}
    allowed = set(_FINDING_SPECS) | {"format", "version", "measured_overrides"}
    for key, value in data.items():
        if key in ("format", "version"):
            continue
        if key == "measured_overrides":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                raise FindingsError(f"{where}: 'measured_overrides' must be an object")
            overrides = {}
            for name, override in value.items():
                if name not in _MEASURED_SPECS:
                    raise FindingsError(
                        f"{where}: unknown key 'measured_overrides.{name}'"
                        f"{_suggest(name, _MEASURED_SPECS)}; known: {', '.join(_MEASURED_SPECS)}"
                    )
                overrides[name] = _check_measured(
                    name, override, f"{where}: measured_overrides.{name}"
                )
            values["measured_overrides"] = overrides
            continue
        if key not in _FINDING_SPECS:
            raise FindingsError(f"{where}: unknown key {key!r}{_suggest(key, allowed)}")
        values[key] = _check_finding(key, _FINDING_SPECS[key][0], value, where)
    return Findings(**values)


def findings_from_json(text: str, *, where: str = "findings") -> Findings:
    """Parse findings from JSON text; :class:`FindingsError` on bad JSON (with the line)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FindingsError(f"{where}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    return findings_from_dict(data, where=where)


def load_findings(path: str | Path) -> Findings:
    """Read a findings file; :class:`FindingsError` names the file on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM (Notepad)
    except (OSError, UnicodeDecodeError) as exc:
        raise FindingsError(f"{path}: cannot read findings: {exc}") from exc
    return findings_from_json(text, where=str(path))


# ============================================================================ measured inputs

#: Measured inputs: name → (kind, label). Kinds: grade, percent, degrees, levels, bool, type.
_MEASURED_SPECS: dict[str, tuple[str, str]] = {
    "worst_genant_grade": ("grade", "Worst Genant grade"),
    "worst_height_reduction_pct": ("percent", "Worst height reduction"),
    "worst_fracture_type": ("type", "Fracture type (worst level)"),
    "segmental_kyphosis_deg": ("degrees", "Segmental kyphosis"),
    "fractured_levels": ("levels", "Fractured levels"),
    "vertebra_plana": ("bool", "Vertebra plana"),
    "deformity_progression": ("bool", "Deformity progression since earlier films"),
}
MEASURED_NAMES: tuple[str, ...] = tuple(_MEASURED_SPECS)
_FRACTURE_TYPES = ("none", "wedge", "biconcave", "crush")


def _check_measured(name: str, value: Any, where: str) -> Any:
    if name not in _MEASURED_SPECS:
        raise FindingsError(f"{where}: unknown measured input{_suggest(name, _MEASURED_SPECS)}")
    if value is None:
        return None
    kind = _MEASURED_SPECS[name][0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise FindingsError(f"{where}: must be true, false or null, got {value!r}")
        return value
    if kind == "type":
        if value not in _FRACTURE_TYPES:
            raise FindingsError(f"{where}: must be one of {', '.join(_FRACTURE_TYPES)}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FindingsError(f"{where}: must be a number or null, got {value!r}")
    if kind == "grade" and value not in (0, 1, 2, 3):
        raise FindingsError(f"{where}: a Genant grade is 0, 1, 2 or 3, got {value!r}")
    if kind == "levels" and (value != int(value) or not 0 <= value <= 19):
        raise FindingsError(f"{where}: a count of levels 0..19, got {value!r}")
    if kind == "percent" and not -100.0 <= value <= 100.0:
        raise FindingsError(f"{where}: a percentage -100..100, got {value!r}")
    if kind == "degrees" and not -90.0 <= value <= 90.0:
        raise FindingsError(f"{where}: an angle -90..90°, got {value!r}")
    return int(value) if kind in ("grade", "levels") else value


@dataclass(frozen=True)
class MeasuredValue:
    """One measured input with its provenance.

    ``source`` says where it was measured ("L1, pre-operative film"); ``overridden`` is true
    when the user typed the value, and ``measured`` then keeps what was measured (or ``None``).
    """

    value: Any = None
    source: str = ""
    overridden: bool = False
    measured: Any = None

    @property
    def known(self) -> bool:
        return self.value is not None

    def provenance(self) -> str:
        if self.overridden:
            was = "" if self.measured is None else f"; measured {_plain(self.measured)}"
            return f"overridden by the user{was}"
        return self.source or ("unknown" if self.value is None else "measured")

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "source": self.provenance(),
            "overridden": self.overridden,
        }


_UNKNOWN = MeasuredValue()


@dataclass(frozen=True)
class MeasuredInputs:
    """Inputs measured from the landmarks (docs/clinical-reference.md §3, §4, §6), each with
    provenance.

    ``worst_genant_grade`` 0–3 and ``worst_height_reduction_pct`` (percent) of the worst
    vertebra; ``worst_fracture_type`` its Genant type; ``segmental_kyphosis_deg`` at the index
    level (kyphosis positive); ``fractured_levels`` the number of vertebrae with Genant
    grade ≥ 1; ``vertebra_plana`` r ≥ the rules' threshold; ``deformity_progression`` from
    earlier films (``None`` without them).
    """

    worst_genant_grade: MeasuredValue = _UNKNOWN
    worst_height_reduction_pct: MeasuredValue = _UNKNOWN
    worst_fracture_type: MeasuredValue = _UNKNOWN
    segmental_kyphosis_deg: MeasuredValue = _UNKNOWN
    fractured_levels: MeasuredValue = _UNKNOWN
    vertebra_plana: MeasuredValue = _UNKNOWN
    deformity_progression: MeasuredValue = _UNKNOWN

    @classmethod
    def from_values(cls, source: str = "", **values: Any) -> MeasuredInputs:
        """Build from plain numbers (``None`` = unknown), all with the same ``source``."""
        kwargs = {}
        for name, value in values.items():
            checked = _check_measured(name, value, f"measured input {name}")
            kwargs[name] = MeasuredValue(checked, source if checked is not None else "")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_dict() for name in MEASURED_NAMES}


def apply_overrides(measured: MeasuredInputs, overrides: Mapping[str, Any]) -> MeasuredInputs:
    """``measured`` with the user's values in place of the measured ones, marked overridden."""
    changes = {}
    for name, value in overrides.items():
        checked = _check_measured(name, value, f"override {name}")
        original: MeasuredValue = getattr(measured, name)
        changes[name] = MeasuredValue(checked, "", True, original.value)
    return replace(measured, **changes)


def measured_inputs_from(
    measurements: ImageMeasurements,
    index_levels: Sequence[str] | None = None,
    earlier: Sequence[tuple[str, ImageMeasurements]] | None = None,
    *,
    film: str = "",
    rules: Rules | None = None,
) -> MeasuredInputs:
    """Fill :class:`MeasuredInputs` from one film's measurements (docs/clinical-reference.md §3–§6).

    - ``index_levels``: the fractured/treated levels (default: the film's index levels). The
      worst Genant grade and height reduction are taken over them, or over every measured
      vertebra when none is marked; the segmental kyphosis is the largest at an index level.
    - ``fractured_levels`` counts measured vertebrae with Genant grade ≥ 1.
    - ``vertebra_plana``: worst height reduction ≥ the rules' ``vertebra_plana_min_reduction_pct``.
    - ``deformity_progression`` compares each earlier film ``(label, measurements)`` with this
      one at the index levels: true if the segmental kyphosis grew by more than
      ``progression_kyphosis_deg`` or the height reduction by more than
      ``progression_reduction_points`` percentage points at any level (ratios and angles do
      not depend on magnification, §1); false if compared and neither did; ``None`` when no
      earlier film measures an index level.
    ``film`` names this film in every provenance ("pre-operative film 2024-03-01").
    """
    rules = rules or load_rules()
    on = f", {film}" if film else ""
    if index_levels is None:
        index_levels = list(measurements.index_levels)
    index_levels = [lv for lv in index_levels if lv in measurements.vertebrae]
    pool = index_levels or list(measurements.vertebrae)
    out: dict[str, MeasuredValue] = {}
    if pool:
        worst = max(pool, key=lambda lv: measurements.vertebrae[lv].genant.height_reduction)
        genant = measurements.vertebrae[worst].genant
        where = f"{worst}{on}; reference {genant.reference.replace('_', ' ')}"
        out["worst_genant_grade"] = MeasuredValue(genant.grade, where)
        out["worst_height_reduction_pct"] = MeasuredValue(genant.height_reduction_pct, where)
        out["worst_fracture_type"] = MeasuredValue(genant.type, where)
        plana_limit = rules.threshold("vertebra_plana_min_reduction_pct")
        out["vertebra_plana"] = MeasuredValue(
            _at_or_above(genant.height_reduction_pct, plana_limit),
            f"{worst}: r {_num(genant.height_reduction_pct)} % vs {_num(plana_limit)} %{on}",
        )
    if measurements.vertebrae:
        fractured = [lv for lv, m in measurements.vertebrae.items() if m.genant.grade >= 1]
        listed = ", ".join(fractured) if fractured else "none"
        out["fractured_levels"] = MeasuredValue(
            len(fractured), f"Genant grade ≥ 1: {listed}{on}"
        )
    kyphoses = [
        (measurements.index_levels[lv].segmental_kyphosis_deg, lv)
        for lv in index_levels
        if lv in measurements.index_levels
        and measurements.index_levels[lv].segmental_kyphosis_deg is not None
    ]
    if kyphoses:
        angle, level = max(kyphoses)
        il = measurements.index_levels[level]
        out["segmental_kyphosis_deg"] = MeasuredValue(
            angle, f"{level}, {il.upper_level} superior to {il.lower_level} inferior endplate{on}"
        )
    if earlier:
        out["deformity_progression"] = _progression(measurements, index_levels, earlier, rules)
    return MeasuredInputs(**out)


@dataclass(frozen=True)
class FilmMeasurements:
    """One film's measurements with what :func:`choose_films` needs: a label for provenance
    ("Pre-operative 2024-03-01, pre.json"), the timepoint kind (``preop``/``postop``/
    ``followup`` or ``None``), the date (ISO text or ``None``) and its order in the input."""

    label: str
    measurements: ImageMeasurements
    kind: str | None = None
    date: str | None = None
    order: int = 0


_KIND_ORDER = {"preop": 0, "postop": 1, "followup": 2}


def choose_films(
    films: Sequence[FilmMeasurements],
) -> tuple[FilmMeasurements, list[FilmMeasurements], str]:
    """The film the measured inputs come from, the earlier films for progression, and a
    sentence saying why (docs/clinical-reference.md §5, §6).

    The latest pre-operative film is used, and every earlier pre-operative film serves for
    progression (post-operative films are not: cement changes the heights). Without a
    pre-operative film the latest film is used and progression stays unknown. Films are
    ordered by timepoint kind, then date, then input order.
    """
    if not films:
        raise ValueError("no films")

    def key(f: FilmMeasurements) -> tuple[int, str, int]:
        return (_KIND_ORDER.get(f.kind or "", -1), f.date or "", f.order)

    ordered = sorted(films, key=key)
    preop = [f for f in ordered if f.kind == "preop"]
    if preop:
        current = preop[-1]
        earlier = [f for f in preop[:-1] if (f.date or "") <= (current.date or "")]
        why = f"measured on the latest pre-operative film ({current.label})"
        if earlier:
            why += "; progression against " + ", ".join(f.label for f in earlier)
        return current, earlier, why
    current = ordered[-1]
    why = f"measured on {current.label}: no pre-operative film, progression unknown"
    return current, [], why


def _progression(
    current: ImageMeasurements,
    index_levels: Sequence[str],
    earlier: Sequence[tuple[str, ImageMeasurements]],
    rules: Rules,
) -> MeasuredValue:
    kyphosis_limit = rules.threshold("progression_kyphosis_deg")
    reduction_limit = rules.threshold("progression_reduction_points")
    compared: list[str] = []
    grown: list[str] = []
    for label, old in earlier:
        for level in index_levels:
            if level not in old.vertebrae:
                continue
            compared.append(f"{level} vs {label}")
            d_r = (
                current.vertebrae[level].genant.height_reduction_pct
                - old.vertebrae[level].genant.height_reduction_pct
            )
            if _above(d_r, reduction_limit):
                grown.append(f"{level}: height reduction +{_num(d_r)} points since {label}")
            new_k = current.index_levels.get(level)
            old_k = old.index_levels.get(level)
            if (
                new_k is not None and old_k is not None
                and new_k.segmental_kyphosis_deg is not None
                and old_k.segmental_kyphosis_deg is not None
            ):
                d_k = new_k.segmental_kyphosis_deg - old_k.segmental_kyphosis_deg
                if _above(d_k, kyphosis_limit):
                    grown.append(f"{level}: kyphosis +{_num(d_k)}° since {label}")
    if not compared:
        return MeasuredValue(None, "no earlier film measures an index level")
    if grown:
        return MeasuredValue(True, "; ".join(grown))
    return MeasuredValue(
        False,
        f"no change > {_num(kyphosis_limit)}° or > {_num(reduction_limit)} points "
        f"({', '.join(compared)})",
    )


# ============================================================================ rules file


class RulesError(ValueError):
    """A rules file that cannot be used; the message names the file, the key and the line."""

    def __init__(self, path: Path | str, line: int | None, key: str, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        self.problem = problem
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


@dataclass(frozen=True)
class Outcome:
    text: str
    effects: Mapping[str, str]


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    source: str
    enabled: bool
    outcomes: Mapping[str, Outcome]


@dataclass(frozen=True)
class OptionSpec:
    label: str
    notes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class CementSpec:
    viscosity: str
    text: str
    source: str


@dataclass(frozen=True)
class Rules:
    """A validated rules file (see ``resources/suitability_rules.toml``)."""

    path: str
    name: str
    version: str
    thresholds: Mapping[str, float]
    confidence: Mapping[str, int]
    of_score: Mapping[str, Any]
    options: Mapping[str, OptionSpec]
    cement: Mapping[str, CementSpec]
    rules: Mapping[str, RuleSpec]
    #: Set by :func:`rules_for_settings` when the user's setting overrides the file's width.
    bilateral_width_override_mm: float | None = None

    def threshold(self, name: str) -> float:
        return self.thresholds[name]

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.path})"


_REQUIRED_THRESHOLDS = {
    "mild_moderate_max_reduction_pct": (0.0, 100.0),
    "kyphosis_pkp_min_deg": (0.0, 90.0),
    "multilevel_min_levels": (1, 19),
    "vertebra_plana_min_reduction_pct": (0.0, 100.0),
    "max_levels_per_session": (1, 19),
    "bilateral_width_min_mm": (5.0, 120.0),
    "progression_kyphosis_deg": (0.0, 90.0),
    "progression_reduction_points": (0.0, 100.0),
}
_REQUIRED_OF_SCORE_NUMBERS = (
    "t_score_below", "t_score_points", "progression_points", "no_progression_points",
    "vas_min", "vas_high_points", "vas_low_points", "neurological_deficit_points",
    "immobile_points", "mobile_points", "comorbidity_points", "comorbidity_floor",
    "conservative_max", "operative_above",
)


class _Validator:
    """Schema checks with line numbers: tomllib gives lines for syntax errors only, so for a
    schema error the key is searched in the text (its table header, then ``key =``)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, keys: Sequence[str], problem: str) -> RulesError:
        return RulesError(self.path, self.line_of(keys), ".".join(keys), problem)

    def line_of(self, keys: Sequence[str]) -> int | None:
        keys = list(keys)
        for depth in range(len(keys), 0, -1):
            header = _header_pattern(keys[:depth])
            for i, line in enumerate(self.lines):
                if header.match(line):
                    return self._key_after(i, keys[depth:]) or i + 1
        # No table header: a top-level or dotted key; find "last = " anywhere.
        for i, line in enumerate(self.lines):
            if re.match(rf"\s*[\"']?{re.escape(keys[-1])}[\"']?\s*=", line):
                return i + 1
        return None

    def _key_after(self, header_index: int, rest: Sequence[str]) -> int | None:
        if not rest:
            return None
        for j in range(header_index + 1, len(self.lines)):
            line = self.lines[j]
            if re.match(r"\s*\[", line):
                return None
            if re.match(rf"\s*[\"']?{re.escape(rest[0])}[\"']?\s*[.=]", line):
                return j + 1
        return None

    def table(self, data: Any, keys: Sequence[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(keys, "must be a table")
        return data

    def child(self, parent: Mapping[str, Any], keys: Sequence[str], kind: str) -> Any:
        """``parent[keys[-1]]``, required, checked against ``kind``."""
        name = keys[-1]
        if name not in parent:
            raise self.fail(keys, f"required key missing ({kind})")
        value = parent[name]
        if kind == "table":
            return self.table(value, keys)
        if kind == "string":
            if not isinstance(value, str) or not value.strip():
                raise self.fail(keys, f"must be a non-empty string, got {value!r}")
            return value
        if kind == "number":
            return self.number(value, keys)
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(keys, f"must be an integer, got {value!r}")
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(keys, f"must be true or false, got {value!r}")
            return value
        raise AssertionError(kind)

    def number(self, value: Any, keys: Sequence[str]) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value
        ):
            raise self.fail(keys, f"must be a number, got {value!r}")
        return value

    def no_unknown(self, data: Mapping[str, Any], keys: Sequence[str], known: Iterable[str]):
        known = list(known)
        for key in data:
            if key not in known:
                raise self.fail(
                    [*keys, key], f"unknown key{_suggest(key, known)}; expected {', '.join(known)}"
                )


def _header_pattern(keys: Sequence[str]) -> re.Pattern[str]:
    parts = r"\s*\.\s*".join(rf"[\"']?{re.escape(k)}[\"']?" for k in keys)
    return re.compile(rf"\s*\[\s*{parts}\s*\]\s*(#.*)?$")


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and validate a rules file (default: the bundled one, :data:`BUNDLED_RULES_PATH`).

    Raises :class:`RulesError` naming the file, the key path and the line: TOML syntax errors
    (line from tomllib), missing or unknown sections/keys, non-numeric thresholds, unknown
    option ids, effects or outcome names, and text placeholders the rule does not provide.
    """
    path = Path(path) if path else BUNDLED_RULES_PATH
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM (Notepad)
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(path, None, "", f"cannot read the rules file: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise RulesError(path, line, "", f"not valid TOML: {exc}") from exc
    return _validate(data, _Validator(path, text))


def _validate(data: dict[str, Any], v: _Validator) -> Rules:
    v.no_unknown(data, [], ("meta", "thresholds", "confidence", "of_score", "options", "cement",
                            "rules"))
    meta = v.child(data, ["meta"], "table")
    name = v.child(meta, ["meta", "name"], "string")
    version = v.child(meta, ["meta", "version"], "string")

    thresholds_table = v.child(data, ["thresholds"], "table")
    v.no_unknown(thresholds_table, ["thresholds"], _REQUIRED_THRESHOLDS)
    thresholds: dict[str, float] = {}
    for key, (low, high) in _REQUIRED_THRESHOLDS.items():
        keys = ["thresholds", key]
        value = v.child(thresholds_table, keys, "number")
        if not low <= value <= high:
            raise v.fail(keys, f"{value!r} is outside {low:g}..{high:g}")
        if isinstance(low, int) and value != int(value):
            raise v.fail(keys, f"must be a whole number of levels, got {value!r}")
        thresholds[key] = value

    confidence_table = v.child(data, ["confidence"], "table")
    v.no_unknown(confidence_table, ["confidence"], ("high_max_unknowns", "medium_max_unknowns"))
    confidence = {
        key: v.child(confidence_table, ["confidence", key], "integer")
        for key in ("high_max_unknowns", "medium_max_unknowns")
    }
    if not 0 <= confidence["high_max_unknowns"] <= confidence["medium_max_unknowns"]:
        raise v.fail(["confidence", "medium_max_unknowns"],
                     "must be ≥ high_max_unknowns ≥ 0")

    of_table = v.child(data, ["of_score"], "table")
    v.no_unknown(of_table, ["of_score"],
                 ("source", "caveat", "type_points", *_REQUIRED_OF_SCORE_NUMBERS))
    of_score: dict[str, Any] = {
        "source": v.child(of_table, ["of_score", "source"], "string"),
        "caveat": v.child(of_table, ["of_score", "caveat"], "string"),
    }
    type_points = v.child(of_table, ["of_score", "type_points"], "table")
    v.no_unknown(type_points, ["of_score", "type_points"], OF_TYPES)
    of_score["type_points"] = {
        of: v.child(type_points, ["of_score", "type_points", of], "number") for of in OF_TYPES
    }
    for key in _REQUIRED_OF_SCORE_NUMBERS:
        of_score[key] = v.child(of_table, ["of_score", key], "number")
    if of_score["conservative_max"] > of_score["operative_above"]:
        raise v.fail(["of_score", "operative_above"], "must be ≥ conservative_max")

    options_table = v.child(data, ["options"], "table")
    v.no_unknown(options_table, ["options"], OPTION_IDS)
    options: dict[str, OptionSpec] = {}
    for option in OPTION_IDS:
        keys = ["options", option]
        table = v.child(options_table, keys, "table")
        v.no_unknown(table, keys, ("label", "notes", "source"))
        notes = table.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise v.fail([*keys, "notes"], "must be a list of strings")
        options[option] = OptionSpec(
            v.child(table, [*keys, "label"], "string"),
            tuple(notes),
            v.child(table, [*keys, "source"], "string"),
        )

    cement_table = v.child(data, ["cement"], "table")
    v.no_unknown(cement_table, ["cement"], ("pvp", "pkp", "expandable"))
    cement: dict[str, CementSpec] = {}
    for option in ("pvp", "pkp", "expandable"):
        if option not in cement_table and option == "expandable":
            continue
        keys = ["cement", option]
        table = v.child(cement_table, keys, "table")
        v.no_unknown(table, keys, ("viscosity", "text", "source"))
        viscosity = v.child(table, [*keys, "viscosity"], "string")
        if viscosity not in VISCOSITIES:
            raise v.fail([*keys, "viscosity"], f"must be one of {', '.join(VISCOSITIES)}")
        cement[option] = CementSpec(
            viscosity,
            v.child(table, [*keys, "text"], "string"),
            v.child(table, [*keys, "source"], "string"),
        )

    rules_table = v.child(data, ["rules"], "table")
    v.no_unknown(rules_table, ["rules"], _RULES)
    rules: dict[str, RuleSpec] = {}
    for rule_id, definition in _RULES.items():
        keys = ["rules", rule_id]
        table = v.child(rules_table, keys, "table")
        v.no_unknown(table, keys, ("source", "enabled", *definition.outcomes))
        enabled = v.child(table, [*keys, "enabled"], "bool") if "enabled" in table else True
        outcomes: dict[str, Outcome] = {}
        for outcome in definition.outcomes:
            if outcome not in table:
                continue
            okeys = [*keys, outcome]
            otable = v.child(table, okeys, "table")
            v.no_unknown(otable, okeys, ("text", "effects"))
            text = v.child(otable, [*okeys, "text"], "string")
            _check_placeholders(v, [*okeys, "text"], text, definition.variables)
            effects = v.child(otable, [*okeys, "effects"], "table")
            for target, effect in effects.items():
                ekeys = [*okeys, "effects", target]
                if target == "approach":
                    if effect not in APPROACHES:
                        raise v.fail(ekeys, f"approach must be one of {', '.join(APPROACHES)}, "
                                            f"got {effect!r}")
                elif target not in OPTION_IDS:
                    raise v.fail(ekeys, f"unknown option id{_suggest(target, OPTION_IDS)}; "
                                        f"expected {', '.join(OPTION_IDS)} or approach")
                elif effect not in EFFECTS:
                    raise v.fail(ekeys, f"unknown effect {effect!r}{_suggest(str(effect), EFFECTS)}"
                                        f"; expected {', '.join(EFFECTS)}")
            outcomes[outcome] = Outcome(text, dict(effects))
        rules[rule_id] = RuleSpec(
            rule_id, v.child(table, [*keys, "source"], "string"), enabled, outcomes
        )
    return Rules(str(v.path), name, version, thresholds, confidence, of_score, options, cement,
                 rules)


def _check_placeholders(v: _Validator, keys: Sequence[str], text: str, allowed: Sequence[str]):
    try:
        names = [f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise v.fail(keys, f"bad placeholder: {exc}") from exc
    for placeholder in names:
        if placeholder not in allowed:
            offer = ", ".join("{" + a + "}" for a in allowed) or "none"
            raise v.fail(keys, f"unknown placeholder {{{placeholder}}}; this rule offers {offer}")


def rules_for_settings(settings: Settings | None) -> Rules:
    """The rules a user's settings select: ``settings.rules_file`` (a department's file) or
    the bundled file. The bilateral width threshold of the settings overrides the file's when
    the user changed it from its default (docs/clinical-reference.md §6: departmental threshold)."""
    from ovcf_viewer.core.settings import Settings

    settings = settings or Settings()
    rules = load_rules(settings.rules_file or None)
    default = Settings().bilateral_width_threshold_mm
    if settings.bilateral_width_threshold_mm != default:
        rules = replace(rules, bilateral_width_override_mm=settings.bilateral_width_threshold_mm)
    return rules


def rules_with_fallback(settings: Settings | None) -> tuple[Rules | None, str]:
    """The rules a user's settings select, never raising: ``(rules, problem)``.

    A broken department file falls back to the bundled rules and says so in ``problem``; when
    the bundled file itself cannot be read (a damaged installation) the result is
    ``(None, problem)`` and only suitability is unavailable — the viewer, measurements and
    report keep working."""
    try:
        return rules_for_settings(settings), ""
    except RulesError as exc:
        if settings is None or not settings.rules_file:
            return None, f"Suitability unavailable: {exc}"
        problem = f"Department rules not used: {exc}"
    try:
        return load_rules(), problem
    except RulesError as exc:
        return None, f"{problem}. Suitability unavailable: {exc}"


# ============================================================================ formatting helpers


def _num(value: float) -> str:
    """1 decimal, trailing zero dropped: 35 → "35", 40.44 → "40.4", -3.25 → "-3.2"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _num(value)
    return str(value)


# Threshold comparisons on values rounded like the Genant grading, so a value constructed to
# be exactly at a threshold is treated as at it, not 1e-12 below.
def _at_or_above(value: float, limit: float) -> bool:
    return round(value, 9) >= round(limit, 9)


def _above(value: float, limit: float) -> bool:
    return round(value, 9) > round(limit, 9)


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
        options.append(OptionAssessment(option_id, option_spec.label, _status(reasons),
                                        tuple(reasons + notes)))

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


#: Public views of the field tables, for forms (the Qt panel) and documentation:
#: name → (kind, label); numeric findings' plausible (low, high) ranges.
FINDING_SPECS: Mapping[str, tuple[str, str]] = _FINDING_SPECS
FINDING_RANGES: Mapping[str, tuple[float, float]] = _FINDING_RANGES
MEASURED_SPECS: Mapping[str, tuple[str, str]] = _MEASURED_SPECS
FRACTURE_TYPES: tuple[str, ...] = _FRACTURE_TYPES

# Keep the documented field list in one place for the CLI/README and the Qt form.
FINDING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Findings)
                                        if f.name != "measured_overrides")
