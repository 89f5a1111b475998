"""The rule engine's inputs: the clinician's findings (:class:`Findings`, the model in
:mod:`ovcf_viewer.model.findings`, re-exported here), and the values measured from the
landmarks (:class:`MeasuredInputs`, with their provenance) and which film of a case they are
measured on (:func:`choose_films`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ovcf_viewer.model.findings import (
    _FINDING_SPECS,
    FINDING_FIELDS,
    FINDING_RANGES,
    FINDING_SPECS,
    FRACTURE_TYPES,
    MEASURED_NAMES,
    MEASURED_SPECS,
    Findings,
    FindingsError,
    check_measured,
    finding_label,
    findings_from_dict,
    findings_from_json,
    load_findings,
)
from ovcf_viewer.suitability.common import (
    _above,
    _at_or_above,
    _num,
    _plain,
)

if TYPE_CHECKING:  # only for annotations: keeps this module light to import
    from ovcf_viewer.measure.measurements import ImageMeasurements
    from ovcf_viewer.suitability.rules import Rules


# ============================================================================ measured inputs


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
            checked = check_measured(name, value, f"measured input {name}")
            kwargs[name] = MeasuredValue(checked, source if checked is not None else "")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).to_dict() for name in MEASURED_NAMES}


def apply_overrides(measured: MeasuredInputs, overrides: Mapping[str, Any]) -> MeasuredInputs:
    """``measured`` with the user's values in place of the measured ones, marked overridden."""
    changes = {}
    for name, value in overrides.items():
        checked = check_measured(name, value, f"override {name}")
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


__all__ = [
    "FINDING_FIELDS", "FINDING_RANGES", "FINDING_SPECS", "FRACTURE_TYPES", "MEASURED_NAMES",
    "MEASURED_SPECS", "_FINDING_SPECS", "FilmMeasurements", "Findings", "FindingsError",
    "MeasuredInputs", "MeasuredValue", "apply_overrides", "choose_films", "finding_label",
    "findings_from_dict", "findings_from_json", "load_findings", "measured_inputs_from",
]
