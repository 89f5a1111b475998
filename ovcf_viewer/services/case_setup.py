"""What a new case proposes from its films before the user confirms it (docs/clinical-reference.md
§5): the procedure date, each film's timepoint, the treated levels and the technique.

The GUI's *New case from films* dialog shows these proposals; the CLI reads a case from
annotation files through :func:`ovcf_viewer.io.case_files.load_case_inputs`. Both take the
procedure date from the films' timepoints with
:func:`~ovcf_viewer.io.case_files.procedure_date_from_timepoints`, fill intervals with
:func:`~ovcf_viewer.io.case_files.timepoint_with_interval`, propose timepoints from dates with
:func:`~ovcf_viewer.model.case.propose_timepoints` and take the treated levels with
:func:`~ovcf_viewer.model.case.treated_levels_from_films`, so the report of the same films
says the same thing from either.

Where the films carry no timepoint yet, the study descriptions are read (``"after L1
kyphoplasty"``, ``"3-month follow-up"``, ``"pre-operative"``): the earliest film described as
post-operative gives the procedure date, a named technique and level are proposed. Every
proposal says where it came from; nothing is recorded until the user confirms.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from ovcf_viewer.io.case_files import procedure_date_from_timepoints, timepoint_with_interval
from ovcf_viewer.model.case import CaseFilm, propose_timepoints, treated_levels_from_films
from ovcf_viewer.model.landmarks import LEVELS, ImageAnnotations, Timepoint, level_index

__all__ = [
    "CaseProposal",
    "FilmFacts",
    "description_kind",
    "description_levels",
    "description_procedure",
    "propose_case",
    "propose_film_timepoints",
]

_FOLLOWUP = re.compile(
    r"follow[\s-]*up|\bf/?u\b|\bcontrol\b|\b\d+[\s-]*(?:months?|mo|weeks?|wk|days?)\b", re.I)
_POSTOP = re.compile(r"post[\s-]*op|post[\s-]*procedur|\bafter\b|\bnach\b", re.I)
_PREOP = re.compile(r"pre[\s-]*op|pre[\s-]*procedur|\bbefore\b|\bvor\b", re.I)
_TECHNIQUES = (
    ("PKP", re.compile(r"kyphoplast|\bpkp\b", re.I)),
    ("PVP", re.compile(r"vertebroplast|\bpvp\b", re.I)),
    ("expandable", re.compile(r"stent|spine\s*jack|expandable|\bvbs\b", re.I)),
)
_LEVEL = re.compile(r"\b([CTLS])\s?(\d{1,2})\b", re.I)


def description_kind(text: str) -> str | None:
    """The timepoint a study description names: ``"followup"``, ``"postop"``, ``"preop"`` or
    ``None`` (a follow-up is often also "after" the procedure, so it is tested first)."""
    for kind, pattern in (("followup", _FOLLOWUP), ("postop", _POSTOP), ("preop", _PREOP)):
        if pattern.search(text or ""):
            return kind
    return None


def description_procedure(text: str) -> str | None:
    """The technique a description names (one of :data:`~ovcf_viewer.model.case.PROCEDURES`
    but ``"other"``), or ``None``."""
    for kind, pattern in _TECHNIQUES:
        if pattern.search(text or ""):
            return kind
    return None


def description_levels(text: str) -> tuple[str, ...]:
    """Vertebral levels a description names (``"after L1 kyphoplasty"`` → ``("L1",)``),
    cranial first."""
    found = {f"{m.group(1).upper()}{int(m.group(2))}" for m in _LEVEL.finditer(text or "")}
    return tuple(sorted((lv for lv in found if lv in LEVELS), key=level_index))


@dataclass(frozen=True)
class FilmFacts:
    """What is known of one film before the case exists: its header's study date and
    description, and the landmarks already placed on it (with their timepoint, if any)."""

    sop_instance_uid: str
    study_date: date | None
    description: str
    annotations: ImageAnnotations | None = None

    @property
    def timepoint(self) -> Timepoint | None:
        return self.annotations.timepoint if self.annotations is not None else None


@dataclass(frozen=True)
class CaseProposal:
    """The proposals for a new case, each with a sentence saying where it came from
    (empty when nothing could be proposed)."""

    procedure_date: date | None
    procedure_date_source: str
    timepoints: tuple[Timepoint | None, ...]
    treated_levels: tuple[str, ...]
    treated_levels_source: str
    procedure: str | None
    procedure_source: str
    notes: tuple[str, ...] = ()


def propose_film_timepoints(
    films: Sequence[FilmFacts], procedure_date: date | None
) -> list[Timepoint | None]:
    """Each film's proposed timepoint under ``procedure_date`` (§5): a timepoint the film's
    landmarks already carry (its interval filled in), else from the study date
    (:func:`~ovcf_viewer.model.case.propose_timepoints`), else from the study description
    (dated when the film is)."""
    by_date = propose_timepoints([f.study_date for f in films], procedure_date)
    out: list[Timepoint | None] = []
    for film, dated in zip(films, by_date, strict=True):
        own = film.timepoint
        if own is not None:
            out.append(timepoint_with_interval(own, procedure_date) if procedure_date else own)
        elif dated is not None:
            out.append(dated)
        else:
            kind = description_kind(film.description)
            out.append(Timepoint(kind, film.study_date) if kind is not None else None)
    return out


def propose_case(films: Sequence[FilmFacts]) -> CaseProposal:
    """The proposals for a case of ``films`` (see the module docstring)."""
    notes: list[str] = []
    stand_ins = [_case_film(f, f.timepoint) for f in films]
    procedure_date = procedure_date_from_timepoints(stand_ins)
    date_source = "from the films' annotation timepoints" if procedure_date else ""
    if procedure_date is None:
        described = sorted(
            (f.study_date, f.description) for f in films
            if f.study_date is not None and description_kind(f.description) == "postop")
        if described:
            procedure_date = described[0][0]
            date_source = f"study date of \u201c{described[0][1]}\u201d"
    timepoints = propose_film_timepoints(films, procedure_date)
    for film, tp in zip(films, timepoints, strict=True):
        said = description_kind(film.description)
        if tp is not None and said is not None and said != tp.kind:
            notes.append(f"\u201c{film.description}\u201d reads as {said}, its date makes it "
                         f"{tp.label.lower()}: check it")
    levels = treated_levels_from_films(
        [_case_film(f, tp) for f, tp in zip(films, timepoints, strict=True)])
    levels_source = "index levels of the pre-operative film" if levels else ""
    named = [f.description for f in films if description_kind(f.description) == "postop"
             or description_procedure(f.description)]
    if not levels:
        for text in named:
            if description_levels(text):
                levels = description_levels(text)
                levels_source = f"named in \u201c{text}\u201d"
                break
    procedure, procedure_source = None, ""
    for text in named:
        if description_procedure(text):
            procedure = description_procedure(text)
            procedure_source = f"named in \u201c{text}\u201d"
            break
    return CaseProposal(procedure_date, date_source, tuple(timepoints), tuple(levels),
                        levels_source, procedure, procedure_source, tuple(notes))


def _case_film(film: FilmFacts, timepoint: Timepoint | None) -> CaseFilm:
    annotations = film.annotations or ImageAnnotations(film.sop_instance_uid)
    if annotations.sop_instance_uid != film.sop_instance_uid:
        annotations = ImageAnnotations(film.sop_instance_uid)
    if timepoint is not None and timepoint.date is None and film.study_date is not None:
        timepoint = replace(timepoint, date=film.study_date)
    return CaseFilm(None, film.sop_instance_uid, annotations, timepoint, film.study_date)
