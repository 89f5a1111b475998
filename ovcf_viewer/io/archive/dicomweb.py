"""DICOMweb archive access with dicomweb-client: QIDO-RS, WADO-RS and STOW-RS (PS3.18).

Every request carries a (connect, read) timeout from the node and is not retried (a retry
loop would hide a dead archive behind minutes of waiting); HTTPS verifies the archive's
certificate against the system store or the node's CA file unless told not to. HTTP and
transport failures become the typed archive errors with one-line messages. Studies are
retrieved instance by instance (WADO-RS ``retrieve_instance``, each "as stored"), not with one
``retrieve_study`` call: that gives progress, a cancel between instances and a resume that
skips what an interrupted retrieve already wrote. The module imports
requests and dicomweb-client: import it only when a DICOMweb node is used.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import requests
import urllib3
from dicomweb_client import DICOMwebClient
from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from ovcf_viewer.io.archive.base import (
    DEFAULT_FIND_LIMIT,
    Archive,
    CancelCheck,
    Cancelled,
    InstanceRef,
    SendResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
    instance_from_dataset,
    is_uid,
    series_from_dataset,
    study_from_dataset,
    write_instance,
)
from ovcf_viewer.io.archive.errors import (
    ArchiveError,
    ArchiveProtocolError,
    ArchiveTimeoutError,
    ArchiveUnreachableError,
    AssociationRejectedError,
    TooManyMatchesError,
)
from ovcf_viewer.model.settings import ArchiveNode
from ovcf_viewer.util.safe_read import InputFileError, require_regular_file

__all__ = ["DicomWebArchive"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_STUDY_FIELDS = ("StudyDescription", "ModalitiesInStudy", "NumberOfStudyRelatedInstances")
_SERIES_FIELDS = ("SeriesDescription", "SeriesNumber", "NumberOfSeriesRelatedInstances")


def _from_json(item: dict[str, Any]) -> Dataset:
    return Dataset.from_json(item)


class DicomWebArchive(Archive):
    """A DICOMweb node (``dicomweb_url`` is the service root, e.g. ``.../dicom-web``)."""

    def __init__(self, node: ArchiveNode) -> None:
        super().__init__(node)
        self.timeout = float(node.timeout_s)
        session = requests.Session()
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's own
        # ``verify``; the node's certificate settings must win, so the environment is read
        # here once (its proxies, and its CA bundle only when the node names none).
        session.trust_env = False
        session.proxies = requests.utils.get_environ_proxies(node.dicomweb_url)
        if node.tls_ca_file:
            session.verify = node.tls_ca_file
        elif not node.tls_verify:
            session.verify = False
            # The user turned verification off for this node on purpose (a test archive);
            # urllib3 would otherwise warn on every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        else:
            session.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        if node.tls_cert_file:
            session.cert = (
                (node.tls_cert_file, node.tls_key_file) if node.tls_key_file
                else node.tls_cert_file
            )
        self.client = DICOMwebClient(
            url=node.dicomweb_url.rstrip("/"),
            session=session,
            timeout=(self.timeout, self.timeout),
        )
        self.client.set_http_retry_params(retry=False)

    def _call(self, what: str, call: Callable[[], T]) -> T:
        node = self.node
        try:
            return call()
        except requests.exceptions.SSLError as exc:
            raise ArchiveUnreachableError(
                f"archive {node.name}: HTTPS certificate not trusted or TLS failed ({_short(exc)})"
            ) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise ArchiveUnreachableError(
                f"archive {node.name} not reachable at {node.dicomweb_url}: no answer within "
                f"{self.timeout:g} s (check the URL and firewall)"
            ) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise ArchiveTimeoutError(
                f"archive {node.name} at {node.dicomweb_url} accepted the connection but did "
                f"not answer the {what} within {self.timeout:g} s"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            if _refused(exc):
                raise ArchiveUnreachableError(
                    f"archive {node.name} not reachable at {node.dicomweb_url}: connection "
                    "refused (is it running, and is the URL right?)"
                ) from exc
            raise ArchiveTimeoutError(
                f"archive {node.name} closed the connection during the {what} ({_short(exc)})"
            ) from exc
        except requests.exceptions.HTTPError as exc:
            raise self._http_error(what, exc) from exc
        except requests.exceptions.RequestException as exc:
            raise ArchiveProtocolError(
                f"archive {node.name}: {what} failed ({_short(exc)})"
            ) from exc
        except (ValueError, KeyError, InvalidDicomError) as exc:  # a body we cannot parse
            raise ArchiveProtocolError(
                f"archive {node.name} sent an answer to the {what} that is not valid DICOMweb "
                f"({_short(exc)})"
            ) from exc

    def _http_error(self, what: str, exc: requests.exceptions.HTTPError) -> ArchiveError:
        response = exc.response
        code = response.status_code if response is not None else 0
        node = self.node
        if code in (401, 403):
            return AssociationRejectedError(
                f"archive {node.name} refused access to the {what} (HTTP {code}): check the "
                "node's URL and credentials"
            )
        if code == 404:
            return ArchiveProtocolError(
                f"archive {node.name}: not found (HTTP 404) for the {what}; is "
                f"{node.dicomweb_url} the DICOMweb root?"
            )
        return ArchiveProtocolError(f"archive {node.name} refused the {what} (HTTP {code})")

    # -- QIDO-RS ---------------------------------------------------------------------------
    def echo(self) -> None:
        self._call("connection test", lambda: self.client.search_for_studies(limit=1))

    def find_studies(
        self, query: StudyQuery, limit: int = DEFAULT_FIND_LIMIT
    ) -> list[StudyMatch]:
        filters = {
            key: value
            for key, value in (
                ("PatientID", query.patient_id),
                ("PatientName", query.patient_name),
                ("StudyDate", query.study_date),
                ("ModalitiesInStudy", query.modality),
                ("StudyInstanceUID", query.study_instance_uid),
            )
            if value
        }
        found = self._call(
            "search",
            lambda: self.client.search_for_studies(
                search_filters=filters, fields=list(_STUDY_FIELDS), limit=limit + 1
            ),
        )
        if len(found) > limit:
            raise TooManyMatchesError(limit)
        return [study_from_dataset(_from_json(item)) for item in found]

    def find_series(self, study_uid: str) -> list[SeriesMatch]:
        found = self._call(
            "series search",
            lambda: self.client.search_for_series(
                study_instance_uid=study_uid, fields=list(_SERIES_FIELDS)
            ),
        )
        series = [series_from_dataset(_from_json(item), study_uid) for item in found]
        return sorted(series, key=lambda s: (s.series_number is None, s.series_number or 0))

    def find_instances(self, study_uid: str, series_uid: str = "") -> list[InstanceRef]:
        found = self._call(
            "instance search",
            lambda: self.client.search_for_instances(
                study_instance_uid=study_uid,
                series_instance_uid=series_uid or None,
                fields=["SOPClassUID", "SeriesInstanceUID"],
            ),
        )
        refs = [instance_from_dataset(_from_json(item), study_uid) for item in found]
        return [ref for ref in refs if is_uid(ref.sop_instance_uid)]

    # -- WADO-RS ---------------------------------------------------------------------------
    def fetch_instances(
        self,
        refs: Sequence[InstanceRef],
        folder: Path,
        on_stored: Callable[[Path], None],
        cancel: CancelCheck,
    ) -> None:
        for ref in refs:
            if cancel():
                raise Cancelled
            dataset = self._call(
                "retrieve",
                partial(
                    self.client.retrieve_instance,
                    ref.study_instance_uid,
                    ref.series_instance_uid,
                    ref.sop_instance_uid,
                    # "*": as stored, no transcoding (PS3.18 §8.7.3.5.2)
                    media_types=(("application/dicom", "*"),),
                ),
            )
            buffer = io.BytesIO()
            try:
                dataset.save_as(buffer, enforce_file_format=True)
            except (ValueError, AttributeError) as exc:
                raise ArchiveProtocolError(
                    f"archive {self.node.name} sent instance {ref.sop_instance_uid} without "
                    f"what a DICOM file needs ({_short(exc)})"
                ) from exc
            on_stored(write_instance(folder, ref.sop_instance_uid, buffer.getvalue()))

    # -- STOW-RS ---------------------------------------------------------------------------
    def send(self, paths: Sequence[Path]) -> list[SendResult]:
        results: list[SendResult] = []
        for path in paths:
            try:
                require_regular_file(path)  # a named pipe would block the read for ever
                dataset = dcmread(path)
                sop_uid = str(dataset.SOPInstanceUID)
            except InputFileError as exc:
                results.append(SendResult(path, "", False, exc.reason))
                continue
            except FileNotFoundError:
                results.append(SendResult(path, "", False, "file not found"))
                continue
            except (OSError, InvalidDicomError, AttributeError, ValueError):
                results.append(SendResult(path, "", False, "not a DICOM file"))
                continue
            try:
                response = self._call("store", partial(self.client.store_instances, [dataset]))
            except (ArchiveUnreachableError, ArchiveTimeoutError):
                raise
            except ArchiveError as exc:
                results.append(SendResult(path, sop_uid, False, exc.message))
                continue
            results.append(_stow_result(path, sop_uid, response))
        return results


def _stow_result(path: Path, sop_uid: str, response: Dataset) -> SendResult:
    """Read the STOW-RS response (PS3.18 Table 10.5.3-1): the instance is either in the
    Referenced SOP Sequence or in the Failed SOP Sequence with a Failure Reason."""
    for item in response.get("FailedSOPSequence", []) or []:
        if str(item.get("ReferencedSOPInstanceUID", "")) == sop_uid:
            reason = item.get("FailureReason")
            code = f" (failure reason 0x{int(reason):04X})" if reason is not None else ""
            return SendResult(path, sop_uid, False, f"refused by the archive{code}")
    for item in response.get("ReferencedSOPSequence", []) or []:
        if str(item.get("ReferencedSOPInstanceUID", "")) == sop_uid:
            warning = item.get("WarningReason")
            if warning is not None:
                return SendResult(
                    path, sop_uid, True, f"stored with a warning (0x{int(warning):04X})"
                )
            return SendResult(path, sop_uid, True, "stored")
    return SendResult(path, sop_uid, False, "the archive's answer does not mention this file")


def _refused(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException) and _refused(arg):
                return True
        current = current.__cause__ or current.__context__
    return "Connection refused" in str(exc)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 160 else text[:157] + "..."


