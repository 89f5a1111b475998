"""DIMSE against a real Orthanc: find (compared with Orthanc's REST view and dcmtk findscu),
C-GET and C-MOVE (pixels compared with the originals), C-STORE (compared with REST, and a
file sent by dcmtk storescu found by us), and every failure: wrong AE title, closed port, a
silent server, an interrupted retrieve that resumes, too many matches, a refused store."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pydicom
import pytest

from ovcf_viewer.io.archive import (
    ArchiveTimeoutError,
    ArchiveUnreachableError,
    AssociationRejectedError,
    RetrieveInterruptedError,
    StudyQuery,
    TooManyMatchesError,
    open_archive,
)
from ovcf_viewer.io.archive.base import present_instances
from tests.dicom_builders import make_file
from tests.io.archive.helpers import SilentServer, assert_same_pixels, originals_by_uid, sop_uid
from tests.orthanc import ORTHANC_AET, SAMPLES, TEST_AET, dcmtk_tool, free_port

PRE_STUDY = str(pydicom.dcmread(SAMPLES[2], stop_before_pixels=True).StudyInstanceUID)


def _rest_studies(orthanc) -> dict[str, dict]:
    return {s["MainDicomTags"]["StudyInstanceUID"]: s for s in orthanc.studies()}


def test_samples_are_two_studies_per_film_set():
    # The retrieve tests rely on the pre-operative study holding two films (pre and pre_j2k).
    assert SAMPLES[2].name == "pre.dcm"
    in_pre = [p for p in SAMPLES
              if pydicom.dcmread(p, stop_before_pixels=True).StudyInstanceUID == PRE_STUDY]
    assert sorted(p.name for p in in_pre) == ["pre.dcm", "pre_j2k.dcm"]


def test_echo(orthanc):
    open_archive(orthanc.dimse_node()).echo()


def test_find_matches_orthanc_rest_view(orthanc):
    found = open_archive(orthanc.dimse_node()).find_studies(StudyQuery())
    rest = _rest_studies(orthanc)
    assert {s.study_instance_uid for s in found} == set(rest)
    assert len(found) == 5
    for study in found:
        tags = rest[study.study_instance_uid]
        assert study.patient_id == tags["PatientMainDicomTags"]["PatientID"]
        assert study.patient_name == tags["PatientMainDicomTags"]["PatientName"]
        assert study.study_date == tags["MainDicomTags"]["StudyDate"]
        assert study.study_description == tags["MainDicomTags"].get("StudyDescription", "")
        instances = sum(
            len(orthanc.rest(f"/series/{series}")["Instances"]) for series in tags["Series"]
        )
        assert study.number_of_instances == instances
    by_uid = {s.study_instance_uid: s for s in found}
    assert by_uid[PRE_STUDY].number_of_instances == 2
    assert by_uid[PRE_STUDY].modalities == ("DX",)


def test_find_keys_filter(orthanc):
    archive = open_archive(orthanc.dimse_node())
    assert [s.study_date for s in archive.find_studies(StudyQuery(study_date="20260105"))] == [
        "20260105"]
    ranged = archive.find_studies(StudyQuery(study_date="20260101-20260105"))
    assert sorted(s.study_date for s in ranged) == ["20260102", "20260104", "20260105"]
    assert {s.modalities for s in archive.find_studies(StudyQuery(modality="CR"))} == {("CR",)}
    assert len(archive.find_studies(StudyQuery(patient_name="SYNTH*"))) == 5
    assert archive.find_studies(StudyQuery(patient_id="NOBODY")) == []


def test_find_agrees_with_dcmtk_findscu(orthanc, tmp_path):
    findscu = dcmtk_tool("findscu")
    out = tmp_path / "rsp"
    out.mkdir()
    subprocess.run(
        [findscu, "-S", "-aet", TEST_AET, "-aec", ORTHANC_AET, "-to", "10", "-ta", "10",
         "-td", "10", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
         "-k", "StudyDate", "-k", "PatientID", "-X", "-od", str(out),
         "127.0.0.1", str(orthanc.dicom_port)],
        check=True, capture_output=True, timeout=60,
    )
    theirs = {}
    for path in out.glob("rsp*.dcm"):
        ds = pydicom.dcmread(path)
        theirs[str(ds.StudyInstanceUID)] = (str(ds.StudyDate), str(ds.PatientID))
    ours = {s.study_instance_uid: (s.study_date, s.patient_id)
            for s in open_archive(orthanc.dimse_node()).find_studies(StudyQuery())}
    assert len(theirs) == 5
    assert ours == theirs


def test_series_of_a_study(orthanc):
    series = open_archive(orthanc.dimse_node()).find_series(PRE_STUDY)
    rest = orthanc.rest(f"/studies/{_rest_studies(orthanc)[PRE_STUDY]['ID']}/series")
    assert {s.series_instance_uid for s in series} == {
        r["MainDicomTags"]["SeriesInstanceUID"] for r in rest}
    assert [s.number_of_instances for s in series] == [1, 1]


@pytest.mark.parametrize("how", ["C-GET", "C-MOVE"])
def test_retrieve_study_pixels_equal_originals(orthanc, tmp_path, how):
    changes = {"move_destination": TEST_AET} if how == "C-MOVE" else {}
    archive = open_archive(orthanc.dimse_node(**changes))
    seen = []
    result = archive.retrieve_study(
        PRE_STUDY, tmp_path / "study", progress=lambda done, total: seen.append((done, total))
    )
    assert (result.total, result.received, result.skipped) == (2, 2, 0)
    assert seen == [(0, 2), (1, 2), (2, 2)]
    originals = originals_by_uid(SAMPLES)
    assert len(result.files) == 2
    for path in result.files:
        assert path.exists() and path.stem == sop_uid(path)
        assert_same_pixels(path, originals[path.stem])


def test_retrieve_keeps_the_stored_transfer_syntax(orthanc, tmp_path):
    result = open_archive(orthanc.dimse_node()).retrieve_study(PRE_STUDY, tmp_path)
    syntaxes = sorted(str(pydicom.dcmread(p).file_meta.TransferSyntaxUID) for p in result.files)
    assert syntaxes == ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.90"]


def test_cancelled_retrieve_keeps_what_arrived_and_resumes(orthanc, tmp_path):
    folder = tmp_path / "study"
    archive = open_archive(orthanc.dimse_node())
    progress: list[int] = []
    with pytest.raises(RetrieveInterruptedError) as caught:
        archive.retrieve_study(
            PRE_STUDY, folder, progress=lambda done, total: progress.append(done),
            cancel=lambda: bool(progress) and progress[-1] >= 1,
        )
    assert caught.value.cancelled and (caught.value.done, caught.value.total) == (1, 2)
    assert "retrieving again fetches only the rest" in caught.value.message
    kept = present_instances(folder)
    assert len(kept) == 1
    result = archive.retrieve_study(PRE_STUDY, folder)
    assert (result.received, result.skipped) == (1, 1)
    assert present_instances(folder) > kept
    originals = originals_by_uid(SAMPLES)
    for path in result.files:
        assert_same_pixels(path, originals[path.stem])


def test_archive_dying_mid_retrieve_then_resume(empty_orthanc, tmp_path):
    server = empty_orthanc
    for path in SAMPLES:
        server.upload(path)
    folder = tmp_path / "study"
    archive = open_archive(server.dimse_node(timeout_s=5.0))

    def crash_after_first(done: int, total: int) -> None:
        if done == 1:
            server.stop(kill=True)  # the archive goes away with one film delivered

    with pytest.raises(RetrieveInterruptedError) as caught:
        archive.retrieve_study(PRE_STUDY, folder, progress=crash_after_first)
    assert not caught.value.cancelled and caught.value.done == 1
    assert len(present_instances(folder)) == 1
    server.start()  # same storage, same ports: the archive is back
    result = archive.retrieve_study(PRE_STUDY, folder)
    assert (result.received, result.skipped) == (1, 1)
    originals = originals_by_uid(SAMPLES)
    for path in result.files:
        assert_same_pixels(path, originals[path.stem])


def test_send_samples_then_orthanc_holds_them(empty_orthanc):
    results = open_archive(empty_orthanc.dimse_node()).send(SAMPLES)
    assert [r.ok for r in results] == [True] * len(SAMPLES), [r.message for r in results]
    stored = {i["MainDicomTags"]["SOPInstanceUID"] for i in empty_orthanc.instances()}
    assert stored == {sop_uid(p) for p in SAMPLES}
    # Orthanc keeps the JPEG 2000 film as sent (no transcoding on the way in).
    j2k = next(i for i in empty_orthanc.instances()
               if i["MainDicomTags"]["SOPInstanceUID"] == sop_uid(SAMPLES[-1]))
    meta = empty_orthanc.rest(f"/instances/{j2k['ID']}/metadata?expand")
    assert meta["TransferSyntax"] == "1.2.840.10008.1.2.4.90"


def test_file_sent_by_dcmtk_storescu_is_found(empty_orthanc, tmp_path):
    storescu = dcmtk_tool("storescu")
    path = make_file(tmp_path / "peer.dcm", np.arange(64, dtype=np.uint16).reshape(8, 8),
                     PatientID="PEER-1", StudyDate="20250101")
    subprocess.run(
        [storescu, "-aet", TEST_AET, "-aec", ORTHANC_AET, "-to", "10", "-ta", "10", "-td", "10",
         "127.0.0.1", str(empty_orthanc.dicom_port), str(path)],
        check=True, capture_output=True, timeout=60,
    )
    found = open_archive(empty_orthanc.dimse_node()).find_studies(StudyQuery(patient_id="PEER-1"))
    assert [s.study_instance_uid for s in found] == [
        str(pydicom.dcmread(path).StudyInstanceUID)]
    assert found[0].study_date == "20250101" and found[0].number_of_instances == 1


def test_store_refused_by_the_archive(empty_orthanc, tmp_path):
    good = make_file(tmp_path / "good.dcm", np.zeros((4, 4), np.uint16), PatientID="OK-1")
    damaged = make_file(tmp_path / "damaged.dcm", np.zeros((4, 4), np.uint16))
    ds = pydicom.dcmread(damaged)
    del ds.StudyInstanceUID  # an archive cannot file an instance without its study
    ds.save_as(damaged, enforce_file_format=True)
    unknown = make_file(tmp_path / "private.dcm", np.zeros((4, 4), np.uint16),
                        sop_class=pydicom.uid.UID("1.2.826.0.1.3680043.9.9999.1"))
    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("hello")
    results = open_archive(empty_orthanc.dimse_node()).send([good, damaged, unknown, not_dicom])
    assert [r.ok for r in results] == [True, False, False, False]
    assert "refused by the archive (status 0xA7" in results[1].message
    assert "does not accept" in results[2].message
    assert results[3].message == "not a DICOM file"
    assert [i["MainDicomTags"]["SOPInstanceUID"] for i in empty_orthanc.instances()] == [
        sop_uid(good)]


def test_wrong_called_ae_title_is_rejected(orthanc):
    with pytest.raises(AssociationRejectedError) as caught:
        open_archive(orthanc.dimse_node(called_aet="NOT-ORTHANC")).find_studies(StudyQuery())
    assert "refused the association" in caught.value.message
    assert "NOT-ORTHANC" in caught.value.message


def test_unknown_calling_ae_title_is_refused(orthanc):
    archive = open_archive(orthanc.dimse_node(calling_aet="STRANGER"))
    with pytest.raises(AssociationRejectedError) as caught:
        archive.find_studies(StudyQuery())
    assert "Calling AE title not recognised" in caught.value.message
    assert "'STRANGER'" in caught.value.message


def test_closed_port_is_not_reachable(orthanc):
    started = time.monotonic()
    with pytest.raises(ArchiveUnreachableError) as caught:
        open_archive(orthanc.dimse_node(port=free_port())).echo()
    assert "not reachable" in caught.value.message and "connection refused" in caught.value.message
    assert time.monotonic() - started < 5


def test_silent_server_times_out_within_bounds():
    server = SilentServer()
    try:
        from ovcf_viewer.model.settings import ArchiveNode

        node = ArchiveNode("silent", host="127.0.0.1", port=server.port, called_aet="X",
                           timeout_s=1.5)
        started = time.monotonic()
        with pytest.raises(ArchiveTimeoutError) as caught:
            open_archive(node).find_studies(StudyQuery())
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert server.accepted >= 1
    assert "did not answer within 1.5 s" in caught.value.message
    assert 1.0 <= elapsed < 10


def test_too_many_matches_asks_to_refine(empty_orthanc, tmp_path):
    for index in range(12):
        empty_orthanc.upload(make_file(tmp_path / f"m{index}.dcm", np.zeros((4, 4), np.uint16),
                                       PatientID=f"MANY-{index:02d}"))
    archive = open_archive(empty_orthanc.dimse_node())
    with pytest.raises(TooManyMatchesError) as caught:
        archive.find_studies(StudyQuery(), limit=10)
    assert caught.value.message.startswith("more than 10 studies match: refine your search")
    assert len(archive.find_studies(StudyQuery(), limit=12)) == 12
    # The association was cancelled cleanly: the archive still answers.
    archive.echo()
