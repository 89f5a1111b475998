"""De-identification (PS3.15 Annex E basic profile): PHI planted in every kind of place —
names, IDs, dates, institution, physicians, a private tag, nested sequences, file meta — is
gone; UIDs are consistent within a case and new; dates keep their intervals."""

from datetime import date

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from ovcf_viewer.io import deidentify as deid
from ovcf_viewer.io.deidentify import DeidentificationContext, deidentify_dataset, deidentify_file
from ovcf_viewer.model.errors import ImageLoadError

DX_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
STUDY_UID = "1.2.826.0.1.99.1"
FRAME_UID = "1.2.826.0.1.99.9"

#: Every identifying value planted below; none may survive anywhere.
NEEDLES = [
    "DOE", "JANE", "PID-12345", "ACC-998877", "ELSEWHERE", "HARLEY", "HOUSE", "WILSON",
    "SERIAL-XYZ", "SECRET", "NESTED", "OTHER-ID-555", "19450317", "20240105", "20240412",
    "STATION-7", "RADIOLOGY WEST", "LATERAL L-SPINE MRS", "555-0101", "OPERATOR", "MOTHER",
    "CASSETTE-42", "ANKARA", "REQ-777", "STUDYID-3", STUDY_UID, FRAME_UID, "OLDAPP",
]


def film(sop_uid: str, study_date: str, referenced_sop: str | None = None) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_CLASS
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "OLDAPP"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = DX_CLASS
    ds.SOPInstanceUID = sop_uid
    ds.StudyInstanceUID = STUDY_UID
    ds.SeriesInstanceUID = sop_uid + ".0"
    ds.FrameOfReferenceUID = FRAME_UID
    ds.Modality = "DX"
    ds.PatientName = "DOE^JANE"
    ds.PatientID = "PID-12345"
    ds.PatientBirthDate = "19450317"
    ds.PatientSex = "F"
    ds.PatientAge = "079Y"
    ds.PatientAddress = "12 Harley Street, Ankara"
    ds.PatientTelephoneNumbers = "555-0101"
    ds.PatientMotherBirthName = "MOTHER^MAIDEN"
    ds.OtherPatientIDs = "OTHER-ID-555"
    other = Dataset()
    other.PatientID = "OTHER-ID-555"
    other.IssuerOfPatientID = "ELSEWHERE"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.AccessionNumber = "ACC-998877"
    ds.StudyID = "STUDYID-3"
    ds.StudyDate = study_date
    ds.SeriesDate = study_date
    ds.ContentDate = study_date
    ds.StudyTime = "101500"
    ds.AcquisitionDateTime = study_date + "101500.000000"
    ds.InstitutionName = "St. Elsewhere Hospital"
    ds.InstitutionAddress = "Harley Street"
    ds.InstitutionalDepartmentName = "Radiology West"
    ds.ReferringPhysicianName = "HOUSE^GREGORY"
    ds.PerformingPhysicianName = "WILSON^JAMES"
    ds.OperatorsName = "OPERATOR^ONE"
    ds.StationName = "STATION-7"
    ds.DeviceSerialNumber = "SERIAL-XYZ"
    ds.CassetteID = "CASSETTE-42"
    ds.StudyDescription = "Lateral L-spine Mrs Doe"
    ds.SeriesDescription = "Lateral L-spine Mrs Doe"
    ds.ImageComments = "patient Jane Doe, secret"
    ds.PixelSpacing = [0.15, 0.15]
    ds.ImagerPixelSpacing = [0.15, 0.15]
    ds.PixelSpacingCalibrationDescription = "ruler"
    ds.BurnedInAnnotation = "NO"
    # Private block with PHI.
    block = ds.private_block(0x0009, "ACME 1.0", create=True)
    block.add_new(0x01, "LO", "SECRET JANE DOE")
    block.add_new(0x02, "PN", "DOE^JANE")
    # A nested sequence with names, dates and a reference to another instance.
    request = Dataset()
    request.RequestedProcedureID = "REQ-777"
    request.ScheduledPerformingPhysicianName = "NESTED^NAME"
    request.ReasonForTheRequestedProcedure = "pain, Jane Doe"
    ds.RequestAttributesSequence = Sequence([request])
    source = Dataset()
    source.ReferencedSOPClassUID = DX_CLASS
    source.ReferencedSOPInstanceUID = referenced_sop or sop_uid
    deep = Dataset()
    deep.PersonName = "NESTED^PERSON"
    deep.ObservationDateTime = study_date + "120000"
    deep.VerifyingObserverName = "WILSON^JAMES"
    source.VerifyingObserverSequence = Sequence([deep])
    private_nested = source.private_block(0x0011, "ACME 1.0", create=True)
    private_nested.add_new(0x01, "LO", "NESTED SECRET")
    ds.SourceImageSequence = Sequence([source])
    ds.Rows, ds.Columns = 4, 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.SamplesPerPixel, ds.PixelRepresentation = 1, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = np.arange(16, dtype=np.uint16).tobytes()
    return ds


def all_elements(ds: Dataset):
    """Every element at every depth, file meta included."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta
    yield from ds.iterall()


def leaked(ds: Dataset) -> list[str]:
    found = []
    for elem in all_elements(ds):
        if elem.VR in ("OB", "OW", "SQ"):
            continue
        text = str(elem.value).upper()
        found += [f"{elem.keyword or elem.tag}: {n}" for n in NEEDLES if n.upper() in text]
    return found


def test_every_planted_identifier_is_gone():
    ds = film("1.2.826.0.1.99.2", "20240105")
    assert leaked(ds)  # the check itself can fail
    report = deidentify_dataset(ds, DeidentificationContext.new("TEACHING-CASE-1"))
    assert leaked(ds) == []
    assert not any(elem.tag.is_private for elem in all_elements(ds))
    assert report.private_removed == 5  # 2 creators + 3 private elements
    assert "OtherPatientIDsSequence" not in ds and "RequestAttributesSequence" not in ds
    assert "InstitutionName" not in ds and "DeviceSerialNumber" not in ds
    assert str(ds.PatientName) == "TEACHING-CASE-1^" and ds.PatientID == "TEACHING-CASE-1"
    assert ds.PatientBirthDate in ("", None) and ds.AccessionNumber in ("", None)
    assert "ReferringPhysicianName" in ds and not ds.ReferringPhysicianName  # type 2: emptied
    assert not ds.SourceImageSequence[0].VerifyingObserverSequence[0].VerifyingObserverName


def test_method_is_recorded_and_measurement_tags_kept():
    ds = film("1.2.826.0.1.99.2", "20240105")
    deidentify_dataset(ds, DeidentificationContext.new())
    assert ds.PatientIdentityRemoved == "YES"
    assert "Annex E" in ds.DeidentificationMethod[0]
    assert all(len(v) <= 64 for v in ds.DeidentificationMethod)  # LO
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107"]
    assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
    assert ds.SOPClassUID == DX_CLASS and ds.file_meta.MediaStorageSOPClassUID == DX_CLASS
    assert ds.SourceImageSequence[0].ReferencedSOPClassUID == DX_CLASS
    assert [float(v) for v in ds.PixelSpacing] == [0.15, 0.15]
    # header free text is replaced by the fixed phrase, never kept or word-scrubbed
    assert ds.PixelSpacingCalibrationDescription == deid.FREE_TEXT_REMOVED
    assert ds.StudyTime == "101500"
    assert not ds.get("PatientSex") and "PatientAge" not in ds  # Z (type 2), X


def test_retain_patient_characteristics_option():
    ds = film("1.2.826.0.1.99.2", "20240105")
    deidentify_dataset(ds, DeidentificationContext.new(), retain_patient_characteristics=True)
    assert ds.PatientSex == "F" and ds.PatientAge == "079Y"
    assert [i.CodeValue for i in ds.DeidentificationMethodCodeSequence][-1] == "113108"


def test_dates_shift_by_the_case_offset_and_keep_intervals():
    ctx = DeidentificationContext("s3cret", -400, "T")
    pre = film("1.2.826.0.1.99.2", "20240105")
    follow = film("1.2.826.0.1.99.3", "20240412")
    deidentify_dataset(pre, ctx)
    deidentify_dataset(follow, ctx)
    assert pre.StudyDate == "20221201"  # 2024-01-05 minus 400 days
    assert pre.AcquisitionDateTime == "20221201101500.000000"
    assert pre.SourceImageSequence[0].VerifyingObserverSequence[0].ObservationDateTime == (
        "20221201120000"
    )
    days = (date(2024, 4, 12) - date(2024, 1, 5)).days
    p, f = pre.StudyDate, follow.StudyDate
    shifted_pre = date(int(p[:4]), int(p[4:6]), int(p[6:]))
    assert (date(int(f[:4]), int(f[4:6]), int(f[6:])) - shifted_pre).days == days


def test_uids_new_and_consistent_within_a_case_different_across_cases():
    ctx = DeidentificationContext.new()
    pre = film("1.2.826.0.1.99.2", "20240105")
    post = film("1.2.826.0.1.99.3", "20240106", referenced_sop="1.2.826.0.1.99.2")
    deidentify_dataset(pre, ctx)
    deidentify_dataset(post, ctx)
    assert pre.StudyInstanceUID == post.StudyInstanceUID != STUDY_UID
    assert pre.FrameOfReferenceUID == post.FrameOfReferenceUID != FRAME_UID
    assert pre.SOPInstanceUID != "1.2.826.0.1.99.2"
    assert pre.SOPInstanceUID != post.SOPInstanceUID
    assert pre.file_meta.MediaStorageSOPInstanceUID == pre.SOPInstanceUID
    # The post-op film's reference to the pre-op film follows the pre-op film's new UID.
    assert post.SourceImageSequence[0].ReferencedSOPInstanceUID == pre.SOPInstanceUID
    assert pre.SOPInstanceUID.startswith("2.25.") and len(pre.SOPInstanceUID) <= 64
    other = film("1.2.826.0.1.99.2", "20240105")
    deidentify_dataset(other, DeidentificationContext.new())
    assert other.SOPInstanceUID != pre.SOPInstanceUID
    assert other.StudyInstanceUID != pre.StudyInstanceUID


def test_burned_in_annotation_is_a_warning():
    ds = film("1.2.826.0.1.99.2", "20240105")
    del ds.BurnedInAnnotation
    report = deidentify_dataset(ds, DeidentificationContext.new())
    assert report.warnings and "burned-in" in report.warnings[0]


def test_file_round_trip(tmp_path):
    src, dst = tmp_path / "in.dcm", tmp_path / "out.dcm"
    film("1.2.826.0.1.99.2", "20240105").save_as(src, enforce_file_format=True)
    ctx = DeidentificationContext.new("CASE-X")
    report = deidentify_file(src, dst, ctx)
    back = dcmread(dst)
    assert leaked(back) == []
    assert back.SOPInstanceUID == report.uid_map["1.2.826.0.1.99.2"]
    assert back.pixel_array.tolist() == np.arange(16).reshape(4, 4).tolist()


def test_unreadable_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\x00" * 10)
    with pytest.raises(ImageLoadError):
        deidentify_file(bad, tmp_path / "out.dcm", DeidentificationContext.new())


def test_every_listed_keyword_exists_in_the_dictionary():
    for group in (deid._PSEUDONYM, deid._PATIENT_CHARACTERISTICS, deid._BIRTH_EMPTIED,
                  deid._BIRTH_REMOVED, deid._ALWAYS_REMOVED, deid._KEEP_UIDS, deid._KEEP_TEXT,
                  deid._KEEP):
        assert [k for k in group if tag_for_keyword(k) is None] == []


def test_actions_come_from_the_standard_table():
    """Table E.1-1 rows (the standard's, as data): spot checks of each kind of action."""
    t = tag_for_keyword
    assert deid.table_action(t("SpecialNeeds")) == "X"
    assert deid.table_action(t("ReasonForTheRequestedProcedure")) == "X"
    assert deid.table_action(t("PatientTransportArrangements")) == "X"
    assert deid.table_action(t("TimezoneOffsetFromUTC")) == "X"
    assert deid.table_action(t("AccessionNumber")) == "Z"
    assert deid.table_action(t("StudyInstanceUID")) == "U"
    assert deid.table_action(0x60023000) == "X"  # Overlay Data, repeating group 60xx
    assert deid.table_action(0x501E0010) == "X"  # Curve data, 50xx
    assert deid.table_action(t("PixelSpacing")) is None  # measurement: not in the table


def test_overlays_unknown_text_alternative_calendar_and_timezone_go():
    ds = film("1.2.826.0.1.99.2", "20240105")
    ds.add_new(0x60000022, "LO", "DOE overlay")  # Overlay Description
    ds.add_new(0x60001500, "LO", "DOE label")  # Overlay Label
    ds.add_new(0x60003000, "OW", b"\x01\x00" * 8)  # Overlay Data
    ds.SpecialNeeds = "DOE needs a wheelchair"
    ds.PatientTransportArrangements = "DOE by ambulance"
    ds.TimezoneOffsetFromUTC = "+0300"
    ds.PatientBirthDateInAlternativeCalendar = "DOE 1365"
    ds.PatientAlternativeCalendar = "I"
    ds.WindowCenterWidthExplanation = "DOE bone"
    ds.AcquisitionDateTime = "20240105101500+0300"
    ds.add_new(0x0018FFF0, "UT", "DOE new public text")  # a text element not in the table
    ds.add_new(0x0018FFF2, "AE", "DOE-STATION")  # an AE title not in the table
    deidentify_dataset(ds, DeidentificationContext("s", -400, "T"))
    assert not [e for e in ds if e.tag.group == 0x6000]
    for keyword in ("SpecialNeeds", "PatientTransportArrangements", "TimezoneOffsetFromUTC",
                    "PatientBirthDateInAlternativeCalendar", "PatientAlternativeCalendar"):
        assert keyword not in ds, keyword
    assert ds.WindowCenterWidthExplanation == deid.FREE_TEXT_REMOVED
    assert ds[0x0018FFF0].value == deid.FREE_TEXT_REMOVED and 0x0018FFF2 not in ds
    assert ds.AcquisitionDateTime == "20221201101500"  # shifted, UTC offset dropped
    assert leaked(ds) == []


def test_pseudonyms_and_offsets_follow_the_patient_and_the_key(tmp_path):
    key = deid.deidentification_key(tmp_path)
    assert (tmp_path / deid.KEY_FILE_NAME).stat().st_mode & 0o077 == 0  # user only
    assert deid.deidentification_key(tmp_path) == key  # kept, not remade
    one, again = deid.Deidentifier(key), deid.Deidentifier(key)
    a = one.context("PID-12345", "DOE^JANE")
    assert a == again.context("PID-12345", "Someone Else")  # the ID decides
    assert a.patient_label.startswith("ANON-") and "12345" not in a.patient_label
    assert a != one.context("PID-99999")
    assert a != deid.Deidentifier(b"\x00" * 32).context("PID-12345")  # another key
    assert one.context("", "DOE^JANE") == one.context("", "doe  jane")  # name fallback
    assert 365 <= -a.date_offset_days <= 10 * 365
    assert "DOE" not in a.file_stem("DOE_JANE.dcm") and a.file_stem("x") == a.file_stem("x")


def test_a_key_that_cannot_be_kept_is_one_for_this_run(tmp_path, caplog):
    """A data folder that cannot hold the key (here: a file in its place) gives a working
    key for this run and a logged reason, never a traceback."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    with caplog.at_level("WARNING"):
        key = deid.deidentification_key(blocked)
    assert len(key) == 32 and "for this run only" in caplog.text
    assert deid.deidentification_key(blocked) != key  # nothing kept, so a new one each time
