"""*File ▸ Open case…* on what the CLI takes as INPUT (:mod:`ovcf_viewer.services.inputs`,
:func:`ovcf_viewer.io.case_files.load_case_inputs`): one case document, or exchange-format
annotation files.

- One case document: its case window (films found again by SOP Instance UID).
- Annotation files that all carry a ``timepoint``: the case the CLI would report from them
  (same reader, :func:`~ovcf_viewer.io.case_files.load_case_inputs`), in a case window.
- One annotation file without a timepoint: its film in the main window with its landmarks
  (one undo step, autosaved).

Anything else is said in one line (which file, why) in the main window's status bar and a
non-modal box; no case window is opened for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.model.case import CASE_FORMAT_NAME, CaseFormatError
from ovcf_viewer.model.landmarks import AnnotationFormatError, ImageAnnotations, load_annotations
from ovcf_viewer.util.safe_read import InputFileError, read_json

if TYPE_CHECKING:
    from ovcf_viewer.qt.case.case_view import CaseWindow
    from ovcf_viewer.qt.workstation import Workstation

__all__ = ["open_inputs"]


class _Refused(Exception):
    """One line saying what could not be opened."""


def open_inputs(workstation: Workstation, paths: list[str]) -> CaseWindow | None:
    """Open ``paths`` as described in the module docstring; the case window opened, or
    ``None`` (a film shown in the main window, or a refusal already shown)."""
    window = workstation.window
    try:
        return _open(workstation, [Path(p) for p in paths])
    except _Refused as exc:
        window.show_error(f"Not opened: {exc}", modal_box=True)
        return None


def _open(workstation: Workstation, paths: list[Path]) -> CaseWindow | None:
    documents = []
    for path in paths:
        try:
            documents.append((path, read_json(path)))
        except InputFileError as exc:
            raise _Refused(str(exc)) from None
    kinds = [doc.get("format") if isinstance(doc, dict) else None for _p, doc in documents]
    if CASE_FORMAT_NAME in kinds:
        if len(paths) != 1:
            raise _Refused("give either one case document or annotation files, not both")
        return _open_case_document(workstation, paths[0])
    annotations: list[ImageAnnotations] = []
    for path in paths:
        try:
            annotations.append(load_annotations(path, partial=True))
        except AnnotationFormatError as exc:
            raise _Refused(str(exc)) from None
    if len(paths) == 1 and annotations[0].timepoint is None:
        _open_film(workstation, paths[0], annotations[0])
        return None
    return _open_annotation_case(workstation, paths)


def _open_case_document(workstation: Workstation, path: Path) -> CaseWindow:
    from ovcf_viewer.model.case import load_case

    try:
        load_case(path)  # refused here, before a window exists
    except CaseFormatError as exc:
        raise _Refused(str(exc)) from None
    return workstation.open_case(path)


def _open_annotation_case(workstation: Workstation, paths: list[Path]) -> CaseWindow:
    from ovcf_viewer.io.case_files import load_case_inputs
    from ovcf_viewer.qt.case.case_view import open_case_window

    try:
        case = load_case_inputs(paths)
    except (CaseFormatError, ValueError) as exc:
        raise _Refused(str(exc)) from None
    window = open_case_window(None, settings=workstation.settings)
    messages = window.controller.set_case(case)
    window.show_message("; ".join(messages) if messages else
                        f"Case from {len(paths)} annotation file(s): "
                        + ", ".join(p.name for p in paths))
    return workstation._track_case_window(window)


def _open_film(workstation: Workstation, path: Path, annotations: ImageAnnotations) -> None:
    window: Any = workstation.window
    image = (path.parent / annotations.file) if annotations.file else None
    if image is None or not image.is_file():
        where = f"its film {annotations.file} is not beside it" if annotations.file else (
            "it names no image file")
        raise _Refused(f"{path.name}: {where}; open the film, then Import annotations")
    if not window.open_paths([image]):
        return  # the window said why
    shown = window.image()
    if shown is None or shown.sop_instance_uid != annotations.sop_instance_uid:
        raise _Refused(f"{path.name}: {image.name} is another image (SOP Instance UID "
                       f"{shown.sop_instance_uid if shown else '?'})")
    window.open_annotations(path)
