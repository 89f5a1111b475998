"""The clinician's findings (docs/clinical-reference.md §6), the typed model a case document
and a findings file hold: every field optional, ``None`` means unknown and is never guessed.
Validated when constructed and when read (:func:`findings_from_dict`, :func:`load_findings`),
so a :class:`~ovcf_viewer.model.case.Case` never carries findings the rule engine cannot use.
Imports nothing above :mod:`ovcf_viewer.model`."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ovcf_viewer.util.safe_read import InputFileError, json_depth, read_text

FINDINGS_FORMAT = "ovcf-findings"
FINDINGS_VERSION = 1
OF_TYPES: tuple[str, ...] = ("OF1", "OF2", "OF3", "OF4", "OF5")


def _suggest(key: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""



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
            key: check_measured(key, value, f"findings: measured_overrides.{key}")
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
                overrides[name] = check_measured(
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
        text = read_text(path)  # a leading BOM (Notepad) is dropped
    except InputFileError as exc:
        raise FindingsError(f"{path}: cannot read findings: {exc.reason}") from None
    if json_depth(text) > 16:  # findings are one object of flat values
        raise FindingsError(f"{path}: nested too deep to be a findings file")
    return findings_from_json(text, where=str(path))


#: Public views of the field tables, for forms (the Qt panel) and documentation:
#: name → (kind, label); numeric findings' plausible (low, high) ranges.
FINDING_SPECS: Mapping[str, tuple[str, str]] = _FINDING_SPECS
FINDING_RANGES: Mapping[str, tuple[float, float]] = _FINDING_RANGES
# Keep the documented field list in one place for the CLI/README and the Qt form.
FINDING_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Findings)
                                        if f.name != "measured_overrides")


# Measured inputs a user may override (saved with the findings).

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


def check_measured(name: str, value: Any, where: str) -> Any:
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

MEASURED_SPECS: Mapping[str, tuple[str, str]] = _MEASURED_SPECS
FRACTURE_TYPES: tuple[str, ...] = _FRACTURE_TYPES
