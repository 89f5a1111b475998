"""Procedure suitability for a set of measured films (docs/clinical-reference.md §6), the one
pipeline ``ovcf-viewer suitability``, the PDF report and the case view share: choose the film
the measured inputs come from (the latest pre-operative film, earlier pre-operative films for
progression), measure the inputs at the treated levels, evaluate the rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ovcf_viewer.suitability import (
    Evaluation,
    FilmMeasurements,
    Findings,
    MeasuredInputs,
    Rules,
    choose_films,
    evaluate,
    measured_inputs_from,
)

if TYPE_CHECKING:
    from ovcf_viewer.measure.comparison import CaseComparison
    from ovcf_viewer.measure.plausibility import PlausibilityWarning

__all__ = ["MeasuredChoice", "SuitabilityResult", "comparison_films", "evaluate_for",
           "measured_for"]


@dataclass(frozen=True)
class MeasuredChoice:
    """The measured inputs, the film they come from, the earlier films used for progression
    and a sentence saying why those films."""

    measured: MeasuredInputs
    current: FilmMeasurements
    earlier: tuple[FilmMeasurements, ...]
    why: str

    @property
    def warnings(self) -> list[tuple[str, PlausibilityWarning]]:
        """The plausibility warnings (docs/clinical-reference.md §6a) of the films the inputs
        come from, each with its film's label: a swapped or mislabelled vertebra changes
        them."""
        return [(f.label, w) for f in (self.current, *self.earlier)
                for w in f.measurements.warnings]


@dataclass(frozen=True)
class SuitabilityResult(MeasuredChoice):
    """:class:`MeasuredChoice` with the evaluation made from it."""

    evaluation: Evaluation


def comparison_films(
    comparison: CaseComparison, *, dated_labels: bool = False
) -> list[FilmMeasurements]:
    """The compared films of a case as candidates for :func:`measured_for`, labelled
    "pre-operative film" (with ``dated_labels``: "pre-operative film 2024-03-01")."""
    return [
        FilmMeasurements(
            f"{f.label.lower()} film"
            + (f" {f.date.isoformat()}" if dated_labels and f.date else ""),
            f.measurements, f.timepoint.kind, f.date.isoformat() if f.date else None, order,
        )
        for order, f in enumerate(comparison.films)
    ]


def measured_for(
    films: Sequence[FilmMeasurements],
    *,
    rules: Rules | None = None,
    index_levels: Sequence[str] | None = None,
) -> MeasuredChoice:
    """The measured inputs of the chosen film (:func:`~ovcf_viewer.suitability.choose_films`)
    at ``index_levels`` (else each film's own index levels). ``ValueError`` without films."""
    current, earlier, why = choose_films(films)
    measured = measured_inputs_from(
        current.measurements,
        list(index_levels or ()) or None,
        [(f.label, f.measurements) for f in earlier] or None,
        film=current.label,
        rules=rules,
    )
    return MeasuredChoice(measured, current, tuple(earlier), why)


def evaluate_for(
    films: Sequence[FilmMeasurements],
    findings: Findings,
    *,
    rules: Rules,
    index_levels: Sequence[str] | None = None,
) -> SuitabilityResult:
    """:func:`measured_for` and the evaluation of ``findings`` with those inputs."""
    choice = measured_for(films, rules=rules, index_levels=index_levels)
    return SuitabilityResult(choice.measured, choice.current, choice.earlier, choice.why,
                             evaluate(findings, choice.measured, rules))
