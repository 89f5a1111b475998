"""DICOMweb against a real Orthanc (its DICOMweb plugin): QIDO-RS compared with Orthanc's
REST view and with our DIMSE find, WADO-RS retrieve with pixels equal to the originals and a
resume after an interruption, STOW-RS with a refusal, and the transport failures."""

from __future__ import annotations

import time

import numpy as np
import pydicom
import pytest

from ovcf_viewer.io.archive import (
    ArchiveProtocolError,
    ArchiveTimeoutError,
    ArchiveUnreachableError,
    RetrieveInterruptedError,
    StudyQuery,
    TooManyMatchesError,
    open_archive,
)
from ovcf_viewer.io.archive.base import present_instances
from ovcf_viewer.model.settings import ArchiveNode
from tests.dicom_builders import make_file
from tests.io.archive.helpers import SilentServer, assert_same_pixels, originals_by_uid, sop_uid
from tests.orthanc import SAMPLES, free_port

PRE_STUDY = str(pydicom.dcmread(SAMPLES[2], stop_before_pixels=True).StudyInstanceUID)


def test_echo(orthanc):
    open_archive(orthanc.dicomweb_node()).echo()


def test_qido_matches_rest_and_dimse(orthanc):
    web = open_archive(orthanc.dicomweb_node()).find_studies(StudyQuery())
    dimse = open_archive(orthanc.dimse_node()).find_studies(StudyQuery())
    rest = {s["MainDicomTags"]["StudyInstanceUID"] for s in orthanc.studies()}
    assert {s.study_instance_uid for s in web} == rest
    assert sorted(web, key=lambda s: s.study_instance_uid) == sorted(
        dimse, key=lambda s: s.study_instance_uid)


def test_qido_filters(orthanc):
    archive = open_archive(orthanc.dicomweb_node())
    assert [s.study_instance_uid for s in archive.find_studies(
        StudyQuery(study_date="20260105"))] == [PRE_STUDY]
    assert {s.modalities for s in archive.find_studies(StudyQuery(modality="CR"))} == {("CR",)}
    assert archive.find_studies(StudyQuery(patient_id="NOBODY")) == []
    series = archive.find_series(PRE_STUDY)
    assert len(series) == 2 and {s.modality for s in series} == {"DX"}


def test_wado_retrieve_pixels_and_resume(orthanc, tmp_path):
    archive = open_archive(orthanc.dicomweb_node())
    folder = tmp_path / "study"
    with pytest.raises(RetrieveInterruptedError) as caught:
        archive.retrieve_study(PRE_STUDY, folder, cancel=lambda: bool(present_instances(folder)))
    assert caught.value.cancelled and caught.value.done == 1
    result = archive.retrieve_study(PRE_STUDY, folder)
    assert (result.total, result.received, result.skipped) == (2, 1, 1)
    originals = originals_by_uid(SAMPLES)
    for path in result.files:
        assert_same_pixels(path, originals[path.stem])
    syntaxes = sorted(str(pydicom.dcmread(p).file_meta.TransferSyntaxUID) for p in result.files)
    assert syntaxes == ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.90"]  # as stored


def test_stow_samples_and_a_refusal(empty_orthanc, tmp_path):
    damaged = make_file(tmp_path / "damaged.dcm", np.zeros((4, 4), np.uint16))
    ds = pydicom.dcmread(damaged)
    del ds.StudyInstanceUID
    ds.save_as(damaged, enforce_file_format=True)
    results = open_archive(empty_orthanc.dicomweb_node()).send([*SAMPLES, damaged])
    assert [r.ok for r in results] == [True] * len(SAMPLES) + [False]
    assert results[-1].message.startswith("archive orthanc-web refused the store (HTTP 4")
    stored = {i["MainDicomTags"]["SOPInstanceUID"] for i in empty_orthanc.instances()}
    assert stored == {sop_uid(p) for p in SAMPLES}


def test_too_many_matches(empty_orthanc, tmp_path):
    for index in range(6):
        empty_orthanc.upload(make_file(tmp_path / f"m{index}.dcm", np.zeros((4, 4), np.uint16),
                                       PatientID=f"MANY-{index}"))
    archive = open_archive(empty_orthanc.dicomweb_node())
    with pytest.raises(TooManyMatchesError, match="more than 5 studies match: refine"):
        archive.find_studies(StudyQuery(), limit=5)
    assert len(archive.find_studies(StudyQuery(), limit=6)) == 6


def test_closed_port_is_not_reachable():
    node = ArchiveNode("web", dicomweb_url=f"http://127.0.0.1:{free_port()}/dicom-web",
                       timeout_s=3)
    with pytest.raises(ArchiveUnreachableError, match="not reachable .* connection refused"):
        open_archive(node).echo()


def test_wrong_root_says_so(orthanc):
    node = orthanc.dicomweb_node(dicomweb_url=orthanc.dicomweb_url() + "-wrong")
    with pytest.raises(ArchiveProtocolError, match="HTTP 404"):
        open_archive(node).find_studies(StudyQuery())


def test_silent_server_times_out_within_bounds():
    server = SilentServer()
    try:
        node = ArchiveNode("web", dicomweb_url=f"http://127.0.0.1:{server.port}/dicom-web",
                           timeout_s=1.5)
        started = time.monotonic()
        with pytest.raises(ArchiveTimeoutError, match="did not answer the search within 1.5 s"):
            open_archive(node).find_studies(StudyQuery())
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 1.0 <= elapsed < 10
