"""The PDF report as a DICOM Encapsulated PDF instance (PS3.3 A.45.1), filed in the
patient's study.

:func:`encapsulate_pdf` copies the Patient and General Study modules from one of the case's
films, makes a new series and SOP instance (Encapsulated PDF Storage,
1.2.840.10008.5.1.4.1.1.104.1; Modality ``DOC``, Conversion Type ``WSD``) and wraps the PDF
bytes. With ``deidentify`` the wrapper goes through
:func:`ovcf_viewer.io.deidentify.deidentify_dataset` (the patient's pseudonym, shifted
dates, new UIDs), so it no longer sits in the patient's real study, which is the point;
the PDF itself must then have been built de-identified too (the caller's job: ``build_report(...,
deidentify=True)``).
"""

from __future__ import annotations

from datetime import datetime

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

__all__ = ["ENCAPSULATED_PDF_STORAGE", "encapsulate_pdf"]

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"

#: Patient module (PS3.3 C.7.1.1) and General Study module (C.7.2.1) attributes copied.
_PATIENT_STUDY = (
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
    "OtherPatientIDsSequence", "PatientAge", "PatientSize", "PatientWeight",
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
    "AccessionNumber", "StudyDescription", "SpecificCharacterSet",
)
#: Type 2 attributes that must be present, empty when the film has none.
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate",
          "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber")


def encapsulate_pdf(
    pdf: bytes,
    film: Dataset,
    *,
    title: str = "Vertebral morphometry report",
    deidentify: bool = False,
    deidentification_context: object | None = None,
    manufacturer: str = "OVCF Viewer",
    now: datetime | None = None,
) -> Dataset:
    """An Encapsulated PDF data set (with file meta) in ``film``'s study. ``film`` is a
    header (pixel data not needed). With ``deidentify`` the patient's context from the
    installation's :class:`~ovcf_viewer.io.deidentify.Deidentifier` is used unless one is
    given."""
    from ovcf_viewer import __version__

    if not pdf.startswith(b"%PDF"):
        raise ValueError("not a PDF document")
    now = now or datetime.now()
    ds = Dataset()
    for keyword in _PATIENT_STUDY:
        if keyword in film:
            ds[keyword] = film[keyword]
    for keyword in _TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, None)
    # Encapsulated Document Series (C.24.1) and General/SC Equipment (C.7.5.1, C.8.6.1).
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 901
    ds.SeriesDescription = "Vertebral morphometry report"
    ds.Manufacturer = manufacturer
    ds.SoftwareVersions = __version__
    ds.ConversionType = "WSD"  # workstation
    # Encapsulated Document (C.24.2).
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    # The PDF names the patient unless it was built de-identified.
    ds.BurnedInAnnotation = "NO" if deidentify else "YES"
    ds.ConceptNameCodeSequence = []
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    data = pdf + (b"\0" if len(pdf) % 2 else b"")  # OB values have even length
    ds.EncapsulatedDocument = data
    ds.EncapsulatedDocumentLength = len(pdf)
    # SOP Common (C.12.1).
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceCreationDate = ds.ContentDate
    ds.InstanceCreationTime = ds.ContentTime
    if "SpecificCharacterSet" not in ds:
        ds.SpecificCharacterSet = "ISO_IR 192"
    if deidentify:
        from ovcf_viewer.io.deidentify import Deidentifier, deidentify_dataset

        # the patient's own context: the same pseudonym, dates and study UID as the SR,
        # CSV and teaching exports of this patient
        context = deidentification_context or Deidentifier().context_for_dataset(film)
        deidentify_dataset(ds, context)  # type: ignore[arg-type]
        for keyword in _TYPE2:  # the profile removes some (sex); the IOD wants them empty
            if keyword not in ds:
                setattr(ds, keyword, None)
    ds.DocumentTitle = title  # set after de-identification, which drops free text
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds
