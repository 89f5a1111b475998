"""The exchange-format annotation files found beside a folder's films, matched to the films by
SOP Instance UID (the file's ``image.sop_instance_uid``), and what loading them would change in
the annotation store.

:func:`match_annotation_files` reads every candidate file (``*.json``) once: a file for a film
of the folder is *matched*; a file that is not an annotation file (a case document, a findings
file, anything else) or belongs to no film of the folder is listed with why, never an error;
a second file for the same film is listed, not loaded.

:func:`plan_import` compares each matched file with what the store holds for its film:
*new* (the store has nothing), *same* (already there), or a *conflict* (the film has other
landmarks: the user is asked, nothing is overwritten here).

:func:`expand_folders` does the same for the commands' INPUT: a folder given as INPUT stands
for the annotation files of its films (``ovcf-viewer report study/ -o report.pdf``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ovcf_viewer.model.landmarks import AnnotationFormatError, ImageAnnotations, load_annotations
from ovcf_viewer.util.safe_read import InputFileError, read_json

__all__ = [
    "AnnotationFile",
    "FolderAnnotations",
    "FolderInputError",
    "expand_folders",
    "ImportPlan",
    "landmarks_state",
    "match_annotation_files",
    "plan_import",
]

_ANNOTATION_FORMAT = "ovcf-annotations"


@dataclass(frozen=True)
class AnnotationFile:
    """One annotation file matched to a film of the folder."""

    path: Path
    annotations: ImageAnnotations

    @property
    def sop_instance_uid(self) -> str:
        return self.annotations.sop_instance_uid


@dataclass
class FolderAnnotations:
    """``matched`` (SOP Instance UID → file, in file order); ``unmatched`` lists ``(path,
    why)`` for every candidate file not loaded."""

    matched: dict[str, AnnotationFile] = field(default_factory=dict)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)


def match_annotation_files(
    files: Iterable[str | os.PathLike[str]], film_uids: Collection[str]
) -> FolderAnnotations:
    """Read the ``*.json`` among ``files`` and match each annotation file to a film of
    ``film_uids`` by SOP Instance UID (see the module docstring)."""
    out = FolderAnnotations()
    for raw in files:
        path = Path(raw)
        if path.suffix.lower() != ".json":
            continue
        try:
            document = read_json(path)
        except InputFileError as exc:
            out.unmatched.append((path, str(exc)))
            continue
        kind = document.get("format") if isinstance(document, dict) else None
        if kind != _ANNOTATION_FORMAT:
            what = "a case document, not an annotation file" if kind == "ovcf-case" else (
                "not an annotation file")
            out.unmatched.append((path, what))
            continue
        try:
            annotations = load_annotations(path, partial=True)
        except AnnotationFormatError as exc:
            out.unmatched.append((path, str(exc)))
            continue
        uid = annotations.sop_instance_uid
        if uid not in film_uids:
            out.unmatched.append((path, f"for no film here (SOP Instance UID {uid})"))
        elif uid in out.matched:
            out.unmatched.append(
                (path, f"a second annotation file for the film of {out.matched[uid].path.name}"
                       "; not loaded"))
        else:
            out.matched[uid] = AnnotationFile(path, annotations)
    return out


def landmarks_state(model: ImageAnnotations | None) -> dict[str, object]:
    """What a person placed on a film (landmarks, index levels, tools, manual calibration,
    timepoint), for comparing two versions of its landmarks; the file name and image size
    are left out."""
    if model is None:
        return {}
    document = model.to_json(partial=True)
    return {k: v for k, v in document.items() if k not in ("image", "format", "version")}


class _Store(Protocol):
    def load(self, sop_instance_uid: str) -> ImageAnnotations | None: ...


@dataclass
class ImportPlan:
    """Matched files sorted by what loading them changes (see :func:`plan_import`);
    ``current`` keeps the store's landmarks of each conflicting film (SOP UID → model)."""

    new: list[AnnotationFile] = field(default_factory=list)
    same: list[AnnotationFile] = field(default_factory=list)
    conflicts: list[AnnotationFile] = field(default_factory=list)
    current: dict[str, ImageAnnotations] = field(default_factory=dict)


def plan_import(found: FolderAnnotations, store: _Store) -> ImportPlan:
    """Sort the matched files against ``store`` (raises what ``store.load`` raises)."""
    plan = ImportPlan()
    for uid, item in found.matched.items():
        stored = store.load(uid)
        if stored is None or (stored.is_empty() and stored.timepoint is None):
            plan.new.append(item)
        elif landmarks_state(stored) == landmarks_state(item.annotations):
            plan.same.append(item)
        else:
            plan.conflicts.append(item)
            plan.current[uid] = stored
    return plan


class FolderInputError(ValueError):
    """A folder given as INPUT holds no annotation file of its films; one line."""


def expand_folders(
    inputs: Iterable[str | os.PathLike[str]],
) -> tuple[list[str], list[tuple[Path, str]]]:
    """``inputs`` with every folder replaced by the annotation files of its films (matched
    by SOP Instance UID, in the order the folder scan lists the films), and the files of
    those folders not used, with why. Files are kept as given."""
    from ovcf_viewer.io.study_scan import scan_paths

    out: list[str] = []
    skipped: list[tuple[Path, str]] = []
    for raw in inputs:
        path = Path(raw)
        if not path.is_dir():
            out.append(str(raw))
            continue
        scan = scan_paths([path])
        films = [image.sop_instance_uid for image in scan.images()]
        candidates = [p for p, _why in scan.errors if p.suffix.lower() == ".json"]
        found = match_annotation_files(candidates, set(films))
        if not found.matched:
            raise FolderInputError(
                f"{path}: no annotation file of its films ({len(films)} film(s), "
                f"{len(candidates)} .json file(s))")
        out.extend(str(found.matched[uid].path) for uid in dict.fromkeys(films)
                   if uid in found.matched)
        skipped.extend(found.unmatched)
    return out, skipped
