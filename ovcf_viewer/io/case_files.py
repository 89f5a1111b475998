"""Case files on disk beyond the case document itself: a case assembled from exchange-format
annotation files with the patient read from the image headers (:func:`load_case_inputs`),
films found again after a folder moved (:func:`relocate_films`), and each film's calibration
read from its image header (:func:`film_calibration`, :func:`case_calibrations`; docs/clinical-
reference.md §1). Header-only reads; the pixel data is read only for a film's calibration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.case import (
    CASE_FORMAT_NAME,
    Case,
    CaseFilm,
    CaseFormatError,
    _film_where,
    _read_json,
    load_case,
    treated_levels_from_films,
)
from ovcf_viewer.model.landmarks import (
    AnnotationFormatError,
    Timepoint,
    load_annotations,
)
from ovcf_viewer.model.settings import Settings

__all__ = [
    "RelocationReport",
    "case_calibrations",
    "film_calibration",
    "load_case_inputs",
    "procedure_date_from_timepoints",
    "relocate_films",
    "timepoint_with_interval",
]


# --------------------------------------------------------------------------- relocation


@dataclass(frozen=True)
class RelocationReport:
    """What :func:`relocate_films` did: the case with updated paths, the films found again
    (UID → new path), and one message per film still missing."""

    case: Case
    found: Mapping[str, Path]
    missing: tuple[str, ...]


def relocate_films(
    case: Case, search_root: str | os.PathLike[str], *, max_files: int = 20000
) -> RelocationReport:
    """Find films whose file is missing by their SOP Instance UID under ``search_root``.

    Reads headers only (:func:`ovcf_viewer.io.dicom.read_header`); files that are not
    images are skipped silently. Films already where the case says are left alone.
    """
    from ovcf_viewer.io.dicom import read_header
    from ovcf_viewer.model.errors import ImageLoadError

    root = Path(search_root)
    wanted = {
        f.sop_instance_uid for f in case.films if f.path is None or not f.path.is_file()
    }
    found: dict[str, Path] = {}
    if wanted and root.is_dir():
        seen = 0
        for folder, _dirs, files in os.walk(root):
            for name in sorted(files):
                if name.startswith(".") or name.lower().endswith((".json", ".csv", ".pdf",
                                                                  ".txt")):
                    continue
                seen += 1
                if seen > max_files:
                    break
                candidate = Path(folder) / name
                try:
                    header = read_header(candidate)
                except (ImageLoadError, OSError):
                    continue
                if header.sop_instance_uid in wanted and header.sop_instance_uid not in found:
                    found[header.sop_instance_uid] = candidate.resolve()
            if len(found) == len(wanted) or seen > max_files:
                break
    films = tuple(
        replace(f, path=found[f.sop_instance_uid]) if f.sop_instance_uid in found else f
        for f in case.films
    )
    relocated = replace(case, films=films)
    missing = tuple(
        f"{_film_where(f)}: not found under {root}"
        + (f" (was {f.path})" if f.path is not None else "")
        + "; its landmarks are kept, lengths use its manual calibration or pixels"
        for f in relocated.films
        if f.sop_instance_uid in wanted and f.sop_instance_uid not in found
    )
    return RelocationReport(relocated, found, missing)


# --------------------------------------------------------------------------- case inputs


def load_case_inputs(paths: Sequence[str | os.PathLike[str]]) -> Case:
    """One case from either a single case document or a set of exchange-format annotation
    files (one per film, each with its ``timepoint``; ``image.file`` relative to the JSON).

    From annotation files: the procedure date is taken from the post-operative timepoint's
    date (else a follow-up's date minus its interval), the treated levels from the index
    levels of the latest pre-operative film (§5; a level marked only on a later film is a new
    fracture), and patient and study date from the image headers when the files are there.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise CaseFormatError("no input files")
    documents = [(p, _read_json(p)) for p in files]
    kinds = {(doc.get("format") if isinstance(doc, Mapping) else None) for _p, doc in documents}
    if CASE_FORMAT_NAME in kinds:
        if len(files) != 1:
            raise CaseFormatError(
                "give either one case document or a set of annotation files, not both"
            )
        return load_case(files[0])
    films = []
    for path, _doc in documents:
        try:
            annotations = load_annotations(path, partial=True)
        except AnnotationFormatError as exc:
            raise CaseFormatError(str(exc)) from None
        if annotations.timepoint is None:
            raise CaseFormatError(
                f"{path.name}: no \"timepoint\"; each annotation file of a case needs one "
                "(preop, postop or followup)"
            )
        image_path = (path.parent / annotations.file).resolve() if annotations.file else None
        films.append(
            CaseFilm(image_path, annotations.sop_instance_uid, annotations,
                     annotations.timepoint, annotations.timepoint.date)
        )
    procedure_date = procedure_date_from_timepoints(films)
    if procedure_date is not None:  # fill missing intervals: "Follow-up (3 months)"
        films = [_with_interval(f, procedure_date) for f in films]
    patient_name, patient_id = _patient_from_headers(films)
    # §5: from annotation files alone, the treated levels are the index levels of the latest
    # pre-operative film; one marked only later is a new fracture, not a treated level.
    treated = treated_levels_from_films(films)
    case_id = patient_id or files[0].parent.resolve().name or "case"
    return Case(
        case_id=case_id,
        patient_name=patient_name,
        patient_id=patient_id,
        procedure_date=procedure_date,
        treated_levels=tuple(treated),
        films=tuple(films),
    )


def timepoint_with_interval(tp: Timepoint | None, procedure_date: date) -> Timepoint | None:
    """``tp`` with its interval in days from the procedure filled in when it has a date but
    no interval (post-operative, follow-up): "Follow-up (3 months)", "day 90"."""
    if tp is None or tp.kind == "preop" or tp.date is None or tp.interval_days is not None:
        return tp
    return Timepoint(tp.kind, tp.date, (tp.date - procedure_date).days)


def _with_interval(film: CaseFilm, procedure_date: date) -> CaseFilm:
    timepoint = timepoint_with_interval(film.timepoint, procedure_date)
    if timepoint is None or timepoint is film.timepoint:
        return film
    film.annotations.timepoint = timepoint
    return replace(film, timepoint=timepoint)


def procedure_date_from_timepoints(films: Iterable[CaseFilm]) -> date | None:
    """The procedure date the films' timepoints imply (§5): the post-operative timepoint's
    date, else a follow-up's date minus its interval (the earliest such date); ``None`` when
    no timepoint says. Shared by the CLI's case inputs and the GUI's new-case proposal
    (:mod:`ovcf_viewer.services.case_setup`)."""
    from datetime import timedelta

    candidates = []
    for film in films:
        tp = film.timepoint
        if tp is None or tp.date is None or tp.kind == "preop":
            continue
        if tp.interval_days is not None:
            candidates.append(tp.date - timedelta(days=tp.interval_days))
        elif tp.kind == "postop":
            candidates.append(tp.date)
    return min(candidates) if candidates else None


def _patient_from_headers(films: Iterable[CaseFilm]) -> tuple[str, str]:
    from ovcf_viewer.io.dicom import read_header
    from ovcf_viewer.model.errors import ImageLoadError

    for film in films:
        if film.path is None or not film.path.is_file():
            continue
        try:
            header = read_header(film.path)
        except (ImageLoadError, OSError):
            continue
        if header.patient_id or header.patient_name:
            return header.patient_name, header.patient_id
    return "", ""


# --------------------------------------------------------------------------- calibration


def film_calibration(film: CaseFilm, settings: Settings | None = None) -> tuple[Calibration, str]:
    """The calibration for a film per §1 and a note when it is not the image's own: the
    manual calibration saved with its annotations wins; otherwise the image header's
    (read from ``film.path``); when the image cannot be read, ``none`` (pixels), said so."""
    settings = settings or Settings()
    manual = film.annotations.manual_calibration
    if manual is not None:
        return manual, ""
    if film.path is None or not film.path.is_file():
        where = f"image file {film.path} not found" if film.path else "no image file recorded"
        return Calibration.none(where), f"{film.label}: {where}; lengths in pixels"
    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.model.errors import ImageLoadError

    try:
        image = load_image(film.path)
    except ImageLoadError as exc:
        return Calibration.none(str(exc)), f"{film.label}: {exc}; lengths in pixels"
    return image.calibration(use_magnification=settings.use_magnification), ""


def case_calibrations(
    case: Case, settings: Settings | None = None, known: Mapping[str, Calibration] | None = None
) -> tuple[dict[str, Calibration], dict[str, str]]:
    """The calibration of every dated film of ``case`` (SOP Instance UID → calibration) for
    :func:`ovcf_viewer.measure.comparison.compare`: ``known`` ones as given (the GUI's loaded
    images), the others by :func:`film_calibration`; and the note of each film that fell back
    to pixels."""
    calibrations = dict(known or {})
    notes: dict[str, str] = {}
    for film in case.chronological_films():
        if film.sop_instance_uid in calibrations:
            continue
        calibration, note = film_calibration(film, settings)
        calibrations[film.sop_instance_uid] = calibration
        if note:
            notes[film.sop_instance_uid] = note
    return calibrations, notes
