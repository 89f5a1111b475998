"""The teaching library: films with an expert's reference landmarks to practise on (§7).

Three sources:

* the synthetic teaching library (:mod:`ovcf_viewer.devtools.teaching_library`): varied
  anatomies, fracture types and Genant grades, index levels, facings, contrast, noise and pixel
  spacings, each with exact ground truth. Too large to ship with the package, each case is
  rendered from its seed into ``data_dir()/teaching-library/v<N>/<case>/`` the first time it is
  practised (:meth:`PracticeFilm.ensure_files`, about a second): the one place the
  application uses the synthetic generator, imported inside the function;
* the bundled samples, ``sample_dicom/**/X.dcm`` with their ground truth ``X.json`` (exchange
  format v1) as the reference; each folder is one case;
* cases a clinician saved with :func:`save_teaching_case` under
  ``data_dir()/teaching/<case_id>/``: the films de-identified (:mod:`ovcf_viewer.io.deidentify`,
  PS3.15 Annex E basic profile, the patient's context so the films, and every other
  de-identified output of the patient, stay consistent), and the expert's landmarks
  rewritten for the new SOP Instance UIDs and shifted dates, plus a ``case.json`` manifest.

A resident practises on one *film* at a time (:class:`PracticeFilm`) and is asked to mark the
index levels with the vertebra above and below, which the Genant grade against adjacent
vertebrae and the segmental kyphosis need (docs/clinical-reference.md §3, §4).

Two films with the same expert landmarks (:meth:`PracticeFilm.content_key`) are the same
picture — a sample re-encoded (``variants/pre_j2k.dcm`` is ``case-0001/pre.dcm`` in JPEG 2000) or
a film saved again as a teaching case: the bundled library lists it once
(:func:`practice_films`), and :func:`random_film` never offers the picture just practised, nor
one already practised while a fresh one is left.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ovcf_viewer.model.landmarks import (
    AnnotationFormatError,
    ImageAnnotations,
    Timepoint,
    level_index,
    load_annotations,
    neighbour_levels,
    save_annotations,
)
from ovcf_viewer.util.paths import data_dir

__all__ = [
    "CASE_FORMAT",
    "PracticeFilm",
    "TeachingCase",
    "TeachingCaseError",
    "generated_library_dir",
    "levels_to_mark",
    "list_teaching_cases",
    "practice_films",
    "random_film",
    "samples_dir",
    "save_teaching_case",
    "teaching_dir",
]

log = logging.getLogger(__name__)

CASE_FORMAT = "ovcf-teaching-case"
CASE_VERSION = 1
SAMPLE_PREFIX = "sample:"
SYNTHETIC_PREFIX = "synthetic:"


class TeachingCaseError(ValueError):
    """A teaching case that cannot be saved or read; the message is one line."""


class BurnedInAnnotationError(TeachingCaseError):
    """A film whose header says its pixels carry burned-in text (Burned In Annotation
    (0028,0301) YES): de-identification cannot remove it, so the film is refused unless the
    user confirms, after looking at it, that the text identifies no one."""


def _burned_in(path: Path) -> str:
    """Burned In Annotation (0028,0301) of a DICOM file, upper case, ``""`` when absent."""
    import warnings

    import pydicom

    from ovcf_viewer.io.limits import BoundedFile

    try:
        with warnings.catch_warnings(), BoundedFile(path) as handle:
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(handle, stop_before_pixels=True,
                                 specific_tags=["BurnedInAnnotation"])
        return str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    except Exception:  # the de-identification read below reports an unreadable file
        return ""


def samples_dir() -> Path | None:
    """The bundled sample studies (package ``ovcf_viewer.samples``, ``sample_dicom/`` in a
    source checkout), or ``None`` if the installation lacks them."""
    try:
        path = Path(str(resources.files("ovcf_viewer.samples")))
    except ModuleNotFoundError:
        return None
    return path if path.is_dir() else None


def teaching_dir() -> Path:
    path = data_dir() / "teaching"
    path.mkdir(parents=True, exist_ok=True)
    return path


def generated_library_dir() -> Path:
    """Where the synthetic teaching library is rendered, one folder per library version."""
    from ovcf_viewer.devtools.teaching_library import LIBRARY_VERSION

    return data_dir() / "teaching-library" / f"v{LIBRARY_VERSION}"


def levels_to_mark(reference: ImageAnnotations) -> tuple[str, ...]:
    """The levels a resident is asked to mark: each index level with the placed vertebrae
    directly above and below it; without index levels, up to three complete vertebrae from the
    middle of the reference. Cranial first."""
    complete = reference.complete_vertebrae()
    wanted: set[str] = set()
    for level in reference.index_levels:
        if level not in complete:
            continue
        wanted.add(level)
        wanted.update(lv for lv in neighbour_levels(level) if lv is not None and lv in complete)
    if not wanted:
        ordered = list(complete)
        start = max(0, (len(ordered) - 3) // 2)
        wanted.update(ordered[start:start + 3])
    return tuple(sorted(wanted, key=level_index))


@dataclass(frozen=True)
class PracticeFilm:
    """One film of a teaching case with its expert reference."""

    case_id: str
    case_title: str
    label: str  # the film within the case: "pre", "post", "film-1" …
    image_path: Path
    reference_path: Path
    source: str  # "synthetic", "sample" or "teaching"

    @property
    def key(self) -> str:
        """Stable identifier stored with attempts: ``<case_id>/<label>``."""
        return f"{self.case_id}/{self.label}"

    @property
    def title(self) -> str:
        return f"{self.case_title} — {self.label}"

    @property
    def needs_preparing(self) -> bool:
        """A synthetic case not rendered yet (:meth:`ensure_files` would take a second)."""
        return self.source == "synthetic" and not (
            self.image_path.is_file() and self.reference_path.is_file())

    def ensure_files(self) -> None:
        """Render a synthetic case on first use (atomically: a half-written case is never
        left); nothing for the other sources. Raises :class:`TeachingCaseError` (one line)
        when the data folder cannot be written."""
        if not self.needs_preparing:
            return
        from ovcf_viewer.devtools.teaching_library import CASES, write_case

        wanted = self.case_id.removeprefix(SYNTHETIC_PREFIX)
        case = next((c for c in CASES if c.case_id == wanted), None)
        if case is None:
            raise TeachingCaseError(f"{self.case_id}: no such synthetic teaching case")
        final = self.image_path.parent
        staging = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
        try:
            staging.mkdir(parents=True)
            write_case(case, staging)
            if final.exists():  # left incomplete by an older run
                shutil.rmtree(final)
            staging.rename(final)
        except OSError as exc:
            raise TeachingCaseError(
                f"{self.case_id}: the teaching case could not be prepared in {final.parent} "
                f"({exc.strerror or exc})") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def load_reference(self) -> ImageAnnotations:
        """The expert's landmarks (raises :class:`AnnotationFormatError`, or
        :class:`TeachingCaseError` when a synthetic case cannot be prepared)."""
        self.ensure_files()
        return load_annotations(self.reference_path)

    def content_key(self) -> str:
        """What the picture is: a hash of the expert's landmarks (to 0.01 px) for films on
        disk — the same film re-encoded or saved again carries the same landmarks — and the
        case itself for a synthetic case not rendered yet (each is a different anatomy)."""
        if self.source == "synthetic":
            return self.case_id
        try:
            reference = load_annotations(self.reference_path)
        except (AnnotationFormatError, OSError):
            return self.key
        points = sorted(
            (level, name, round(x, 2), round(y, 2))
            for level, vertebra in reference.vertebrae.items()
            for name, (x, y) in vertebra.points.items()
        )
        return hashlib.sha256(json.dumps(points).encode()).hexdigest()[:16]

    def levels_to_mark(self) -> tuple[str, ...]:
        return levels_to_mark(self.load_reference())


@dataclass(frozen=True)
class TeachingCase:
    case_id: str
    title: str
    source: str
    films: tuple[PracticeFilm, ...]
    notes: str = ""
    warnings: tuple[str, ...] = field(default=())
    folder: Path | None = None


# -- listing -------------------------------------------------------------------------------

def _synthetic_cases() -> list[TeachingCase]:
    from ovcf_viewer.devtools.teaching_library import CASES

    root = generated_library_dir()
    cases = []
    for case in CASES:
        case_id = SYNTHETIC_PREFIX + case.case_id
        folder = root / case.case_id
        film = PracticeFilm(case_id, case.title, "lateral", folder / "film.dcm",
                            folder / "film.json", "synthetic")
        cases.append(TeachingCase(case_id, case.title, "synthetic", (film,), folder=folder))
    return cases


def _sample_cases(root: Path) -> list[TeachingCase]:
    by_folder: dict[Path, list[tuple[Path, Path]]] = {}
    for reference in sorted(root.rglob("*.json")):
        image = reference.with_suffix(".dcm")
        if image.is_file():
            by_folder.setdefault(reference.parent, []).append((image, reference))
    cases = []
    for folder, pairs in sorted(by_folder.items()):
        rel = folder.relative_to(root).as_posix() if folder != root else root.name
        case_id = SAMPLE_PREFIX + rel
        title = f"{rel} (bundled sample)"
        films = tuple(
            PracticeFilm(case_id, title, image.stem, image, reference, "sample")
            for image, reference in pairs
        )
        cases.append(TeachingCase(case_id, title, "sample", films, folder=folder))
    return cases


def _user_case(folder: Path) -> TeachingCase:
    from ovcf_viewer.util.safe_read import read_json

    manifest = folder / "case.json"
    try:
        doc = read_json(manifest)
    except (OSError, ValueError) as exc:
        raise TeachingCaseError(f"{manifest}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != CASE_FORMAT:
        raise TeachingCaseError(f"{manifest}: not a teaching case manifest")
    case_id = str(doc.get("case_id") or folder.name)
    title = str(doc.get("title") or case_id)
    films = []
    for entry in doc.get("films", []):
        try:
            films.append(PracticeFilm(
                case_id, title, str(entry["label"]), folder / str(entry["image"]),
                folder / str(entry["reference"]), "teaching",
            ))
        except (KeyError, TypeError):
            raise TeachingCaseError(
                f"{manifest}: a film entry lacks label/image/reference"
            ) from None
    warnings = tuple(str(w) for w in doc.get("deidentification", {}).get("warnings", []))
    return TeachingCase(case_id, title, "teaching", tuple(films), str(doc.get("notes", "")),
                        warnings, folder)


def list_teaching_cases(*, include_samples: bool = True) -> list[TeachingCase]:
    """The synthetic library and the bundled samples first, then saved cases (oldest first).
    Unreadable saved cases are skipped and logged, never fatal."""
    cases: list[TeachingCase] = []
    root = samples_dir()
    if include_samples:
        cases.extend(_synthetic_cases())
    if include_samples and root is not None:
        cases.extend(_sample_cases(root))
    saved = []
    for folder in teaching_dir().iterdir():
        if not (folder / "case.json").is_file():
            continue
        try:
            saved.append((folder.stat().st_mtime, _user_case(folder)))
        except TeachingCaseError as exc:
            log.warning("teaching case skipped: %s", exc)
    cases.extend(case for _, case in sorted(saved, key=lambda item: item[0]))
    return cases


def practice_films(cases: Sequence[TeachingCase] | None = None) -> list[PracticeFilm]:
    """Every film of every case; a bundled film whose picture an earlier bundled film
    already shows (same :meth:`PracticeFilm.content_key`) is left out. Cases the user saved
    are always listed, even a copy of a sample: they were saved on purpose."""
    cases = list_teaching_cases() if cases is None else cases
    seen: set[str] = set()
    films = []
    for film in (film for case in cases for film in case.films):
        if film.source == "teaching":
            films.append(film)
            continue
        content = film.content_key()
        if content not in seen:
            seen.add(content)
            films.append(film)
    return films


def random_film(
    films: Sequence[PracticeFilm] | None = None,
    *,
    avoid: Sequence[str] = (),
    last: PracticeFilm | None = None,
    rng: random.Random | None = None,
) -> PracticeFilm:
    """A random film that is never the picture of ``last`` (the film just practised or on
    screen, compared by :meth:`PracticeFilm.content_key`), preferring films not in ``avoid``
    (keys or content keys of the films this resident already practised). Raises
    :class:`TeachingCaseError` when the library has no other picture."""
    films = practice_films() if films is None else list(films)
    if last is not None:
        just = last.content_key()
        films = [f for f in films if f.key != last.key and f.content_key() != just]
    if not films:
        raise TeachingCaseError("the teaching library has no other case to practise")
    done = set(avoid)
    fresh = [f for f in films if f.key not in done and f.content_key() not in done]
    return (rng or random).choice(fresh or films)


# -- saving --------------------------------------------------------------------------------

def _film_label(annotations: ImageAnnotations, index: int, used: set[str]) -> str:
    base = annotations.timepoint.kind if annotations.timepoint else f"film-{index + 1}"
    label, n = base, 2
    while label in used:
        label, n = f"{base}-{n}", n + 1
    used.add(label)
    return label


def save_teaching_case(
    image_paths: Sequence[str | Path],
    annotations: Sequence[ImageAnnotations] | Mapping[str, ImageAnnotations],
    *,
    title: str = "",
    notes: str = "",
    retain_patient_characteristics: bool = True,
    burned_in_confirmed: bool = False,
    deidentifier: Any = None,
) -> TeachingCase:
    """De-identify ``image_paths`` (DICOM only) and store them with the expert's landmarks as
    a new case in :func:`teaching_dir`.

    ``annotations`` is one :class:`ImageAnnotations` per image in the same order, or a mapping
    from each image's original SOP Instance UID. Every image needs at least one complete
    vertebra. All films share one de-identification context (same date offset, consistent
    UIDs); the landmarks are rewritten for the new SOP Instance UID and file name, and a
    timepoint date is shifted like the film's dates. Patient sex and age are kept by default
    (Retain Patient Characteristics Option) because they matter for teaching osteoporosis.
    ``title`` and ``notes`` are stored as typed: they must not contain identifying text.
    A film whose Burned In Annotation is YES raises :class:`BurnedInAnnotationError` unless
    ``burned_in_confirmed`` (the user looked at it and confirmed the text identifies no one).
    ``deidentifier`` (a :class:`~ovcf_viewer.io.deidentify.Deidentifier`, the installation's
    by default) gives the patient's pseudonym, date offset and UIDs, the same as in the SR,
    CSV and report exports; the films are named by their label (``preop.dcm``…), nothing
    of the original file name.

    Raises :class:`TeachingCaseError` (one line) for a missing reference, a non-DICOM file or
    a file that cannot be read; nothing is left behind then.
    """
    from ovcf_viewer.io.deidentify import METHOD, Deidentifier, deidentify_file
    from ovcf_viewer.io.dicom import read_header
    from ovcf_viewer.model.errors import ImageLoadError

    paths = [Path(p) for p in image_paths]
    if not paths:
        raise TeachingCaseError("no films to save")
    refs: list[ImageAnnotations] = []
    patients = []
    for i, path in enumerate(paths):
        try:
            header = read_header(path)
        except ImageLoadError as exc:
            raise TeachingCaseError(str(exc)) from None
        if not header.is_dicom:
            raise TeachingCaseError(
                f"{path.name}: only DICOM films can be de-identified for the teaching library"
            )
        if not burned_in_confirmed and _burned_in(path) == "YES":
            raise BurnedInAnnotationError(
                f"{path.name}: Burned In Annotation is YES: text in the pixels cannot be "
                "removed; look at the film and confirm it identifies no one"
            )
        if isinstance(annotations, Mapping):
            ref = annotations.get(header.sop_instance_uid)
        else:
            ref = annotations[i] if i < len(annotations) else None
        if ref is None or not ref.complete_vertebrae():
            raise TeachingCaseError(
                f"{path.name}: no complete vertebra placed: the expert's landmarks are the "
                "reference, place them first"
            )
        refs.append(ref)
        patients.append(header.patient)

    case_id = f"tc-{secrets.token_hex(4)}"
    # The patient's pseudonym, date offset and UIDs are the ones every other de-identified
    # output of this patient uses (the installation key; io.deidentify): one per case.
    context = deidentifier.context_for_patient(patients[0]) if deidentifier is not None else (
        Deidentifier().context_for_patient(patients[0]))
    final = teaching_dir() / case_id
    staging = teaching_dir() / f".{case_id}.partial"
    staging.mkdir(parents=True)
    try:
        used: set[str] = set()
        films_doc: list[dict[str, Any]] = []
        warnings: list[str] = []
        for i, (path, ref) in enumerate(zip(paths, refs, strict=True)):
            label = _film_label(ref, i, used)
            image_name, ref_name = f"{label}.dcm", f"{label}.json"
            try:
                report = deidentify_file(
                    path, staging / image_name, context,
                    retain_patient_characteristics=retain_patient_characteristics,
                )
            except ImageLoadError as exc:
                raise TeachingCaseError(str(exc)) from None
            warnings += [f"{label}: {w}" for w in report.warnings]
            new_uid = report.uid_map.get(ref.sop_instance_uid) or context.uid_for(
                ref.sop_instance_uid
            )
            save_annotations(_remapped(ref, new_uid, image_name, context), staging / ref_name)
            films_doc.append({"label": label, "image": image_name, "reference": ref_name,
                              "levels": list(levels_to_mark(ref))})
        manifest = {
            "format": CASE_FORMAT,
            "version": CASE_VERSION,
            "case_id": case_id,
            "title": title.strip() or case_id,
            "notes": notes.strip(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "films": films_doc,
            "deidentification": {"method": list(METHOD), "warnings": warnings},
        }
        from ovcf_viewer.util.atomic import atomic_write_text

        atomic_write_text(staging / "case.json", json.dumps(manifest, indent=2) + "\n",
                          private=True)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _user_case(final)


def _remapped(
    ref: ImageAnnotations, new_uid: str, file_name: str, context: Any
) -> ImageAnnotations:
    doc = ref.to_json()
    doc["image"] = {"sop_instance_uid": new_uid, "file": file_name} | {
        k: v for k, v in doc["image"].items() if k in ("rows", "columns")
    }
    try:
        out = ImageAnnotations.from_json(doc)
    except AnnotationFormatError as exc:  # to_json output always parses; say so if not
        raise TeachingCaseError(f"reference landmarks unreadable: {exc}") from None
    if ref.timepoint is not None and ref.timepoint.date is not None:
        out.timepoint = Timepoint(
            ref.timepoint.kind, context.shift_date(ref.timepoint.date),
            ref.timepoint.interval_days,
        )
    return out
