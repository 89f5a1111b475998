"""Reading a command's inputs for the suitability evaluation: exchange-format annotation files
(one per film, with their ``timepoint``) or one case document, each film measured under its
calibration (docs/clinical-reference.md §1). :class:`InputError` with one line naming the file
for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import AnnotationFormatError, ImageAnnotations, load_annotations
from ovcf_viewer.model.settings import Settings
from ovcf_viewer.suitability import FilmMeasurements

if TYPE_CHECKING:
    from ovcf_viewer.model.case import Case
from ovcf_viewer.util.safe_read import InputFileError, read_json

__all__ = ["InputError", "read_inputs"]

_CASE_FORMAT = "ovcf-case"


class InputError(ValueError):
    """A bad INPUT; the message is one line naming the file."""


def _read_json(path: Path) -> Any:
    try:
        return read_json(path)
    except InputFileError as exc:
        raise InputError(str(exc)) from None


def read_inputs(
    paths: list[str], settings: Settings
) -> tuple[list[FilmMeasurements], Case | None, list[str]]:
    """Films (with measurements), the case when INPUT is a case document (its findings, or
    the problem reading them, are in it), and the case's treated levels (empty: each film's
    own index levels)."""
    documents = [(Path(p), _read_json(Path(p))) for p in paths]
    if any(isinstance(doc, dict) and doc.get("format") == _CASE_FORMAT for _p, doc in documents):
        if len(documents) != 1:
            raise InputError("give either one case file or annotation files, not both")
        return _read_case(documents[0][0], settings)
    films = []
    for order, (path, _doc) in enumerate(documents):
        try:
            annotations = load_annotations(path, partial=True)
        except AnnotationFormatError as exc:
            raise InputError(str(exc)) from None
        image = (path.parent / annotations.file) if annotations.file else None
        films.append(_film(annotations, image, path.name, order, settings))
    return films, None, []


def _read_case(
    path: Path, settings: Settings
) -> tuple[list[FilmMeasurements], Case | None, list[str]]:
    from ovcf_viewer.model.case import CaseFormatError, load_case

    try:
        case = load_case(path)
    except CaseFormatError as exc:
        raise InputError(str(exc)) from None
    films = [
        _film(film.annotations, film.path, film.path.name if film.path else film.sop_instance_uid,
              order, settings)
        for order, film in enumerate(case.films)
    ]
    return films, case, list(case.index_levels())


def _film(
    annotations: ImageAnnotations, image: Path | None, name: str, order: int, settings: Settings
) -> FilmMeasurements:
    from ovcf_viewer.measure.measurements import measure_image

    calibration = _calibration(annotations, image, settings)
    try:
        measurements = measure_image(annotations, calibration, settings)
    except ValueError as exc:
        raise InputError(f"{name}: {exc}") from None
    tp = annotations.timepoint
    date = tp.date.isoformat() if tp is not None and tp.date is not None else None
    label = " ".join(part for part in (tp.label if tp else "", date or "") if part)
    label = f"{label}, {name}" if label else name
    return FilmMeasurements(label, measurements, tp.kind if tp else None, date, order)


def _calibration(
    annotations: ImageAnnotations, image: Path | None, settings: Settings
) -> Calibration:
    """The film's calibration (§1). Only its pixel aspect matters here: every suitability
    input is a ratio, a percentage or an angle. Without the image, square pixels."""
    if annotations.manual_calibration is not None:
        return annotations.manual_calibration
    if image is not None and image.is_file():
        from ovcf_viewer.io.dicom import load_image
        from ovcf_viewer.model.errors import ImageLoadError

        try:
            return load_image(image).calibration(use_magnification=settings.use_magnification)
        except ImageLoadError as exc:
            return Calibration.none(f"{exc}: ratios and angles assume square pixels")
    return Calibration.none("image not available: ratios and angles assume square pixels")
