"""De-identification of DICOM films for the teaching library (DICOM PS3.15 Annex E).

Implements the **Basic Application Confidentiality Profile** (PS3.15 E.2, Table E.1-1) with
the **Retain Longitudinal Temporal Information with Modified Dates Option** (E.3.6): dates are
shifted by one offset per case, so intervals between a case's films (pre-op, post-op,
follow-up; docs/clinical-reference.md §5) stay true. Optionally the **Retain Patient Characteristics
Option** (E.3.3: sex, age, size, weight) for teaching.

What happens to each element, recursively through every sequence item:

* names and IDs of the patient become the case's label (``D``, dummy values, the same for
  every film of the case); other person names (physicians, operators…) are emptied;
* institution, addresses, telephone numbers, device serial numbers and IDs, station names,
  descriptions, comments and every free-text element (LT, ST, UT, UC) are removed;
* private elements are removed (PS3.15 E.3.10 is *not* applied: nothing private is kept);
* dates (DA, and the date part of DT) are shifted by the case's offset; the birth date is
  emptied; times are kept;
* UIDs (UI) that identify instances (study, series, SOP instance, frame of reference,
  references to them…) are replaced by ``2.25.<hash>`` UIDs derived from a per-case secret and
  the original (a name-based UUID under ``2.25``, PS3.5 B.2): the same original
  gives the same new UID within a case, and cannot be recovered without the secret. Well-known
  UIDs (SOP classes, transfer syntaxes, coding schemes) are kept;
* Patient Identity Removed (0012,0062) = ``YES``, De-identification Method (0012,0063) and its
  Code Sequence (0012,0064) name the profile and options; Longitudinal Temporal Information
  Modified (0028,0303) = ``MODIFIED``.

Pixel data are not inspected: a film with burned-in text (Burned In Annotation (0028,0301) not
``NO``) is reported in :attr:`DeidentificationReport.warnings` for a person to check.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import UID

__all__ = [
    "DeidentificationContext",
    "DeidentificationReport",
    "METHOD",
    "deidentify_dataset",
    "deidentify_file",
]

#: De-identification Method (0012,0063) is LO (≤ 64 characters per value): one value per step.
METHOD = (
    "PS3.15 Annex E Basic Application Confidentiality Profile",
    "Modified Dates Option: dates shifted by a per-case offset",
    "Private elements removed",
    "UIDs replaced, consistent within the case",
    "ovcf-viewer",
)

# PS3.16 CID 7050 De-identification Method codes (DCM).
_CODE_BASIC = ("113100", "Basic Application Confidentiality Profile")
_CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
_CODE_PATIENT_CHARACTERISTICS = ("113108", "Retain Patient Characteristics Option")

#: Replaced by the case's dummy label (Table E.1-1 action D).
_DUMMY = ("PatientName", "PatientID")

#: Emptied (action Z): type 2 elements that must stay present.
_EMPTY = (
    "AccessionNumber", "StudyID", "ReferringPhysicianName", "PatientBirthDate",
    "ContentCreatorName", "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest", "VerifyingObserverName",
)

#: Removed (action X); sequences are removed whole.
_REMOVE = (
    "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
    "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers",
    "PatientBirthTime", "MilitaryRank", "BranchOfService", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments", "PatientReligiousPreference",
    "MedicalRecordLocator", "MedicalAlerts", "Allergies", "CountryOfResidence",
    "RegionOfResidence", "SmokingStatus", "LastMenstrualDate", "PregnancyStatus",
    "PatientState", "CurrentPatientLocation", "PatientInsurancePlanCodeSequence",
    "IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence", "ReferencedPatientSequence",
    "ReferencedPatientPhotoSequence", "ResponsiblePerson", "ResponsibleOrganization",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName",
    "InstitutionCodeSequence", "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers", "ReferringPhysicianIdentificationSequence",
    "PhysiciansOfRecord", "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence",
    "NameOfPhysiciansReadingStudy", "PhysiciansReadingStudyIdentificationSequence",
    "OperatorsName", "OperatorIdentificationSequence", "RequestingPhysician",
    "RequestingService", "ConsultingPhysicianName", "StationName", "DeviceSerialNumber",
    "DetectorID", "PlateID", "GantryID", "CassetteID", "DeviceUID", "StudyDescription",
    "SeriesDescription", "ProtocolName", "ImageComments", "RequestAttributesSequence",
    "ReferencedStudySequence", "ReferencedPerformedProcedureStepSequence",
    "PerformedProcedureStepID", "PerformedProcedureStepDescription", "PerformedStationName",
    "PerformedLocation", "PerformedStationAETitle", "ScheduledProcedureStepID",
    "ScheduledProcedureStepDescription", "ScheduledStationName",
    "ScheduledProcedureStepLocation", "RequestedProcedureID", "RequestedProcedureDescription",
    "AdmissionID", "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence",
    "DerivationDescription", "AcquisitionComments", "FrameComments", "ReasonForStudy",
    "RequestedProcedureComments", "ImagingServiceRequestComments", "InterpretationText",
    "PersonName", "PersonAddress", "PersonTelephoneNumbers", "PersonIdentificationCodeSequence",
    "ContentSequence", "TextString", "TopicAuthor", "TopicKeywords", "TopicSubject",
    "TopicTitle", "SourceApplicationEntityTitle",
    "AcquisitionDeviceProcessingDescription", "DataSetTrailingPadding", "IconImageSequence",
    "PerformedProtocolCodeSequence", "ProcedureCodeSequence", "DigitalSignaturesSequence",
    "OriginalAttributesSequence", "RequestingPhysicianIdentificationSequence",
    "OrderCallbackPhoneNumber", "OrderEnteredBy", "OrderEntererLocation",
)

#: Kept by the Retain Patient Characteristics Option (E.3.3), removed otherwise.
_PATIENT_CHARACTERISTICS = ("PatientSex", "PatientAge", "PatientSize", "PatientWeight")

#: UIDs never replaced: they name classes and syntaxes, not a patient's objects.
_KEEP_UIDS = (
    "SOPClassUID", "MediaStorageSOPClassUID", "ReferencedSOPClassUID", "TransferSyntaxUID",
    "ImplementationClassUID", "CodingSchemeUID", "ContextGroupExtensionCreatorUID",
    "MappingResourceUID",
)

#: LO/SH elements kept although their keyword looks identifying: needed to measure or to
#: display the film (calibration statement, docs/clinical-reference.md §1; window names; codes).
_KEEP_TEXT = (
    "ManufacturerModelName", "PixelSpacingCalibrationDescription", "CodeMeaning",
    "CodeValue", "CodingSchemeDesignator", "CodingSchemeVersion", "CodingSchemeName",
    "WindowCenterWidthExplanation", "LUTExplanation", "ContextIdentifier",
)
#: Keyword endings that make an LO/SH element identifying or free text (removed).
_IDENTIFYING_ENDINGS = (
    "Name", "Names", "ID", "IDs", "Number", "Numbers", "Address", "Comments", "Description",
    "Location", "Institution", "Organization", "Title",
)
_FREE_TEXT_VRS = ("LT", "ST", "UT", "UC")


def _tags(keywords: tuple[str, ...]) -> frozenset[int]:
    out = set()
    for keyword in keywords:
        tag = tag_for_keyword(keyword)
        if tag is not None:
            out.add(int(tag))
    return frozenset(out)


_DUMMY_TAGS = _tags(_DUMMY)
_EMPTY_TAGS = _tags(_EMPTY)
_REMOVE_TAGS = _tags(_REMOVE)
_CHARACTERISTIC_TAGS = _tags(_PATIENT_CHARACTERISTICS)
_KEEP_UID_TAGS = _tags(_KEEP_UIDS)
_KEEP_TEXT_TAGS = _tags(_KEEP_TEXT)


@dataclass(frozen=True)
class DeidentificationContext:
    """What makes one case's films consistent with each other: the secret the new UIDs are
    derived from, the date offset (days, negative = earlier) and the dummy patient label.

    Use one context for every film of a case; never store it with the de-identified films
    (the offset would give the true dates back)."""

    case_secret: str
    date_offset_days: int
    patient_label: str

    @classmethod
    def new(cls, patient_label: str | None = None) -> DeidentificationContext:
        """A fresh random context: offset between 1 and 10 years back, whole days."""
        secret = secrets.token_hex(16)
        digest = int(hashlib.sha256(secret.encode()).hexdigest()[:8], 16)
        offset = -(365 + digest % (9 * 365))
        label = patient_label or f"TEACHING-{secret[:8].upper()}"
        return cls(secret, offset, label)

    def uid_for(self, original: str) -> str:
        """The replacement for ``original``: the same within this case, unrelated to it
        without the secret: ``2.25.`` + a name-based UUID (RFC 4122 version 5) of the original
        in a namespace derived from the secret (PS3.5 B.2). pydicom's ``generate_uid`` is not
        used because with the ``2.25`` root it ignores its entropy sources (random UUID)."""
        namespace = uuid.UUID(hex=hashlib.sha256(self.case_secret.encode()).hexdigest()[:32])
        return f"2.25.{uuid.uuid5(namespace, str(original)).int}"

    def shift_date(self, value: date) -> date:
        return value + timedelta(days=self.date_offset_days)


@dataclass
class DeidentificationReport:
    """What :func:`deidentify_dataset` did to one data set."""

    removed: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    dates_shifted: int = 0
    private_removed: int = 0
    uid_map: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _keyword(elem: Any) -> str:
    return elem.keyword or str(elem.tag)


def _shift_da(text: str, ctx: DeidentificationContext) -> str | None:
    text = text.strip()
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return ctx.shift_date(day).strftime("%Y%m%d")


def _shift_dt(text: str, ctx: DeidentificationContext) -> str | None:
    text = text.strip()
    if len(text) < 8:
        return None
    shifted = _shift_da(text[:8], ctx)
    return None if shifted is None else shifted + text[8:]


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _set_values(ds: Dataset, tag: int, values: list[Any]) -> None:
    ds[tag].value = values[0] if len(values) == 1 else values


def _is_identifying_text(elem: Any) -> bool:
    keyword = elem.keyword or ""
    return elem.VR in ("LO", "SH") and int(elem.tag) not in _KEEP_TEXT_TAGS and (
        keyword.endswith(_IDENTIFYING_ENDINGS)
    )


def _process(
    ds: Dataset,
    ctx: DeidentificationContext,
    report: DeidentificationReport,
    *,
    retain_characteristics: bool,
) -> None:
    for elem in list(ds):
        tag = int(elem.tag)
        name = _keyword(elem)
        if elem.tag.is_private:
            del ds[tag]
            report.private_removed += 1
            continue
        if tag in _DUMMY_TAGS:
            ds[tag].value = ctx.patient_label
            report.replaced.append(name)
            continue
        if tag in _CHARACTERISTIC_TAGS:
            if not retain_characteristics:
                del ds[tag]
                report.removed.append(name)
            continue
        if tag in _EMPTY_TAGS:
            ds[tag].value = None
            report.emptied.append(name)
            continue
        if tag in _REMOVE_TAGS or elem.VR in _FREE_TEXT_VRS or _is_identifying_text(elem):
            del ds[tag]
            report.removed.append(name)
            continue
        if elem.VR == "PN":
            ds[tag].value = None
            report.emptied.append(name)
            continue
        if elem.VR == "AS" and not retain_characteristics:
            del ds[tag]
            report.removed.append(name)
            continue
        if elem.VR == "SQ":
            for item in elem.value or []:
                _process(item, ctx, report, retain_characteristics=retain_characteristics)
            continue
        if elem.VR == "UI" and tag not in _KEEP_UID_TAGS:
            new_values = []
            for uid in _values(elem.value):
                uid = str(uid)
                if UID(uid).is_valid and UID(uid).name != uid:  # a well-known UID: keep
                    new_values.append(uid)
                    continue
                new = report.uid_map.get(uid) or ctx.uid_for(uid)
                report.uid_map[uid] = new
                new_values.append(new)
            if new_values:
                _set_values(ds, tag, new_values)
            continue
        if elem.VR in ("DA", "DT"):
            shift = _shift_da if elem.VR == "DA" else _shift_dt
            shifted = [shift(str(v), ctx) for v in _values(elem.value)]
            if any(s is None for s in shifted):
                ds[tag].value = None  # unparseable or partial date: cannot shift, so empty
                report.emptied.append(name)
            elif shifted:
                _set_values(ds, tag, shifted)
                report.dates_shifted += len(shifted)
            continue


def _code_item(code: tuple[str, str]) -> Dataset:
    item = Dataset()
    item.CodeValue = code[0]
    item.CodingSchemeDesignator = "DCM"
    item.CodeMeaning = code[1]
    return item


def deidentify_dataset(
    ds: Dataset,
    context: DeidentificationContext,
    *,
    retain_patient_characteristics: bool = False,
) -> DeidentificationReport:
    """De-identify ``ds`` in place (file meta included) as the module docstring describes and
    return what was done. Pixel data are left as they are."""
    report = DeidentificationReport()
    burned_in = str(ds.get("BurnedInAnnotation", "") or "").upper()
    _process(ds, context, report, retain_characteristics=retain_patient_characteristics)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        if "MediaStorageSOPInstanceUID" in meta:
            old = str(meta.MediaStorageSOPInstanceUID)
            meta.MediaStorageSOPInstanceUID = report.uid_map.get(old) or context.uid_for(old)
            report.uid_map.setdefault(old, str(meta.MediaStorageSOPInstanceUID))
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle",
                        "ReceivingApplicationEntityTitle", "PrivateInformation",
                        "PrivateInformationCreatorUID"):
            if keyword in meta:
                del meta[keyword]
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = list(METHOD)
    codes = [_CODE_BASIC, _CODE_MODIFIED_DATES]
    if retain_patient_characteristics:
        codes.append(_CODE_PATIENT_CHARACTERISTICS)
    ds.DeidentificationMethodCodeSequence = Sequence([_code_item(c) for c in codes])
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    if burned_in != "NO":
        report.warnings.append(
            "the pixels may carry burned-in text (Burned In Annotation is "
            f"{burned_in or 'absent'}): look at the film before sharing it"
        )
    return report


def deidentify_file(
    source: str | Path,
    destination: str | Path,
    context: DeidentificationContext,
    *,
    retain_patient_characteristics: bool = False,
) -> DeidentificationReport:
    """Read ``source``, de-identify it and write ``destination`` (written atomically). Raises
    :class:`~ovcf_viewer.model.errors.ImageLoadError` for a file pydicom cannot read."""
    import io
    import warnings

    from pydicom import dcmread

    from ovcf_viewer.model.errors import CorruptHeaderError, UnreadableFileError
    from ovcf_viewer.util.atomic import atomic_write_bytes

    source = Path(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(source)
    except OSError as exc:
        raise UnreadableFileError(source, f"cannot read the file ({exc.strerror or exc})") from exc
    except Exception as exc:  # pydicom raises many types on damaged headers
        raise CorruptHeaderError(source, f"not a readable DICOM file ({exc})") from exc
    report = deidentify_dataset(
        ds, context, retain_patient_characteristics=retain_patient_characteristics
    )
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    atomic_write_bytes(destination, buffer.getvalue())
    return report
