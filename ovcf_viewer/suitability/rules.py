"""The rules file: thresholds, reason texts and sources read from TOML and checked against a
pydantic schema (:func:`load_rules`, :func:`rules_for_settings`)."""

from __future__ import annotations

import re
import string
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import annotated_types
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ovcf_viewer.suitability.common import (
    APPROACHES,
    EFFECTS,
    OF_TYPES,
    OPTION_IDS,
    VISCOSITIES,
    _suggest,
)
from ovcf_viewer.suitability.conditions import _RULES
from ovcf_viewer.util.safe_read import InputFileError, read_toml

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


# ============================================================================ the schema
# pydantic models of the file. Strict: TOML has real types, so "15" is not a number and 2.0
# is not a count of levels; ``extra="forbid"`` refuses unknown (misspelt) keys.


def _non_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must be a non-empty string")
    return value


Text = Annotated[str, AfterValidator(_non_blank)]
Number = StrictInt | StrictFloat
Percent = Annotated[Number, Field(ge=0.0, le=100.0)]
Degrees = Annotated[Number, Field(ge=0.0, le=90.0)]
Levels = Annotated[StrictInt, Field(ge=1, le=19)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
    #: What an unknown key of this table is, in messages ("unknown option id").
    key_noun: ClassVar[str] = "key"


class _Meta(_Table):
    # Free-form provenance (date, based_on, a department's own notes) is allowed here.
    model_config = ConfigDict(extra="allow")
    name: Text
    version: Text


class _Thresholds(_Table):
    mild_moderate_max_reduction_pct: Percent
    kyphosis_pkp_min_deg: Degrees
    multilevel_min_levels: Levels
    vertebra_plana_min_reduction_pct: Percent
    max_levels_per_session: Levels
    bilateral_width_min_mm: Annotated[Number, Field(ge=5.0, le=120.0)]
    progression_kyphosis_deg: Degrees
    progression_reduction_points: Percent


class _Confidence(_Table):
    high_max_unknowns: Annotated[StrictInt, Field(ge=0)]
    medium_max_unknowns: StrictInt

    @field_validator("medium_max_unknowns")
    @classmethod
    def _ordered(cls, value: int, info: ValidationInfo) -> int:
        high = info.data.get("high_max_unknowns")
        if high is not None and value < high:
            raise PydanticCustomError("order", "must be ≥ high_max_unknowns ≥ 0")
        return value


_TypePoints = create_model(  # type: ignore[call-overload]
    "_TypePoints", __base__=_Table, **{of: (Number, ...) for of in OF_TYPES}
)


class _OFScore(_Table):
    source: Text
    caveat: Text
    type_points: _TypePoints  # type: ignore[valid-type]
    t_score_below: Number
    t_score_points: Number
    progression_points: Number
    no_progression_points: Number
    vas_min: Number
    vas_high_points: Number
    vas_low_points: Number
    neurological_deficit_points: Number
    immobile_points: Number
    mobile_points: Number
    comorbidity_points: Number
    comorbidity_floor: Number
    conservative_max: Number
    operative_above: Number

    @field_validator("operative_above")
    @classmethod
    def _ordered(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("conservative_max")
        if low is not None and value < low:
            raise PydanticCustomError("order", "must be ≥ conservative_max")
        return value


class _Option(_Table):
    label: Text
    notes: list[str] = Field(default_factory=list)
    source: Text


_Options = create_model(  # type: ignore[call-overload]
    "_Options", __base__=_Table, **{o: (_Option, ...) for o in OPTION_IDS}
)


class _Cement(_Table):
    viscosity: Literal[VISCOSITIES]  # type: ignore[valid-type]
    text: Text
    source: Text


class _CementTable(_Table):
    pvp: _Cement
    pkp: _Cement
    expandable: _Cement | None = None


class _Effects(_Table):
    """What an outcome does: an effect per option id, and/or the approach it votes for."""

    key_noun: ClassVar[str] = "option id"
    conservative: Literal[EFFECTS] | None = None  # type: ignore[valid-type]
    pvp: Literal[EFFECTS] | None = None  # type: ignore[valid-type]
    pkp: Literal[EFFECTS] | None = None  # type: ignore[valid-type]
    expandable: Literal[EFFECTS] | None = None  # type: ignore[valid-type]
    refer: Literal[EFFECTS] | None = None  # type: ignore[valid-type]
    approach: Literal[APPROACHES] | None = None  # type: ignore[valid-type]


def _check_placeholders(text: str, allowed: Sequence[str]) -> str:
    """Reason texts may only use the placeholders their rule fills in."""
    try:
        names = [f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        raise PydanticCustomError("placeholder", "bad placeholder: {error}",
                                  {"error": str(exc)}) from None
    for placeholder in names:
        if placeholder not in allowed:
            offer = ", ".join("{" + a + "}" for a in allowed) or "none"
            raise PydanticCustomError(
                "placeholder", "unknown placeholder {name}; this rule offers {offer}",
                {"name": "{" + placeholder + "}", "offer": offer})
    return text


def _rule_model(rule_id: str) -> type[_Table]:
    """The table of one rule: its source, ``enabled`` and the outcomes the code defines for it,
    whose texts may use the rule's placeholders only."""
    definition = _RULES[rule_id]
    outcome = create_model(
        f"_Outcome_{rule_id}", __base__=_Table,
        text=(Annotated[Text, AfterValidator(partial(_check_placeholders,
                                                     allowed=definition.variables))], ...),
        effects=(_Effects, ...),
    )
    fields: dict[str, Any] = {"source": (Text, ...), "enabled": (StrictBool, True)}
    fields.update({name: (outcome | None, None) for name in definition.outcomes})
    return create_model(f"_Rule_{rule_id}", __base__=_Table, **fields)


_RulesTable = create_model(  # type: ignore[call-overload]
    "_RulesTable", __base__=_Table, **{r: (_rule_model(r), ...) for r in _RULES}
)


class RulesFile(_Table):
    """The whole rules file, section by section (``resources/suitability_rules.toml``)."""

    meta: _Meta
    thresholds: _Thresholds
    confidence: _Confidence
    of_score: _OFScore
    options: _Options  # type: ignore[valid-type]
    cement: _CementTable
    rules: _RulesTable  # type: ignore[valid-type]


# ============================================================================ messages


def _field_type(model: Any, name: str) -> Any:
    """The model class (or other type) of field ``name`` of ``model``, Optional unwrapped."""
    fields = getattr(model, "model_fields", {})
    if name not in fields:
        return None
    annotation = fields[name].annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 else annotation
    return annotation


def _model_at(keys: Sequence[str]) -> Any:
    model: Any = RulesFile
    for key in keys:
        model = _field_type(model, key)
    return model


def _bounds(keys: Sequence[str]) -> tuple[float | None, float | None]:
    parent = _model_at(keys[:-1])
    field = getattr(parent, "model_fields", {}).get(keys[-1])
    low = high = None
    for item in field.metadata if field is not None else ():
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    for arg in typing.get_args(field.annotation) if field is not None else ():
        for item in getattr(arg, "__metadata__", ()):
            if isinstance(item, annotated_types.Ge | annotated_types.Le):
                low = getattr(item, "ge", low)
                high = getattr(item, "le", high)
    return low, high


def _problem(error: Any, keys: Sequence[str]) -> str:
    """One pydantic error as a sentence in the words the rules file's readers use."""
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        parent = _model_at(keys[:-1])
        known = list(getattr(parent, "model_fields", {}))
        noun = getattr(parent, "key_noun", "key")
        return f"unknown {noun}{_suggest(keys[-1], known)}; expected {', '.join(known)}"
    if kind in ("greater_than_equal", "less_than_equal"):
        low, high = _bounds(keys)
        if low is not None and high is not None:
            return f"{value!r} is outside {low:g}..{high:g}"
        if low is not None:
            return f"{value!r} must be ≥ {low:g}"
        return f"{value!r} must be ≤ {high:g}"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        return (f"must be one of {', '.join(expected)}, got {value!r}"
                f"{_suggest(str(value), expected)}")
    if kind in ("int_type", "int_from_float"):
        return f"must be a whole number, got {value!r}"
    if kind in ("float_type", "int_parsing", "float_parsing", "finite_number"):
        return f"must be a number, got {value!r}"
    if kind in ("string_type",):
        return f"must be a non-empty string, got {value!r}"
    if kind == "bool_type":
        return f"must be true or false, got {value!r}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return "must be a table"
    if kind in ("tuple_type", "list_type"):
        return "must be a list of strings"
    return str(error["msg"])


_TYPE_ERRORS = frozenset({"int_type", "float_type", "int_from_float", "finite_number"})


def _union_problem(errors: Sequence[Any], keys: Sequence[str]) -> str:
    """A number field (int | float) fails once per member: a range error if one member got
    that far, else "must be a number"."""
    if len(errors) > 1:
        past_type = [e for e in errors if e["type"] not in _TYPE_ERRORS]
        if not past_type:
            return f"must be a number, got {errors[0].get('input')!r}"
        return _problem(past_type[0], keys)
    return _problem(errors[0], keys)


def _keys(loc: Sequence[Any]) -> list[str]:
    # A union (int | float) adds its member's name to the location; keep the file's keys only.
    keys: list[str] = []
    model: Any = RulesFile
    for part in loc:
        if isinstance(part, int):  # an item of a list: the list's key names it
            continue
        if model is not None and not hasattr(model, "model_fields"):
            break
        keys.append(str(part))
        model = _field_type(model, str(part)) if model is not None else None
    return keys


def toml_line(lines: Sequence[str], keys: Sequence[str]) -> int | None:
    """The line (1-based) of key path ``keys`` in a TOML text, for messages.

    tomllib reports lines for syntax errors only, so the key is searched for: the deepest
    table header ``[a.b]`` on the path, then ``key =`` (or a dotted ``key.``) below it; a key
    with no header of its own is found as ``key =`` anywhere. ``None`` when nothing matches."""
    keys = list(keys)
    for depth in range(len(keys), 0, -1):
        header = _header_pattern(keys[:depth])
        for i, line in enumerate(lines):
            if header.match(line):
                return _key_after(lines, i, keys[depth:]) or i + 1
    for i, line in enumerate(lines):
        if keys and re.match(rf"\s*[\"']?{re.escape(keys[-1])}[\"']?\s*=", line):
            return i + 1
    return None


def _key_after(lines: Sequence[str], header_index: int, rest: Sequence[str]) -> int | None:
    if not rest:
        return None
    for j in range(header_index + 1, len(lines)):
        line = lines[j]
        if re.match(r"\s*\[", line):
            return None
        if re.match(rf"\s*[\"']?{re.escape(rest[0])}[\"']?\s*[.=]", line):
            # An inline table (effects = { pvp = ... }): the key inside it is on this line.
            return j + 1
    return None


def _header_pattern(keys: Sequence[str]) -> re.Pattern[str]:
    parts = r"\s*\.\s*".join(rf"[\"']?{re.escape(k)}[\"']?" for k in keys)
    return re.compile(rf"\s*\[\s*{parts}\s*\]\s*(#.*)?$")


# ============================================================================ reading


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and validate a rules file (default: the bundled one, :data:`BUNDLED_RULES_PATH`).

    Raises :class:`RulesError` naming the file, the key path and the line: TOML syntax errors
    (line from tomllib), missing or unknown sections/keys, non-numeric or out-of-range
    thresholds, unknown option ids, effects or outcome names, and text placeholders the rule
    does not provide. The first problem in file order is reported.
    """
    path = Path(path) if path else BUNDLED_RULES_PATH
    try:
        text = read_toml(path)  # a leading BOM (Notepad) is dropped
    except InputFileError as exc:
        raise RulesError(path, None, "", f"cannot read the rules file: {exc.reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        raise RulesError(path, line, "", f"not valid TOML: {exc}") from exc
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        lines = text.splitlines()
        by_key: dict[tuple[str, ...], list[Any]] = {}
        for error in exc.errors():
            by_key.setdefault(tuple(_keys(error["loc"])), []).append(error)
        # In file order; a missing key last (a misspelt key is reported as the unknown one).
        problems = [(all(e["type"] == "missing" for e in errors), toml_line(lines, keys),
                     list(keys), _union_problem(errors, keys))
                    for keys, errors in by_key.items()]
        _, line, keys, problem = min(problems, key=lambda p: (p[0], p[1] or len(lines) + 1))
        raise RulesError(path, line, ".".join(keys), problem) from None
    return _rules_from(parsed, path)


def _rules_from(parsed: RulesFile, path: Path) -> Rules:
    """The engine's view of a validated file: plain mappings keyed as the file is."""
    of_score = parsed.of_score.model_dump()
    options = {o: OptionSpec(spec.label, tuple(spec.notes), spec.source)
               for o in OPTION_IDS if (spec := getattr(parsed.options, o))}
    cement = {o: CementSpec(c.viscosity, c.text, c.source)
              for o in ("pvp", "pkp", "expandable")
              if (c := getattr(parsed.cement, o)) is not None}
    rules: dict[str, RuleSpec] = {}
    for rule_id, definition in _RULES.items():
        table = getattr(parsed.rules, rule_id)
        outcomes = {
            name: Outcome(o.text, o.effects.model_dump(exclude_none=True))
            for name in definition.outcomes
            if (o := getattr(table, name)) is not None
        }
        rules[rule_id] = RuleSpec(rule_id, table.source, table.enabled, outcomes)
    return Rules(str(path), parsed.meta.name, parsed.meta.version,
                 parsed.thresholds.model_dump(), parsed.confidence.model_dump(), of_score,
                 options, cement, rules)


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
