"""The rule engine's inputs: the clinician's findings (:class:`Findings`; every field optional,
``None`` means unknown) read and checked from a findings document, and the values measured
from the landmarks (:class:`MeasuredInputs`, with their provenance) and which film of a case
they are measured on (:func:`choose_films`)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.suitability.common import (
    FINDINGS_FORMAT,
    FINDINGS_VERSION,
    OF_TYPES,
    _above,
    _at_or_above,
    _num,
    _plain,
    _suggest,
)

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.measure.measurements import ImageMeasurements
    from ovcf_viewer.suitability.rules import Rules


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


#: Public views of the field tables, for forms (the Qt panel) and documentation:
#: name → (kind, label); numeric findings' plausible (low, high) ranges.
FINDING_SPECS: Mapping[str, tuple[str, str]] = _FINDING_SPECS
FINDING_RANGES: Mapping[str, tuple[float, float]] = _FINDING_RANGES
# Keep the documented field list in one place for the CLI/README and the Qt form.
FINDING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Findings)
                                        if f.name != "measured_overrides")
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
    if rules is None:
        from ovcf_viewer.suitability.rules import load_rules  # rules → conditions → inputs

        rules = load_rules()
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


MEASURED_SPECS: Mapping[str, tuple[str, str]] = _MEASURED_SPECS
FRACTURE_TYPES: tuple[str, ...] = _FRACTURE_TYPES
