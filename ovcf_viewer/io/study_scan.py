"""Scan files and folders (a CD export with DICOMDIR, a PACS download, a loose folder) into
patients → studies → series → images, reading headers only.

DICOM headers are read with ``stop_before_pixels`` (see
:func:`ovcf_viewer.io.dicom.read_header`); ``force`` is used only for files whose first
bytes look like a preamble-less data set. A DICOMDIR adds the files it references, found
case-insensitively (CD file IDs are upper case, mounted file systems often are not).
PNG/JPEG/TIFF files are grouped under one pseudo patient, :data:`PHOTOS_PATIENT_NAME`.
Every file that cannot be opened as an image is listed in :attr:`ScanResult.errors` with a
one-line reason, and the scan goes on with the others.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ovcf_viewer.io.dicom import HeaderSummary, read_header
from ovcf_viewer.model.errors import ImageLoadError
from ovcf_viewer.model.image import PatientInfo

__all__ = [
    "PHOTOS_PATIENT_NAME",
    "ScanImage",
    "ScanPatient",
    "ScanResult",
    "ScanSeries",
    "ScanStudy",
    "scan_paths",
]

#: The pseudo patient that holds PNG/JPEG/TIFF photographs and scans of films.
PHOTOS_PATIENT_NAME = "Photographs/scans"


@dataclass
class ScanImage:
    """One image file (all its frames) as the study browser lists it."""

    path: Path
    sop_instance_uid: str
    sop_class_uid: str = ""
    modality: str = ""
    view_position: str = ""
    body_part: str = ""
    rows: int = 0
    columns: int = 0
    number_of_frames: int = 1
    instance_number: int | None = None
    photometric: str = ""
    is_dicom: bool = True

    @property
    def label(self) -> str:
        """Short text for a browser row, e.g. ``"DX LL 3000 × 2500 (IM0001)"``."""
        parts = [p for p in (self.modality, self.view_position) if p]
        parts.append(f"{self.columns} × {self.rows}")
        if self.number_of_frames > 1:
            parts.append(f"{self.number_of_frames} frames")
        return " ".join(parts) + f" ({self.path.name})"


@dataclass
class ScanSeries:
    series_instance_uid: str
    series_number: int | None = None
    description: str = ""
    modality: str = ""
    images: list[ScanImage] = field(default_factory=list)


@dataclass
class ScanStudy:
    study_instance_uid: str
    study_date: date | None = None
    description: str = ""
    accession_number: str = ""
    series: list[ScanSeries] = field(default_factory=list)

    def images(self) -> list[ScanImage]:
        return [image for series in self.series for image in series.images]


@dataclass
class ScanPatient:
    """One patient of the scan: ``name`` and ``patient_id`` group the files; the rest of the
    patient record is the first file's (:class:`~ovcf_viewer.model.image.PatientInfo`, the
    record the image loader reads too)."""

    name: str
    patient_id: str = ""
    info: PatientInfo = field(default_factory=PatientInfo)
    studies: list[ScanStudy] = field(default_factory=list)

    @property
    def birth_date(self) -> date | None:
        return self.info.birth_date

    @property
    def sex(self) -> str:
        return self.info.sex

    @property
    def is_photos(self) -> bool:
        return self.name == PHOTOS_PATIENT_NAME and not self.patient_id

    def images(self) -> list[ScanImage]:
        return [image for study in self.studies for image in study.images()]


@dataclass
class ScanResult:
    """Patients sorted by name, studies by date, series by number, images by instance number;
    ``errors`` lists ``(path, one-line message)`` for every file not opened as an image."""

    patients: list[ScanPatient] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    files_seen: int = 0

    def images(self) -> list[ScanImage]:
        return [image for patient in self.patients for image in patient.images()]

    @property
    def image_count(self) -> int:
        return len(self.images())


# --------------------------------------------------------------------------- collecting


def _is_dicomdir(path: Path) -> bool:
    return path.name.upper() == "DICOMDIR"


def _walk(folder: Path, errors: list[tuple[Path, str]]) -> Iterable[Path]:
    """Files under ``folder`` in a stable order, skipping hidden (dot) files and folders."""

    def on_error(exc: OSError) -> None:
        errors.append((Path(exc.filename or folder), f"cannot list folder ({exc.strerror})"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def _find_case_insensitive(base: Path, parts: list[str]) -> Path | None:
    """``base / parts…`` matching each component without regard to case."""
    current = base
    for part in parts:
        candidate = current / part
        if candidate.exists():
            current = candidate
            continue
        try:
            matches = [c for c in current.iterdir() if c.name.upper() == part.upper()]
        except OSError:
            return None
        if not matches:
            return None
        current = matches[0]
    return current


def _dicomdir_references(
    dicomdir: Path, errors: list[tuple[Path, str]]
) -> list[Path]:
    """Files referenced by a DICOMDIR's records (Referenced File ID, PS3.3 F.3.2.2)."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(dicomdir, force=True)
        records = ds.get("DirectoryRecordSequence") or []
    except Exception as exc:
        errors.append((dicomdir, f"DICOMDIR unreadable ({' '.join(str(exc).split())[:120]})"))
        return []
    found = []
    for record in records:
        file_id = record.get("ReferencedFileID")
        if not file_id:
            continue
        parts = [file_id] if isinstance(file_id, str) else [str(p) for p in file_id]
        parts = [p.strip() for p in parts if p.strip()]
        target = _find_case_insensitive(dicomdir.parent, parts)
        if target is None:
            errors.append((dicomdir.parent.joinpath(*parts), "listed in DICOMDIR but missing"))
        else:
            found.append(target)
    return found


def _collect(paths: Iterable[str | os.PathLike[str]], errors: list[tuple[Path, str]]) -> list[Path]:
    ordered: dict[Path, None] = {}
    dicomdirs: list[Path] = []

    def add(path: Path) -> None:
        if _is_dicomdir(path):
            dicomdirs.append(path)
        else:
            ordered.setdefault(path, None)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in _walk(path, errors):
                add(file)
        elif path.exists():
            add(path)
        else:
            errors.append((path, "file not found"))
    for dicomdir in dicomdirs:
        for referenced in _dicomdir_references(dicomdir, errors):
            ordered.setdefault(referenced, None)
    # The same file reached twice (a folder and its DICOMDIR, or two spellings) counts once.
    unique: dict[str, Path] = {}
    for path in ordered:
        try:
            key = os.path.normcase(os.path.realpath(path))
        except OSError:
            key = str(path)
        unique.setdefault(key, path)
    return list(unique.values())


# --------------------------------------------------------------------------- grouping


def _sort_date(value: date | None) -> tuple[int, date]:
    return (1, date.min) if value is None else (0, value)


def _sort_number(value: int | None) -> tuple[int, int]:
    return (1, 0) if value is None else (0, value)


def _image(summary: HeaderSummary) -> ScanImage:
    return ScanImage(
        path=summary.path,
        sop_instance_uid=summary.sop_instance_uid,
        sop_class_uid=summary.sop_class_uid,
        modality=summary.modality,
        view_position=summary.view_position,
        body_part=summary.body_part,
        rows=summary.rows,
        columns=summary.columns,
        number_of_frames=summary.number_of_frames,
        instance_number=summary.instance_number,
        photometric=summary.photometric,
        is_dicom=summary.is_dicom,
    )


def _group(summaries: list[HeaderSummary]) -> list[ScanPatient]:
    patients: dict[tuple[str, str], ScanPatient] = {}
    studies: dict[tuple[tuple[str, str], str], ScanStudy] = {}
    series_map: dict[tuple[str, str], ScanSeries] = {}
    for summary in summaries:
        if summary.is_dicom:
            patient_key = (summary.patient_id, summary.patient_name)
            patient_name = summary.patient_name or "(no name)"
            study_uid = summary.study_instance_uid or (
                f"no-uid:{summary.study_date}:{summary.study_description}"
            )
            series_uid = summary.series_instance_uid or f"no-uid:{summary.path.parent}"
            study_description = summary.study_description
            series_description = summary.series_description
        else:
            patient_key = ("", PHOTOS_PATIENT_NAME)
            patient_name = PHOTOS_PATIENT_NAME
            study_uid = "photos"
            series_uid = f"photos:{summary.path.parent}"
            study_description = PHOTOS_PATIENT_NAME
            series_description = summary.path.parent.name or str(summary.path.parent)
        patient = patients.get(patient_key)
        if patient is None:
            patient = patients[patient_key] = ScanPatient(
                name=patient_name,
                patient_id=patient_key[0],
                info=summary.patient,
            )
        study = studies.get((patient_key, study_uid))
        if study is None:
            study = studies[(patient_key, study_uid)] = ScanStudy(
                study_instance_uid=study_uid,
                study_date=summary.study_date,
                description=study_description,
                accession_number=summary.accession_number,
            )
            patient.studies.append(study)
        series = series_map.get((study_uid, series_uid))
        if series is None:
            series = series_map[(study_uid, series_uid)] = ScanSeries(
                series_instance_uid=series_uid,
                series_number=summary.series_number,
                description=series_description,
                modality=summary.modality,
            )
            study.series.append(series)
        series.images.append(_image(summary))

    ordered = sorted(
        patients.values(), key=lambda p: (p.is_photos, p.name.upper(), p.patient_id)
    )
    for patient in ordered:
        patient.studies.sort(key=lambda s: (_sort_date(s.study_date), s.description))
        for study in patient.studies:
            study.series.sort(key=lambda s: (_sort_number(s.series_number), s.description))
            for series in study.series:
                series.images.sort(
                    key=lambda i: (_sort_number(i.instance_number), str(i.path))
                )
    return ordered


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    progress: Callable[[int, int], object] | None = None,
) -> ScanResult:
    """Scan files and folders (recursively) into patients → studies → series → images.

    Headers only: fast enough for a CD (about 0.5 ms per file). ``progress`` is called
    as ``progress(done, total)`` after each file; returning ``False`` stops the scan early
    (what was found so far is returned). A file whose SOP Instance UID was already seen is
    listed in ``errors`` as a duplicate and skipped.
    """
    errors: list[tuple[Path, str]] = []
    files = _collect(paths, errors)
    summaries: list[HeaderSummary] = []
    seen_uids: dict[str, Path] = {}
    for done, path in enumerate(files, start=1):
        try:
            summary = read_header(path)
        except ImageLoadError as exc:
            errors.append((path, exc.message))
            summary = None
        except Exception as exc:  # a scan never stops on one file
            errors.append((path, f"unexpected error reading header ({type(exc).__name__})"))
            summary = None
        if summary is not None:
            if not summary.is_image:
                what = summary.sop_class_name or "unknown SOP class"
                errors.append((path, f"no image in this DICOM file ({what})"))
            elif summary.sop_instance_uid and summary.sop_instance_uid in seen_uids:
                first = seen_uids[summary.sop_instance_uid]
                errors.append((path, f"duplicate of {first.name} (same SOP Instance UID)"))
            else:
                if summary.sop_instance_uid:
                    seen_uids[summary.sop_instance_uid] = path
                summaries.append(summary)
        if progress is not None and progress(done, len(files)) is False:
            break
    return ScanResult(patients=_group(summaries), errors=errors, files_seen=len(files))
