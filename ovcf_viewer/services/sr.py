"""DICOM SR use cases: export each film's measurements as a TID 1500 report, import a report
as exchange-format annotations, find the report lying beside a film.

The numbers written are the measurements panel's: the film's calibration
(:meth:`RadiographImage.calibration` with the magnification setting and the manual line) and
:func:`measure_image` with the user's settings, nothing computed a second way.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from ovcf_viewer.io.sr import (
    SrFormatError,
    SrImport,
    SrMeasurements,
    ToolValue,
    VertebraValues,
    build_measurement_sr,
    parse_measurement_sr,
)
from ovcf_viewer.measure.measurements import ImageMeasurements, measure_image
from ovcf_viewer.model.calibration import Calibration
from ovcf_viewer.model.landmarks import ImageAnnotations
from ovcf_viewer.model.settings import Settings

__all__ = [
    "SrExportError",
    "SrExportResult",
    "export_case_sr",
    "export_film_sr",
    "export_sr",
    "find_sr_beside",
    "import_sr",
    "index_measurement_srs",
    "read_dicom_header",
    "sr_content",
]


class SrExportError(ValueError):
    """Bad input for an export (a missing or unreadable film, landmarks that cannot be
    measured); the message is one line naming the film."""


@dataclass
class SrExportResult:
    written: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_dicom_header(path: str | os.PathLike[str]) -> Dataset:
    """The header of a DICOM file without its pixel data; :class:`SrFormatError` (one line)
    for a file that is not DICOM or cannot be read."""
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    from ovcf_viewer.util.safe_read import InputFileError, require_regular_file

    path = Path(path)
    try:  # a named pipe would block the read for ever, a device never end
        require_regular_file(path)
    except InputFileError as exc:
        raise SrFormatError(f"{path.name}: {exc.reason}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        raise SrFormatError(f"{path.name}: not a DICOM file") from None
    except OSError as exc:
        raise SrFormatError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except Exception as exc:  # pydicom raises many kinds on a damaged header
        raise SrFormatError(f"{path.name}: not a readable DICOM file ({exc})") from None


def sr_content(
    annotations: ImageAnnotations,
    calibration: Calibration,
    measurements: ImageMeasurements,
    observer_name: str = "",
) -> SrMeasurements:
    """The panel's measurements of one film as the SR writer takes them."""
    vertebrae = []
    for level, m in measurements.vertebrae.items():
        index = measurements.index_levels.get(level)
        vertebrae.append(VertebraValues(
            level=level,
            anterior_height=m.anterior_height_mm,
            middle_height=m.middle_height_mm,
            posterior_height=m.posterior_height_mm,
            wedge_ratio=m.wedge_ratio,
            biconcavity_ratio=m.biconcavity_ratio,
            crush_ratio=m.crush_ratio,
            wedge_angle_deg=m.wedge_angle_deg,
            genant_grade=m.genant.grade,
            genant_type=m.genant.type,
            height_reduction_pct=m.genant.height_reduction_pct,
            is_index=index is not None,
            segmental_kyphosis_deg=index.segmental_kyphosis_deg if index else None,
            lovbh_pct=index.lovbh_pct if index else None,
        ))
    return SrMeasurements(annotations, calibration, tuple(vertebrae), observer_name,
                          _tool_values(annotations, calibration))


def _has_measuring_tool(annotations: ImageAnnotations) -> bool:
    return any(t.kind in ("ruler", "angle", "cobb") for t in annotations.tools)


def _tool_values(annotations: ImageAnnotations, calibration: Calibration) -> tuple[
        ToolValue, ...]:
    """Rulers, angles and Cobb tools with the values the image shows beside them (the
    calibration line is the manual calibration, written on its own)."""
    from ovcf_viewer.measure.geometry import angle_at_vertex_deg, line_angle_deg

    out = []
    for tool in annotations.tools:
        p = tool.points
        try:
            if tool.kind == "ruler":
                value = calibration.distance(p[0], p[1])
            elif tool.kind == "angle":
                value = angle_at_vertex_deg(p[0], p[1], p[2], calibration)
            elif tool.kind == "cobb":
                value = line_angle_deg(p[0], p[1], p[2], p[3], calibration)
            else:
                continue
        except ValueError:  # coincident points: the image shows "—", the SR leaves it out
            continue
        out.append(ToolValue(tool.kind, tuple((float(x), float(y)) for x, y in p), value))
    return tuple(out)


def export_film_sr(
    image: Any,
    annotations: ImageAnnotations,
    settings: Settings,
    target: str | os.PathLike[str],
    *,
    header: Dataset | None = None,
    outcomes: tuple[Any, ...] = (),
    deidentifier: Any = None,
) -> Path:
    """Write the SR of one film (``image`` a :class:`RadiographImage` read from a DICOM file)
    to ``target`` (a file, or a folder to write ``<film>-sr.dcm`` into); returns the path.
    Raises :class:`SrExportError` with one line.

    With ``deidentifier`` (:class:`~ovcf_viewer.io.deidentify.Deidentifier`) the SR is built
    from the film's de-identified header (PS3.15 Annex E: the patient's pseudonym, shifted
    dates, the same new UIDs as the film's teaching export), its landmarks refer to the
    film's new SOP Instance UID, a timepoint date is shifted like the film's, the observer is
    the program (no physician's name), and a file written into a folder is named
    ``<pseudonym>-<digest>-sr.dcm``."""
    from ovcf_viewer.util.atomic import atomic_write_bytes

    name = image.path.name if image.path is not None else annotations.sop_instance_uid
    if not image.is_dicom or image.path is None:
        raise SrExportError(f"{name}: not a DICOM film; an SR can only refer to a DICOM image")
    if annotations.sop_instance_uid != image.sop_instance_uid:
        raise SrExportError(f"{name}: the landmarks belong to another image")
    if not annotations.complete_vertebrae() and not _has_measuring_tool(annotations):
        raise SrExportError(f"{name}: no vertebra with all six landmarks and no measuring "
                            "tool to export")
    calibration = image.calibration(use_magnification=settings.use_magnification,
                                    manual=annotations.manual_calibration)
    try:
        measurements = measure_image(annotations, calibration, settings)
    except ValueError as exc:
        raise SrExportError(f"{name}: {exc}") from None
    if header is None:
        try:
            header = read_dicom_header(image.path)
        except SrFormatError as exc:
            raise SrExportError(str(exc)) from None
    observer = settings.physician
    stem = image.path.stem
    if deidentifier is not None:
        header, annotations, stem = _deidentified(header, annotations, image.path.name,
                                                  deidentifier)
        observer = ""
    content = sr_content(annotations, calibration, measurements, observer)
    if outcomes:  # leaks and volumes of a case's film (docs/clinical-reference.md §5a)
        content = replace(content, outcomes=tuple(outcomes))
    try:
        dataset = build_measurement_sr(header, content)
    except ValueError as exc:
        raise SrExportError(f"{name}: {exc}") from None
    if deidentifier is not None:
        from ovcf_viewer.io.deidentify import mark_deidentified

        mark_deidentified(dataset)
    target = Path(target)
    if target.is_dir():
        target = target / f"{stem}-sr.dcm"
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    try:
        atomic_write_bytes(target, buffer.getvalue())
    except OSError as exc:
        raise SrExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def _deidentified(
    header: Dataset, annotations: ImageAnnotations, file_name: str, deidentifier: Any
) -> tuple[Dataset, ImageAnnotations, str]:
    """The film's header de-identified, its landmarks re-keyed to the new SOP Instance UID
    (timepoint date shifted, no file name), and the output file stem."""
    import copy

    from ovcf_viewer.io.deidentify import deidentify_dataset
    from ovcf_viewer.model.landmarks import Timepoint

    context = deidentifier.context_for_dataset(header)
    header = copy.deepcopy(header)
    deidentify_dataset(header, context)
    new_uid = str(header.SOPInstanceUID)
    doc = annotations.to_json(partial=True)
    doc["image"] = {"sop_instance_uid": new_uid} | {
        k: v for k, v in doc["image"].items() if k in ("rows", "columns")}
    copy_ = ImageAnnotations.from_json(doc, partial=True)
    tp = annotations.timepoint
    if tp is not None:
        copy_.timepoint = Timepoint(tp.kind, context.shift_date(tp.date) if tp.date else None,
                                    tp.interval_days)
    return header, copy_, context.file_stem(file_name)


def export_sr(
    inputs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    settings: Settings,
    *,
    deidentify: bool = False,
) -> SrExportResult:
    """``ovcf-viewer export-sr``: one SR per annotated film of a case document or of a set
    of exchange-format annotation files, into ``out_dir`` (created). Films without a complete
    vertebra are listed in ``notes``, not written; anything else wrong raises
    :class:`SrExportError`. ``deidentify``: see :func:`export_film_sr` (the notes then name
    no file)."""
    from ovcf_viewer.model.case import CaseFormatError, load_case
    from ovcf_viewer.model.landmarks import AnnotationFormatError, load_annotations

    paths = [Path(p) for p in inputs]
    films: list[_Film] = []
    try:
        if len(paths) == 1 and _is_case(paths[0]):
            case = load_case(paths[0])
            films = _case_films(case, settings)
        else:
            # Each file as it is: its timepoint is written exactly as stored.
            for path in paths:
                annotations = load_annotations(path, partial=True)
                image_path = (path.parent / annotations.file) if annotations.file else None
                films.append(_Film(image_path, annotations, path.name))
    except (AnnotationFormatError, CaseFormatError) as exc:
        raise SrExportError(str(exc)) from None
    return _export_films(films, out_dir, settings, {}, deidentify=deidentify)


def export_case_sr(
    case: Any,
    out_dir: str | os.PathLike[str],
    settings: Settings,
    images: dict[str, Any] | None = None,
    *,
    deidentify: bool = False,
) -> SrExportResult:
    """One SR per annotated film of an open :class:`~ovcf_viewer.model.case.Case` (the case
    window's *Export DICOM SR…*); ``images`` are films already loaded (SOP UID → image)."""
    films = _case_films(case, settings, images)
    return _export_films(films, out_dir, settings, dict(images or {}), deidentify=deidentify)


def _case_films(case: Any, settings: Settings,
                images: dict[str, Any] | None = None) -> list[_Film]:
    """A case's films with the outcomes each one's SR carries (§5a)."""
    from ovcf_viewer.services.compare import compare
    from ovcf_viewer.services.outcomes import sr_outcome_values, summarize_outcomes

    calibrations = {
        uid: image.calibration(use_magnification=settings.use_magnification,
                               manual=case.film(uid).annotations.manual_calibration)
        for uid, image in (images or {}).items()
    }
    try:
        comparison = compare(case, settings, calibrations)
        summary = summarize_outcomes(case, comparison)
    except ValueError:  # the films cannot be compared: the SRs carry the landmarks alone
        return [_Film(f.path, _with_timepoint(f), f.label) for f in case.films]
    return [
        _Film(f.path, _with_timepoint(f), f.label,
              sr_outcome_values(case, comparison, f.sop_instance_uid, summary)
              if f.timepoint is not None else ())
        for f in case.films
    ]


@dataclass(frozen=True)
class _Film:
    image_path: Path | None
    annotations: ImageAnnotations
    label: str
    outcomes: tuple[Any, ...] = ()


def _export_films(
    films: Sequence[_Film], out_dir: str | os.PathLike[str], settings: Settings,
    images: dict[str, Any], *, deidentify: bool = False,
) -> SrExportResult:
    from ovcf_viewer.io.dicom import load_image
    from ovcf_viewer.model.errors import ImageLoadError

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SrExportError(f"cannot create {out}: {exc.strerror or exc}") from None
    result = SrExportResult()
    deidentifier = None
    if deidentify:
        from ovcf_viewer.io.deidentify import Deidentifier

        deidentifier = Deidentifier()
    for number, film in enumerate(films, start=1):
        if not film.annotations.complete_vertebrae() and not _has_measuring_tool(
                film.annotations):
            label = f"film {number}" if deidentify else film.label
            result.notes.append(f"{label}: no vertebra with all six landmarks and no "
                                "measuring tool; no SR written")
            continue
        image = images.get(film.annotations.sop_instance_uid)
        if image is None:
            if film.image_path is None:
                raise SrExportError(
                    f"{film.label}: no image file recorded; an SR must refer to its film")
            try:
                image = load_image(film.image_path)
            except ImageLoadError as exc:
                raise SrExportError(f"{film.label}: film {exc}") from None
        result.written.append(export_film_sr(image, film.annotations, settings, out,
                                             outcomes=film.outcomes,
                                             deidentifier=deidentifier))
    return result


def _with_timepoint(film: Any) -> ImageAnnotations:
    """The film's landmarks carrying the case's timepoint for it (a copy when they differ)."""
    annotations = film.annotations
    if film.timepoint is None or annotations.timepoint == film.timepoint:
        return annotations
    copy = ImageAnnotations.from_json(annotations.to_json(partial=True), partial=True)
    copy.timepoint = film.timepoint
    return copy


def _is_case(path: Path) -> bool:
    from ovcf_viewer.model.case import is_case_document

    try:
        return is_case_document(path)
    except OSError:
        return False


def import_sr(path: str | os.PathLike[str]) -> SrImport:
    """Read a measurement SR file; :class:`SrFormatError` (one line) for a file that is not
    DICOM or not a measurement SR. The annotations name the referenced film's SOP instance
    and, when it lies beside the SR, its file name and size."""
    path = Path(path)
    header = read_dicom_header(path)
    result = parse_measurement_sr(header, where=path.name)
    film = _film_beside(path.parent, result.annotations.sop_instance_uid)
    if film is not None:
        file, rows, columns = film
        result.annotations.file = os.path.relpath(file, path.parent)
        result.annotations.rows, result.annotations.columns = rows, columns
    return result


def _film_beside(folder: Path, sop_instance_uid: str) -> tuple[Path, int, int] | None:
    from pydicom import dcmread

    for candidate in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not candidate.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(candidate, stop_before_pixels=True,
                             specific_tags=["SOPInstanceUID", "Rows", "Columns"])
        except Exception:  # not DICOM or unreadable: not the film
            continue
        if str(ds.get("SOPInstanceUID", "")) == sop_instance_uid and "Rows" in ds:
            return candidate, int(ds.Rows), int(ds.Columns)
    return None


def index_measurement_srs(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """The measurement SRs lying in ``folder``: referenced film's SOP Instance UID → the newest
    SR with landmarks or tools on it. Reads only the SOP class of files that are not SRs."""
    from pydicom import dcmread

    from ovcf_viewer.io.sr import MEASUREMENT_SR_CLASSES

    folder = Path(folder)
    found: dict[str, tuple[float, Path]] = {}
    for candidate in folder.iterdir() if folder.is_dir() else []:
        if not candidate.is_file():
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # The SOP class first: films and other objects are passed over cheaply.
                head = dcmread(candidate, stop_before_pixels=True, specific_tags=["SOPClassUID"])
                if str(head.get("SOPClassUID", "")) not in MEASUREMENT_SR_CLASSES:
                    continue
                result = parse_measurement_sr(dcmread(candidate, stop_before_pixels=True))
            when = candidate.stat().st_mtime
        except Exception:  # not DICOM, not a measurement SR, damaged: not ours to offer
            continue
        model = result.annotations
        if model.vertebrae or model.tools:
            uid = model.sop_instance_uid
            if uid not in found or when > found[uid][0]:
                found[uid] = (when, candidate)
    return {uid: path for uid, (_when, path) in found.items()}


def find_sr_beside(film: str | os.PathLike[str], sop_instance_uid: str) -> Path | None:
    """A measurement SR in the film's folder whose coordinates refer to ``sop_instance_uid``
    (the newest one when there are several), else ``None``."""
    return index_measurement_srs(Path(film).parent).get(sop_instance_uid)
