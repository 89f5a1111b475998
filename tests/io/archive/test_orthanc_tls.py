"""DICOM TLS (and HTTPS, through a TLS front to its DICOMweb) against an Orthanc with a
self-signed certificate: the node's CA file
makes it trusted; without it the connection is refused with a readable line; switching
verification off (testing only) connects."""

from __future__ import annotations

import pydicom
import pytest

from ovcf_viewer.io.archive import ArchiveError, ArchiveUnreachableError, StudyQuery, open_archive
from tests.io.archive.helpers import assert_same_pixels, originals_by_uid
from tests.orthanc import SAMPLES

PRE_STUDY = str(pydicom.dcmread(SAMPLES[2], stop_before_pixels=True).StudyInstanceUID)


def test_dicom_tls_find_and_retrieve_with_the_ca_file(tls_orthanc, tmp_path):
    archive = open_archive(tls_orthanc.dimse_node(tls=True, tls_ca_file=str(tls_orthanc.tls[0])))
    archive.echo()
    assert len(archive.find_studies(StudyQuery())) == 5
    result = archive.retrieve_study(PRE_STUDY, tmp_path)
    originals = originals_by_uid(SAMPLES)
    assert len(result.files) == 2
    for path in result.files:
        assert_same_pixels(path, originals[path.stem])


def test_dicom_tls_untrusted_certificate_is_refused(tls_orthanc):
    with pytest.raises(ArchiveUnreachableError) as caught:
        open_archive(tls_orthanc.dimse_node(tls=True)).echo()  # system CAs only
    assert "over DICOM TLS" in caught.value.message
    assert "TLS handshake failed" in caught.value.message
    open_archive(tls_orthanc.dimse_node(tls=True, tls_verify=False)).echo()


def test_plain_dimse_to_a_tls_archive_says_so(tls_orthanc):
    with pytest.raises(ArchiveError, match="TLS"):
        open_archive(tls_orthanc.dimse_node(timeout_s=3)).echo()


def test_https_dicomweb_with_the_ca_file(tls_orthanc, tmp_path):
    url = tls_orthanc.https.url()
    trusted = open_archive(
        tls_orthanc.dicomweb_node(dicomweb_url=url, tls_ca_file=str(tls_orthanc.tls[0])))
    assert len(trusted.find_studies(StudyQuery())) == 5
    assert trusted.retrieve_study(PRE_STUDY, tmp_path).received == 2
    with pytest.raises(ArchiveUnreachableError, match="HTTPS certificate not trusted"):
        open_archive(tls_orthanc.dicomweb_node(dicomweb_url=url)).echo()
    open_archive(tls_orthanc.dicomweb_node(dicomweb_url=url, tls_verify=False)).echo()
