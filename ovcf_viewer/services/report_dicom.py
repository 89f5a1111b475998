"""The PDF report as a DICOM Encapsulated PDF in the patient's study (``report -o X.dcm`` and
File ▸ Export report… with a ``.dcm`` name)."""

from __future__ import annotations

import io
from typing import Any

from pydicom.dataset import Dataset

__all__ = ["NoStudyFilmError", "report_as_dicom", "study_film"]


class NoStudyFilmError(ValueError):
    """None of the report's films is a readable DICOM image to take the study from."""

    def __init__(self) -> None:
        super().__init__("no DICOM film to file the report with (a .dcm report goes into "
                         "the film's study)")


def study_film(source: Any) -> Dataset | None:
    """The header of the latest film with a DICOM image (a
    :class:`~ovcf_viewer.report.source.ReportSource` lists its films in time order)."""
    from ovcf_viewer.io.sr import SrFormatError
    from ovcf_viewer.services.sr import read_dicom_header

    for film in reversed(source.films):
        image = film.image
        if image is not None and image.is_dicom and image.path is not None:
            try:
                return read_dicom_header(image.path)
            except SrFormatError:
                continue
    return None


def report_as_dicom(source: Any, pdf: bytes, *, deidentify: bool) -> bytes:
    """The Encapsulated PDF file's bytes; :class:`NoStudyFilmError` when no film gives the
    study."""
    from ovcf_viewer.io.encapsulated import encapsulate_pdf

    film = study_film(source)
    if film is None:
        raise NoStudyFilmError()
    buffer = io.BytesIO()
    encapsulate_pdf(pdf, film, deidentify=deidentify).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
