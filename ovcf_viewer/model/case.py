"""A case: one patient's films before, after and at follow-up of an augmentation
(docs/clinical-reference.md §5), and the versioned case document that stores it.

Model
    :class:`Case` and :class:`CaseFilm` are frozen dataclasses: the case's facts (procedure,
    treated levels, which film is which timepoint). The landmarks on each film live in its
    :class:`~ovcf_viewer.model.landmarks.ImageAnnotations`, the mutable model the landmark GUI
    edits. A film's :attr:`CaseFilm.timepoint` is authoritative; the document writes it into the
    film's embedded annotations too, so each one is a valid exchange-format file on its own.
    :class:`CaseSession` holds the current case for the GUI, announces changes (psygnal) and
    autosaves on every change, like the annotation store. While a session is open its case
    carries an *open marker* (``<case>.open`` beside the autosave: the process id and start
    time); :meth:`CaseSession.end` removes it when the case is closed normally, so a marker
    whose process no longer runs means the case was not closed normally
    (:func:`unclosed_cases`, offered back at start).

Timepoints (§5)
    :func:`propose_timepoints` proposes from the study dates and the procedure date: a film
    before the procedure is pre-operative (the latest one before is *the* pre-operative film the
    comparison uses), one on the day or up to :data:`POSTOP_WINDOW_DAYS` after is
    post-operative, a later one is a follow-up with its interval in days. The user confirms.

Outcomes (§5a)
    Each film carries the pain score at its timepoint (:class:`~ovcf_viewer.model.outcomes.
    PainScore`) and, on a post-operative film, the cement findings per level
    (:class:`~ovcf_viewer.model.outcomes.CementFinding`, leaks drawn as regions); the case
    carries the procedure record per treated level
    (:class:`~ovcf_viewer.model.outcomes.LevelProcedure`). Unknown stays ``None``.

Document (``{"format": "ovcf-case", "version": 2, ...}``)
    Version 2 adds ``procedure.levels`` and each film's ``outcomes``; version 1 documents
    (without them) still load.

    Human-readable JSON, written atomically. Each film keeps its file path *relative to the case
    document*, its SOP Instance UID, study date, timepoint and its annotations in the exchange
    format. When the folder moved, :func:`ovcf_viewer.io.case_files.relocate_films` finds the
    files again by SOP Instance UID (header-only reads) and says which film is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from psygnal import Signal

from ovcf_viewer.model.findings import Findings, FindingsError, findings_from_dict
from ovcf_viewer.model.landmarks import (
    MAX_INTERVAL_DAYS,
    TIMEPOINT_KINDS,
    AnnotationFormatError,
    ImageAnnotations,
    Timepoint,
    check_document_header,
    level_index,
)
from ovcf_viewer.model.outcomes import (
    APPROACHES,
    CementFinding,
    LeakRegion,
    LevelProcedure,
    OutcomeValueError,
    PainScore,
)
from ovcf_viewer.util.atomic import atomic_write_text
from ovcf_viewer.util.paths import data_dir
from ovcf_viewer.util.process import process_alive, process_start_time
from ovcf_viewer.util.safe_read import expect

__all__ = [
    "APPROACHES",
    "CASE_FORMAT_NAME",
    "CASE_FORMAT_VERSION",
    "Case",
    "CaseFilm",
    "CaseFormatError",
    "CaseSession",
    "POSTOP_WINDOW_DAYS",
    "PROCEDURES",
    "PROCEDURE_LABELS",
    "autosave_path",
    "new_case_id",
    "autosaved_cases",
    "open_marker_path",
    "unclosed_cases",
    "case_from_document",
    "case_to_document",
    "load_case",
    "is_case_document",
    "missing_film_messages",
    "propose_timepoints",
    "save_case",
    "treated_levels_from_films",
]

CASE_FORMAT_NAME = "ovcf-case"
CASE_FORMAT_VERSION = 2
#: Older case document versions this program still reads.
READABLE_CASE_VERSIONS = (1, 2)

#: Procedures a case records (docs/clinical-reference.md §6): vertebroplasty, kyphoplasty,
#: expandable
#: augmentation (vertebral body stenting and similar), other.
PROCEDURES = ("PVP", "PKP", "expandable", "other")
PROCEDURE_LABELS = {
    "PVP": "Percutaneous vertebroplasty (PVP)",
    "PKP": "Percutaneous kyphoplasty (PKP)",
    "expandable": "Expandable augmentation",
    "other": "Other procedure",
}
#: A film taken on the procedure day or up to this many days after is post-operative (§5).
POSTOP_WINDOW_DAYS = 7

_KIND_ORDER = {kind: i for i, kind in enumerate(TIMEPOINT_KINDS)}


class CaseFormatError(ValueError):
    """A case document or a set of case inputs that cannot be used; the message is one line
    naming the file and the problem."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, eq=False)
class CaseFilm:
    """One film of a case.

    ``path`` is the image file (``None`` when unknown, e.g. a case built from annotations
    alone); ``annotations`` the landmarks placed on it (mutable model, edited in place by the
    GUI); ``timepoint`` its place relative to the procedure (§5), ``None`` until confirmed;
    ``study_date`` from the header (0008,0020), used to propose the timepoint.
    """

    path: Path | None
    sop_instance_uid: str
    annotations: ImageAnnotations
    timepoint: Timepoint | None = None
    study_date: date | None = None
    pain: PainScore = field(default_factory=PainScore)
    cement: tuple[CementFinding, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cement", tuple(self.cement))
        levels = [c.level for c in self.cement]
        if len(set(levels)) != len(levels):
            raise CaseFormatError(f"film {self.sop_instance_uid}: a level's cement findings "
                                  "are recorded twice")
        if self.path is not None and not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        if self.annotations.sop_instance_uid != self.sop_instance_uid:
            raise CaseFormatError(
                f"film {self.sop_instance_uid}: its annotations belong to "
                f"{self.annotations.sop_instance_uid}"
            )

    @property
    def label(self) -> str:
        """``Pre-operative``, ``Follow-up (3 months)``…; the file name when unassigned."""
        if self.timepoint is not None:
            return self.timepoint.label
        return f"Unassigned ({self.path.name if self.path else self.sop_instance_uid})"

    @property
    def date(self) -> date | None:
        """The timepoint's date, else the study date."""
        if self.timepoint is not None and self.timepoint.date is not None:
            return self.timepoint.date
        return self.study_date

    def cement_at(self, level: str) -> CementFinding | None:
        """The cement findings recorded at ``level`` on this film, or ``None``."""
        return next((c for c in self.cement if c.level == level), None)


@dataclass(frozen=True, eq=False)
class Case:
    """One patient's films and the procedure they document (docs/clinical-reference.md §5).

    ``procedure`` is one of :data:`PROCEDURES` or ``None``; ``approach`` one of
    :data:`APPROACHES` or ``None``; ``treated_levels`` the augmented levels, cranial first.
    ``findings`` are the clinician's findings (:class:`~ovcf_viewer.model.findings.Findings`,
    validated; a findings document given as a mapping is read and checked); ``notes`` free
    text. A case document whose findings block cannot be read still opens: ``findings`` is
    then empty, ``findings_problem`` says why (file and key), and ``unread_findings`` keeps
    the block so saving the case does not lose it until new findings are entered.
    """

    case_id: str
    patient_name: str = ""
    patient_id: str = ""
    procedure: str | None = None
    procedure_date: date | None = None
    treated_levels: tuple[str, ...] = ()
    approach: str | None = None
    films: tuple[CaseFilm, ...] = ()
    findings: Findings = field(default_factory=Findings)
    notes: str = ""
    findings_problem: str = field(default="", compare=False)
    unread_findings: Any = field(default=None, compare=False)
    level_procedures: tuple[LevelProcedure, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.findings, Findings):  # a findings document (a mapping)
            object.__setattr__(self, "findings",
                               findings_from_dict(self.findings or {}, where="case findings"))
        if not isinstance(self.case_id, str) or not self.case_id.strip():
            raise CaseFormatError("a case needs a non-empty case_id")
        if self.procedure is not None and self.procedure not in PROCEDURES:
            raise CaseFormatError(
                f"procedure {self.procedure!r}: expected one of {', '.join(PROCEDURES)}"
            )
        if self.approach is not None and self.approach not in APPROACHES:
            raise CaseFormatError(
                f"approach {self.approach!r}: expected one of {', '.join(APPROACHES)}"
            )
        try:
            levels = sorted(set(self.treated_levels), key=level_index)
        except AnnotationFormatError as exc:
            raise CaseFormatError(f"treated levels: {exc}") from None
        object.__setattr__(self, "treated_levels", tuple(levels))
        object.__setattr__(self, "films", tuple(self.films))
        uids = [f.sop_instance_uid for f in self.films]
        if len(set(uids)) != len(uids):
            raise CaseFormatError("the same film (SOP Instance UID) appears twice in the case")
        records = sorted(self.level_procedures, key=lambda r: level_index(r.level))
        if len({r.level for r in records}) != len(records):
            raise CaseFormatError("a level's procedure record appears twice in the case")
        object.__setattr__(self, "level_procedures", tuple(records))

    # -- reading ---------------------------------------------------------------------------
    def chronological_films(self) -> list[CaseFilm]:
        """Films with a timepoint in time order: pre-operative (oldest first), post-operative,
        follow-ups by interval; films without a timepoint are left out."""
        return sorted((f for f in self.films if f.timepoint is not None), key=_film_sort_key)

    def films_of_kind(self, kind: str) -> list[CaseFilm]:
        """The films with timepoint ``kind`` (preop, postop, followup), in time order."""
        return [f for f in self.chronological_films()
                if f.timepoint is not None and f.timepoint.kind == kind]

    def preop_film(self) -> CaseFilm | None:
        """*The* pre-operative film: the latest one before the procedure (§5)."""
        films = self.films_of_kind("preop")
        return films[-1] if films else None

    def postop_film(self) -> CaseFilm | None:
        """*The* post-operative film: the earliest one after the procedure."""
        films = self.films_of_kind("postop")
        return films[0] if films else None

    def followup_films(self) -> list[CaseFilm]:
        return self.films_of_kind("followup")

    def film(self, sop_instance_uid: str) -> CaseFilm:
        for film in self.films:
            if film.sop_instance_uid == sop_instance_uid:
                return film
        raise KeyError(sop_instance_uid)

    def index_levels(self) -> tuple[str, ...]:
        """The levels treated by the procedure (docs/clinical-reference.md §5): the recorded
        treated levels, or when none are recorded, the index levels of the latest
        pre-operative film (cranial first).

        Treated levels belong to the case; index levels belong to each film. A level first
        marked as an index level on a later film is a new fracture, never a treated level
        (:meth:`new_fracture_levels`).
        """
        if self.treated_levels:
            return self.treated_levels
        return treated_levels_from_films(self.films)

    def new_fracture_levels(self) -> dict[str, CaseFilm]:
        """Levels marked as index levels on a post-operative or follow-up film that are not
        treated and were not index levels on any pre-operative film, each with the first film
        that marks it (§5: a new fracture, the complication follow-up watches for)."""
        treated = set(self.index_levels())
        before = {lv for f in self.films_of_kind("preop") for lv in f.annotations.index_levels}
        out: dict[str, CaseFilm] = {}
        for film in self.chronological_films():
            if film.timepoint is None or film.timepoint.kind == "preop":
                continue
            for level in film.annotations.index_levels:
                if level not in treated and level not in before and level not in out:
                    out[level] = film
        return dict(sorted(out.items(), key=lambda item: level_index(item[0])))

    def level_procedure(self, level: str) -> LevelProcedure | None:
        """The procedure record of ``level`` (§5a), or ``None`` when none is recorded."""
        return next((r for r in self.level_procedures if r.level == level), None)

    # -- derived copies --------------------------------------------------------------------
    def with_level_procedure(self, record: LevelProcedure) -> Case:
        """A copy with ``record`` replacing the level's procedure record (or added)."""
        others = tuple(r for r in self.level_procedures if r.level != record.level)
        return replace(self, level_procedures=(*others, record))

    def with_pain(self, sop_instance_uid: str, pain: PainScore) -> Case:
        """A copy with the pain score at one film's timepoint replaced."""
        return self.with_film(sop_instance_uid, pain=pain)

    def with_cement(self, sop_instance_uid: str, finding: CementFinding) -> Case:
        """A copy with one film's cement findings at ``finding.level`` replaced (or added)."""
        film = self.film(sop_instance_uid)
        others = tuple(c for c in film.cement if c.level != finding.level)
        return self.with_film(sop_instance_uid, cement=(*others, finding))

    def with_leak_region(self, sop_instance_uid: str, level: str, region: LeakRegion) -> Case:
        """A copy with a drawn leak added to one film at ``level`` (leakage becomes yes)."""
        film = self.film(sop_instance_uid)
        old = film.cement_at(level) or CementFinding(level)
        finding = replace(old, leakage=True, locations=(*old.locations, region.location),
                          regions=(*old.regions, region))
        return self.with_cement(sop_instance_uid, finding)

    def with_film(self, sop_instance_uid: str, **changes: Any) -> Case:
        """A copy with one film's fields replaced (``timepoint=…``, ``path=…``)."""
        self.film(sop_instance_uid)  # KeyError for a film not in the case
        films = tuple(
            replace(f, **changes) if f.sop_instance_uid == sop_instance_uid else f
            for f in self.films
        )
        return replace(self, films=films)

    def with_proposed_timepoints(self) -> Case:
        """A copy whose films get :func:`propose_timepoints` from their study dates and the
        procedure date (films without a study date keep theirs)."""
        proposals = propose_timepoints([f.study_date for f in self.films], self.procedure_date)
        films = tuple(
            replace(f, timepoint=tp) if tp is not None else f
            for f, tp in zip(self.films, proposals, strict=True)
        )
        return replace(self, films=films)


def treated_levels_from_films(films: Iterable[CaseFilm]) -> tuple[str, ...]:
    """The index levels of the latest pre-operative film; without a pre-operative film, those
    of the earliest post-operative film (the treated level is marked on it); else none."""
    dated = sorted((f for f in films if f.timepoint is not None), key=_film_sort_key)
    preop = [f for f in dated if f.timepoint is not None and f.timepoint.kind == "preop"]
    postop = [f for f in dated if f.timepoint is not None and f.timepoint.kind == "postop"]
    source = preop[-1] if preop else (postop[0] if postop else None)
    if source is None:
        return ()
    return tuple(sorted(source.annotations.index_levels, key=level_index))


def _film_sort_key(film: CaseFilm) -> tuple[int, int, date, str]:
    tp = film.timepoint
    assert tp is not None
    when = film.date or date.min
    interval = tp.interval_days if tp.interval_days is not None else 0
    return (_KIND_ORDER[tp.kind], interval if tp.kind == "followup" else 0, when,
            film.sop_instance_uid)


def propose_timepoints(
    study_dates: Sequence[date | None],
    procedure_date: date | None,
    *,
    postop_window_days: int = POSTOP_WINDOW_DAYS,
) -> list[Timepoint | None]:
    """Propose a timepoint for each study date (docs/clinical-reference.md §5).

    - before the procedure date: pre-operative (the latest of them is the one compared);
    - on the procedure day or up to ``postop_window_days`` after: post-operative;
    - later: follow-up, ``interval_days`` = days after the procedure.

    ``None`` for a film without a study date, and for every film when the procedure date is
    unknown: the user has to say which is which.
    """
    out: list[Timepoint | None] = []
    for when in study_dates:
        if when is None or procedure_date is None:
            out.append(None)
            continue
        days = (when - procedure_date).days
        if days < 0:
            out.append(Timepoint("preop", when))
        elif days <= postop_window_days:
            out.append(Timepoint("postop", when, days))
        else:
            out.append(Timepoint("followup", when, days))
    return out


# --------------------------------------------------------------------------- document


def _relative_file(path: Path | None, base: Path) -> str:
    if path is None:
        return ""
    try:
        return Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return str(Path(path).resolve())


def case_to_document(case: Case, base: Path) -> dict[str, Any]:
    """The case document (version 2); film paths relative to the folder ``base``."""
    films = []
    for film in case.films:
        annotations = film.annotations.to_json(partial=True)
        annotations["image"]["file"] = _relative_file(film.path, base)
        annotations.pop("timepoint", None)
        if film.timepoint is not None:
            annotations["timepoint"] = film.timepoint.to_json()
        films.append(
            {
                "file": _relative_file(film.path, base),
                "sop_instance_uid": film.sop_instance_uid,
                "study_date": film.study_date.isoformat() if film.study_date else None,
                "timepoint": film.timepoint.to_json() if film.timepoint else None,
                "annotations": annotations,
                "outcomes": {
                    "pain": film.pain.to_json(),
                    "cement": [c.to_json() for c in film.cement],
                },
            }
        )
    return {
        "format": CASE_FORMAT_NAME,
        "version": CASE_FORMAT_VERSION,
        "case_id": case.case_id,
        "patient": {"name": case.patient_name, "id": case.patient_id},
        "procedure": {
            "kind": case.procedure,
            "date": case.procedure_date.isoformat() if case.procedure_date else None,
            "treated_levels": list(case.treated_levels),
            "approach": case.approach,
            "levels": [r.to_json() for r in case.level_procedures],
        },
        "films": films,
        "findings": _findings_document(case),
        "notes": case.notes,
    }


def _findings_document(case: Case) -> Any:
    """The findings as saved: ``{}`` when none were entered; a block that could not be read
    is written back unchanged until findings are entered (nothing typed is lost)."""
    if case.findings == Findings():
        return case.unread_findings if case.unread_findings is not None else {}
    return case.findings.to_dict()


def _parse_date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise CaseFormatError(f"{where} {value!r} is not YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CaseFormatError(f"{where} {value!r} is not a valid date") from None


def _timepoint(value: Any, where: str) -> Timepoint | None:
    if value in (None, {}):
        return None
    if not isinstance(value, Mapping):
        raise CaseFormatError(f"{where} must be an object")
    interval = value.get("interval_days")
    if interval is not None and (
        not isinstance(interval, int) or isinstance(interval, bool)
        or not -MAX_INTERVAL_DAYS <= interval <= MAX_INTERVAL_DAYS
    ):
        raise CaseFormatError(
            f"{where}.interval_days must be a whole number of days within "
            f"±{MAX_INTERVAL_DAYS}, not {interval!r}"[:200]
        )
    return Timepoint(str(value.get("kind")), _parse_date(value.get("date"), f"{where} date"),
                     interval)


def case_from_document(doc: Any, base: Path, *, where: str = "case") -> Case:
    """Parse a case document; film paths are resolved against the folder ``base`` (they may
    point at files that no longer exist: see :func:`missing_film_messages`). Findings that
    cannot be read leave the case with empty findings and ``findings_problem`` naming
    ``where`` (the case file) and the key."""
    version = doc.get("version") if isinstance(doc, Mapping) else None
    check_document_header(
        doc, CASE_FORMAT_NAME,
        version if version in READABLE_CASE_VERSIONS else CASE_FORMAT_VERSION,
        "case", "a case document", CaseFormatError)
    patient = doc.get("patient") or {}
    procedure = doc.get("procedure") or {}
    if not isinstance(patient, Mapping) or not isinstance(procedure, Mapping):
        raise CaseFormatError("\"patient\" and \"procedure\" must be objects")
    films_in = doc.get("films", [])
    if not isinstance(films_in, list):
        raise CaseFormatError("\"films\" must be a list")
    films = []
    for i, entry in enumerate(films_in):
        if not isinstance(entry, Mapping):
            raise CaseFormatError(f"films[{i}] is not an object")
        try:
            annotations = ImageAnnotations.from_json(entry.get("annotations") or {},
                                                     partial=True)
            timepoint = _timepoint(entry.get("timepoint"), f"films[{i}] timepoint")
        except AnnotationFormatError as exc:
            raise CaseFormatError(f"films[{i}]: {exc}") from None
        uid = entry.get("sop_instance_uid", annotations.sop_instance_uid)
        if uid != annotations.sop_instance_uid:
            raise CaseFormatError(f"films[{i}]: SOP Instance UID differs from its annotations")
        annotations.timepoint = timepoint
        file = expect(entry.get("file") or "", str, f"films[{i}].file", CaseFormatError)
        path = (base / file) if file else None
        annotations.file = file
        pain, cement = _film_outcomes(entry.get("outcomes"), f"films[{i}].outcomes")
        films.append(
            CaseFilm(
                path=path.resolve() if path is not None else None,
                sop_instance_uid=uid,
                annotations=annotations,
                timepoint=timepoint,
                study_date=_parse_date(entry.get("study_date"), f"films[{i}] study_date"),
                pain=pain,
                cement=cement,
            )
        )
    treated = procedure.get("treated_levels", []) or []
    if not isinstance(treated, list) or not all(isinstance(lv, str) for lv in treated):
        raise CaseFormatError("\"procedure.treated_levels\" must be a list of levels")
    raw_findings = doc.get("findings") or {}
    findings, problem, unread = Findings(), "", None
    try:
        findings = findings_from_dict(raw_findings, where=f"{where}: findings")
    except FindingsError as exc:
        problem = str(exc)
        unread = raw_findings
    return Case(
        case_id=str(doc.get("case_id") or ""),
        patient_name=str(patient.get("name") or ""),
        patient_id=str(patient.get("id") or ""),
        procedure=procedure.get("kind"),
        procedure_date=_parse_date(procedure.get("date"), "procedure date"),
        treated_levels=tuple(treated),
        approach=procedure.get("approach"),
        films=tuple(films),
        findings=findings,
        notes=str(doc.get("notes") or ""),
        findings_problem=problem,
        unread_findings=unread,
        level_procedures=_level_procedures(procedure.get("levels")),
    )


def _film_outcomes(doc: Any, where: str) -> tuple[PainScore, tuple[CementFinding, ...]]:
    """A film's ``outcomes`` block (version 2); empty when absent (version 1)."""
    if doc is None:
        return PainScore(), ()
    if not isinstance(doc, Mapping):
        raise CaseFormatError(f"{where} must be an object")
    extra = sorted(set(doc) - {"pain", "cement"})
    if extra:
        raise CaseFormatError(f"{where}.{extra[0]}: unknown key (expected pain, cement)")
    try:
        pain = PainScore.from_json(doc.get("pain") or {})
    except OutcomeValueError as exc:
        raise CaseFormatError(f"{where}.pain: {exc}") from None
    cement_in = doc.get("cement") or []
    if not isinstance(cement_in, list):
        raise CaseFormatError(f"{where}.cement must be a list")
    cement = []
    for j, item in enumerate(cement_in):
        try:
            cement.append(CementFinding.from_json(item))
        except OutcomeValueError as exc:
            raise CaseFormatError(f"{where}.cement[{j}]: {exc}") from None
    return pain, tuple(cement)


def _level_procedures(doc: Any) -> tuple[LevelProcedure, ...]:
    if doc is None:
        return ()
    if not isinstance(doc, list):
        raise CaseFormatError("procedure.levels must be a list")
    out = []
    for j, item in enumerate(doc):
        try:
            out.append(LevelProcedure.from_json(item))
        except OutcomeValueError as exc:
            raise CaseFormatError(f"procedure.levels[{j}]: {exc}") from None
    return tuple(out)


def save_case(case: Case, path: str | os.PathLike[str], *, private: bool = False) -> None:
    """Write the case document atomically (a crash leaves the old file or the new one);
    ``private`` (the autosave in the data folder) keeps it readable by the user alone."""
    path = Path(path)
    doc = case_to_document(case, path.parent)
    atomic_write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                      private=private)


def _read_json(path: Path) -> Any:
    from ovcf_viewer.util.safe_read import InputFileError, read_json

    try:
        return read_json(path)
    except InputFileError as exc:
        if "not a UTF-8 text file" in str(exc):
            raise CaseFormatError(
                f"{path.name}: not a text file: give a case document or the films' annotation "
                "files (.json), not the images"
            ) from None
        if "a folder" in exc.reason:
            raise CaseFormatError(f"{path}: is a folder, not a case or annotation file") from None
        raise CaseFormatError(str(exc)) from None


def load_case(path: str | os.PathLike[str]) -> Case:
    """Read a case document. Film paths are resolved relative to the document; call
    :func:`missing_film_messages` / :func:`ovcf_viewer.io.case_files.relocate_films` when
    films are not where they were."""
    path = Path(path)
    doc = _read_json(path)
    try:
        return case_from_document(doc, path.parent, where=str(path))
    except CaseFormatError as exc:
        raise CaseFormatError(f"{path.name}: {exc}") from None


def is_case_document(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a JSON file whose ``format`` is ``ovcf-case`` (False when unreadable)."""
    from ovcf_viewer.util.safe_read import read_json

    try:
        doc = read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(doc, Mapping) and doc.get("format") == CASE_FORMAT_NAME


# --------------------------------------------------------------------------- relocation


def _film_where(film: CaseFilm) -> str:
    return f"{film.label} film (SOP Instance UID {film.sop_instance_uid})"


def missing_film_messages(case: Case) -> list[str]:
    """One clear line per film whose image file is not where the case says."""
    out = []
    for film in case.films:
        if film.path is None:
            out.append(f"{_film_where(film)}: no image file recorded; landmarks only")
        elif not film.path.is_file():
            out.append(f"{_film_where(film)}: image file {film.path} not found")
    return out


# --------------------------------------------------------------------------- autosave


def _safe_id(case_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", case_id).strip("._")
    return safe or "case"


def autosave_path(case_id: str) -> Path:
    """``data_dir()/cases/<case_id>.json``: where a case open in the GUI is autosaved. The
    folder is created when possible; when not, writing there reports the failure."""
    folder = data_dir() / "cases"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # the autosave itself fails and says why (CaseSession.autosave_error)
    return folder / f"{_safe_id(case_id)}.json"


def new_case_id(today: date | None = None) -> str:
    """A fresh case id, ``case-YYYYMMDD-xxxxxxxx``: a case is not a patient, and a second case
    of the same patient must not share (and overwrite) the first one's autosave."""
    import secrets

    return f"case-{(today or date.today()):%Y%m%d}-{secrets.token_hex(4)}"


def autosaved_cases() -> list[Path]:
    """The autosaved case documents, most recently changed first (to offer after a crash)."""
    folder = data_dir() / "cases"
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def open_marker_path(case_id: str) -> Path:
    """``data_dir()/cases/<case_id>.open``: present while a session has the case open."""
    return autosave_path(case_id).with_name(f"{_safe_id(case_id)}.open")


def _marker_owner(marker: Path) -> tuple[int, float | None] | None:
    """``(pid, start time)`` written in an open marker, or ``None`` when unreadable."""
    try:
        doc = json.loads(marker.read_text(encoding="utf-8")[:4096])
        pid = doc["pid"]
        started = doc.get("started")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(pid, int) or isinstance(pid, bool):
        return None
    return pid, float(started) if isinstance(started, (int, float)) else None


def unclosed_cases() -> list[Path]:
    """The autosaved cases that were not closed normally — their open marker names a
    process that no longer runs (killed, crashed, power lost) — most recent first. A case
    open in a running instance is not listed."""
    folder = data_dir() / "cases"
    try:
        markers = [p for p in folder.glob("*.open") if p.is_file()]
    except OSError:
        return []
    found = []
    for marker in markers:
        owner = _marker_owner(marker)
        if owner is not None and process_alive(*owner):
            continue
        document = marker.with_name(f"{marker.stem}.json")
        if document.is_file():
            found.append(document)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


class CaseSession:
    """The case open in the GUI: holds the current :class:`Case`, emits ``changed`` after any
    change to the case or to a film's landmarks, and autosaves atomically to
    :func:`autosave_path` on every change (a killed process leaves the last complete save).

    ``autosave`` may be turned off (tests, read-only viewing). ``autosave_error`` holds the
    last write failure's message (a full disk, a read-only folder), ``""`` when fine; while it
    is set, :attr:`pending` is true and :meth:`retry` writes the case again.

    Edits of the case facts and outcomes (:meth:`edit`, :meth:`update`, and the outcome
    setters) are undoable: the case is frozen, so each edit keeps the case before and after
    (a memento, like :class:`~ovcf_viewer.model.landmarks.EditCommand`); :meth:`undo` and
    :meth:`redo` restore them and ``history_changed`` tells the Undo/Redo actions. Landmarks
    keep their own undo stack per film.
    """

    changed = Signal()
    history_changed = Signal()

    def __init__(self, case: Case, *, autosave: bool = True) -> None:
        self._case = case
        self.autosave_enabled = autosave
        self.autosave_error = ""
        self._connected: list[ImageAnnotations] = []
        self._undo: list[tuple[str, Case, Case]] = []
        self._redo: list[tuple[str, Case, Case]] = []
        self._connect_films()
        self._autosave()
        self._marked = self._mark_open()

    @property
    def case(self) -> Case:
        return self._case

    @property
    def autosave_file(self) -> Path:
        return autosave_path(self._case.case_id)

    def set_case(self, case: Case) -> None:
        """Replace the case (a new frozen copy); reconnects to its films, autosaves, emits."""
        self._case = case
        self._connect_films()
        self._on_change()

    def update(self, **changes: Any) -> None:
        """Replace case fields, undoably: ``update(procedure="PKP", treated_levels=("L1",))``."""
        self.edit(replace(self._case, **changes), "Edit case")

    def edit(self, case: Case, description: str) -> None:
        """Replace the case by an edited copy, recorded for :meth:`undo`."""
        if case is self._case:
            return
        self._undo.append((description, self._case, case))
        self._redo.clear()
        self.set_case(case)
        self.history_changed.emit()

    # -- outcomes (§5a) --------------------------------------------------------------------
    def set_pain(self, sop_instance_uid: str, pain: PainScore) -> None:
        self.edit(self._case.with_pain(sop_instance_uid, pain), "Edit pain score")

    def set_level_procedure(self, record: LevelProcedure) -> None:
        self.edit(self._case.with_level_procedure(record), f"Edit {record.level} procedure")

    def set_cement(self, sop_instance_uid: str, finding: CementFinding) -> None:
        self.edit(self._case.with_cement(sop_instance_uid, finding),
                  f"Edit {finding.level} cement findings")

    def add_leak_region(self, sop_instance_uid: str, level: str, region: LeakRegion) -> None:
        self.edit(self._case.with_leak_region(sop_instance_uid, level, region),
                  f"Draw {level} leak")

    # -- undo ------------------------------------------------------------------------------
    @property
    def undo_text(self) -> str:
        """The description of the edit :meth:`undo` would revert, ``""`` when none."""
        return self._undo[-1][0] if self._undo else ""

    @property
    def redo_text(self) -> str:
        return self._redo[-1][0] if self._redo else ""

    def undo(self) -> bool:
        """Revert the last case edit; False when there is none."""
        if not self._undo:
            return False
        entry = self._undo.pop()
        self._redo.append(entry)
        self._restore(entry[1])
        return True

    def redo(self) -> bool:
        """Apply again the last undone case edit; False when there is none."""
        if not self._redo:
            return False
        entry = self._redo.pop()
        self._undo.append(entry)
        self._restore(entry[2])
        return True

    def _restore(self, case: Case) -> None:
        for film in case.films:  # the timepoint is mirrored into the film's annotations
            with film.annotations.changed.blocked():
                film.annotations.timepoint = film.timepoint
        self.set_case(case)
        self.history_changed.emit()

    def set_film_timepoint(self, sop_instance_uid: str, timepoint: Timepoint | None) -> None:
        """Confirm or change a film's timepoint; mirrors it into the film's annotations."""
        film = self._case.film(sop_instance_uid)
        with film.annotations.changed.blocked():
            film.annotations.timepoint = timepoint
        self.edit(self._case.with_film(sop_instance_uid, timepoint=timepoint),
                  "Change timepoint")

    def _mark_open(self) -> Path | None:
        """Write the open marker (this process's id and start time) beside the autosave."""
        if not self.autosave_enabled:
            return None
        marker = open_marker_path(self._case.case_id)
        pid = os.getpid()
        doc = {"pid": pid, "started": process_start_time(pid), "case_id": self._case.case_id}
        try:
            atomic_write_text(marker, json.dumps(doc) + "\n", private=True)
        except OSError:
            return None  # the autosave fails too and says why
        return marker

    def end(self) -> None:
        """The case is closed normally: disconnect and remove the open marker (this
        session's own only), so it is not offered as unclosed at the next start."""
        self.close()
        marker, self._marked = self._marked, None
        if marker is None:
            return
        owner = _marker_owner(marker)
        if owner is not None and owner[0] == os.getpid():
            with contextlib.suppress(OSError):  # gone already: nothing to mark
                marker.unlink()

    def close(self) -> None:
        """Disconnect from the films' annotation models."""
        for model in self._connected:
            model.changed.disconnect(self._on_change)
        self._connected = []

    def _connect_films(self) -> None:
        self.close()
        for film in self._case.films:
            film.annotations.changed.connect(self._on_change)
            self._connected.append(film.annotations)

    def _on_change(self) -> None:
        # During a drag (a live preview) only the drag's end is saved: one write per edit.
        if not any(f.annotations.in_preview for f in self._case.films):
            self._autosave()
        self.changed.emit()

    @property
    def pending(self) -> bool:
        """Whether the latest change is only in memory (the last autosave failed)."""
        return bool(self.autosave_error)

    def retry(self) -> bool:
        """Write the case again if the last autosave failed; ``True`` when nothing is
        pending."""
        if self.pending:
            self._autosave()
        return not self.pending

    def _autosave(self) -> None:
        if not self.autosave_enabled:
            return
        try:
            save_case(self._case, self.autosave_file, private=True)
            self.autosave_error = ""
        except (OSError, CaseFormatError) as exc:
            self.autosave_error = f"case autosave failed: {exc}"
