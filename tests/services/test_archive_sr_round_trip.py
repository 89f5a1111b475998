"""A second workstation gets the first one's landmarks through the archive: workstation A
exports the film's measurements as a DICOM SR and sends film and SR; workstation B (its own
data folder) retrieves the study and reads the same landmarks back — over DIMSE (C-STORE,
C-GET) and DICOMweb (STOW-RS, WADO-RS), against a real Orthanc."""

from __future__ import annotations

import shutil

import pydicom
import pytest

from ovcf_viewer.model.landmarks import load_annotations
from ovcf_viewer.model.settings import Settings, load_settings
from ovcf_viewer.services.archive import retrieve_to_cache, send_files
from ovcf_viewer.services.sr import export_sr, find_sr_beside, import_sr
from tests.orthanc import SAMPLES

PRE = SAMPLES[2]
PRE_JSON = PRE.with_suffix(".json")


@pytest.mark.parametrize("kind", ["dimse", "dicomweb"])
def test_sr_sent_by_a_is_retrieved_by_b_with_the_same_landmarks(
    empty_orthanc, tmp_path, monkeypatch, kind
):
    node = empty_orthanc.dimse_node() if kind == "dimse" else empty_orthanc.dicomweb_node()
    # Workstation A: the film and its landmarks, exported as an SR in the film's study.
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(tmp_path / "workstation-a"))
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(PRE, films / PRE.name)
    shutil.copy(PRE_JSON, films / PRE_JSON.name)
    exported = export_sr([films / PRE_JSON.name], tmp_path / "sr", Settings(physician="Doe^J"))
    assert len(exported.written) == 1
    sr_a = exported.written[0]
    results = send_files(node, [films / PRE.name, sr_a])
    assert [r.ok for r in results] == [True, True], [r.message for r in results]

    # Workstation B: another data folder, nothing but the archive in common.
    monkeypatch.setenv("OVCF_VIEWER_HOME", str(tmp_path / "workstation-b"))
    study_uid = str(pydicom.dcmread(PRE, stop_before_pixels=True).StudyInstanceUID)
    retrieved = retrieve_to_cache(node, study_uid, load_settings())
    assert retrieved.total == 2 and retrieved.received == 2
    assert str(tmp_path / "workstation-b") in str(retrieved.folder)
    film_uid = str(pydicom.dcmread(PRE, stop_before_pixels=True).SOPInstanceUID)
    film_b = retrieved.folder / f"{film_uid}.dcm"
    sr_b = find_sr_beside(film_b, film_uid)
    assert sr_b is not None and sr_b.parent == retrieved.folder

    placed = load_annotations(PRE_JSON)
    sent = import_sr(sr_a).annotations
    got = import_sr(sr_b).annotations
    assert got.sop_instance_uid == film_uid
    assert got.file == film_b.name  # the SR found its film beside it
    assert sorted(got.vertebrae) == sorted(placed.vertebrae)
    for level, vertebra in placed.vertebrae.items():
        for key, point in vertebra.points.items():
            # Exactly what A's SR holds (the archive changed nothing) ...
            assert got.vertebrae[level].points[key] == sent.vertebrae[level].points[key]
            # ... which is A's placement to the SR's 32-bit float coordinates (PS3.3
            # C.18.6.1.2: Graphic Data is FL), far below a pixel.
            assert got.vertebrae[level].points[key] == pytest.approx(point, abs=1e-3), (
                level, key)
