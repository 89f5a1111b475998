"""Procedure suitability for a set of measured films (docs/clinical-reference.md §6), the one
pipeline ``ovcf-viewer suitability``, the PDF report and the GUI share: choose the film the
measured inputs come from (the latest pre-operative film, earlier pre-operative films for
progression), measure the inputs at the treated levels, evaluate the rules.

:func:`assess` is the entry point: rules (given, a file, or the settings'), findings (given, a
file, or the case's) and films in, a :class:`SuitabilityResult` out. Every way it can fail —
a rules file that cannot be used, findings that cannot be read, no film to measure — raises
:class:`SuitabilityError` with one line naming the file and key, the same line whichever
consumer asked: the CLI prints it and exits 2, the report refuses with it, the GUI shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ovcf_viewer.suitability import (
    Evaluation,
    FilmMeasurements,
    Findings,
    FindingsError,
    MeasuredInputs,
    Rules,
    RulesError,
    choose_films,
    evaluate,
    load_findings,
    load_rules,
    measured_inputs_from,
    rules_for_settings,
)

if TYPE_CHECKING:
    from ovcf_viewer.measure.comparison import CaseComparison
    from ovcf_viewer.measure.plausibility import PlausibilityWarning
    from ovcf_viewer.model.case import Case
    from ovcf_viewer.model.settings import Settings

__all__ = ["MeasuredChoice", "SuitabilityError", "SuitabilityResult", "assess", "case_findings",
           "comparison_films", "evaluate_for", "measured_for", "no_film_error", "rules_for",
           "rules_or_fallback"]

NO_FILM = "no film with landmarks to measure the suitability inputs on"


class SuitabilityError(ValueError):
    """Suitability cannot be evaluated; the message is one line naming the file and the key
    (and the line of a rules file)."""


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


# ----------------------------------------------------------------------------- the entry point


def rules_for(settings: Settings | None = None, path: str | Path | None = None) -> Rules:
    """The rules file ``path``, else the one the settings select (else the bundled one).
    :class:`SuitabilityError` for a file that cannot be used."""
    try:
        return load_rules(path) if path else rules_for_settings(settings)
    except RulesError as exc:
        raise SuitabilityError(str(exc)) from None


def rules_or_fallback(settings: Settings | None) -> tuple[Rules | None, str]:
    """For the GUI, which keeps working: the settings' rules, else the bundled rules with the
    problem (:class:`SuitabilityError`'s line) to show, else ``(None, problem)``."""
    try:
        return rules_for(settings), ""
    except SuitabilityError as exc:
        if settings is None or not settings.rules_file:
            return None, f"Suitability unavailable: {exc}"
        problem = f"Department rules not used: {exc}"
    try:
        return load_rules(), f"{problem}. The bundled rules are used."
    except RulesError as exc:
        return None, f"{problem}. Suitability unavailable: {exc}"


def no_film_error(case: Case | None) -> SuitabilityError:
    """The error for a case (or a set of films) with no film to measure the inputs on."""
    return SuitabilityError(f"case {case.case_id}: {NO_FILM}" if case is not None else NO_FILM)


def case_findings(case: Case | None) -> Findings:
    """The findings saved with ``case`` (empty when none were entered);
    :class:`SuitabilityError` when its document's findings could not be read."""
    if case is None:
        return Findings()
    if case.findings_problem:
        raise SuitabilityError(case.findings_problem)
    return case.findings


def assess(
    films: Sequence[FilmMeasurements],
    *,
    findings: Findings | None = None,
    findings_path: str | Path | None = None,
    case: Case | None = None,
    rules: Rules | None = None,
    rules_path: str | Path | None = None,
    settings: Settings | None = None,
    index_levels: Sequence[str] | None = None,
) -> SuitabilityResult:
    """Suitability of ``films``: the one pipeline behind the CLI, the report and the GUI.

    Rules: ``rules``, else the file ``rules_path``, else the ``settings``' (else bundled).
    Findings: ``findings``, else the file ``findings_path``, else ``case``'s saved findings,
    else none (every answer unknown). Raises :class:`SuitabilityError` (one line) when the
    rules or findings cannot be read or no film has landmarks to measure.
    """
    if rules is None:
        rules = rules_for(settings, rules_path)
    if findings is None:
        if findings_path is not None:
            try:
                findings = load_findings(findings_path)
            except FindingsError as exc:
                raise SuitabilityError(str(exc)) from None
        else:
            findings = case_findings(case)
    if not any(f.measurements.vertebrae for f in films):
        raise no_film_error(case)
    return evaluate_for(films, findings, rules=rules, index_levels=index_levels)
