"""The archive interface the command line and the GUI share, and what flows through it.

An :class:`Archive` finds studies, series and instances, fetches instances into a folder and
sends files. :meth:`Archive.retrieve_study` is written once on top of those: it lists the
study's instances, skips the ones already in the folder (so a retrieve interrupted half-way
resumes where it stopped), fetches the rest one by one with progress and a cancel check
between instances, and writes each file atomically as ``<SOPInstanceUID>.dcm`` (a file that
exists is whole). The DIMSE (:mod:`.dimse`) and DICOMweb (:mod:`.dicomweb`) implementations
supply the primitives.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ovcf_viewer.io.archive.errors import ArchiveError, RetrieveInterruptedError
from ovcf_viewer.model.settings import ArchiveNode
from ovcf_viewer.util.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "DEFAULT_FIND_LIMIT",
    "Archive",
    "Cancelled",
    "InstanceRef",
    "ProgressCallback",
    "RetrieveResult",
    "SendResult",
    "SeriesMatch",
    "StudyMatch",
    "StudyQuery",
    "instance_path",
    "present_instances",
]

#: More matches than this and a search asks the user to refine it (a department archive can
#: hold millions of studies; a list of thousands helps nobody and takes minutes to fetch).
DEFAULT_FIND_LIMIT = 500

#: ``progress(done, total)``: instances present in the folder so far, out of the study's.
ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

_DATE = r"\d{8}"
_DATE_RANGE = re.compile(rf"^(?:{_DATE}|{_DATE}-|-{_DATE}|{_DATE}-{_DATE})$")
_UID = re.compile(r"^[0-9]+(?:\.[0-9]+)*$")


class Cancelled(Exception):
    """Raised by an implementation's fetch loop when the cancel check says stop."""


@dataclass(frozen=True)
class StudyQuery:
    """Study-level search keys; empty means "any". ``patient_name`` may use the DICOM
    wildcards ``*`` and ``?``; ``study_date`` is ``YYYYMMDD`` or a range ``YYYYMMDD-YYYYMMDD``
    (either end may be open)."""

    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""
    modality: str = ""
    study_instance_uid: str = ""

    def __post_init__(self) -> None:
        if self.study_date and not _DATE_RANGE.match(self.study_date):
            raise ValueError(
                f"study date must be YYYYMMDD or YYYYMMDD-YYYYMMDD, not {self.study_date!r}"
            )
        if self.study_instance_uid and not is_uid(self.study_instance_uid):
            raise ValueError(f"not a DICOM UID: {self.study_instance_uid!r}")


def is_uid(value: str) -> bool:
    """Whether ``value`` has the form of a DICOM UID (PS3.5 §9: digits and dots, ≤ 64)."""
    return len(value) <= 64 and bool(_UID.match(value))


@dataclass(frozen=True)
class StudyMatch:
    study_instance_uid: str
    patient_id: str
    patient_name: str
    study_date: str
    study_description: str
    modalities: tuple[str, ...]
    number_of_instances: int | None

    def as_json(self) -> dict[str, Any]:
        """The ``pacs find --json`` object (keys are a public interface)."""
        return {
            "study_instance_uid": self.study_instance_uid,
            "patient_id": self.patient_id,
            "patient_name": self.patient_name,
            "study_date": self.study_date,
            "study_description": self.study_description,
            "modalities": list(self.modalities),
            "number_of_instances": self.number_of_instances,
        }


@dataclass(frozen=True)
class SeriesMatch:
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    number_of_instances: int | None


@dataclass(frozen=True)
class InstanceRef:
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str


@dataclass(frozen=True)
class RetrieveResult:
    """``total`` instances in the study; ``received`` fetched now, ``skipped`` already in
    ``folder`` from an earlier (interrupted) retrieve; ``files`` all of the study's files."""

    folder: Path
    total: int
    received: int
    skipped: int
    files: tuple[Path, ...]


@dataclass(frozen=True)
class SendResult:
    """One file's fate: ``ok`` with an optional warning ``message``, or refused and why."""

    path: Path
    sop_instance_uid: str
    ok: bool
    message: str


def instance_path(folder: Path, sop_instance_uid: str) -> Path:
    if not is_uid(sop_instance_uid):  # never let a remote value name a path
        raise ArchiveError(f"the archive sent an invalid SOP Instance UID {sop_instance_uid!r}")
    return folder / f"{sop_instance_uid}.dcm"


def present_instances(folder: Path) -> set[str]:
    """SOP Instance UIDs already retrieved into ``folder`` (whole files only)."""
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.dcm") if is_uid(p.stem)}


def write_instance(folder: Path, sop_instance_uid: str, data: bytes) -> Path:
    """Write one received instance (a complete DICOM file) atomically."""
    path = instance_path(folder, sop_instance_uid)
    atomic_write_bytes(path, data)
    return path


def text(ds: Dataset, keyword: str) -> str:
    """A single-valued element as text ("" when absent or empty)."""
    value = ds.get(keyword)
    if value is None or value == "":
        return ""
    if keyword.endswith("Name"):
        return str(value)
    return str(value).strip()


def integer(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def study_from_dataset(ds: Dataset) -> StudyMatch:
    modalities = ds.get("ModalitiesInStudy")
    if modalities is None or modalities == "":
        mods: tuple[str, ...] = ()
    elif isinstance(modalities, str):
        mods = tuple(m for m in modalities.split("\\") if m)
    else:
        mods = tuple(str(m) for m in modalities if m)
    return StudyMatch(
        study_instance_uid=text(ds, "StudyInstanceUID"),
        patient_id=text(ds, "PatientID"),
        patient_name=text(ds, "PatientName"),
        study_date=text(ds, "StudyDate"),
        study_description=text(ds, "StudyDescription"),
        modalities=tuple(sorted(mods)),
        number_of_instances=integer(ds, "NumberOfStudyRelatedInstances"),
    )


def series_from_dataset(ds: Dataset, study_uid: str) -> SeriesMatch:
    return SeriesMatch(
        study_instance_uid=study_uid,
        series_instance_uid=text(ds, "SeriesInstanceUID"),
        modality=text(ds, "Modality"),
        series_number=integer(ds, "SeriesNumber"),
        series_description=text(ds, "SeriesDescription"),
        number_of_instances=integer(ds, "NumberOfSeriesRelatedInstances"),
    )


def instance_from_dataset(ds: Dataset, study_uid: str) -> InstanceRef:
    return InstanceRef(
        study_instance_uid=study_uid,
        series_instance_uid=text(ds, "SeriesInstanceUID"),
        sop_instance_uid=text(ds, "SOPInstanceUID"),
        sop_class_uid=text(ds, "SOPClassUID"),
    )


class Archive(ABC):
    """One archive node. Every call opens and closes its own connection and ends within the
    node's timeout; failures raise :class:`~.errors.ArchiveError` subclasses."""

    def __init__(self, node: ArchiveNode) -> None:
        self.node = node

    @abstractmethod
    def echo(self) -> None:
        """C-ECHO, or a minimal DICOMweb query: raises unless the archive answers."""

    @abstractmethod
    def find_studies(
        self, query: StudyQuery, limit: int = DEFAULT_FIND_LIMIT
    ) -> list[StudyMatch]:
        """Studies matching ``query``; :class:`~.errors.TooManyMatchesError` past ``limit``."""

    @abstractmethod
    def find_series(self, study_uid: str) -> list[SeriesMatch]:
        """The study's series."""

    @abstractmethod
    def find_instances(self, study_uid: str, series_uid: str = "") -> list[InstanceRef]:
        """The study's (or one series') instances."""

    @abstractmethod
    def fetch_instances(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        """Fetch ``refs`` into ``folder`` (via :func:`write_instance`), calling
        ``on_stored(path)`` after each; raise :class:`Cancelled` when ``cancel()`` turns true
        between instances."""

    @abstractmethod
    def send(self, paths: Sequence[Path]) -> list[SendResult]:
        """Store each file on the archive; one result per file, in order."""

    def retrieve_study(
        self,
        study_uid: str,
        folder: Path,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        series_uid: str = "",
    ) -> RetrieveResult:
        """Fetch the study (or one series) into ``folder``, skipping what is already there.

        Raises :class:`~.errors.RetrieveInterruptedError` when cancelled or cut off after
        something arrived (kept), the underlying error when nothing did.
        """
        folder.mkdir(parents=True, exist_ok=True)
        refs = self.find_instances(study_uid, series_uid)
        if not refs:
            raise ArchiveError(f"{self.node.name} has no instances for study {study_uid}")
        present = present_instances(folder)
        missing = [ref for ref in refs if ref.sop_instance_uid not in present]
        total = len(refs)
        skipped = total - len(missing)
        received: list[Path] = []

        def report() -> None:
            if progress is not None:
                progress(skipped + len(received), total)

        def stored(path: Path) -> None:
            received.append(path)
            report()

        report()
        try:
            self.fetch_instances(missing, folder, stored, cancel or _never)
        except Cancelled:
            raise RetrieveInterruptedError(
                folder, skipped + len(received), total, cancelled=True
            ) from None
        except ArchiveError as exc:
            if skipped + len(received) == 0:
                raise
            raise RetrieveInterruptedError(
                folder, skipped + len(received), total, reason=exc.message
            ) from exc
        files = tuple(instance_path(folder, ref.sop_instance_uid) for ref in refs)
        return RetrieveResult(folder, total, len(received), skipped, files)


def _never() -> bool:
    return False
