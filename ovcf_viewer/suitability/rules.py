"""The rules file: thresholds, reason texts and sources read from TOML and checked
(:func:`load_rules`, :func:`rules_for_settings`)."""

from __future__ import annotations

import math
import re
import string
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.suitability.common import (
    APPROACHES,
    EFFECTS,
    OF_TYPES,
    OPTION_IDS,
    VISCOSITIES,
    _suggest,
)
from ovcf_viewer.suitability.conditions import _RULES

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.model.settings import Settings


# ============================================================================ rules file

#: The bundled rules table, shipped inside the package (``resources/`` in a source checkout).
BUNDLED_RULES_PATH = Path(str(resources.files("ovcf_viewer.resources") / "suitability_rules.toml"))


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
    from ovcf_viewer.model.settings import Settings

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
